/** Topic administration through the Kafka protocol (kafkajs admin), the same against any broker. */
import { partitionLags } from "../../apps/shared/group-lag.ts";
import { ConfigError, ServiceError } from "../../apps/shared/errors.ts";
import { connectToBroker, createKafka } from "../../apps/shared/kafka-client.ts";
import { retry, sleep } from "../../apps/shared/retry.ts";

export interface TopicSpec {
  readonly topic: string;
  readonly partitions: number;
  readonly replicationFactor: number;
}

export interface PartitionDescription {
  readonly partition: number;
  readonly leader: number;
  readonly replicas: readonly number[];
  readonly isr: readonly number[];
  readonly endOffset: string;
}

type Admin = ReturnType<ReturnType<typeof createKafka>["admin"]>;

/** Runs `task` with a connected admin client; retries what the broker calls retriable (a coordinator moving). */
async function withAdmin<T>(bootstrapServers: readonly string[], task: (admin: Admin) => Promise<T>) {
  const admin = createKafka(bootstrapServers, "tickstream-ops", {
    retry: { retries: 4, initialRetryTime: 200, maxRetryTime: 2_000 },
  }).admin();
  await connectToBroker(admin, bootstrapServers);
  try {
    return await retry(() => task(admin), {
      retries: 8,
      isRetriable: (error) => (error as { retriable?: boolean }).retriable === true,
    });
  } finally {
    await admin.disconnect();
  }
}

/** Creates the topic; `created: false` when it exists already (its partition count is left as it is). */
export async function createTopic(
  bootstrapServers: readonly string[],
  spec: TopicSpec,
): Promise<{ created: boolean }> {
  if (!Number.isInteger(spec.partitions) || spec.partitions < 1) {
    throw new ConfigError(`--partitions must be a whole number >= 1, got ${spec.partitions}`);
  }
  if (!Number.isInteger(spec.replicationFactor) || spec.replicationFactor < 1) {
    throw new ConfigError(`--replication-factor must be a whole number >= 1, got ${spec.replicationFactor}`);
  }
  return withAdmin(bootstrapServers, async (admin) => {
    const created = await admin.createTopics({
      topics: [
        { topic: spec.topic, numPartitions: spec.partitions, replicationFactor: spec.replicationFactor },
      ],
      waitForLeaders: true,
    });
    return { created };
  });
}

export async function topicExists(bootstrapServers: readonly string[], topic: string): Promise<boolean> {
  return withAdmin(bootstrapServers, async (admin) => (await admin.listTopics()).includes(topic));
}

export async function describeTopic(bootstrapServers: readonly string[], topic: string) {
  return withAdmin(bootstrapServers, async (admin) => {
    const existing = await admin.listTopics();
    if (!existing.includes(topic))
      throw new ConfigError(`topic "${topic}" does not exist; create it with: tickstream topic create`);
    const [metadata] = (await admin.fetchTopicMetadata({ topics: [topic] })).topics;
    const offsets = await admin.fetchTopicOffsets(topic);
    const partitions: PartitionDescription[] = metadata!.partitions
      .map((partition) => ({
        partition: partition.partitionId,
        leader: partition.leader,
        replicas: partition.replicas,
        isr: partition.isr,
        endOffset: offsets.find((offset) => offset.partition === partition.partitionId)?.high ?? "0",
      }))
      .sort((a, b) => a.partition - b.partition);
    return { topic, partitions };
  });
}

/** Per partition: the log end offset and the group's committed offset ("-1" when none). */
export async function groupLag(bootstrapServers: readonly string[], groupId: string, topic: string) {
  return withAdmin(bootstrapServers, async (admin) => {
    const lag = (await partitionLags(admin, groupId, topic)).map((partition) => ({
      partition: partition.partition,
      endOffset: String(partition.endOffset),
      committed: String(partition.committed ?? -1),
      lag: partition.lag,
    }));
    return { partitions: lag, total: lag.reduce((sum, p) => sum + p.lag, 0) };
  });
}

/**
 * Waits until the group has committed every record the topic holds, polling every `intervalMs` over one admin
 * connection (a connection per poll costs the broker, and a process that runs the member too, more than the
 * poll itself). Throws `timeoutMessage` past `timeoutMs`.
 */
export async function waitForGroupCaughtUp(
  bootstrapServers: readonly string[],
  groupId: string,
  topic: string,
  options: { readonly intervalMs: number; readonly timeoutMs: number; readonly timeoutMessage: string },
): Promise<void> {
  const deadline = Date.now() + options.timeoutMs;
  await withAdmin(bootstrapServers, async (admin) => {
    for (;;) {
      const lags = await partitionLags(admin, groupId, topic);
      const behind = lags.reduce((sum, partition) => sum + Math.max(0, partition.lag), 0);
      if (behind === 0) return;
      if (Date.now() > deadline)
        throw new ServiceError(`${options.timeoutMessage} (${behind} records behind)`);
      await sleep(options.intervalMs);
    }
  });
}
