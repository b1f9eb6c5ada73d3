/** What `tickstream consume` does (commands/consume.ts registers it): the lake sink until Ctrl-C or SIGTERM. */
import { LakeSink } from "../../../apps/consumer/lake-sink.ts";
import { ConfigError } from "../../../apps/shared/errors.ts";
import { topicExists } from "../../kafka/topics.ts";
import { localIcebergCatalog } from "../../local/iceberg-catalog.ts";
import { LocalEnvironment } from "../../local/environment.ts";
import type { ConsumeOptions } from "../commands/consume.ts";
import { formatCount, formatPairs, type Output } from "../output.ts";
import { untilStopped } from "../signals.ts";

export async function run(output: Output, options: ConsumeOptions): Promise<number> {
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
    if (bars && options.untilCaughtUp)
      throw new ConfigError(
        "--until-caught-up is for the ticks table: the bars topic is transactional, and its last commit marker may never reach the sink",
      );
    if (bars && !(await topicExists(environment.bootstrapServers, topic)))
      throw new ConfigError(
        `topic ${topic} does not exist yet: start the rollup first (tickstream rollup), which creates it`,
      );
    lifecycle.doing(`connecting to the broker and joining group ${groupId}`);
    output.progress(`joining group ${groupId} at ${environment.bootstrapServers.join(",")}...`);
    try {
      await sink.start();
      lifecycle.running(`consuming ${topic}`);
      output.progress(`lake sink consuming ${topic} into s3://${environment.lake.bucket}/${options.table}/`);
      const stoppedForGood = await Promise.race([
        lifecycle.stopped().then(() => undefined),
        sink.stoppedForGood,
        ...(options.untilCaughtUp
          ? [
              sink.caughtUp().then(() => {
                output.progress(`read what ${topic} held at start; writing it, then exiting`);
                return undefined;
              }),
            ]
          : []),
      ]);
      // The member ends non-zero (after stopping what it can), so a service manager starts it again.
      if (stoppedForGood) throw stoppedForGood;
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
}
