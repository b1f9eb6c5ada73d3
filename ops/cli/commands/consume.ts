/**
 * `tickstream consume`: run the lake sink until Ctrl-C or SIGTERM (or, with --until-caught-up, until it has read
 * what the topic held at start), then flush and exit.
 */
import { InvalidArgumentError, type Command } from "commander";
import { DEFAULT_FLUSH_POLICY } from "../../../apps/consumer/flush-policy.ts";
import type { LakeTableName } from "../../../apps/lake/lake-tables.ts";
import { commandAction, withCommonOptions } from "../command.ts";
import { positiveInteger } from "../options.ts";
import type { Output } from "../output.ts";

export interface ConsumeOptions {
  table: LakeTableName;
  group?: string;
  topic?: string;
  flushRecords: number;
  flushBytes: number;
  flushIntervalMs: number;
  sessionTimeoutMs: number;
  iceberg: boolean;
  untilCaughtUp: boolean;
}

function tableName(value: string): LakeTableName {
  if (value !== "ticks" && value !== "bars_1m")
    throw new InvalidArgumentError(`expected ticks or bars_1m, got "${value}"`);
  return value;
}

export function registerConsumeCommand(program: Command): void {
  withCommonOptions(
    program
      .command("consume")
      .description("write ticks from Kafka to the S3 lake as Parquet, exactly once (runs until Ctrl-C)")
      .option(
        "--table <name>",
        "ticks, or bars_1m: the rollup's bars (topic default: the `barsTopic` setting; group: the `consumerGroup` setting + -bars)",
        tableName,
        "ticks",
      )
      .option("--group <id>", "consumer group (default: the `consumerGroup` setting)")
      .option("--topic <name>", "topic (default: the `topic` setting)")
      .option(
        "--flush-records <n>",
        "flush a partition at this many records",
        positiveInteger,
        DEFAULT_FLUSH_POLICY.maxRecords,
      )
      .option(
        "--flush-bytes <n>",
        "... or at this many bytes",
        positiveInteger,
        DEFAULT_FLUSH_POLICY.maxBytes,
      )
      .option(
        "--flush-interval-ms <ms>",
        "... or when its oldest record has waited this long",
        positiveInteger,
        DEFAULT_FLUSH_POLICY.intervalMs,
      )
      .option(
        "--session-timeout-ms <ms>",
        "how long the group waits for a silent member (6000 to 300000)",
        positiveInteger,
        30_000,
      )
      .option(
        "--until-caught-up",
        "a batch run: write what the topic holds now, then exit (ticks only; records that arrive meanwhile are left to the next run)",
      )
      .option(
        "--no-iceberg",
        "publish to the Hive layout only, without appending to the table's Apache Iceberg table (see lake migrate)",
      ),
  ).action(
    commandAction(async (output: Output, options: ConsumeOptions) =>
      (await import("../actions/consume.ts")).run(output, options),
    ),
  );
}
