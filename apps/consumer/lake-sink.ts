/**
 * The lake sink: a Kafka consumer group member that writes ticks to the S3 lake as Parquet, exactly once.
 *
 * Why the lake is exactly-once (the Kafka Connect S3 sink's argument, adapted):
 *  1. Offsets are committed only after every object of a flush is durably written (PutObject returned).
 *     A crash therefore never loses a tick: the next owner of the partition re-reads from the committed offset.
 *  2. An object's name is `<dt>/<topic>+<partition>+<first offset of that dt in the flush>`. A flush always
 *     covers one contiguous range of a partition starting at the committed offset C, and writes every buffered
 *     date of that range together before committing. So a leftover object from a flush that crashed before its
 *     commit is named by "the first offset >= C whose tick has date dt". When the range is consumed again, from
 *     the same C, the flush that reaches that offset starts the object for dt at that very offset (nothing of dt
 *     lies between C and it), writes the same name, and replaces the leftover before it commits past it.
 *     No leftover can survive a commit, so the lake never holds a tick twice once the consumer has caught up.
 *  3. This holds whatever triggers a flush (rows, bytes, or the wall-clock interval), because the argument only
 *     needs flushes to start at the committed offset, not to end at the same place twice. It would break if a
 *     partition's dates were flushed separately with separate commits (Connect's per-encoded-partition rotation
 *     with `rotate.schedule.interval.ms`), or if a flush could start anywhere but the committed offset: hence a
 *     rebalance drops every buffer (kafkajs then resumes each partition from its committed offset), and so does
 *     a redelivered offset.
 * Records that fail validation go to `quarantine/` in the same flush, named the same way, so they are
 * exactly-once too; their date is the Kafka record's CreateTime, which is as deterministic as the offset.
 */
import { PutObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import type { Consumer, EachBatchPayload, KafkaMessage } from "kafkajs";
import { LakeWriteError, errorMessage } from "../shared/errors.ts";
import { connectToBroker, createKafka } from "../shared/kafka-client.ts";
import { Mutex } from "../shared/mutex.ts";
import { retry } from "../shared/retry.ts";
import { decodeTick, eventDate, timestampMicros } from "../tick/schema.ts";
import { quarantineObjectKey, tickObjectKey } from "../lake/layout.ts";
import type { LakeRow } from "../lake/lake-row.ts";
import { ParquetEncoder } from "../lake/parquet-encoder.ts";
import { createS3Client, type LakeLocation } from "../lake/s3-client.ts";
import { PartitionBuffer } from "./partition-buffer.ts";

export interface FlushPolicy {
  /** Flush a partition once it buffers this many records. */
  readonly maxRecords: number;
  /** ... or this many bytes of message payload. */
  readonly maxBytes: number;
  /** ... or once its oldest buffered record has waited this long. */
  readonly intervalMs: number;
}

export const DEFAULT_FLUSH_POLICY: FlushPolicy = {
  maxRecords: 100_000,
  maxBytes: 32 * 1024 * 1024,
  intervalMs: 2_000,
};

export interface LakeSinkOptions {
  readonly bootstrapServers: readonly string[];
  readonly topic: string;
  readonly groupId: string;
  readonly lake: LakeLocation;
  readonly flush?: Partial<FlushPolicy>;
  /** Where a new group starts: the earliest offset (default) or only new records. */
  readonly fromBeginning?: boolean;
  /** How long the group waits for a silent member before handing its partitions on (default 30 s). */
  readonly sessionTimeoutMs?: number;
  readonly onFlush?: (event: FlushEvent) => void;
  readonly onWarning?: (message: string) => void;
}

export interface WrittenObject {
  readonly key: string;
  readonly records: number;
  readonly bytes: number;
}

export interface FlushEvent {
  readonly partition: number;
  readonly startOffset: string;
  readonly committedOffset: string;
  readonly ticks: number;
  readonly quarantined: number;
  readonly objects: readonly WrittenObject[];
  /** Per record: object durable minus Kafka CreateTime, in ms. */
  readonly freshnessMs: readonly number[];
}

export interface LakeSinkTotals {
  ticks: number;
  quarantined: number;
  objects: number;
  bytes: number;
  flushes: number;
}

const COMMIT_RETRIES = 5;

export class LakeSink {
  readonly totals: LakeSinkTotals = { ticks: 0, quarantined: 0, objects: 0, bytes: 0, flushes: 0 };
  private readonly flushPolicy: FlushPolicy;
  private readonly buffers = new Map<number, PartitionBuffer>();
  private readonly lock = new Mutex();
  private readonly abandon = new AbortController();
  private readonly s3: S3Client;
  private consumer?: Consumer;
  private encoder?: ParquetEncoder;
  private timer?: NodeJS.Timeout;
  private stopping?: Promise<void>;
  /** A failure outside eachBatch (a commit from the interval timer) that must restart the consumer. */
  private pendingFailure?: Error;

  constructor(private readonly options: LakeSinkOptions) {
    this.flushPolicy = { ...DEFAULT_FLUSH_POLICY, ...options.flush };
    // One attempt per call: the sink's own backoff loop decides how long to keep trying.
    this.s3 = createS3Client(options.lake, { maxAttempts: 1 });
  }

  async start(): Promise<void> {
    this.encoder = await ParquetEncoder.create();
    const consumer = createKafka(this.options.bootstrapServers, "tickstream-lake-sink").consumer({
      groupId: this.options.groupId,
      sessionTimeout: this.options.sessionTimeoutMs ?? 30_000,
      heartbeatInterval: Math.min(3_000, Math.floor((this.options.sessionTimeoutMs ?? 30_000) / 3)),
      allowAutoTopicCreation: false,
      // A fetch long-polls this long for data; it bounds how long stop() waits for the fetch in flight.
      maxWaitTimeInMs: 500,
    });
    this.consumer = consumer;
    // After any (re)join, kafkajs resumes every assigned partition from its committed offset: drop what was
    // buffered so that the next flush of each partition starts exactly there.
    consumer.on(consumer.events.GROUP_JOIN, () => this.buffers.clear());
    consumer.on(consumer.events.CRASH, (event) => {
      this.warn(`consumer restarting after: ${errorMessage(event.payload.error)}`);
    });
    await connectToBroker(consumer, this.options.bootstrapServers);
    await consumer.subscribe({
      topic: this.options.topic,
      fromBeginning: this.options.fromBeginning ?? true,
    });
    await consumer.run({ autoCommit: false, eachBatch: (payload) => this.onBatch(payload) });
    const tickMs = Math.max(50, Math.min(1_000, Math.floor(this.flushPolicy.intervalMs / 4)));
    this.timer = setInterval(() => void this.flushDueByTime(), tickMs);
  }

  private warn(message: string): void {
    this.options.onWarning?.(message);
  }

  private async onBatch({ batch, heartbeat }: EachBatchPayload): Promise<void> {
    const keepAlive = setInterval(() => heartbeat().catch(() => {}), 2_000);
    let release: () => void;
    try {
      release = await this.lock.acquire();
    } finally {
      clearInterval(keepAlive);
    }
    try {
      if (this.pendingFailure) {
        const failure = this.pendingFailure;
        this.pendingFailure = undefined;
        throw failure;
      }
      for (const message of batch.messages) this.accept(batch.topic, batch.partition, message);
      const buffer = this.buffers.get(batch.partition);
      if (buffer && this.isDue(buffer, Date.now())) await this.flushPartition(buffer, heartbeat);
    } finally {
      release();
    }
  }

  private accept(topic: string, partition: number, message: KafkaMessage): void {
    const offset = BigInt(message.offset);
    let buffer = this.buffers.get(partition);
    if (buffer && offset < buffer.nextOffset) {
      // Redelivery from the committed offset (a seek or a rebalance): start over from here.
      this.buffers.delete(partition);
      buffer = undefined;
    }
    if (!buffer) {
      buffer = new PartitionBuffer(partition, offset, Date.now());
      this.buffers.set(partition, buffer);
    }
    const producedAtMs = Number(message.timestamp);
    const size = (message.value?.length ?? 0) + (message.key?.length ?? 0);
    const decoded = decodeTick(message.value);
    if (decoded.ok) {
      const tick = decoded.tick;
      const row: LakeRow = {
        symbol: tick.symbol,
        tsMicros: timestampMicros(tick.ts),
        price: tick.price,
        volume: BigInt(tick.volume),
        open: tick.open ?? null,
        high: tick.high ?? null,
        low: tick.low ?? null,
        close: tick.close ?? null,
        source: tick.source,
        producerId: tick.producerId,
        seq: BigInt(tick.seq),
        kafkaPartition: partition,
        kafkaOffset: offset,
      };
      buffer.addRow(eventDate(tick.ts), row, size, producedAtMs);
    } else {
      const kafkaTimestamp = new Date(producedAtMs).toISOString();
      buffer.addQuarantined(
        eventDate(kafkaTimestamp),
        {
          reason: decoded.reason,
          topic,
          partition,
          offset: message.offset,
          key: message.key?.toString("utf8") ?? null,
          value: message.value?.toString("utf8") ?? null,
          kafkaTimestamp,
        },
        size,
        producedAtMs,
      );
    }
  }

  private isDue(buffer: PartitionBuffer, nowMs: number): boolean {
    return (
      buffer.records >= this.flushPolicy.maxRecords ||
      buffer.bytes >= this.flushPolicy.maxBytes ||
      nowMs - buffer.createdAtMs >= this.flushPolicy.intervalMs
    );
  }

  private async flushDueByTime(): Promise<void> {
    if (this.stopping) return;
    await this.lock
      .runExclusive(async () => {
        const now = Date.now();
        for (const buffer of [...this.buffers.values()]) {
          if (this.stopping === undefined && this.isDue(buffer, now)) await this.flushPartition(buffer);
        }
      })
      .catch((error) => this.warn(`flush failed: ${errorMessage(error)}`));
  }

  /** Writes every object of the buffer, then commits; the caller holds the lock. */
  private async flushPartition(buffer: PartitionBuffer, heartbeat?: () => Promise<void>): Promise<void> {
    const { topic } = this.options;
    const ingestedAtMs = Date.now();
    const objects: WrittenObject[] = [];
    let ticks = 0;
    let quarantined = 0;
    for (const [dt, group] of buffer.rowsByDate) {
      const body = await this.encoder!.encode(group.items, ingestedAtMs);
      const key = tickObjectKey(dt, topic, buffer.partition, group.startOffset);
      await this.putObject(key, body, "application/vnd.apache.parquet", heartbeat);
      objects.push({ key, records: group.items.length, bytes: body.length });
      ticks += group.items.length;
    }
    for (const [dt, group] of buffer.quarantineByDate) {
      const body = Buffer.from(group.items.map((record) => JSON.stringify(record)).join("\n") + "\n");
      const key = quarantineObjectKey(dt, topic, buffer.partition, group.startOffset);
      await this.putObject(key, body, "application/x-ndjson", heartbeat);
      objects.push({ key, records: group.items.length, bytes: body.length });
      quarantined += group.items.length;
    }
    const durableAtMs = Date.now();
    if (this.buffers.get(buffer.partition) !== buffer) return; // dropped by a rebalance meanwhile: do not commit
    try {
      await retry(
        () =>
          this.consumer!.commitOffsets([
            { topic, partition: buffer.partition, offset: buffer.nextOffset.toString() },
          ]),
        { retries: COMMIT_RETRIES, signal: this.abandon.signal },
      );
    } catch (error) {
      // The objects stay; they are overwritten when the range is consumed again (see the header).
      this.buffers.clear();
      this.pendingFailure = new Error(
        `offset commit failed for partition ${buffer.partition}: ${errorMessage(error)}`,
      );
      this.warn(this.pendingFailure.message);
      return;
    }
    this.buffers.delete(buffer.partition);
    this.totals.ticks += ticks;
    this.totals.quarantined += quarantined;
    this.totals.objects += objects.length;
    this.totals.bytes += objects.reduce((sum, object) => sum + object.bytes, 0);
    this.totals.flushes++;
    this.options.onFlush?.({
      partition: buffer.partition,
      startOffset: buffer.startOffset.toString(),
      committedOffset: buffer.nextOffset.toString(),
      ticks,
      quarantined,
      objects,
      freshnessMs: buffer.producedAtMs.map((producedAt) => durableAtMs - producedAt),
    });
  }

  /** PUTs an object, retrying with backoff for as long as it takes (or until the sink is abandoned). */
  private async putObject(key: string, body: Buffer, contentType: string, heartbeat?: () => Promise<void>) {
    await retry(
      async () => {
        try {
          await this.s3.send(
            new PutObjectCommand({
              Bucket: this.options.lake.bucket,
              Key: key,
              Body: body,
              ContentType: contentType,
            }),
          );
        } catch (error) {
          throw new LakeWriteError(
            `writing s3://${this.options.lake.bucket}/${key} failed: ${errorMessage(error) || (error as Error).name}`,
            {
              retriable: true,
              cause: error,
            },
          );
        }
      },
      {
        retries: Infinity,
        signal: this.abandon.signal,
        onRetry: (error, attempt, delayMs) => {
          this.warn(`${errorMessage(error)}; retry ${attempt} in ${delayMs} ms, nothing committed`);
          heartbeat?.().catch(() => {});
        },
      },
    );
  }

  /** Number of records buffered and not yet durable. */
  get bufferedRecords(): number {
    let records = 0;
    for (const buffer of this.buffers.values()) records += buffer.records;
    return records;
  }

  /** Stops fetching, flushes and commits what is buffered, then leaves the group. Safe to call twice. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      clearInterval(this.timer);
      const consumer = this.consumer;
      try {
        if (consumer) {
          consumer.pause([{ topic: this.options.topic }]);
          await this.lock.runExclusive(async () => {
            for (const buffer of [...this.buffers.values()]) await this.flushPartition(buffer);
          });
        }
      } finally {
        await consumer?.disconnect();
        await this.encoder?.close();
        this.s3.destroy();
      }
    })();
    return this.stopping;
  }

  /** Gives up on writes still being retried (a second Ctrl-C): nothing more is committed, nothing is lost. */
  abandonPendingWrites(): void {
    this.abandon.abort();
  }
}
