import { expect } from "chai";
import { createKafka } from "../../../apps/shared/kafka-client.ts";
import { PartitionFence, PartitionFencedError } from "../../../apps/consumer/partition-fence.ts";
import { createTestTopic } from "../../helpers/kafka.ts";
import { uniqueName, useLocalEnvironment } from "../../helpers/local-environment.ts";

describe("partition fence (a transactional id per partition) @integration", function () {
  const environment = useLocalEnvironment();

  async function withFences(
    task: (first: PartitionFence, second: PartitionFence, group: string, topic: string) => Promise<void>,
  ) {
    const env = environment();
    const topic = uniqueName("fence");
    const group = uniqueName("group");
    await createTestTopic(env.bootstrapServers, topic, 2);
    const kafka = createKafka(env.bootstrapServers, "fence-test");
    const [adminA, adminB] = [kafka.admin(), kafka.admin()];
    await Promise.all([adminA.connect(), adminB.connect()]);
    try {
      await task(
        new PartitionFence(kafka, adminA, group, topic),
        new PartitionFence(kafka, adminB, group, topic),
        group,
        topic,
      );
    } finally {
      await Promise.all([adminA.disconnect(), adminB.disconnect()]);
    }
  }

  it("refuses the commit of a holder once another member has claimed the partition (regression: kafkajs defers the fencing InitProducerId to the first transaction)", async function () {
    await withFences(async (first, second) => {
      const zombie = await first.claim(0, 1);
      const successor = await second.claim(0, 1);
      let refused: unknown;
      await first.commit(zombie, 10n, "zombie").catch((error) => (refused = error));
      expect(refused).to.be.instanceOf(PartitionFencedError);
      await second.commit(successor, 5n, "successor");
      await Promise.all([first.release(zombie), second.release(successor)]);
    });
  });

  it("reads, when claiming, what the previous holder committed with its metadata", async function () {
    await withFences(async (first, second) => {
      const previous = await first.claim(1, 1);
      await first.commit(previous, 42n, "flush-metadata");
      await first.release(previous);
      const next = await second.claim(1, 2);
      expect({ offset: next.committedOffset, metadata: next.committedMetadata }).to.deep.equal({
        offset: 42n,
        metadata: "flush-metadata",
      });
      await second.release(next);
    });
  });
});
