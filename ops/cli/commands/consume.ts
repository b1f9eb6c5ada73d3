/** `tickstream consume`: run the lake sink until Ctrl-C or SIGTERM, then flush and exit. */
import { InvalidArgumentError, type Command } from "commander";
import type { FlushPolicy } from "../../../apps/consumer/lake-sink.ts";
import type { LakeTableName } from "../../../apps/lake/lake-tables.ts";
import { commandAction, withCommonOptions } from "../command.ts";
import { positiveInteger } from "../options.ts";
import type { Output } from "../output.ts";

/**
 * The lake sink's DEFAULT_FLUSH_POLICY (apps/consumer/lake-sink.ts), for the options' defaults without loading
 * the sink; test/ops/cli/lazy-commands.test.ts checks that the two are equal.
 */
export const CONSUME_FLUSH_DEFAULTS: FlushPolicy = {
  maxRecords: 25_000,
  maxBytes: 32 * 1024 * 1024,
  intervalMs: 2_000,
};

export interface ConsumeOptions {
  table: LakeTableName;
  group?: string;
  topic?: string;
  flushRecords: number;
  flushBytes: number;
  flushIntervalMs: number;
  sessionTimeoutMs: number;
  iceberg: boolean;
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
        CONSUME_FLUSH_DEFAULTS.maxRecords,
      )
      .option(
        "--flush-bytes <n>",
        "... or at this many bytes",
        positiveInteger,
        CONSUME_FLUSH_DEFAULTS.maxBytes,
      )
      .option(
        "--flush-interval-ms <ms>",
        "... or when its oldest record has waited this long",
        positiveInteger,
        CONSUME_FLUSH_DEFAULTS.intervalMs,
      )
      .option(
        "--session-timeout-ms <ms>",
        "how long the group waits for a silent member (6000 to 300000)",
        positiveInteger,
        30_000,
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
