/**
 * The lake sink as `app deploy` runs it on a broker host: the bundled service (ops/apps/bundle.ts) under plain
 * Node, with the memory settings of its env file (apps/consumer/service-memory.ts), configured through the same
 * environment variables; here pointed at the bench's local broker, S3 server and Iceberg catalog. The bench
 * measures the sink's peak memory on this, the process users run, not on the CLI under tsx (which also holds
 * the TypeScript loader: the README gives both figures).
 */
import { execa, type ResultPromise } from "execa";
import { rm, symlink } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { SINK_SERVICE_MEMORY } from "../../apps/consumer/service-memory.ts";
import { bundleApp } from "../apps/bundle.ts";
import { LOCAL_S3_CREDENTIALS } from "../config/settings.ts";
import type { LocalEnvironment } from "../local/environment.ts";

const NODE_MODULES = fileURLToPath(new URL("../../node_modules", import.meta.url));

export interface SinkServiceBundle {
  readonly appFile: string;
  start(topic: string, group: string): ResultPromise;
  remove(): Promise<void>;
}

/** Bundles the consumer once; each start runs one member of `group` on `topic`. */
export async function sinkServiceBundle(environment: LocalEnvironment): Promise<SinkServiceBundle> {
  const appFile = await bundleApp("consumer");
  const folder = path.dirname(appFile);
  // What app deploy ships beside the bundle (its native packages) is found here as on a host.
  await symlink(NODE_MODULES, path.join(folder, "node_modules"));
  const { lake } = environment;
  return {
    appFile,
    start: (topic, group) =>
      execa(process.execPath, [appFile], {
        cwd: folder,
        env: {
          PATH: process.env.PATH,
          ...SINK_SERVICE_MEMORY,
          TICKSTREAM_BOOTSTRAP_SERVERS: environment.bootstrapServers.join(","),
          TICKSTREAM_TOPIC: topic,
          TICKSTREAM_GROUP: group,
          TICKSTREAM_BUCKET: lake.bucket,
          AWS_REGION: lake.region,
          TICKSTREAM_S3_ENDPOINT: lake.endpoint,
          AWS_ACCESS_KEY_ID: LOCAL_S3_CREDENTIALS.accessKeyId,
          AWS_SECRET_ACCESS_KEY: LOCAL_S3_CREDENTIALS.secretAccessKey,
          TICKSTREAM_ICEBERG_CATALOG: `file:${path.join(environment.paths.catalogDir, "iceberg")}`,
          TICKSTREAM_ICEBERG_COMMIT_INTERVAL_MS: String(environment.settings.icebergCommitIntervalMs),
        },
        extendEnv: false,
        reject: false,
        all: true,
        forceKillAfterDelay: 60_000,
      }),
    remove: () => rm(folder, { recursive: true, force: true }),
  };
}
