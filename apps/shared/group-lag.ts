/** How far a consumer group is behind on a topic, per partition, read with a connected kafkajs admin client. */
import type { Admin } from "kafkajs";

export interface PartitionLag {
  readonly partition: number;
  /** The log start offset (where a group with no commit starts). */
  readonly startOffset: number;
  readonly endOffset: number;
  /** The group's committed offset, or null when it has none. */
  readonly committed: number | null;
  /** End offset minus the committed offset (minus the start offset without a commit). */
  readonly lag: number;
}

export async function partitionLags(admin: Admin, groupId: string, topic: string): Promise<PartitionLag[]> {
  const ends = await admin.fetchTopicOffsets(topic);
  const [committed] = await admin.fetchOffsets({ groupId, topics: [topic] });
  return ends
    .map((end) => {
      const offset = committed?.partitions.find((p) => p.partition === end.partition)?.offset ?? "-1";
      const committedOffset = offset === "-1" ? null : Number(offset);
      return {
        partition: end.partition,
        startOffset: Number(end.low),
        endOffset: Number(end.high),
        committed: committedOffset,
        lag: Number(end.high) - (committedOffset ?? Number(end.low)),
      };
    })
    .sort((a, b) => a.partition - b.partition);
}
