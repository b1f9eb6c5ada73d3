/**
 * `tickstream bench` (`npm run bench`): one run on fresh local services (a throw-away home, fresh ports), side by
 * side so that ratios are fair on a noisy machine. In order: the producer against Kafka's ProducerPerformance and
 * the lake sink against ConsumerPerformance (side-by-side.ts); the tutorials' one-object-per-message consumer on
 * the same ticks (tutorial-method.ts); end to end with a producer process and one sink process, sustained, then
 * with two and three sink members (end-to-end.ts); `ohlcv-1m` over 10 million ticks (query-bench.ts). First of
 * all, 20 ticks/s into one sink on the default settings, then `lake compact` (trickle.ts). Writes
 * bench/results.json and bench/results.svg; fails when the lake lost or doubled a tick.
 */
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { availableParallelism, tmpdir } from "node:os";
import path from "node:path";
import { DEFAULT_FLUSH_POLICY } from "../../apps/consumer/lake-sink.ts";
import { loadLocalSettings } from "../config/settings.ts";
import { LocalHost } from "../hosts/local-host.ts";
import { LocalEnvironment } from "../local/environment.ts";
import { freePorts } from "../local/free-port.ts";
import { benchChartSvg } from "./chart.ts";
import { runEndToEnd, type EndToEndResult } from "./end-to-end.ts";
import { sinkServiceBundle } from "./sink-service.ts";
import { runQueryBench, type QueryBench } from "./query-bench.ts";
import { ratio, sideBySide, SIDE_BY_SIDE_TOPIC, type SideBySide } from "./side-by-side.ts";
import { tutorialMethodRate } from "./tutorial-method.ts";
import { runTrickle, type TrickleResult } from "./trickle.ts";

export interface BenchOptions {
  /** Records for the side-by-side runs (millions, so that the JVM's warm-up does not decide the ratio). */
  readonly count: number;
  /** How long the end-to-end producer runs with one sink member. */
  readonly durationMs: number;
  /** How long each scale-out run (two and three members) produces. */
  readonly scaleOutDurationMs: number;
  /** Ticks in the lake for the ohlcv-1m query. */
  readonly queryTicks: number;
  /** How long the trickle (20 ticks/s into one sink, then `lake compact`) runs; it runs first. */
  readonly trickleMs: number;
  /** Only the trickle: no side-by-side, end-to-end or query runs. */
  readonly trickleOnly?: boolean;
  readonly onProgress?: (message: string) => void;
}

/** bench/results.json (the keys the issue names first, then the details). */
export interface BenchResults {
  readonly producerRatioVsJava: number;
  readonly consumerRatioVsJava: number;
  /** The lake sink as a batch run (`consume --until-caught-up`) against ConsumerPerformance. */
  readonly batchRunRatioVsJava: number;
  readonly endToEndTicksPerSecond: number;
  readonly ratioVsTutorialMethod: number;
  readonly freshnessP50Ms: number;
  readonly freshnessP99Ms: number;
  readonly flushIntervalMs: number;
  readonly icebergCommitIntervalMs: number;
  /** The ticks table's snapshots per second in the one-member end-to-end run. */
  readonly tableCommitsPerSecond: number;
  readonly trickle: TrickleResult;
  readonly consumerPeakRssMb: number;
  readonly ohlcv1mQueryMs: number;
  readonly ohlcv1mTicks: number;
  readonly scaleOut: readonly { members: number; ticksPerSecond: number; sinkPeakRssMb: number }[];
  readonly sideBySide: SideBySide;
  readonly tutorialMethod: { messages: number; messagesPerSecond: number; lakeSinkTicksPerSecond: number };
  readonly endToEnd: readonly EndToEndResult[];
  readonly query: QueryBench;
  readonly lost: number;
  readonly duplicated: number;
  readonly machine: { cpus: number; node: string };
  readonly elapsedMs: number;
}

