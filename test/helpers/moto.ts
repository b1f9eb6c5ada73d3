/**
 * A local AWS API emulator (moto's server, from PyPI) on a free loopback port, standing in for the AWS
 * control plane (Glue, Athena) that cannot run here. Clients reach it through AWS_ENDPOINT_URL, exactly as
 * the CLI's own clients would.
 */
import { execa, type ResultPromise } from "execa";
import { waitFor } from "../../apps/shared/retry.ts";
import { fileURLToPath } from "node:url";
import { freePort } from "./ports.ts";

const GLUE_VERSIONS_LAUNCHER = fileURLToPath(new URL("./moto-glue-versions.py", import.meta.url));

export const MOTO_CREDENTIALS = {
  AWS_ACCESS_KEY_ID: "testing",
  AWS_SECRET_ACCESS_KEY: "testing",
  AWS_REGION: "us-east-1",
};

export interface MotoServer {
  readonly endpoint: string;
  /** Options for an AWS SDK client constructed in the test process. */
  readonly clientConfig: {
    region: string;
    endpoint: string;
    credentials: { accessKeyId: string; secretAccessKey: string };
  };
  /** Environment for a subprocess (or this process) whose AWS clients must talk to the emulator. */
  readonly env: Record<string, string>;
  /** moto's state manager: how many status reads a model takes to advance ("manual"), e.g. athena::execution. */
  setTransition(
    modelName: string,
    transition: { progression: "manual"; times: number } | { progression: "immediate" },
  ): Promise<void>;
  reset(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * moto's server. `glueTableVersions`: through test/helpers/moto-glue-versions.py, which makes Glue's UpdateTable
 * honour VersionId (moto ignores it; AWS refuses a stale one with ConcurrentModificationException).
 */
export async function startMoto(options: { glueTableVersions?: boolean } = {}): Promise<MotoServer> {
  const port = await freePort();
  const endpoint = `http://127.0.0.1:${port}`;
  const server = options.glueTableVersions ? [GLUE_VERSIONS_LAUNCHER] : ["-m", "moto.server"];
  const child: ResultPromise = execa("python3", [...server, "-H", "127.0.0.1", "-p", String(port)], {
    reject: false,
    all: true,
  });
  await waitFor(
    async () => {
      if (child.exitCode !== null && child.exitCode !== undefined)
        throw new Error(`moto server exited: ${(await child).all}`);
      return fetch(`${endpoint}/moto-api/`).then(
        (response) => response.ok,
        () => false,
      );
    },
    {
      timeoutMs: 30_000,
      intervalMs: 200,
      describe: () => `moto server did not answer on ${endpoint} (is moto[server] installed?)`,
    },
  );
  const post = async (path: string, body: unknown) => {
    const response = await fetch(`${endpoint}${path}`, { method: "POST", body: JSON.stringify(body) });
    if (!response.ok) throw new Error(`moto ${path}: HTTP ${response.status} ${await response.text()}`);
  };
  return {
    endpoint,
    clientConfig: {
      region: "us-east-1",
      endpoint,
      credentials: { accessKeyId: "testing", secretAccessKey: "testing" },
    },
    env: { ...MOTO_CREDENTIALS, AWS_ENDPOINT_URL: endpoint },
    setTransition: (modelName, transition) =>
      post("/moto-api/state-manager/set-transition", { model_name: modelName, transition }),
    reset: () => post("/moto-api/reset", {}),
    async stop() {
      child.kill("SIGTERM");
      await child;
    },
  };
}
