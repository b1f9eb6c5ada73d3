/** A consumer group's members and what each is assigned, read from the group coordinator (for the fault suite). */
import { AssignerProtocol, type Admin } from "kafkajs";
import { createKafka } from "../../apps/shared/kafka-client.ts";

export interface GroupMembers {
  /** The coordinator's state of the group: Stable, PreparingRebalance, CompletingRebalance, Empty, Dead. */
  readonly state: string;
  readonly members: readonly { readonly memberId: string; readonly partitions: readonly number[] }[];
}

/** One admin connection kept for a test: it reads the group often while members are frozen and thawed. */
export class GroupWatcher {
  private readonly admin: Admin;
  private connected?: Promise<void>;

  constructor(
    bootstrapServers: readonly string[],
    private readonly group: string,
    private readonly topic: string,
  ) {
    this.admin = createKafka(bootstrapServers, "fault-test-group-watcher").admin();
  }

  async members(): Promise<GroupMembers> {
    this.connected ??= this.admin.connect();
    await this.connected;
    const { groups } = await this.admin.describeGroups([this.group]);
    const group = groups[0]!;
    return {
      state: group.state,
      members: group.members.map((member) => ({
        memberId: member.memberId,
        partitions:
          member.memberAssignment.length > 0
            ? [
                ...(AssignerProtocol.MemberAssignment.decode(member.memberAssignment)?.assignment[
                  this.topic
                ] ?? []),
              ]
            : [],
      })),
    };
  }

  /** The topic's partitions that hold records (a partition no key hashes to stays empty). */
  async partitionsWithRecords(): Promise<Set<number>> {
    this.connected ??= this.admin.connect();
    await this.connected;
    const offsets = await this.admin.fetchTopicOffsets(this.topic);
    return new Set(
      offsets.filter((entry) => BigInt(entry.high) > BigInt(entry.low)).map((entry) => entry.partition),
    );
  }

  async close(): Promise<void> {
    if (this.connected) await this.admin.disconnect();
  }
}
