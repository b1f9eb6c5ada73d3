/**
 * `tickstream bench`: the demo pipeline at a larger volume in a throw-away home (fresh ports, fresh broker
 * and S3 data), reporting throughput, freshness, lake size per tick and this process's peak memory.
 */
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { loadLocalSettings } from "../config/settings.ts";
import { percentile, runDemo, type DemoSummary } from "../demo/run-demo.ts";
import { LocalHost } from "../hosts/local-host.ts";
import { LocalEnvironment } from "../local/environment.ts";
import { freePort } from "../local/free-port.ts";
import { LakeSink } from "../../apps/consumer/lake-sink.ts";
import { runProducer } from "../../apps/producer/producer.ts";
import { SyntheticSource } from "../../apps/producer/sources/synthetic.ts";
import { createTopic, groupLag } from "../kafka/topics.ts";
import { sleep } from "../../apps/shared/retry.ts";
import { javaConsumerPerformance, javaProducerPerformance } from "./kafka-tools.ts";

/** The size of a synthetic tick's JSON, which Kafka's ProducerPerformance sends as its record size. */
export const TICK_RECORD_BYTES = 150;

export interface SideBySide {
  /** tickstream's producer against Kafka's ProducerPerformance, same record size, partitions and acks=all. */
  readonly producerTicksPerSecond: number;
  readonly javaProducerRecordsPerSecond: number;
  readonly producerRatioVsJava: number;
  /** The lake sink's consume-and-write rate (start to every offset committed) against ConsumerPerformance. */
  readonly consumerTicksPerSecond: number;
  readonly javaConsumerRecordsPerSecond: number;
  readonly consumerRatioVsJava: number;
}

/** Runs Kafka's tools and tickstream's producer and sink on the same broker, one after the other. */
async function sideBySide(
  environment: LocalEnvironment,
  count: number,
  progress: (message: string) => void,
): Promise<SideBySide> {
  const bootstrapServers = environment.bootstrapServers;
  const partitions = environment.settings.defaultPartitions;
  const kafkaLibs = environment.paths.kafkaLibs;
  await createTopic(bootstrapServers, { topic: "bench-java", partitions, replicationFactor: 1 });
  await createTopic(bootstrapServers, { topic: "bench-ticks", partitions, replicationFactor: 1 });
  progress(`Kafka's ProducerPerformance: ${count} records of ${TICK_RECORD_BYTES} B, acks=all...`);
  const javaProducer = await javaProducerPerformance({
    kafkaLibs,
    bootstrapServers,
    topic: "bench-java",
    records: count,
    recordSize: TICK_RECORD_BYTES,
  });
  progress(`tickstream's producer: ${count} synthetic ticks...`);
  const produced = await runProducer({
    bootstrapServers,
    topic: "bench-ticks",
    source: new SyntheticSource({ seed: "bench" }),
    count,
  });
  progress(`Kafka's ConsumerPerformance over the ${count} ticks...`);
  const javaConsumer = await javaConsumerPerformance({
    kafkaLibs,
    bootstrapServers,
    topic: "bench-ticks",
    records: count,
  });
  progress(`the lake sink over the same ${count} ticks...`);
  const sinkStartedAt = Date.now();
  const sink = new LakeSink({
    bootstrapServers,
    topic: "bench-ticks",
    groupId: "bench-sink",
    lake: environment.lake,
  });
  await sink.start();
  try {
    while ((await groupLag(bootstrapServers, "bench-sink", "bench-ticks")).total > 0) await sleep(200);
  } finally {
    await sink.stop();
  }
  const consumerTicksPerSecond = Math.round((count * 1000) / (Date.now() - sinkStartedAt));
  const ratio = (ours: number, theirs: number) => Math.round((ours / theirs) * 100) / 100;
  return {
    producerTicksPerSecond: produced.ticksPerSecond,
    javaProducerRecordsPerSecond: Math.round(javaProducer.recordsPerSecond),
    producerRatioVsJava: ratio(produced.ticksPerSecond, javaProducer.recordsPerSecond),
    consumerTicksPerSecond,
    javaConsumerRecordsPerSecond: Math.round(javaConsumer.recordsPerSecond),
    consumerRatioVsJava: ratio(consumerTicksPerSecond, javaConsumer.recordsPerSecond),
  };
}

export interface BenchResult extends DemoSummary {
  readonly sideBySide: SideBySide;
  readonly lakeBytesPerTick: number;
  readonly peakRssMb: number;
  readonly elapsedMs: number;
  /** Per flush, p50 and p99 of each step (ms): stage (PUTs), commit (the Kafka transaction), publish (COPY + DELETE). */
  readonly flushStepsMs: Record<"stage" | "commit" | "publish", { p50: number; p99: number }>;
}

export async function runBench(options: {
  count: number;
  onProgress?: (message: string) => void;
}): Promise<BenchResult> {
  const home = await mkdtemp(path.join(tmpdir(), "tickstream-bench-"));
  const settings = {
    brokerPort: await freePort(),
    controllerPort: await freePort(),
    s3Port: await freePort(),
  };
  await writeFile(path.join(home, "settings.json"), JSON.stringify(settings));
  // The jars are shared with the working directory's home, so a bench costs no download after the first.
  process.env.TICKSTREAM_KAFKA_CACHE ??= path.resolve(".tickstream", "kafka");
  const environment = new LocalEnvironment(
    loadLocalSettings(home),
    home,
    new LocalHost(),
    options.onProgress,
  );
  let peakRss = process.memoryUsage.rss();
  const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage.rss())), 100);
  const startedAt = Date.now();
  try {
    await environment.up();
    const compared = await sideBySide(environment, options.count, options.onProgress ?? (() => {}));
    const steps = { stage: [] as number[], commit: [] as number[], publish: [] as number[] };
    const { producerId: _producerId, ...summary } = await runDemo(environment, {
      rollup: false,
      count: options.count,
      source: "synthetic",
      onProgress: options.onProgress,
      onFlush: (event) => {
        for (const step of ["stage", "commit", "publish"] as const) steps[step].push(event.stepMs[step]);
      },
    });
    const stepPercentiles = (values: number[]) => {
      const sorted = [...values].sort((a, b) => a - b);
      return { p50: Math.round(percentile(sorted, 0.5)), p99: Math.round(percentile(sorted, 0.99)) };
    };
    const result = {
      ...summary,
      sideBySide: compared,
      lakeBytesPerTick: Math.round((summary.bytes / Math.max(1, summary.inLake)) * 100) / 100,
      peakRssMb: Math.round(peakRss / 1024 / 1024),
      elapsedMs: Date.now() - startedAt,
      flushStepsMs: {
        stage: stepPercentiles(steps.stage),
        commit: stepPercentiles(steps.commit),
        publish: stepPercentiles(steps.publish),
      },
    };
    await mkdir("bench", { recursive: true });
    await writeFile(
      path.join("bench", "results.json"),
      `${JSON.stringify({ ...compared, endToEndTicksPerSecond: summary.ticksPerSecond, ...result }, null, 2)}\n`,
    );
    return result;
  } finally {
    clearInterval(sampler);
    await environment.down();
    await rm(home, { recursive: true, force: true });
  }
}
