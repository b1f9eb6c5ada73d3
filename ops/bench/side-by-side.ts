/**
 * tickstream's producer and lake sink side by side with Kafka's own tools on the same broker, one after the
 * other, so that the ratios compare like with like on a noisy machine: the same record size (a synthetic tick's
 * JSON is about 150 bytes), partitions and acks=all, and enough records that the JVM's warm-up does not decide.
 */
import type { LocalEnvironment } from "../local/environment.ts";
import { LakeSink } from "../../apps/consumer/lake-sink.ts";
import { localIcebergCatalog } from "../local/iceberg-catalog.ts";
import { runProducer } from "../../apps/producer/producer.ts";
import { SyntheticSource } from "../../apps/producer/sources/synthetic.ts";
import { createTopic, waitForGroupCaughtUp } from "../kafka/topics.ts";
import { javaConsumerPerformance, javaProducerPerformance } from "./kafka-tools.ts";
import { kafkajsProducerRate } from "./kafkajs-reference.ts";

/** The size of a synthetic tick's JSON, which Kafka's ProducerPerformance sends as its record size. */
export const TICK_RECORD_BYTES = 150;
/** The topic the tick producer filled; the tutorial method reads it too. */
export const SIDE_BY_SIDE_TOPIC = "bench-ticks";
/** The topic the kafkajs reference line filled with as many ticks: the sink's batch run reads it (each topic's
 * ticks reach the lake once). */
const KAFKAJS_TOPIC = "bench-kafkajs";

export interface SideBySide {
  readonly records: number;
  readonly producerTicksPerSecond: number;
  readonly javaProducerRecordsPerSecond: number;
  readonly producerRatioVsJava: number;
  /** The same ticks sent the way the producer did on kafkajs 2.2.4 (kafkajs-reference.ts): the client's share. */
  readonly kafkajsProducerTicksPerSecond: number;
  readonly kafkajsProducerRatioVsJava: number;
  /**
   * The lake sink streaming (start to every offset committed, as the group's lag shows it) against
   * ConsumerPerformance: its last flushes are sealed by the flush interval's timer, up to 2 s after the last
   * tick was read. It runs second, after the batch run.
   */
  readonly consumerTicksPerSecond: number;
  readonly javaConsumerRecordsPerSecond: number;
  readonly consumerRatioVsJava: number;
  /**
   * The lake sink as a batch run (`consume --until-caught-up`): start, read every tick, then stop, which writes,
   * commits and publishes what is buffered (Iceberg appends included); like ConsumerPerformance, it ends once it
   * has read what it was given. It runs first, over the kafkajs reference line's topic (as many ticks, so that
   * each topic's ticks reach the lake once).
   */
  readonly batchRunTicksPerSecond: number;
  readonly batchRunRatioVsJava: number;
}

export const ratio = (ours: number, theirs: number) => Math.round((ours / theirs) * 100) / 100;

