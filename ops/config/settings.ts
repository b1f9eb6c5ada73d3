/**
 * Local settings: defaults, overridden by `<home>/settings.json`, validated once.
 * Unknown keys are rejected so that a typo never silently falls back to a default.
 */
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { z } from "zod";
import { DEFAULT_ICEBERG_COMMIT_INTERVAL_MS } from "../../apps/iceberg/commit-interval.ts";
import { ConfigError } from "../../apps/shared/errors.ts";

/** Newest Kafka release that the test suite proves kafkajs 2.2 works against (see README, "Kafka version"). */
export const DEFAULT_KAFKA_VERSION = "4.4.0";

const port = z.number().int().min(1).max(65_535);

export const localSettingsSchema = z
  .object({
    kafkaVersion: z.string().regex(/^\d+\.\d+\.\d+$/, "must look like 4.4.0"),
    host: z.string().regex(/^127\.\d+\.\d+\.\d+$/, "must be a loopback address (127.x.x.x)"),
    brokerPort: port,
    controllerPort: port,
    brokerHeapMb: z.number().int().min(128).max(16_384),
    defaultPartitions: z.number().int().min(1).max(1_000),
    s3Port: port,
    bucket: z.string().regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, "must be a valid S3 bucket name"),
    region: z.string().min(1),
    topic: z.string().regex(/^[A-Za-z0-9._-]{1,249}$/, "must be a valid Kafka topic name"),
    consumerGroup: z.string().min(1),
    /** The rollup's output topic (one-minute bars) and its consumer group. */
    barsTopic: z.string().regex(/^[A-Za-z0-9._-]{1,249}$/, "must be a valid Kafka topic name"),
    rollupGroup: z.string().min(1),
    /** How far behind a partition's newest event time a tick may arrive and still be in its bar's first emission. */
    rollupLatenessMs: z.number().int().min(0).max(3_600_000),
    /** The quote API's base URL for `--source quotes:…` ("" = the provider's documented one). */
    quotesBaseUrl: z.union([z.literal(""), z.url({ protocol: /^https?$/ })]),
    /** The bound of a long-running command's graceful stop after SIGINT/SIGTERM; past it, the rest is abandoned. */
    stopTimeoutMs: z.number().int().min(100).max(600_000),
    /** At most one Iceberg table commit per this many ms from each lake sink (apps/iceberg/append-batcher.ts). */
    icebergCommitIntervalMs: z.number().int().min(100).max(600_000),
  })
  .strict();

export type LocalSettings = z.infer<typeof localSettingsSchema>;

export const DEFAULT_LOCAL_SETTINGS: LocalSettings = {
  kafkaVersion: DEFAULT_KAFKA_VERSION,
  host: "127.0.0.1",
  brokerPort: 19092,
  controllerPort: 19093,
  brokerHeapMb: 512,
  defaultPartitions: 3,
  s3Port: 4568,
  bucket: "tickstream-lake",
  region: "us-east-1",
  topic: "stock-ticks",
  consumerGroup: "tickstream-lake-sink",
  barsTopic: "stock-bars-1m",
  rollupGroup: "tickstream-rollup",
  rollupLatenessMs: 5_000,
  quotesBaseUrl: "",
  stopTimeoutMs: 10_000,
  icebergCommitIntervalMs: DEFAULT_ICEBERG_COMMIT_INTERVAL_MS,
};

/** s3rver's fixed credentials; they guard nothing but are required by the SigV4 signer. */
export const LOCAL_S3_CREDENTIALS = { accessKeyId: "S3RVER", secretAccessKey: "S3RVER" } as const;

/** Where local state lives: `$TICKSTREAM_HOME`, else `.tickstream/` under the working directory. */
export function tickstreamHome(env: NodeJS.ProcessEnv = process.env): string {
  return path.resolve(env.TICKSTREAM_HOME || ".tickstream");
}

/** Validates a partial settings object (from a file or a test) over the defaults. */
export function parseLocalSettings(input: unknown, origin = "settings"): LocalSettings {
  if (typeof input !== "object" || input === null || Array.isArray(input)) {
    throw new ConfigError(`${origin}: expected a JSON object of settings`);
  }
  const result = localSettingsSchema.safeParse({ ...DEFAULT_LOCAL_SETTINGS, ...input });
  if (!result.success) {
    const issue = result.error.issues[0]!;
    const keys =
      issue.code === "unrecognized_keys"
        ? issue.keys.map((key) => `"${key}"`).join(", ")
        : issue.path.join(".");
    const hint =
      issue.code === "unrecognized_keys"
        ? `unknown setting ${keys}; known settings: ${Object.keys(DEFAULT_LOCAL_SETTINGS).join(", ")}`
        : `setting "${keys}" ${issue.message}`;
    throw new ConfigError(`${origin}: ${hint}`);
  }
  if (result.data.brokerPort === result.data.controllerPort) {
    throw new ConfigError(`${origin}: brokerPort and controllerPort must differ`);
  }
  return result.data;
}

/** Reads `<home>/settings.json` if present; `TICKSTREAM_KAFKA_VERSION` overrides the Kafka version. */
export function loadLocalSettings(home: string = tickstreamHome(), env: NodeJS.ProcessEnv = process.env) {
  const file = path.join(home, "settings.json");
  let fromFile: Record<string, unknown> = {};
  if (existsSync(file)) {
    try {
      fromFile = JSON.parse(readFileSync(file, "utf8"));
    } catch (error) {
      throw new ConfigError(`${file}: not valid JSON (${(error as Error).message})`);
    }
  }
  const overrides = env.TICKSTREAM_KAFKA_VERSION ? { kafkaVersion: env.TICKSTREAM_KAFKA_VERSION } : {};
  return parseLocalSettings({ ...fromFile, ...overrides }, file);
}

/**
 * Every path of local state, derived from the home folder in one place. The Kafka jars may be shared between
 * homes through `$TICKSTREAM_KAFKA_CACHE` (the test suites do, so that each suite's fresh home costs no download).
 */
export function localPaths(
  home: string,
  settings: Pick<LocalSettings, "kafkaVersion">,
  env: NodeJS.ProcessEnv = process.env,
) {
  const kafkaCache = env.TICKSTREAM_KAFKA_CACHE
    ? path.resolve(env.TICKSTREAM_KAFKA_CACHE)
    : path.join(home, "kafka");
  return {
    home,
    settingsFile: path.join(home, "settings.json"),
    kafkaLibs: path.join(kafkaCache, settings.kafkaVersion, "libs"),
    brokerDir: path.join(home, "broker"),
    brokerDataDir: path.join(home, "broker", "data"),
    brokerProperties: path.join(home, "broker", "server.properties"),
    brokerLog4j: path.join(home, "broker", "log4j2.properties"),
    brokerPidFile: path.join(home, "broker", "broker.pid"),
    brokerLogFile: path.join(home, "broker", "broker.log"),
    s3Dir: path.join(home, "s3"),
    s3DataDir: path.join(home, "s3", "data"),
    s3PidFile: path.join(home, "s3", "s3.pid"),
    s3LogFile: path.join(home, "s3", "s3.log"),
    lakeCacheDir: path.join(home, "lake-cache"),
    catalogDir: path.join(home, "catalog"),
    /** The running dashboard's address and pid (the demo prints the address). */
    dashboardFile: path.join(home, "dashboard.json"),
  };
}

export type LocalPaths = ReturnType<typeof localPaths>;
