import { expect } from "chai";
import { LakeSink } from "../../apps/consumer/lake-sink.ts";
import { runProducer } from "../../apps/producer/producer.ts";
import { SyntheticSource } from "../../apps/producer/sources/synthetic.ts";
import { sleep, waitFor } from "../../apps/shared/retry.ts";
import { createTopic } from "../../ops/kafka/topics.ts";
import { bootstrapThreeBrokerCluster, type BootstrappedCluster } from "../helpers/bootstrapped-broker.ts";
import { assertLakeExact, committedTotal, waitForLagZero } from "../helpers/fault-run.ts";
import { createTestEnvironment, destroyTestEnvironment, uniqueName } from "../helpers/local-environment.ts";
import type { LocalEnvironment } from "../../ops/local/environment.ts";
import { localIcebergCatalog } from "../../ops/local/iceberg-catalog.ts";

describe("fault: a broker of a three-broker KRaft cluster killed @integration", function () {
  let cluster: BootstrappedCluster | undefined;
  let lakeEnvironment: LocalEnvironment | undefined;

  before(async function () {
    this.timeout(400_000);
    cluster = await bootstrapThreeBrokerCluster(4, 3);
    lakeEnvironment = await createTestEnvironment();
    await lakeEnvironment.s3.start(); // the lake only: the brokers are the cluster's
  });
  after(async function () {
    this.timeout(120_000);
    await cluster?.destroy();
    await destroyTestEnvironment(lakeEnvironment);
  });

  it("keeps every tick exactly once (replication factor 3, min.insync.replicas=2, acks=-1) when one broker is SIGKILLed mid-run and brought back later", async function () {
    this.timeout(400_000);
    const { bootstrapServers, services } = cluster!;
    const lake = lakeEnvironment!.lake;
    const [topic, group] = [uniqueName("quorum"), uniqueName("sink")];
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
    await sink.start();
    try {
      const producing = runProducer({
        bootstrapServers,
        topic,
        source: new SyntheticSource({ seed: "quorum" }),
        count: 40_000,
        ratePerSecond: 2_000,
        batchSize: 200,
      });
      await waitFor(async () => (await committedTotal(bootstrapServers, group, topic)) > 4_000, {
        timeoutMs: 90_000,
        describe: () => "nothing committed before the kill",
      });
      const victim = services[1]!;
      const pid = (await victim.service.status()).pid!;
      process.kill(pid, "SIGKILL");
      await waitFor(async () => !(await victim.service.status()).running, {
        timeoutMs: 10_000,
        describe: () => "the killed broker still runs",
      });
      await sleep(10_000);
      await victim.service.start();
      const backAt = Date.now();
      expect((await victim.service.status()).pid).to.not.equal(pid);
      const { producerId, produced } = await producing;
      expect(produced).to.equal(40_000);
      const producedAt = Date.now();
      const caughtUpAt = await waitForLagZero(bootstrapServers, group, topic, 180_000);
      // A commit is the flush's commit point and its publish follows it: count once the sink has stopped.
      await sink.stop();
      await assertLakeExact(
        "one of 3 brokers SIGKILLed, back after 10 s",
        lakeEnvironment!,
        new Map([[producerId, produced]]),
        caughtUpAt - Math.max(backAt, producedAt),
        warnings,
      );
    } finally {
      await sink.stop();
    }
  });
});
