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
import { sleep } from "../../apps/shared/retry.ts";
import { createTopic, groupLag } from "../kafka/topics.ts";
import { javaConsumerPerformance, javaProducerPerformance } from "./kafka-tools.ts";
import { kafkajsProducerRate } from "./kafkajs-reference.ts";

/** The size of a synthetic tick's JSON, which Kafka's ProducerPerformance sends as its record size. */
export const TICK_RECORD_BYTES = 150;
/** The topic the tick producer filled; the tutorial method reads it too. */
export const SIDE_BY_SIDE_TOPIC = "bench-ticks";

export interface SideBySide {
  readonly records: number;
  readonly producerTicksPerSecond: number;
  readonly javaProducerRecordsPerSecond: number;
  readonly producerRatioVsJava: number;
  /** The same ticks sent the way the producer did on kafkajs 2.2.4 (kafkajs-reference.ts): the client's share. */
  readonly kafkajsProducerTicksPerSecond: number;
  readonly kafkajsProducerRatioVsJava: number;
  /** The lake sink's consume-and-write rate (start to every offset committed) against ConsumerPerformance. */
  readonly consumerTicksPerSecond: number;
  readonly javaConsumerRecordsPerSecond: number;
  readonly consumerRatioVsJava: number;
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
  await createTopic(bootstrapServers, { topic: "bench-kafkajs", partitions, replicationFactor: 1 });
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
    topic: "bench-kafkajs",
    count,
  });
  progress(`Kafka's ConsumerPerformance over the ${count.toLocaleString("en-US")} ticks...`);
  const javaConsumer = await javaConsumerPerformance({
    kafkaLibs,
    bootstrapServers,
    topic: SIDE_BY_SIDE_TOPIC,
    records: count,
  });
  progress(`the lake sink over the same ${count.toLocaleString("en-US")} ticks...`);
  const sinkStartedAt = Date.now();
  const sink = new LakeSink({
    bootstrapServers,
    topic: SIDE_BY_SIDE_TOPIC,
    groupId: "bench-sink",
    lake: environment.lake,
    // As users run it: every flush appended to the ticks Iceberg table (the stop commits what waits).
    iceberg: {
      catalog: localIcebergCatalog(environment),
      commitIntervalMs: environment.settings.icebergCommitIntervalMs,
    },
  });
  await sink.start();
  try {
    while ((await groupLag(bootstrapServers, "bench-sink", SIDE_BY_SIDE_TOPIC)).total > 0) await sleep(100);
  } finally {
    await sink.stop();
  }
  const consumerTicksPerSecond = Math.round((count * 1000) / (Date.now() - sinkStartedAt));
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
  };
}
