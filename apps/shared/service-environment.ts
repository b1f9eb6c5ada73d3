/**
 * The environment a deployed app service reads (written by `tickstream app deploy` into an env file, mode 600):
 * where Kafka and the lake are. Checked once at start, with a message naming the variable.
 */
import { z } from "zod";
import { DEFAULT_ICEBERG_COMMIT_INTERVAL_MS } from "../iceberg/commit-interval.ts";
import { ConfigError } from "./errors.ts";
import type { LakeLocation } from "../lake/s3-client.ts";
// Parsing only: every app's bundle includes this file, and only the consumer's needs the catalog code.
import { parseCatalogLocation } from "../iceberg/catalog-location.ts";

const schema = z.object({
  TICKSTREAM_BOOTSTRAP_SERVERS: z.string().min(1),
  TICKSTREAM_TOPIC: z.string().min(1).default("stock-ticks"),
  TICKSTREAM_BUCKET: z.string().min(3),
  AWS_REGION: z.string().min(1),
  /** An S3-compatible endpoint instead of AWS (then the AWS_* keys in the env file are used). */
  TICKSTREAM_S3_ENDPOINT: z.string().url().optional(),
  AWS_ACCESS_KEY_ID: z.string().optional(),
  AWS_SECRET_ACCESS_KEY: z.string().optional(),
  TICKSTREAM_GROUP: z.string().min(1).default("tickstream-lake-sink"),
  TICKSTREAM_SOURCE: z.string().min(1).default("synthetic"),
  TICKSTREAM_RATE: z.coerce.number().positive().default(100),
  TICKSTREAM_COUNT: z.coerce.number().int().positive().optional(),
  TICKSTREAM_PRODUCER_ID: z.string().min(1).optional(),
  /** The rollup (apps/rollup/service.ts): its bar topic, group and allowed lateness. */
  TICKSTREAM_BARS_TOPIC: z.string().min(1).default("stock-bars-1m"),
  TICKSTREAM_ROLLUP_GROUP: z.string().min(1).default("tickstream-rollup"),
  TICKSTREAM_ROLLUP_LATENESS_MS: z.coerce.number().int().min(0).default(5_000),
  TICKSTREAM_ROLLUP_IDLE_CLOSE_MS: z.coerce.number().int().positive().default(30_000),
  /**
   * The lake's Iceberg catalog (apps/iceberg/catalog-location.ts): `glue:<database>` on a stack (written by
   * `tickstream app deploy`), `file:<absolute folder>` locally. Checked here, so a bad value is one line naming it.
   */
  TICKSTREAM_ICEBERG_CATALOG: z
    .string()
    .optional()
    .superRefine((value, context) => {
      if (value === undefined) return;
      try {
        parseCatalogLocation(value, "the catalog");
      } catch (error) {
        context.addIssue({ code: "custom", message: (error as Error).message });
      }
    }),
  /** A Glue-compatible endpoint instead of AWS's (the tests' moto server). */
  TICKSTREAM_GLUE_ENDPOINT: z.string().url().optional(),
  /** The bound of the graceful stop after SIGTERM (apps/shared/until-stopped.ts); under the unit's TimeoutStopSec. */
  TICKSTREAM_STOP_TIMEOUT_MS: z.coerce.number().int().min(100).max(60_000).default(10_000),
  /** The lake sink's Iceberg commit interval (apps/iceberg/append-batcher.ts). */
  TICKSTREAM_ICEBERG_COMMIT_INTERVAL_MS: z.coerce
    .number()
    .int()
    .min(100)
    .max(600_000)
    .default(DEFAULT_ICEBERG_COMMIT_INTERVAL_MS),
});

export type ServiceEnvironment = z.infer<typeof schema>;

export function readServiceEnvironment(env: NodeJS.ProcessEnv = process.env): ServiceEnvironment {
  const result = schema.safeParse(env);
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  throw new ConfigError(`environment variable ${issue.path.join(".")}: ${issue.message}`);
}

export function lakeFromEnvironment(env: ServiceEnvironment): LakeLocation {
  const credentials =
    env.TICKSTREAM_S3_ENDPOINT && env.AWS_ACCESS_KEY_ID && env.AWS_SECRET_ACCESS_KEY
      ? { accessKeyId: env.AWS_ACCESS_KEY_ID, secretAccessKey: env.AWS_SECRET_ACCESS_KEY }
      : undefined;
  return {
    bucket: env.TICKSTREAM_BUCKET,
    region: env.AWS_REGION,
    endpoint: env.TICKSTREAM_S3_ENDPOINT,
    credentials,
  };
}
