/**
 * The dashboard's live inputs from Kafka. One consumer reads the tick topic from where the history's ticks end,
 * per partition (the offset after the newest one the history counted; from the partition's start when the
 * history holds none of it). Not from the lake sink's committed offsets: the sink commits a flush before it
 * publishes the flush's objects, so a history read in between lacks ticks that are before the committed offset.
 * And, when it exists, the bar topic from the bars sink's committed offsets, read committed (kafkajs' default
 * isolation), so no bar of an aborted transaction is ever shown. Its group is its own and commits nothing: the page's reading moves no offset of
 * any app. A poller samples the topic's end offsets (ticks per second in) and the sinks' lag per partition.
 */
import type { Admin, Consumer } from "kafkajs";
import { randomUUID } from "node:crypto";
import { decodeBar, type Bar } from "../rollup/bar.ts";
import { ConfigError } from "../shared/errors.ts";
import { createKafka } from "../shared/kafka-client.ts";
import { partitionLags, type PartitionLag } from "../shared/group-lag.ts";
import { retry } from "../shared/retry.ts";
import { decodeTick, type Tick } from "../tick/schema.ts";

export type { PartitionLag };

export interface KafkaHealth {
  readonly ticksPerSecond: number;
  /** The tick lake sink's lag per partition (end offset minus its committed offset). */
  readonly sinkLag: readonly PartitionLag[];
  readonly sinkLagTotal: number;
  /** The bars lake sink's total lag, when the bar topic exists. */
  readonly barsSinkLagTotal: number | null;
}

export interface LiveFeedOptions {
  readonly bootstrapServers: readonly string[];
  readonly tickTopic: string;
  readonly barsTopic: string;
  readonly tickSinkGroup: string;
  readonly barsSinkGroup: string;
  /** Per tick partition, the newest offset the history counted (live ticks start after it), if any. */
  readonly lakeOffset: (partition: number) => number | undefined;
  readonly onTick: (tick: Tick, partition: number, offset: number) => void;
  readonly onBar: (bar: Bar) => void;
  readonly onWarning?: (message: string) => void;
}

const CLIENT_ID = "tickstream-dashboard";
/** Ticks per second are averaged over this many one-second samples. */
const RATE_WINDOW = 5;

export class LiveFeed {
  private readonly kafka;
  private admin: Admin | undefined;
  private consumer: Consumer | undefined;
  private barsTopicExists = false;
  /** Per tick partition, the next offset to read (where a restarted consumer resumes). */
  private readonly nextTickOffset = new Map<number, number>();
  private readonly endSamples: { at: number; total: number }[] = [];
  invalidMessages = 0;

  constructor(private readonly options: LiveFeedOptions) {
    this.kafka = createKafka(options.bootstrapServers, CLIENT_ID);
  }

  /** True once the bar topic exists and is read. */
  get readsBars(): boolean {
    return this.barsTopicExists;
  }

  async start(): Promise<void> {
    this.admin = this.kafka.admin();
    await this.admin.connect();
    if (!(await this.topicExists(this.options.tickTopic)))
      throw new ConfigError(
        `topic ${this.options.tickTopic} does not exist yet: create it (tickstream topic create) or run tickstream demo`,
      );
    this.barsTopicExists = await this.topicExists(this.options.barsTopic);
    await this.startConsumer();
  }

  /** Starts reading the bar topic if it has appeared since (the rollup started after the page). */
  async checkForBarsTopic(): Promise<boolean> {
    if (this.barsTopicExists || !(await this.topicExists(this.options.barsTopic))) return false;
    this.barsTopicExists = true;
    await this.consumer?.disconnect();
    await this.startConsumer();
    return true;
  }

