import { expect } from "chai";
import { runProducer } from "../../apps/producer/producer.ts";
import { SyntheticSource } from "../../apps/producer/sources/synthetic.ts";
import { sleep, waitFor } from "../../apps/shared/retry.ts";
import { groupLag } from "../../ops/kafka/topics.ts";
import { spawnCli } from "../helpers/cli.ts";
import { countDuplicatesAndGaps, readLakeTicks } from "../helpers/lake.ts";
import { createTestTopic, waitForGroupCaughtUp } from "../helpers/kafka.ts";
import { cliEnvironment, uniqueName, useLocalEnvironment } from "../helpers/local-environment.ts";

describe("lake sink crash recovery @integration", function () {
  const environment = useLocalEnvironment();

  it("keeps every tick exactly once when the consumer is SIGKILLed mid-stream and restarted", async function () {
    const env = environment();
    const topic = uniqueName("crash");
    const group = uniqueName("sink");
    const total = 24_000;
    await createTestTopic(env.bootstrapServers, topic);
    const consumeArgs = [
      "consume",
      "--topic",
      topic,
      "--group",
      group,
      "--flush-records",
      "300",
      "--flush-interval-ms",
      "200",
      "--session-timeout-ms",
      "6000",
    ];
    const startConsumer = () => spawnCli(consumeArgs, cliEnvironment(env));

    const producing = runProducer({
      bootstrapServers: env.bootstrapServers,
      topic,
      source: new SyntheticSource({ seed: "crash" }),
      count: total,
      ratePerSecond: 2_000,
      batchSize: 100,
    });

    // Two crashes, each while ticks are still arriving and after the lake has received some of them.
    let committedBeforeKill = 0;
    for (let crash = 0; crash < 2; crash++) {
      const consumer = startConsumer();
      const before = (await groupLag(env.bootstrapServers, group, topic)).partitions;
      const committedAtStart = before.reduce((sum, p) => sum + Math.max(0, Number(p.committed)), 0);
      await waitFor(
        async () => {
          const lag = await groupLag(env.bootstrapServers, group, topic);
          committedBeforeKill = lag.partitions.reduce((sum, p) => sum + Math.max(0, Number(p.committed)), 0);
          return committedBeforeKill > committedAtStart + 1_000;
        },
        { timeoutMs: 60_000, describe: () => `consumer ${crash + 1} committed nothing` },
      );
      await sleep(150 + Math.floor(Math.random() * 200));
      consumer.kill("SIGKILL");
      const killed = await consumer;
      expect(killed.signal, killed.all).to.equal("SIGKILL");
    }
    expect(committedBeforeKill, "the crashes happened mid-stream").to.be.lessThan(total);

    const finalConsumer = startConsumer();
    const { producerId, produced } = await producing;
    expect(produced).to.equal(total);
    await waitForGroupCaughtUp(env.bootstrapServers, group, topic, 90_000);
    finalConsumer.kill("SIGTERM");
    const exited = await finalConsumer;
    expect(exited.exitCode, exited.all).to.equal(0);

    const rows = await readLakeTicks(env.lake, producerId);
    const counts = countDuplicatesAndGaps(rows, total);
    expect(counts).to.deep.equal({ unique: total, duplicates: 0, missing: 0 });
  });
});
