import { expect } from "chai";
import { Partitioners } from "kafkajs";
import { runProducer } from "../../apps/producer/producer.ts";
import { SyntheticSource } from "../../apps/producer/sources/synthetic.ts";
import { createKafka } from "../../apps/shared/kafka-client.ts";
import { sleep } from "../../apps/shared/retry.ts";
import { assertLakeExact, committedTotal, SinkMember, waitForLagZero } from "../helpers/fault-run.ts";
import { lakeKeys } from "../helpers/lake-count.ts";
import { createTestTopic } from "../helpers/kafka.ts";
import { readQuarantine } from "../helpers/lake.ts";
import { pyicebergScan } from "../helpers/pyiceberg.ts";
import { FileCatalog } from "../../apps/iceberg/catalog.ts";
import path from "node:path";
import { cliEnvironment, uniqueName, useLocalEnvironment } from "../helpers/local-environment.ts";

describe("fault: lake sink members killed @integration", function () {
  const environment = useLocalEnvironment();

  it("keeps every tick exactly once when the member is SIGKILLed at five moments of a 200,000-tick run (after staging, after the commit, mid-publish, after publishing, and at random) and restarted", async function () {
    this.timeout(420_000);
    const env = environment();
    const topic = uniqueName("killed");
    const group = uniqueName("sink");
    const total = 200_000;
    await createTestTopic(env.bootstrapServers, topic, 3);
    const cli = cliEnvironment(env);

    // A few invalid records among the ticks, so that some flushes hold two objects (ticks and quarantine) and
    // "mid-publish" (one object copied, the other not) can be reached.
    const poisonProducer = createKafka(env.bootstrapServers, "poison").producer({
      createPartitioner: Partitioners.DefaultPartitioner,
    });
    await poisonProducer.connect();
    let poisonSent = 0;
    let poisonUntilKillsAreDone = true;
    const poisoning = (async () => {
      // Until the last kill: "published-partly" needs a flush that holds one, however slow the machine.
      while (poisonUntilKillsAreDone && poisonSent < 400) {
        await poisonProducer.send({ topic, acks: -1, messages: [{ key: "X", value: "not json" }] });
        poisonSent++;
        await sleep(500);
      }
    })();

    const producing = runProducer({
      bootstrapServers: env.bootstrapServers,
      topic,
      source: new SyntheticSource({ seed: "killed" }),
      count: total,
      ratePerSecond: 8_000,
      batchSize: 500,
    });

    const faults = ["staged:3", "committed:3", "published-partly:1", "published:3", "random"];
    for (const fault of faults) {
      const member = new SinkMember(cli, {
        topic,
        group,
        faultPoint: fault === "random" ? undefined : fault,
        flushIntervalMs: 300,
      });
      if (fault === "random") {
        await member.waitForOutput(/committed \d+/);
        await sleep(100 + Math.floor(Math.random() * 400));
        member.child.kill("SIGKILL");
      } else {
        const [step, occurrence] = fault.split(":");
        // The kill interrupted exactly the named step: the member says so before it dies.
        await member.waitForOutput(new RegExp(`fault point ${step} #${occurrence} reached; SIGKILL`), 90_000);
      }
      const ended = await member.ended();
      expect(ended.signal, `${fault}: ${member.output.slice(-2_000)}`).to.equal("SIGKILL");
      if (fault.startsWith("staged")) {
        // The risky window was hit: objects written (staged), offsets not committed. Published flushes delete
        // their staged copies, so what is left belongs to the interrupted flush.
        expect(await lakeKeys(env.lake, `_staging/${group}/`), "the interrupted flush's staged objects").to
          .not.be.empty;
      }
    }
    expect(
      await committedTotal(env.bootstrapServers, group, topic),
      "the kills happened mid-stream",
    ).to.be.lessThan(total);

    poisonUntilKillsAreDone = false;
    const last = new SinkMember(cli, { topic, group });
    const lastFaultEnded = Date.now();
    const { producerId, produced } = await producing;
    await poisoning;
    await poisonProducer.disconnect();
    expect(produced).to.equal(total);
    const producedAt = Date.now();
    const caughtUpAt = await waitForLagZero(env.bootstrapServers, group, topic);
    await last.stop();
    await assertLakeExact(
      "one member SIGKILLed at 5 moments (4 named steps), restarted",
      env.lake,
      new Map([[producerId, produced]]),
      caughtUpAt - Math.max(lastFaultEnded, producedAt),
    );
    const quarantined = (await readQuarantine(env.lake)).filter((entry) => entry.key.includes(topic));
    expect(quarantined.length, "every poison record quarantined once").to.equal(poisonSent);
  });

  // Issue 21: a published flush is appended to the Iceberg table before its staged copies go, idempotently by
  // the partition's end offset. Killed after the copies (before the append) and after the append (before the
  // staged copies are deleted), the next claimer publishes again: the table holds every tick once.
  it("keeps every tick exactly once in the Iceberg table, read by pyiceberg, when the member is SIGKILLed after committing, after publishing (not yet appended) and after appending, and restarted", async function () {
    this.timeout(300_000);
    const env = environment();
    const topic = uniqueName("iceberg-killed");
    const group = uniqueName("sink");
    const total = 30_000;
    await createTestTopic(env.bootstrapServers, topic, 3);
    const cli = cliEnvironment(env);
    const producing = runProducer({
      bootstrapServers: env.bootstrapServers,
      topic,
      source: new SyntheticSource({ seed: "iceberg-killed" }),
      count: total,
      ratePerSecond: 3_000,
      batchSize: 500,
    });
    for (const fault of ["committed:2", "published:2", "appended:2"]) {
      const member = new SinkMember(cli, {
        topic,
        group,
        faultPoint: fault,
        flushIntervalMs: 300,
        iceberg: true,
      });
      const [step, occurrence] = fault.split(":");
      await member.waitForOutput(new RegExp(`fault point ${step} #${occurrence} reached; SIGKILL`), 90_000);
      const ended = await member.ended();
      expect(ended.signal, `${fault}: ${member.output.slice(-2_000)}`).to.equal("SIGKILL");
    }
    expect(
      await committedTotal(env.bootstrapServers, group, topic),
      "the kills happened mid-stream",
    ).to.be.lessThan(total);
    const last = new SinkMember(cli, { topic, group, iceberg: true });
    const lastFaultEnded = Date.now();
    const { producerId, produced } = await producing;
    expect(produced).to.equal(total);
    const producedAt = Date.now();
    const caughtUpAt = await waitForLagZero(env.bootstrapServers, group, topic);
    await last.stop();
    await assertLakeExact(
      "Iceberg appends: one member SIGKILLed after committing, publishing, appending, restarted",
      env.lake,
      new Map([[producerId, produced]]),
      caughtUpAt - Math.max(lastFaultEnded, producedAt),
    );
    const pointer = await new FileCatalog(path.join(env.home, "catalog", "iceberg")).load("ticks");
    const scan = await pyicebergScan(pointer!.metadataLocation, env.lake);
    expect(scan, last.output.slice(-2_000)).to.deep.include({ rows: total, distinct: total, duplicates: [] });
  });
});