export async function runBench(options: BenchOptions): Promise<BenchResults> {
  const progress = options.onProgress ?? (() => {});
  const home = await mkdtemp(path.join(tmpdir(), "tickstream-bench-"));
  const [brokerPort, controllerPort, s3Port] = await freePorts(3);
  const settings = { brokerPort, controllerPort, s3Port };
  await writeFile(path.join(home, "settings.json"), JSON.stringify(settings));
  // The jars are shared with the working directory's home, so a bench costs no download after the first.
  process.env.TICKSTREAM_KAFKA_CACHE ??= path.resolve(".tickstream", "kafka");
  const environment = new LocalEnvironment(loadLocalSettings(home), home, new LocalHost(), progress);
  const startedAt = Date.now();
  try {
    await environment.up();
    const s3 = await environment.lakeClient();
    try {
      // First, while the ticks table holds nothing else: what a compaction of the trickle's day leaves.
      const trickle = await runTrickle({
        environment,
        s3,
        ticksPerSecond: 20,
        durationMs: options.trickleMs,
        onProgress: progress,
      });
      if (options.trickleOnly) return { trickle } as BenchResults;
      const compared = await sideBySide(environment, options.count, progress);
      progress("the tutorials' method (one S3 object per message) on the same ticks, for 20 s...");
      const tutorial = await tutorialMethodRate({
        bootstrapServers: environment.bootstrapServers,
        topic: SIDE_BY_SIDE_TOPIC,
        s3,
        bucket: environment.lake.bucket,
        durationMs: 20_000,
      });
      const endToEnd: EndToEndResult[] = [];
      const sinkService = await sinkServiceBundle(environment);
      try {
        for (const members of [1, 2, 3])
          endToEnd.push(
            await runEndToEnd({
              environment,
              s3,
              members,
              durationMs: members === 1 ? options.durationMs : options.scaleOutDurationMs,
              sinkService,
              onProgress: progress,
            }),
          );
      } finally {
        await sinkService.remove();
      }
      const query = await runQueryBench({ environment, s3, ticks: options.queryTicks, onProgress: progress });
      const single = endToEnd[0]!;
      const results: BenchResults = {
        producerRatioVsJava: compared.producerRatioVsJava,
        consumerRatioVsJava: compared.consumerRatioVsJava,
        batchRunRatioVsJava: compared.batchRunRatioVsJava,
        endToEndTicksPerSecond: single.ticksPerSecond,
        ratioVsTutorialMethod: ratio(compared.consumerTicksPerSecond, tutorial.messagesPerSecond),
        freshnessP50Ms: single.freshnessP50Ms,
        freshnessP99Ms: single.freshnessP99Ms,
        flushIntervalMs: DEFAULT_FLUSH_POLICY.intervalMs,
        icebergCommitIntervalMs: environment.settings.icebergCommitIntervalMs,
        tableCommitsPerSecond: single.tableCommitsPerSecond,
        trickle,
        consumerPeakRssMb: single.sinkPeakRssMb,
        ohlcv1mQueryMs: query.queryMs,
        ohlcv1mTicks: query.ticksInLake,
        scaleOut: endToEnd.map(({ members, ticksPerSecond, sinkPeakRssMb }) => ({
          members,
          ticksPerSecond,
          sinkPeakRssMb,
        })),
        sideBySide: compared,
        tutorialMethod: { ...tutorial, lakeSinkTicksPerSecond: compared.consumerTicksPerSecond },
        endToEnd,
        query,
        lost:
          endToEnd.reduce((sum, run) => sum + run.audit.missing, 0) +
          trickle.auditBefore.missing +
          trickle.auditAfter.missing,
        duplicated:
          endToEnd.reduce((sum, run) => sum + run.audit.duplicates, 0) +
          trickle.auditBefore.duplicates +
          trickle.auditAfter.duplicates,
        machine: { cpus: availableParallelism(), node: process.version },
        elapsedMs: Date.now() - startedAt,
      };
      await mkdir("bench", { recursive: true });
      await writeFile(path.join("bench", "results.json"), `${JSON.stringify(results, null, 2)}\n`);
      await writeFile(path.join("bench", "results.svg"), chartOf(results));
      return results;
    } finally {
      s3.destroy();
    }
  } finally {
    await environment.down();
    await rm(home, { recursive: true, force: true });
  }
}

/** The report's first line and the chart's title: where the run was made, Node's version included. */
export function benchHeading(results: Pick<BenchResults, "machine" | "sideBySide">): string {
  const { machine, sideBySide: compared } = results;
  return `tickstream bench: Node ${machine.node}, ${machine.cpus} cores, one local broker, ${compared.records.toLocaleString("en-US")} records side by side`;
}

/** bench/results.svg of a run's results. */
export function chartOf(results: BenchResults): string {
  const { sideBySide: compared } = results;
  return benchChartSvg(
    benchHeading(results),
    [
      {
        label: "Kafka ProducerPerformance",
        value: compared.javaProducerRecordsPerSecond,
        kind: "reference",
        unit: "rec/s",
      },
      { label: "tickstream producer", value: compared.producerTicksPerSecond, kind: "ours", unit: "ticks/s" },
      {
        label: "kafkajs 2.2.4, same producer loop",
        value: compared.kafkajsProducerTicksPerSecond,
        kind: "reference",
        unit: "ticks/s",
      },
      {
        label: "Kafka ConsumerPerformance",
        value: compared.javaConsumerRecordsPerSecond,
        kind: "reference",
        unit: "msg/s",
      },
      {
        label: "lake sink, batch run (consume + Parquet + S3)",
        value: compared.batchRunTicksPerSecond,
        kind: "ours",
        unit: "ticks/s",
      },
      {
        label: "lake sink streaming, until lag 0",
        value: compared.consumerTicksPerSecond,
        kind: "ours",
        unit: "ticks/s",
      },
      {
        label: "tutorials' one object per message",
        value: results.tutorialMethod.messagesPerSecond,
        kind: "reference",
        unit: "msg/s",
      },
      ...results.scaleOut.map((run) => ({
        label: `end to end, ${run.members} sink member${run.members > 1 ? "s" : ""}`,
        value: run.ticksPerSecond,
        kind: "ours" as const,
        unit: "ticks/s",
      })),
    ],
    [
      {
        label: "freshness p50 (send to in the table)",
        value: results.freshnessP50Ms,
        kind: "time",
        unit: "ms",
      },
      { label: "freshness p99", value: results.freshnessP99Ms, kind: "time", unit: "ms" },
      { label: "flush interval", value: results.flushIntervalMs, kind: "time", unit: "ms" },
      { label: "Iceberg commit interval", value: results.icebergCommitIntervalMs, kind: "time", unit: "ms" },
      {
        label: `ohlcv-1m over ${(results.ohlcv1mTicks / 1e6).toFixed(1)}M ticks`,
        value: results.ohlcv1mQueryMs,
        kind: "time",
        unit: "ms",
      },
    ],
  );
}
