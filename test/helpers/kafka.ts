/** Kafka helpers shared by the suites. */
import { createTopic, groupLag } from "../../ops/kafka/topics.ts";
import { waitFor } from "../../apps/shared/retry.ts";

export async function createTestTopic(
  bootstrapServers: readonly string[],
  topic: string,
  partitions = 3,
): Promise<void> {
  await createTopic(bootstrapServers, { topic, partitions, replicationFactor: 1 });
}

/** Resolves once the group has committed every offset of the topic. */
export async function waitForGroupCaughtUp(
  bootstrapServers: readonly string[],
  groupId: string,
  topic: string,
  timeoutMs = 60_000,
): Promise<void> {
  let lastLag = -1;
  await waitFor(
    async () => {
      lastLag = (await groupLag(bootstrapServers, groupId, topic)).total;
      return lastLag === 0;
    },
    {
      timeoutMs,
      intervalMs: 250,
      describe: () => `group ${groupId} still lags ${lastLag} records on ${topic}`,
    },
  );
}