  async health(): Promise<KafkaHealth> {
    const sinkLag = await this.lagOf(this.options.tickSinkGroup, this.options.tickTopic);
    const total = sinkLag.reduce((sum, partition) => sum + partition.endOffset, 0);
    const now = Date.now();
    this.endSamples.push({ at: now, total });
    while (this.endSamples.length > RATE_WINDOW + 1) this.endSamples.shift();
    const first = this.endSamples[0]!;
    const ticksPerSecond =
      now > first.at ? Math.max(0, ((total - first.total) * 1000) / (now - first.at)) : 0;
    let barsSinkLagTotal: number | null = null;
    if (this.barsTopicExists) {
      const barsLag = await this.lagOf(this.options.barsSinkGroup, this.options.barsTopic);
      barsSinkLagTotal = barsLag.reduce((sum, partition) => sum + partition.lag, 0);
    }
    return {
      ticksPerSecond,
      sinkLag,
      sinkLagTotal: sinkLag.reduce((sum, partition) => sum + partition.lag, 0),
      barsSinkLagTotal,
    };
  }

  async stop(): Promise<void> {
    await this.consumer?.disconnect().catch(() => {});
    await this.admin?.disconnect().catch(() => {});
  }

  private async topicExists(topic: string): Promise<boolean> {
    return (await this.admin!.listTopics()).includes(topic);
  }

  private async lagOf(groupId: string, topic: string): Promise<PartitionLag[]> {
    // A coordinator still loading (a new broker, a moved group) is retriable.
    return retry(() => partitionLags(this.admin!, groupId, topic), {
      retries: 8,
      isRetriable: (error) => {
        // kafkajs wraps the broker's retriable error in one that says its own retries ran out.
        for (let cause: unknown = error; cause; cause = (cause as { cause?: unknown }).cause)
          if ((cause as { retriable?: boolean }).retriable === true) return true;
        return false;
      },
    });
  }

  /** Where each bar partition starts: the bars sink's committed offset (bars are not counted from the lake). */
  private async startOffsets(groupId: string, topic: string) {
    return (await this.lagOf(groupId, topic)).map((partition) => ({
      partition: partition.partition,
      offset: String(partition.committed ?? partition.startOffset),
    }));
  }

  /**
   * Where each tick partition starts: where this feed stopped reading it, else right after the history's ticks
   * (within the partition's log: a position outside it would make the consumer jump to the end), else its start.
   */
  private async tickStartOffsets() {
    const { tickTopic, tickSinkGroup } = this.options;
    return (await this.lagOf(tickSinkGroup, tickTopic)).map(({ partition, startOffset, endOffset }) => {
      let offset = this.nextTickOffset.get(partition);
      if (offset === undefined) {
        const counted = this.options.lakeOffset(partition);
        offset =
          counted === undefined ? startOffset : Math.min(Math.max(counted + 1, startOffset), endOffset);
        // A restart (the bar topic appeared) resumes here, even if nothing of the partition was read yet.
        this.nextTickOffset.set(partition, offset);
      }
      return { partition, offset: String(offset) };
    });
  }

  private async startConsumer(): Promise<void> {
    const { tickTopic, barsTopic } = this.options;
    const topics = this.barsTopicExists ? [tickTopic, barsTopic] : [tickTopic];
    const seeks = [
      ...(await this.tickStartOffsets()).map((seek) => ({ topic: tickTopic, ...seek })),
      ...(this.barsTopicExists
        ? (await this.startOffsets(this.options.barsSinkGroup, barsTopic)).map((seek) => ({
            topic: barsTopic,
            ...seek,
          }))
        : []),
    ];
    const consumer = this.kafka.consumer({
      groupId: `${CLIENT_ID}-${randomUUID()}`,
      sessionTimeout: 30_000,
      maxWaitTimeInMs: 250,
    });
    this.consumer = consumer;
    await consumer.connect();
    await consumer.subscribe({ topics, fromBeginning: false });
    await consumer.run({
      autoCommit: false,
      eachBatch: async ({ batch }) => {
        for (const message of batch.messages) {
          const offset = Number(message.offset);
          if (batch.topic === tickTopic) {
            const decoded = decodeTick(message.value);
            if (decoded.ok) this.options.onTick(decoded.tick, batch.partition, offset);
            else this.invalidMessages++;
            this.nextTickOffset.set(batch.partition, offset + 1);
          } else {
            const decoded = decodeBar(message.value);
            if (decoded.ok) this.options.onBar(decoded.bar);
            else this.invalidMessages++;
          }
        }
      },
    });
    for (const seek of seeks) consumer.seek(seek);
  }
}
