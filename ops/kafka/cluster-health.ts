/** What ops needs to know of a running cluster: its controller, its brokers, and under-replicated partitions. */
import { connectToBroker, createKafka } from "../../apps/shared/kafka-client.ts";

export interface ClusterHealth {
  readonly clusterId: string;
  readonly controller: number | null;
  readonly brokers: { nodeId: number; host: string; port: number }[];
  readonly underReplicatedPartitions: number;
}

export async function clusterHealth(bootstrapServers: readonly string[]): Promise<ClusterHealth> {
  const admin = createKafka(bootstrapServers, "tickstream-ops", {
    retry: { retries: 2, initialRetryTime: 200, maxRetryTime: 1_000 },
    requestTimeout: 10_000,
  }).admin();
  await connectToBroker(admin, bootstrapServers);
  try {
    const cluster = await admin.describeCluster();
    const topics = await admin.listTopics();
    const metadata = topics.length > 0 ? await admin.fetchTopicMetadata({ topics }) : { topics: [] };
    const underReplicatedPartitions = metadata.topics
      .flatMap((topic) => topic.partitions)
      .filter((partition) => partition.isr.length < partition.replicas.length).length;
    return {
      clusterId: cluster.clusterId,
      controller: cluster.controller,
      brokers: cluster.brokers
        .map(({ nodeId, host, port }) => ({ nodeId, host, port }))
        .sort((a, b) => a.nodeId - b.nodeId),
      underReplicatedPartitions,
    };
  } finally {
    await admin.disconnect();
  }
}
