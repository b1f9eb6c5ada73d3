/**
 * The real Pulumi CLI (built from its Go modules by ops/pulumi-cli/build.sh) with a file backend, a Pulumi home
 * and a project folder of the test's own, so that `--stack NAME` and `teardown` run through the real Automation
 * API without an account, a language host or the AWS provider: a stack is given outputs by importing a state.
 */
import { execa } from "execa";
import { copyFile, mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";

export const PULUMI_BIN = path.resolve(
  process.env.TICKSTREAM_PULUMI_HOME ?? path.join(".tickstream", "pulumi"),
  "bin",
  "pulumi",
);

export interface PulumiSandbox {
  /** Environment for the `tickstream` CLI and for `pulumi`: PATH, backend, passphrase, project folder. */
  readonly env: NodeJS.ProcessEnv;
  readonly projectDir: string;
  pulumi(args: readonly string[]): Promise<{ exitCode: number; stdout: string; stderr: string }>;
  /** Creates a stack whose state holds these outputs, with this stack config. */
  createStack(stack: string, outputs: Record<string, unknown>, config: Record<string, string>): Promise<void>;
  destroy(): Promise<void>;
}

export async function createPulumiSandbox(): Promise<PulumiSandbox> {
  const root = await mkdtemp(path.join(tmpdir(), "tickstream-pulumi-"));
  const projectDir = path.join(root, "project");
  const backendDir = path.join(root, "backend");
  await execa("mkdir", ["-p", projectDir, backendDir, path.join(root, "home")]);
  // The project's own Pulumi.yaml (name, runtime, main), in a folder where stack files may be written; the
  // program it names is the project's too (destroy checks that it exists, without running it).
  await copyFile("Pulumi.yaml", path.join(projectDir, "Pulumi.yaml"));
  await symlink(path.resolve("infra"), path.join(projectDir, "infra"));
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    PATH: `${path.dirname(PULUMI_BIN)}:${process.env.PATH}`,
    PULUMI_HOME: path.join(root, "home"),
    PULUMI_BACKEND_URL: `file://${backendDir}`,
    PULUMI_CONFIG_PASSPHRASE: "test passphrase",
    PULUMI_SKIP_UPDATE_CHECK: "true",
    PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
    TICKSTREAM_PULUMI_PROJECT_DIR: projectDir,
  };
  const pulumi = async (args: readonly string[]) => {
    const result = await execa(PULUMI_BIN, [...args, "--non-interactive"], {
      cwd: projectDir,
      env,
      reject: false,
      timeout: 60_000,
    });
    return { exitCode: result.exitCode ?? -1, stdout: result.stdout, stderr: result.stderr };
  };
  const must = async (args: readonly string[]) => {
    const result = await pulumi(args);
    if (result.exitCode !== 0) throw new Error(`pulumi ${args.join(" ")}: ${result.stderr || result.stdout}`);
    return result;
  };
  return {
    env,
    projectDir,
    pulumi,
    async createStack(stack, outputs, config) {
      await must(["stack", "init", stack]);
      for (const [key, value] of Object.entries(config))
        await must(["config", "set", key, value, "--stack", stack]);
      const state = path.join(root, `${stack}.state.json`);
      await writeFile(state, JSON.stringify(stackState(stack, outputs)));
      await must(["stack", "import", "--file", state, "--stack", stack]);
    },
    async destroy() {
      await rm(root, { recursive: true, force: true });
    },
  };
}

/** A checkpoint (deployment v3) holding only the root stack resource and its outputs, as `pulumi up` leaves it. */
function stackState(stack: string, outputs: Record<string, unknown>) {
  return {
    version: 3,
    deployment: {
      manifest: { time: new Date().toISOString(), magic: "", version: "" },
      resources: [
        {
          urn: `urn:pulumi:${stack}::tickstream::pulumi:pulumi:Stack::tickstream-${stack}`,
          custom: false,
          type: "pulumi:pulumi:Stack",
          outputs,
        },
      ],
    },
  };
}
