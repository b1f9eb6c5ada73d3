/**
 * The whole pipeline on this machine: local services up, topic, lake sink and producer in this process,
 * then a wait until the consumer group has committed every offset, then an audit of the lake.
 */
import { createS3Client } from "../../apps/lake/s3-client.ts";
import { auditProducer } from "../../apps/lake/lake-audit.ts";
import { LakeSink, type FlushEvent, type FlushPolicy } from "../../apps/consumer/lake-sink.ts";
import { IcebergTable, s3Key } from "../../apps/iceberg/iceberg-table.ts";
import { ICEBERG_TABLES } from "../../apps/iceberg/table-schema.ts";
import { localIcebergCatalog } from "../local/iceberg-catalog.ts";
import { Rollup } from "../../apps/rollup/rollup.ts";
import { runProducer } from "../../apps/producer/producer.ts";
import { createSource } from "../../apps/producer/sources/index.ts";
import { ServiceError } from "../../apps/shared/errors.ts";
import { sleep } from "../../apps/shared/retry.ts";
import type { LocalEnvironment } from "../local/environment.ts";
import { createTopic, groupLag } from "../kafka/topics.ts";

export interface DemoOptions {
  readonly count: number;
  readonly source: string;
  readonly ratePerSecond?: number;
  readonly seed?: string;
  readonly partitions?: number;
  readonly flush?: Partial<FlushPolicy>;
  readonly onProgress?: (message: string) => void;
  readonly onStatus?: (message: string) => void;
  readonly onWarning?: (message: string) => void;
  /** Every committed and published flush (the bench times its steps). */
  readonly onFlush?: (event: FlushEvent) => void;
  /** Run the rollup and its lake sink too (default true; the bench measures the tick pipeline alone). */
  readonly rollup?: boolean;
}

/** The shape DESIGN.md fixes for `tickstream demo --json`. */
export interface DemoSummary {
  readonly produced: number;
  readonly inLake: number;
  readonly duplicates: number;
  readonly missing: number;
  readonly quarantined: number;
  readonly files: number;
  readonly bytes: number;
  readonly ticksPerSecond: number;
  readonly freshnessP50Ms: number;
  readonly freshnessP99Ms: number;
  /** One-minute bars the rollup emitted (first emissions), its revisions, and the bar rows in the lake. */
  readonly bars?: number;
  readonly barRevisions?: number;
  readonly barsInLake?: number;
}

/** Waits until the group has committed every offset of the topic. */
async function waitForLagZero(
  environment: LocalEnvironment,
  group: string,
  topic: string,
  what: string,
  onStatus?: (message: string) => void,
  timeoutMs = 120_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const lag = await groupLag(environment.bootstrapServers, group, topic);
    onStatus?.(`${what}: still to do ${lag.total.toLocaleString("en-US")}`);
    if (lag.total === 0) return;
    if (Date.now() > deadline)
      throw new ServiceError(`${what} still lags ${lag.total} records behind; see the warnings above`);
    await sleep(200);
  }
}

export function percentile(sorted: readonly number[], fraction: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor(fraction * sorted.length))]!;
}

