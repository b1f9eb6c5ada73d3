import { expect } from "chai";
import { Producer, stringSerializers, ProduceAcks } from "@platformatic/kafka";
import { LakeSink } from "../../apps/consumer/lake-sink.ts";
import { partitionForKey, runProducer } from "../../apps/producer/producer.ts";
import { SyntheticSource } from "../../apps/producer/sources/synthetic.ts";
import { sleep, waitFor } from "../../apps/shared/retry.ts";
import { createTopic } from "../../ops/kafka/topics.ts";
import { bootstrapThreeBrokerCluster, type BootstrappedCluster } from "../helpers/bootstrapped-broker.ts";
import { assertLakeExact, committedTotal, waitForLagZero } from "../helpers/fault-run.ts";
import { createTestEnvironment, destroyTestEnvironment, uniqueName } from "../helpers/local-environment.ts";
import type { LocalEnvironment } from "../../ops/local/environment.ts";
import { localIcebergCatalog } from "../../ops/local/iceberg-catalog.ts";

/**
 * The leader-move case of three-broker-cluster.test.ts, with the killed broker left dead: the producer
 * (@platformatic/kafka 1.x) must find the partition's new leader by itself. The library alone does not: within
 * one send it retries the broker it chose first, and an idempotent producer retries forever (shown below).
 */
describe("fault: a partition leader SIGKILLed and never brought back, while producing @integration", function () {
  let cluster: BootstrappedCluster | undefined;
  let lakeEnvironment: LocalEnvironment | undefined;

  before(async function () {
    this.timeout(400_000);
    cluster = await bootstrapThreeBrokerCluster(14, 13);
    lakeEnvironment = await createTestEnvironment();
    await lakeEnvironment.s3.start();
  });
  after(async function () {
    this.timeout(120_000);
    await cluster?.destroy();
    await destroyTestEnvironment(lakeEnvironment);
  });

  it("keeps every tick exactly once through the new leaders, where the library's own send to the dead leader never ends", async function () {
    this.timeout(400_000);
    const { bootstrapServers, services } = cluster!;
    const lake = lakeEnvironment!.lake;
    const [topic, group] = [uniqueName("leader-gone"), uniqueName("sink")];
    await createTopic(bootstrapServers, { topic, partitions: 3, replicationFactor: 3 });
    const warnings: string[] = [];
    const sink = new LakeSink({
      bootstrapServers,
      topic,
      groupId: group,
      lake,
      flush: { maxRecords: 2_000, intervalMs: 500 },
      iceberg: { catalog: localIcebergCatalog(lakeEnvironment!) },
      onWarning: (message) => warnings.push(message),
    });
    // The library on its own, idempotent as the producer is (its default retries for idempotence: forever).
    const bare = new Producer({
      clientId: "tickstream-producer-bare",
      bootstrapBrokers: bootstrapServers,
      serializers: stringSerializers,
      idempotent: true,
      acks: ProduceAcks.ALL,
      retryDelay: 250,
    });
    await sink.start();
    try {
      const producing = runProducer({
        bootstrapServers,
        topic,
        source: new SyntheticSource({ seed: "leader-gone" }),
        count: 30_000,
        ratePerSecond: 2_000,
        batchSize: 200,
      });
      await waitFor(async () => (await committedTotal(bootstrapServers, group, topic)) > 4_000, {
        timeoutMs: 90_000,
        describe: () => "nothing committed before the kill",
      });
      // The victim leads some partition: the bare producer's cached metadata names it.
      const metadata = await bare.metadata({ topics: [topic], forceUpdate: true });
      const partitions = metadata.topics.get(topic)!.partitions;
      const victimNode = partitions[0]!.leader;
      const victim = services.find((service) => service.nodeId === victimNode)!;
      const key = ["A", "B", "C", "D", "E", "F", "G", "H"].find(
        (symbol) => partitionForKey(symbol, 3) === 0,
      )!;
      await bare.send({ messages: [{ topic, key, value: "before", partition: 0 }] });
      const pid = (await victim.service.status()).pid!;
      process.kill(pid, "SIGKILL");
      let bareSettled = "pending";
      const bareSend = bare.send({ messages: [{ topic, key, value: "after", partition: 0 }] }).then(
        () => (bareSettled = "acknowledged"),
        (error: Error) => (bareSettled = `failed: ${error.message}`),
      );
      const { producerId, produced } = await producing;
      expect(produced).to.equal(30_000);
      const producedAt = Date.now();
      // The partitions have new leaders (the producer's ticks were acknowledged through them); the bare send
      // still retries the dead broker.
      await sleep(Math.max(0, 20_000 - (Date.now() - producedAt)));
      expect(bareSettled, "the library's own send to the dead leader").to.equal("pending");
      await bare.close();
      await bareSend;
      const caughtUpAt = await waitForLagZero(bootstrapServers, group, topic, 180_000);
      await sink.stop();
      await assertLakeExact(
        "a partition leader SIGKILLed, never back",
        lakeEnvironment!,
        new Map([[producerId, produced]]),
        caughtUpAt - producedAt,
        warnings,
      );
    } finally {
      await bare.close().catch(() => {});
      await sink.stop();
    }
  });
});
