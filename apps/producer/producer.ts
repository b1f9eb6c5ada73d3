/**
 * The producer: reads a source, stamps each tick with this run's producerId and a sequence number, and sends
 * batches keyed by symbol with acks=all through an idempotent producer (@platformatic/kafka, kafka-client.ts), so
 * a retried send is not written twice. Paced by --rate (ticks per second) and --speed (a multiple of the source's
 * own spacing).
 */
import { hostname } from "node:os";
import { randomUUID } from "node:crypto";
import { compatibilityPartitioner, type MessageToProduce } from "@platformatic/kafka";
import { ConfigError, ServiceError } from "../shared/errors.ts";
import {
  brokerConnectionError,
  createTickProducer,
  rootError,
  type TickProducer,
} from "../shared/kafka-client.ts";
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

/** How long one partition's failed send is retried (with fresh metadata each time) before the run fails. */
export const SEND_RETRY_MS = 60_000;

/**
 * The partition a key goes to: Kafka's default partitioner (Java's murmur2, made positive, modulo the
 * partition count), the same as kafkajs' DefaultPartitioner, so that a symbol stays on the partition it had.
 */
export function partitionForKey(key: string, partitionCount: number): number {
  return compatibilityPartitioner(undefined as never, Buffer.from(key)) % partitionCount;
}

/** Every error of a @platformatic/kafka error's chain (MultipleErrors' `errors`, and `cause`). */
function errorChain(error: unknown, into: unknown[] = []): unknown[] {
  if (!error || typeof error !== "object" || into.length > 100) return into;
  into.push(error);
  for (const inner of (error as { errors?: unknown[] }).errors ?? []) errorChain(inner, into);
  errorChain((error as { cause?: unknown }).cause, into);
  return into;
}

/**
 * Whether sending the same messages again may succeed: not when the broker refused the principal
 * (authentication, authorization) or the request itself, nor when it answered about the idempotent producer's
 * sequence (OUT_OF_ORDER_SEQUENCE_NUMBER, UNKNOWN_PRODUCER_ID: sending again could write twice, so stop).
 * A connection refused or timed out, or an answer that names stale metadata (NOT_LEADER_OR_FOLLOWER), may.
 */
export function sendMayBeRetried(error: unknown): boolean {
  for (const item of errorChain(error)) {
    const { code, canRetry, hasStaleMetadata } = item as {
      code?: string;
      canRetry?: boolean;
      hasStaleMetadata?: boolean;
    };
    if (code === "PLT_KFK_AUTHENTICATION" || code === "PLT_KFK_USER") return false;
    if (code === "PLT_KFK_PROTOCOL" && canRetry === false && !hasStaleMetadata) return false;
  }
  return true;
}

/** A send that failed for good, as one sentence. */
function sendError(error: unknown, topic: string, brokers: readonly string[]): ServiceError {
  const root = rootError(error) as { apiId?: string; message?: string };
  if (root?.apiId)
    return new ServiceError(
      `the Kafka broker at ${brokers.join(",")} refused to write topic "${topic}": ${root.message} (${root.apiId})`,
      { cause: error },
    );
  return brokerConnectionError(error, brokers, "tickstream-producer");
}

/** The topic's partition count; connecting, authenticating and the producer id first, so that start-up fails here. */
async function connectProducer(
  producer: TickProducer,
  brokers: readonly string[],
  topic: string,
): Promise<number> {
  let metadata;
  try {
    metadata = await producer.metadata({ topics: [topic] });
  } catch (error) {
    const root = rootError(error) as { apiId?: string; message?: string };
    // @platformatic/kafka 1.x answers a topic the metadata does not list with a UserError "Unknown topic …".
    if (
      root?.apiId === "UNKNOWN_TOPIC_OR_PARTITION" ||
      root?.apiId === "TOPIC_AUTHORIZATION_FAILED" ||
      (root as { code?: string })?.code === "PLT_KFK_USER"
    )
      throw new ConfigError(
        `topic "${topic}" cannot be produced to (${root.message}); create it with: tickstream topic create`,
        { cause: error },
      );
    throw brokerConnectionError(error, brokers, "tickstream-producer");
  }
  const partitions = metadata.topics.get(topic)?.partitionsCount ?? 0;
  if (partitions < 1)
    throw new ConfigError(
      `topic "${topic}" cannot be produced to (no partitions); create it with: tickstream topic create`,
    );
  try {
    await producer.initIdempotentProducer({});
  } catch (error) {
    throw sendError(error, topic, brokers);
  }
  return partitions;
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
  const producer = createTickProducer(options.bootstrapServers, `tickstream-producer-${producerId}`);
  let partitionCount: number;
  try {
    partitionCount = await connectProducer(producer, options.bootstrapServers, options.topic);
  } catch (error) {
    await producer.close().catch(() => {});
    throw error;
  }
  options.onConnected?.();
  // The partition depends on the key alone (murmur2 of the symbol), and a feed has few symbols: compute it once.
  const partitionBySymbol = new Map<string, number>();
  const partitionOfSymbol = (symbol: string) => {
    let partition = partitionBySymbol.get(symbol);
    if (partition === undefined) {
      partition = partitionForKey(symbol, partitionCount);
      if (partitionBySymbol.size < 100_000) partitionBySymbol.set(symbol, partition);
    }
    return partition;
  };
  /**
   * One partition's messages, retried until acknowledged. @platformatic/kafka 1.x retries a send within itself
   * to the broker it chose first (it looks the leader up again only when the broker answers that it is no longer
   * the leader), so a SIGKILLed leader would be retried forever; here a failed send is sent again after the
   * metadata is cleared, to whichever broker leads the partition by then. The idempotent producer numbers the
   * batch from the partition's acknowledged count, which a failed send does not move: the broker writes a batch
   * that reached it before the failure once (it answers the repeat as a duplicate, with the first offsets).
   */
  const sendPartition = async (messages: MessageToProduce<string, string, string, string>[]) => {
    const firstFailureAt = Date.now();
    for (let attempt = 0; ; attempt++) {
      try {
        await producer.send({ messages });
        return;
      } catch (error) {
        if (!sendMayBeRetried(error) || Date.now() - firstFailureAt >= SEND_RETRY_MS)
          throw sendError(error, options.topic, options.bootstrapServers);
        producer.clearMetadata();
        await sleep(Math.min(200 * 2 ** attempt, 5_000));
      }
    }
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
    // One send per partition, and one partition's sends one after the other. @platformatic/kafka 1.x numbers a
    // batch from the partition's acknowledged messages, so two requests in flight for one partition would carry
    // the same sequence number; and a send that spans one partition is retried whole (sendPartition). (kafkajs,
    // which this producer used before, also lost messages when a multi-partition send was retried across a
    // leader move: DESIGN.md.)
    const byPartition = new Map<number, MessageToProduce<string, string, string, string>[]>();
    for (const tick of sending) {
      const value = encodeTick(tick);
      const partition = partitionOfSymbol(tick.symbol);
      const message = { topic: options.topic, key: tick.symbol, value, partition };
      const group = byPartition.get(partition);
      if (group) group.push(message);
      else byPartition.set(partition, [message]);
    }
    const sends = [...byPartition].map(([partition, messages]) => {
      const sent = (partitionInFlight.get(partition) ?? Promise.resolve()).then(() =>
        sendPartition(messages),
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
    await producer.close();
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