export async function sideBySide(
  environment: LocalEnvironment,
  count: number,
  progress: (message: string) => void,
): Promise<SideBySide> {
  const bootstrapServers = environment.bootstrapServers;
  const partitions = environment.settings.defaultPartitions;
  const kafkaLibs = environment.paths.kafkaLibs;
  await createTopic(bootstrapServers, { topic: "bench-java", partitions, replicationFactor: 1 });
  await createTopic(bootstrapServers, { topic: SIDE_BY_SIDE_TOPIC, partitions, replicationFactor: 1 });
  await createTopic(bootstrapServers, { topic: KAFKAJS_TOPIC, partitions, replicationFactor: 1 });
  progress(
    `Kafka's ProducerPerformance: ${count.toLocaleString("en-US")} records of ${TICK_RECORD_BYTES} B, acks=all...`,
  );
  const javaProducer = await javaProducerPerformance({
    kafkaLibs,
    bootstrapServers,
    topic: "bench-java",
    records: count,
    recordSize: TICK_RECORD_BYTES,
  });
  progress(`tickstream's producer: ${count.toLocaleString("en-US")} synthetic ticks, acks=all...`);
  const produced = await runProducer({
    bootstrapServers,
    topic: SIDE_BY_SIDE_TOPIC,
    source: new SyntheticSource({ seed: "bench" }),
    count,
  });
  progress(`the same ticks through kafkajs 2.2.4 (the reference line), acks=all...`);
  const kafkajsTicksPerSecond = await kafkajsProducerRate({
    bootstrapServers,
    topic: KAFKAJS_TOPIC,
    count,
  });
  progress(`Kafka's ConsumerPerformance over the ${count.toLocaleString("en-US")} ticks...`);
  const javaConsumer = await javaConsumerPerformance({
    kafkaLibs,
    bootstrapServers,
    topic: SIDE_BY_SIDE_TOPIC,
    records: count,
  });
  progress(`the lake sink as a batch run (consume --until-caught-up) over as many ticks...`);
  const batchRunTicksPerSecond = await timedSinkRun(
    environment,
    KAFKAJS_TOPIC,
    "bench-sink-batch",
    count,
    (sink) => sink.caughtUp(),
  );
  progress(`the lake sink streaming over the same ticks, until its group's lag is 0...`);
  const consumerTicksPerSecond = await timedSinkRun(
    environment,
    SIDE_BY_SIDE_TOPIC,
    "bench-sink",
    count,
    () =>
      waitForGroupCaughtUp(bootstrapServers, "bench-sink", SIDE_BY_SIDE_TOPIC, {
        intervalMs: 100,
        timeoutMs: 600_000,
        timeoutMessage: "the lake sink did not catch up within 10 minutes",
      }),
  );
  return {
    records: count,
    producerTicksPerSecond: produced.ticksPerSecond,
    javaProducerRecordsPerSecond: Math.round(javaProducer.recordsPerSecond),
    producerRatioVsJava: ratio(produced.ticksPerSecond, javaProducer.recordsPerSecond),
    kafkajsProducerTicksPerSecond: kafkajsTicksPerSecond,
    kafkajsProducerRatioVsJava: ratio(kafkajsTicksPerSecond, javaProducer.recordsPerSecond),
    consumerTicksPerSecond,
    javaConsumerRecordsPerSecond: Math.round(javaConsumer.recordsPerSecond),
    consumerRatioVsJava: ratio(consumerTicksPerSecond, javaConsumer.recordsPerSecond),
    batchRunTicksPerSecond,
    batchRunRatioVsJava: ratio(batchRunTicksPerSecond, javaConsumer.recordsPerSecond),
  };
}

/**
 * One lake sink over `topic`, as users run it (every flush appended to the ticks Iceberg table): started, run
 * `until` done, stopped; ticks per second from start to stopped, once the group has committed every offset (it
 * throws if not).
 */
async function timedSinkRun(
  environment: LocalEnvironment,
  topic: string,
  groupId: string,
  count: number,
  until: (sink: LakeSink) => Promise<void>,
): Promise<number> {
  const startedAt = Date.now();
  const sink = new LakeSink({
    bootstrapServers: environment.bootstrapServers,
    topic,
    groupId,
    lake: environment.lake,
    iceberg: {
      catalog: localIcebergCatalog(environment),
      commitIntervalMs: environment.settings.icebergCommitIntervalMs,
    },
  });
  await sink.start();
  try {
    await until(sink);
  } finally {
    await sink.stop();
  }
  const ticksPerSecond = Math.round((count * 1000) / (Date.now() - startedAt));
  await waitForGroupCaughtUp(environment.bootstrapServers, groupId, topic, {
    intervalMs: 100,
    timeoutMs: 0,
    timeoutMessage: `the lake sink (group ${groupId}) stopped with offsets left uncommitted`,
  });
  return ticksPerSecond;
}
