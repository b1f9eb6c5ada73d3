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
import type { SourceRowError, SourceTick, TickSource } from "./sources/index.ts";

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
  /** Called once connected to the broker and ready to send (start-up is over). */
  readonly onConnected?: () => void;
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
/** Batches sent and not yet acknowledged while the next is read and encoded. */
const MAX_BATCHES_IN_FLIGHT = 4;

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
    // One request in flight per partition (see dispatch below); several partitions' requests may share a connection.
    maxInFlightRequests: 5,
    allowAutoTopicCreation: false,
    createPartitioner: Partitioners.DefaultPartitioner,
  });
  await connectToBroker(producer, options.bootstrapServers, "tickstream-producer");
  const partitionOf = await keyPartitioner(options.bootstrapServers, options.topic);
  options.onConnected?.();
  // The partition depends on the key alone (murmur2 of the symbol), and a feed has few symbols: compute it once.
  const partitionBySymbol = new Map<string, number>();
  const partitionOfSymbol = (symbol: string, value: string) => {
    let partition = partitionBySymbol.get(symbol);
    if (partition === undefined) {
      partition = partitionOf({ key: symbol, value });
      if (partitionBySymbol.size < 100_000) partitionBySymbol.set(symbol, partition);
    }
    return partition;
  };
  let produced = 0;
  let taken = 0;
  let badRows = 0;
  const startedAt = Date.now();
  let batch: Tick[] = [];
  // Pipelined: while a batch is in flight the next one is read and encoded, and each partition's request goes
  // out as soon as that partition's previous one is acknowledged (never two at once for one partition, so the
  // idempotent producer's sequence numbers stay in order). Acknowledgements are reported in batch order.
  const partitionInFlight = new Map<number, Promise<unknown>>();
  const batchesInFlight: Promise<void>[] = [];
  let lastBatch: Promise<void> = Promise.resolve();
  const dispatch = () => {
    if (batch.length === 0) return;
    const sending = batch;
    batch = [];
    // One send per partition: kafkajs (2.2.4, producer/sendMessages.js) remembers responses per broker across
    // retries, so when a partition's leader moves to a broker that already answered for other partitions of the
    // same send, that partition's messages are never re-sent and the send still resolves: a silent loss, which
    // the rolling-restart test caught. A send that spans a single partition cannot hit it.
    const byPartition = new Map<number, Message[]>();
    for (const tick of sending) {
      const value = encodeTick(tick);
      const partition = partitionOfSymbol(tick.symbol, value);
      const group = byPartition.get(partition);
      if (group) group.push({ key: tick.symbol, value, partition });
      else byPartition.set(partition, [{ key: tick.symbol, value, partition }]);
    }
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
    const previous = lastBatch;
    const done = Promise.all([previous, ...sends]).then(() => {
      produced += sending.length;
      options.onSent?.(sending);
      options.onProgress?.(produced);
    });
    lastBatch = done;
    batchesInFlight.push(done);
  };
  /** Dispatches what is batched; waits while more than `maxInFlight` batches are unacknowledged. */
  const send = async (maxInFlight = MAX_BATCHES_IN_FLIGHT) => {
    dispatch();
    while (batchesInFlight.length > maxInFlight) await batchesInFlight.shift();
  };
  try {
    let firstTickMs: number | undefined;
    const onRowError = (error: SourceRowError) => {
      badRows++;
      options.onRowError?.(error);
    };
    const push = (sourceTick: SourceTick, index: number) => {
      taken++;
      // The contract's fields only: encodeTick writes the object as it is.
      const tick: Tick = {
        symbol: sourceTick.symbol,
        ts: sourceTick.ts,
        price: sourceTick.price,
        volume: sourceTick.volume,
        source: options.source.name,
        producerId,
        seq: (options.firstSeq ?? 0) + index,
      };
      if (sourceTick.open !== undefined) tick.open = sourceTick.open;
      if (sourceTick.high !== undefined) tick.high = sourceTick.high;
      if (sourceTick.low !== undefined) tick.low = sourceTick.low;
      if (sourceTick.close !== undefined) tick.close = sourceTick.close;
      batch.push(tick);
    };
    /** Takes one tick from the source; false to stop. A promise only when it must wait (pacing, a full batch). */
    const take = (sourceTick: SourceTick): boolean | Promise<boolean> => {
      // Ticks taken from the source so far (some may still be in flight, not yet counted as produced).
      const index = taken;
      if (options.count !== undefined && index >= options.count) return false;
      if (options.signal?.aborted) return false;
      // When the next tick is due later, send what is batched and wait.
      let dueAt = options.ratePerSecond ? startedAt + (index * 1000) / options.ratePerSecond : 0;
      if (options.speed) {
        const tickMs = Date.parse(sourceTick.ts);
        firstTickMs ??= tickMs;
        dueAt = Math.max(dueAt, startedAt + (tickMs - firstTickMs) / options.speed);
      }
      if (dueAt > 0 && dueAt > Date.now()) {
        return (async () => {
          await send(0);
          await sleep(dueAt - Date.now(), options.signal);
          if (options.signal?.aborted) return false;
          push(sourceTick, index);
          if (batch.length >= batchSize) await send();
          return true;
        })();
      }
      push(sourceTick, index);
      return batch.length >= batchSize ? send().then(() => true) : true;
    };
    const ticks = options.source.ticks(onRowError);
    // A synchronous source (synthetic) is read without a promise per tick; an asynchronous one (a file, an API)
    // with for await.
    if (Symbol.iterator in ticks) {
      for (const sourceTick of ticks) {
        const next = take(sourceTick);
        if (!(typeof next === "boolean" ? next : await next)) break;
      }
    } else {
      for await (const sourceTick of ticks) {
        const next = take(sourceTick);
        if (!(typeof next === "boolean" ? next : await next)) break;
      }
    }
    await send(0);
  } finally {
    // A failed batch has already thrown above; let the others settle before disconnecting.
    await Promise.allSettled(batchesInFlight);
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
