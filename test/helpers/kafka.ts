/** Kafka helpers shared by the suites. */
import {
  createTopic,
  waitForGroupCaughtUp as waitForGroupOverOneConnection,
} from "../../ops/kafka/topics.ts";

export async function createTestTopic(
  bootstrapServers: readonly string[],
  topic: string,
  partitions = 3,
): Promise<void> {
  await createTopic(bootstrapServers, { topic, partitions, replicationFactor: 1 });
}

/** Resolves once the group has committed every offset of the topic (ops' own wait, one admin connection). */
export async function waitForGroupCaughtUp(
  bootstrapServers: readonly string[],
  groupId: string,
  topic: string,
  timeoutMs = 60_000,
): Promise<void> {
  await waitForGroupOverOneConnection(bootstrapServers, groupId, topic, {
    intervalMs: 250,
    timeoutMs,
    timeoutMessage: `group ${groupId} still lags on ${topic} after ${timeoutMs} ms`,
  });
}
