/**
 * One Kafka transactional producer per input partition, used only to commit that partition's offsets (Kafka
 * Streams' first exactly-once design). Its transactional id is stable per (group, topic, partition), so when a
 * member claims a partition, InitProducerId bumps the id's epoch and every earlier holder of the partition (a
 * frozen or partitioned zombie) can no longer commit: the transaction coordinator refuses its epoch. A claim
 * reads the committed offset and its metadata only after that fence is up, so what it reads cannot change under
 * it except through its own commits.
 *
 * Why not the consumer group's own commit, which the coordinator fences by generation? kafkajs re-reads the
 * generation on every retry of a commit, so a commit retried across a rejoin goes out under the new generation,
 * for a flush consumed under the old one. A producer epoch does not move unless someone claims the partition.
 */
import type { Admin, Kafka, Message, Producer } from "kafkajs";
import { errorMessage } from "../shared/errors.ts";
import { retry } from "../shared/retry.ts";
import { faultPoint } from "./fault-points.ts";

export interface PartitionClaim {
  readonly partition: number;
  /** The sink's join counter when the claim was made; a later join makes the claim stale. */
  readonly joinEpoch: number;
  /** The next offset to read: one past what the lake holds (-1n when the group never committed). */
  committedOffset: bigint;
  /** The committed offset's metadata, as read when claiming. */
  readonly committedMetadata: string | null;
  readonly producer: Producer;
}

/** The partition was claimed by another member since this one claimed it. */
export class PartitionFencedError extends Error {}

/**
 * What a member's eachBatch throws for a partition another member has claimed since: the group has moved to a
 * newer generation without this member noticing (it was frozen, or cut off). kafkajs rejoins the group at once
 * on an error of a rebalancing type (its `isRebalancing`: REBALANCE_IN_PROGRESS, NOT_COORDINATOR_FOR_GROUP,
 * ILLEGAL_GENERATION). Any other error that is not retriable stops its consumer for good: kafkajs does not
 * restart it, and the process lives on consuming nothing (the lake sink's liveness failure in the fault suite).
 */
export class StaleGenerationError extends Error {
  readonly type = "ILLEGAL_GENERATION";
  readonly retriable = true;
}

export class PartitionFence {
  constructor(
    private readonly kafka: Kafka,
    private readonly admin: Admin,
    private readonly groupId: string,
    private readonly topic: string,
  ) {}

  transactionalId(partition: number): string {
    return `tickstream.${this.groupId}.${this.topic}.${partition}`;
  }

  /** Fences every earlier holder of the partition, then reads its committed offset and metadata. */
  async claim(partition: number, joinEpoch: number): Promise<PartitionClaim> {
    const producer = this.kafka.producer({
      transactionalId: this.transactionalId(partition),
      idempotent: true,
      maxInFlightRequests: 1,
    });
    try {
      await producer.connect();
      // kafkajs sends the transactional InitProducerId (the fence) at the first transaction, not at connect.
      const opening = await producer.transaction();
      await opening.abort();
      // A coordinator still loading or moving answers with a retriable error.
      const [committed] = await retry(
        () => this.admin.fetchOffsets({ groupId: this.groupId, topics: [this.topic] }),
        { retries: 8, isRetriable: (error) => (error as { retriable?: boolean }).retriable === true },
      );
      const entry = committed?.partitions.find((candidate) => candidate.partition === partition);
      return {
        partition,
        joinEpoch,
        committedOffset: BigInt(entry?.offset ?? "-1"),
        committedMetadata: entry?.metadata ?? null,
        producer,
      };
    } catch (error) {
      await producer.disconnect().catch(() => {});
      throw error;
    }
  }

  /**
   * Commits `nextOffset` with `metadata` for the claimed partition in one transaction, with `records` if given. Throws
   * PartitionFencedError when another member has claimed the partition since; any other error leaves the outcome
   * unknown, and the caller must claim again (which settles it) before trusting what it knows.
   */
  async commit(
    claim: PartitionClaim,
    nextOffset: bigint,
    metadata: string,
    records?: { readonly topic: string; readonly messages: Message[] },
  ): Promise<void> {
    const transaction = await claim.producer.transaction();
    try {
      // What a consume-to-produce app writes for these offsets: visible to read-committed readers only if the
      // offsets are committed too.
      if (records && records.messages.length > 0) {
        await transaction.send({ topic: records.topic, messages: records.messages, acks: -1 });
        faultPoint("records-sent");
      }
      await transaction.sendOffsets({
        consumerGroupId: this.groupId,
        topics: [
          {
            topic: this.topic,
            // kafkajs' types omit it, but TxnOffsetCommit carries each partition's metadata as given.
            partitions: [{ partition: claim.partition, offset: nextOffset.toString(), metadata } as never],
          },
        ],
      });
      await transaction.commit();
    } catch (error) {
      await transaction.abort().catch(() => {});
      if (/fenced|epoch/i.test(`${(error as { type?: string }).type ?? ""} ${errorMessage(error)}`)) {
        throw new PartitionFencedError(
          `partition ${claim.partition} was claimed by another member: ${errorMessage(error)}`,
          { cause: error },
        );
      }
      throw error;
    }
    claim.committedOffset = nextOffset;
  }

  async release(claim: PartitionClaim): Promise<void> {
    await claim.producer.disconnect().catch(() => {});
  }
}
