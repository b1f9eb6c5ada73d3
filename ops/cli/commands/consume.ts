/** `tickstream consume`: run the lake sink until Ctrl-C or SIGTERM, then flush and exit. */
import type { Command } from "commander";
import { DEFAULT_FLUSH_POLICY, LakeSink } from "../../../apps/consumer/lake-sink.ts";
import type { LakeTableName } from "../../../apps/lake/lake-tables.ts";
import { InvalidArgumentError } from "commander";
import { ConfigError } from "../../../apps/shared/errors.ts";
import { topicExists } from "../../kafka/topics.ts";
import { localIcebergCatalog } from "../../local/iceberg-catalog.ts";
import { LocalEnvironment } from "../../local/environment.ts";

function tableName(value: string): LakeTableName {
  if (value !== "ticks" && value !== "bars_1m")
    throw new InvalidArgumentError(`expected ticks or bars_1m, got "${value}"`);
  return value;
}
import { commandAction, withCommonOptions } from "../command.ts";
import { positiveInteger } from "../options.ts";
import { formatCount, formatPairs, type Output } from "../output.ts";
import { untilStopped } from "../signals.ts";

interface ConsumeOptions {
  table: LakeTableName;
  group?: string;
  topic?: string;
  flushRecords: number;
  flushBytes: number;
  flushIntervalMs: number;
  sessionTimeoutMs: number;
  iceberg: boolean;
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
        "--no-iceberg",
        "publish to the Hive layout only, without appending to the table's Apache Iceberg table (see lake migrate)",
      ),
  ).action(
    commandAction(async (output: Output, options: ConsumeOptions) => {
      const environment = LocalEnvironment.fromEnvironment();
      const bars = options.table === "bars_1m";
      const topic = options.topic ?? (bars ? environment.settings.barsTopic : environment.settings.topic);
      const groupId = options.group ?? `${environment.settings.consumerGroup}${bars ? "-bars" : ""}`;
      const sink = new LakeSink({
        bootstrapServers: environment.bootstrapServers,
        topic,
        groupId,
        lake: environment.lake,
        table: options.table,
        flush: {
          maxRecords: options.flushRecords,
          maxBytes: options.flushBytes,
          intervalMs: options.flushIntervalMs,
        },
        sessionTimeoutMs: options.sessionTimeoutMs,
        ...(options.iceberg
          ? {
              iceberg: {
                catalog: localIcebergCatalog(environment),
                commitIntervalMs: environment.settings.icebergCommitIntervalMs,
              },
            }
          : {}),
        onWarning: (message) => output.warn(message),
        onFlush: (event) => {
          const objects = event.objects.map((object) => object.key).join(", ");
          output.progress(
            `partition ${event.partition}: ${formatCount(event.ticks)} ticks` +
              (event.quarantined ? `, ${event.quarantined} quarantined` : "") +
              ` -> ${objects}; committed ${event.committedOffset}`,
          );
        },
      });
      const lifecycle = untilStopped(
        output,
        "flushing what is buffered, then exiting (Ctrl-C again to give up on pending writes)",
      );
      lifecycle.onAbandon(() => sink.abandonPendingWrites());
      try {
        lifecycle.doing(`checking topic ${topic}`);
        // kafkajs would say "This server does not host this topic-partition": say what to start instead.
        if (bars && !(await topicExists(environment.bootstrapServers, topic)))
          throw new ConfigError(
            `topic ${topic} does not exist yet: start the rollup first (tickstream rollup), which creates it`,
          );
        lifecycle.doing(`connecting to the broker and joining group ${groupId}`);
        output.progress(`joining group ${groupId} at ${environment.bootstrapServers.join(",")}...`);
        try {
          await sink.start();
          lifecycle.running(`consuming ${topic}`);
          output.progress(
            `lake sink consuming ${topic} into s3://${environment.lake.bucket}/${options.table}/`,
          );
          await lifecycle.stopped();
          lifecycle.doing(
            `${formatCount(sink.bufferedRecords)} buffered records not flushed or not committed ` +
              "(the group reads them again; a staged flush stays an orphan under _staging/)",
          );
        } finally {
          await sink.stop();
        }
      } finally {
        lifecycle.dispose();
      }
      output.result(
        sink.totals,
        formatPairs([
          ["ticks written", formatCount(sink.totals.ticks)],
          ["quarantined", formatCount(sink.totals.quarantined)],
          ["objects", formatCount(sink.totals.objects)],
          ["bytes", formatCount(sink.totals.bytes)],
        ]),
      );
      return lifecycle.finish();
    }),
  );
}