export async function runDemo(
  environment: LocalEnvironment,
  options: DemoOptions,
): Promise<DemoSummary & { producerId: string }> {
  const progress = options.onProgress ?? (() => {});
  const { settings } = environment;
  progress("Starting the local Kafka broker and S3 server (if they are not up)...");
  await environment.up();
  const topic = settings.topic;
  const { created } = await createTopic(environment.bootstrapServers, {
    topic,
    partitions: options.partitions ?? settings.defaultPartitions,
    replicationFactor: 1,
  });
  progress(created ? `Created topic ${topic}` : `Topic ${topic} exists`);

  const freshness: number[] = [];
  const iceberg = {
    catalog: localIcebergCatalog(environment),
    commitIntervalMs: settings.icebergCommitIntervalMs,
  };
  const sink = new LakeSink({
    bootstrapServers: environment.bootstrapServers,
    topic,
    groupId: settings.consumerGroup,
    lake: environment.lake,
    flush: options.flush,
    iceberg,
    onWarning: options.onWarning,
    onFlush: (event) => {
      freshness.push(...event.freshnessMs);
      options.onFlush?.(event);
    },
  });
  await sink.start();
  const barsPipeline = options.rollup === false ? undefined : await startBarsPipeline(environment, options);
  const startedAt = Date.now();
  try {
    progress(`Producing ${options.count.toLocaleString("en-US")} ticks from ${options.source}...`);
    const produced = await runProducer({
      bootstrapServers: environment.bootstrapServers,
      topic,
      source: createSource(options.source, { seed: options.seed }),
      count: options.count,
      ratePerSecond: options.ratePerSecond,
      onRowError: (error) => options.onWarning?.(`line ${error.line}: ${error.reason}; row skipped`),
      onProgress: (count) =>
        options.onStatus?.(
          `produced ${count.toLocaleString("en-US")}, in the lake ${sink.totals.ticks.toLocaleString("en-US")}`,
        ),
    });
    progress("Waiting until the lake sink has committed every offset...");
    const deadline = Date.now() + 120_000 + produced.produced;
    for (;;) {
      const lag = await groupLag(environment.bootstrapServers, settings.consumerGroup, topic);
      options.onStatus?.(
        `in the lake ${sink.totals.ticks.toLocaleString("en-US")}, still to write ${lag.total.toLocaleString("en-US")}`,
      );
      if (lag.total === 0) break;
      if (Date.now() > deadline)
        throw new ServiceError(
          `the lake sink still lags ${lag.total} records behind; see the warnings above`,
        );
      await sleep(200);
    }
    const elapsedMs = Date.now() - startedAt;
    await sink.stop();
    const bars = barsPipeline ? await barsPipeline.finish() : undefined;

    progress("Auditing the ticks table's current snapshot by (producerId, seq)...");
    const s3 = createS3Client(environment.lake);
    try {
      const table = new IcebergTable({
        s3,
        bucket: environment.lake.bucket,
        catalog: iceberg.catalog,
        definition: ICEBERG_TABLES.ticks,
      });
      const dataFiles = new Set(
        (await table.dataFiles()).map((file) => s3Key(file.filePath, environment.lake.bucket)),
      );
      const audit = await auditProducer(
        s3,
        environment.lake.bucket,
        environment.paths.lakeCacheDir,
        produced.producerId,
        produced.produced,
        dataFiles,
      );
      freshness.sort((a, b) => a - b);
      return {
        produced: produced.produced,
        inLake: audit.inLake,
        duplicates: audit.duplicates,
        missing: audit.missing,
        quarantined: sink.totals.quarantined,
        files: sink.totals.objects,
        bytes: sink.totals.bytes,
        ticksPerSecond: Math.round((produced.produced * 1000) / Math.max(1, elapsedMs)),
        freshnessP50Ms: percentile(freshness, 0.5),
        freshnessP99Ms: percentile(freshness, 0.99),
        producerId: produced.producerId,
        ...bars,
      };
    } finally {
      s3.destroy();
    }
  } finally {
    await sink.stop();
    await barsPipeline?.stop();
  }
}

/**
 * The rollup (one-minute bars into the bar topic) and a second lake sink writing them as `bars_1m`. `finish`
 * waits until every tick is folded, the open bars are out (a partition idle for a second emits them) and in
 * the lake, then stops both.
 */
async function startBarsPipeline(environment: LocalEnvironment, options: DemoOptions) {
  const { settings } = environment;
  await createTopic(environment.bootstrapServers, {
    topic: settings.barsTopic,
    partitions: options.partitions ?? settings.defaultPartitions,
    replicationFactor: 1,
  });
  const rollup = new Rollup({
    bootstrapServers: environment.bootstrapServers,
    topic: settings.topic,
    barsTopic: settings.barsTopic,
    groupId: settings.rollupGroup,
    timing: { latenessMs: settings.rollupLatenessMs },
    idleCloseMs: 1_000,
    onWarning: options.onWarning,
  });
  const barsGroup = `${settings.consumerGroup}-bars`;
  const barsSink = new LakeSink({
    bootstrapServers: environment.bootstrapServers,
    topic: settings.barsTopic,
    groupId: barsGroup,
    lake: environment.lake,
    table: "bars_1m",
    flush: { intervalMs: 500 },
    iceberg: {
      catalog: localIcebergCatalog(environment),
      commitIntervalMs: settings.icebergCommitIntervalMs,
    },
    onWarning: options.onWarning,
  });
  await rollup.start();
  await barsSink.start();
  const stop = async () => {
    await rollup.stop();
    await barsSink.stop();
  };
  return {
    stop,
    async finish() {
      options.onProgress?.("Waiting until the rollup has emitted every bar and its sink has written them...");
      await waitForLagZero(environment, settings.rollupGroup, settings.topic, "the rollup", options.onStatus);
      const deadline = Date.now() + 60_000;
      while (rollup.openBars() > 0 && Date.now() < deadline) await sleep(200);
      await rollup.stop();
      await waitForLagZero(
        environment,
        barsGroup,
        settings.barsTopic,
        "the bars' lake sink",
        options.onStatus,
      );
      await barsSink.stop();
      return {
        bars: rollup.totals.bars,
        barRevisions: rollup.totals.revisions,
        barsInLake: barsSink.totals.ticks,
      };
    },
  };
}
