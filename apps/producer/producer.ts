/**
 * The producer: reads a source, stamps each tick with this run's producerId and a sequence number, and sends
 * batches keyed by symbol with acks=all through kafkajs' idempotent producer, so a retried send is not
 * written twice. Paced by --rate (ticks per second) and --speed (a multiple of the source's own spacing).
 */
import { hostname } from "node:os";
import { randomUUID } from "node:crypto";
import { Partitioners, type Message } from "kafkajs";
import { ConfigError } from "../shared/errors.ts";
import { connectToBroker, createKafka } from "../shared/kafka-client.ts";
import { sleep } from "../shared/retry.ts";
import { encodeTick, type Tick } from "../tick/schema.ts";
import type { SourceRowError, TickSource } from "./sources/index.ts";

export interface ProducerOptions {
  readonly bootstrapServers: readonly string[];
  readonly topic: string;
  readonly source: TickSource;
  readonly producerId?: string;
  /** The first tick's sequence number (a producer that sends in several runs, like the quote poller). */
  readonly firstSeq?: number;
  /** Stop after this many ticks (default: when the source ends; synthetic never does). */
  readonly count?: number;
  /** At most this many ticks per second. */
  readonly ratePerSecond?: number;
  /** Replay historical sources at this multiple of their original spacing. */
  readonly speed?: number;
  readonly batchSize?: number;
  readonly signal?: AbortSignal;
  readonly onRowError?: (error: SourceRowError) => void;
  readonly onProgress?: (produced: number) => void;
  /** Every tick, once the broker acknowledged it. */
  readonly onSent?: (ticks: readonly Tick[]) => void;
}

export interface ProducerSummary {
  readonly producerId: string;
  readonly source: string;
  readonly produced: number;
  readonly badRows: number;
  readonly elapsedMs: number;
  readonly ticksPerSecond: number;
}

export const DEFAULT_BATCH_SIZE = 1_000;

export function defaultProducerId(): string {
  return `${hostname()}-${randomUUID().slice(0, 8)}`;
}

/** The partition kafkajs' default (Java-compatible murmur2) partitioner gives each key, for the topic as it is now. */
async function keyPartitioner(
  bootstrapServers: readonly string[],
  topic: string,
): Promise<(message: Message) => number> {
  const admin = createKafka(bootstrapServers, "tickstream-producer-metadata").admin();
  await connectToBroker(admin, bootstrapServers, "tickstream-producer-metadata");
  try {
    const metadata = await admin.fetchTopicMetadata({ topics: [topic] }).catch((error: Error) => {
      throw new ConfigError(
        `topic "${topic}" cannot be produced to (${error.message}); create it with: tickstream topic create`,
      );
    });
    const partitionMetadata = metadata.topics[0]!.partitions;
    const partitioner = Partitioners.DefaultPartitioner();
    return (message) => partitioner({ topic, partitionMetadata, message });
  } finally {
    await admin.disconnect();
  }
}

function validate(options: ProducerOptions): void {
  const positive = (name: string, value: number | undefined, integer = false) => {
    if (value === undefined) return;
    if (!(value > 0) || !Number.isFinite(value) || (integer && !Number.isInteger(value))) {
      throw new ConfigError(`${name} must be a positive ${integer ? "whole " : ""}number, got ${value}`);
    }
  };
  positive("--count", options.count, true);
  positive("--rate", options.ratePerSecond);
  positive("--speed", options.speed);
  positive("batchSize", options.batchSize, true);
  if (options.speed !== undefined && !options.source.historical) {
    throw new ConfigError(
      `--speed replays a historical source's spacing; ${options.source.name} has none (use --rate)`,
    );
  }
}

export async function runProducer(options: ProducerOptions): Promise<ProducerSummary> {
  validate(options);
  const producerId = options.producerId ?? defaultProducerId();
  const batchSize = options.batchSize ?? DEFAULT_BATCH_SIZE;
  const producer = createKafka(options.bootstrapServers, `tickstream-producer-${producerId}`).producer({
    idempotent: true,
    maxInFlightRequests: 1,
    allowAutoTopicCreation: false,
    createPartitioner: Partitioners.DefaultPartitioner,
  });
  await connectToBroker(producer, options.bootstrapServers, "tickstream-producer");
  const partitionOf = await keyPartitioner(options.bootstrapServers, options.topic);
  let produced = 0;
  let badRows = 0;
  const startedAt = Date.now();
  let batch: Tick[] = [];
  const send = async () => {
    if (batch.length === 0) return;
    const sending = batch;
    batch = [];
    // One send per partition: kafkajs (2.2.4, producer/sendMessages.js) remembers responses per broker across
    // retries, so when a partition's leader moves to a broker that already answered for other partitions of the
    // same send, that partition's messages are never re-sent and the send still resolves: a silent loss, which
    // the rolling-restart test caught. A send that spans a single partition cannot hit it.
    const byPartition = new Map<number, Message[]>();
    for (const tick of sending) {
      const message: Message = { key: tick.symbol, value: encodeTick(tick) };
      const partition = partitionOf(message);
      const group = byPartition.get(partition) ?? [];
      group.push({ ...message, partition });
      byPartition.set(partition, group);
    }
    for (const messages of byPartition.values())
      await producer.send({ topic: options.topic, acks: -1, messages });
    produced += sending.length;
    options.onSent?.(sending);
    options.onProgress?.(produced);
  };
  try {
    let firstTickMs: number | undefined;
    const onRowError = (error: SourceRowError) => {
      badRows++;
      options.onRowError?.(error);
    };
    for await (const sourceTick of options.source.ticks(onRowError)) {
      const index = produced + batch.length;
      if (options.count !== undefined && index >= options.count) break;
      if (options.signal?.aborted) break;
      // When the next tick is due later, send what is batched and wait.
      const tickMs = Date.parse(sourceTick.ts);
      firstTickMs ??= tickMs;
      const dueAt = Math.max(
        options.ratePerSecond ? startedAt + (index * 1000) / options.ratePerSecond : 0,
        options.speed ? startedAt + (tickMs - firstTickMs) / options.speed : 0,
      );
      if (dueAt > Date.now()) {
        await send();
        await sleep(dueAt - Date.now(), options.signal);
        if (options.signal?.aborted) break;
      }
      batch.push({
        ...sourceTick,
        source: options.source.name,
        producerId,
        seq: (options.firstSeq ?? 0) + index,
      });
      if (batch.length >= batchSize) await send();
    }
    await send();
  } finally {
    await producer.disconnect();
  }
  const elapsedMs = Date.now() - startedAt;
  return {
    producerId,
    source: options.source.name,
    produced,
    badRows,
    elapsedMs,
    ticksPerSecond: elapsedMs > 0 ? Math.round((produced * 1000) / elapsedMs) : produced,
  };
}
