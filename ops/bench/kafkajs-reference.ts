/**
 * The reference line for the producer's client: the same synthetic ticks sent the way the producer sent them on
 * kafkajs 2.2.4 before it moved to @platformatic/kafka (idempotent, acks=all, keyed by symbol, batches of 1,000
 * split into one send per partition, one send in flight per partition, up to 4 batches in flight). Only the bench
 * runs it: no app produces through kafkajs.
 */
import { Partitioners, type Message } from "kafkajs";
import { SyntheticSource } from "../../apps/producer/sources/synthetic.ts";
import { connectToBroker, createKafka } from "../../apps/shared/kafka-client.ts";
import { encodeTick, type Tick } from "../../apps/tick/schema.ts";

export async function kafkajsProducerRate(options: {
  readonly bootstrapServers: readonly string[];
  readonly topic: string;
  readonly count: number;
}): Promise<number> {
  const kafka = createKafka(options.bootstrapServers, "tickstream-producer-bench-kafkajs");
  const admin = kafka.admin();
  await connectToBroker(admin, options.bootstrapServers);
  const partitionMetadata = (await admin.fetchTopicMetadata({ topics: [options.topic] })).topics[0]!
    .partitions;
  await admin.disconnect();
  const partitioner = Partitioners.DefaultPartitioner();
  const producer = kafka.producer({
    idempotent: true,
    maxInFlightRequests: 5,
    allowAutoTopicCreation: false,
  });
  await connectToBroker(producer, options.bootstrapServers);
  const startedAt = Date.now();
  try {
    const partitionInFlight = new Map<number, Promise<unknown>>();
    const batchesInFlight: Promise<unknown>[] = [];
    let batch: Tick[] = [];
    const dispatch = () => {
      const byPartition = new Map<number, Message[]>();
      for (const tick of batch) {
        const message = { key: tick.symbol, value: encodeTick(tick) };
        const partition = partitioner({ topic: options.topic, partitionMetadata, message });
        byPartition.set(partition, [...(byPartition.get(partition) ?? []), { ...message, partition }]);
      }
      batch = [];
      const sends = [...byPartition].map(([partition, messages]) => {
        const sent = (partitionInFlight.get(partition) ?? Promise.resolve()).then(() =>
          producer.send({ topic: options.topic, acks: -1, messages }),
        );
        partitionInFlight.set(
          partition,
          sent.catch(() => {}),
        );
        return sent;
      });
      batchesInFlight.push(Promise.all(sends));
    };
    let seq = 0;
    for (const sourceTick of new SyntheticSource({ seed: "bench-kafkajs" }).ticks()) {
      if (seq >= options.count) break;
      batch.push({ ...sourceTick, source: "synthetic", producerId: "bench-kafkajs", seq: seq++ });
      if (batch.length < 1_000) continue;
      dispatch();
      while (batchesInFlight.length > 4) await batchesInFlight.shift();
    }
    if (batch.length > 0) dispatch();
    await Promise.all(batchesInFlight);
  } finally {
    await producer.disconnect();
  }
  return Math.round((options.count * 1000) / (Date.now() - startedAt));
}
