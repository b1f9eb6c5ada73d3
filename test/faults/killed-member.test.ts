import { expect } from "chai";
import { Partitioners } from "kafkajs";
import { runProducer } from "../../apps/producer/producer.ts";
import { SyntheticSource } from "../../apps/producer/sources/synthetic.ts";
import { createKafka } from "../../apps/shared/kafka-client.ts";
import { sleep, waitFor } from "../../apps/shared/retry.ts";
import { assertLakeExact, committedTotal, SinkMember, waitForLagZero } from "../helpers/fault-run.ts";
import { lakeKeys } from "../helpers/lake-count.ts";
import { gate, holdingBack } from "../helpers/held-source.ts";
import { createTestTopic } from "../helpers/kafka.ts";
import { readQuarantine } from "../helpers/lake.ts";
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

    // The last 50,000 ticks wait until the member to be killed at random is consuming: each named kill hits a
    // stream with ticks still to come, however slow the machine, and the random one lands while they flow.
    const lastTicks = gate();
    const producing = runProducer({
      bootstrapServers: env.bootstrapServers,
      topic,
      source: holdingBack(new SyntheticSource({ seed: "killed" }), total - 50_000, lastTicks.opened),
      count: total,
      ratePerSecond: 8_000,
      batchSize: 500,
    });

    try {
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
          lastTicks.open();
          await sleep(100 + Math.floor(Math.random() * 400));
          member.child.kill("SIGKILL");
        } else {
          const [step, occurrence] = fault.split(":");
          // The kill interrupted exactly the named step: the member says so before it dies.
          await member.waitForOutput(
            new RegExp(`fault point ${step} #${occurrence} reached; SIGKILL`),
            90_000,
          );
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
    } finally {
      // Also when a kill went wrong: production and poisoning end, so the test ends with its error.
      poisonUntilKillsAreDone = false;
      lastTicks.open();
    }
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
      env,
      new Map([[producerId, produced]]),
      caughtUpAt - Math.max(lastFaultEnded, producedAt),
    );
    const quarantined = (await readQuarantine(env.lake)).filter((entry) => entry.key.includes(topic));
    expect(quarantined.length, "every poison record quarantined once").to.equal(poisonSent);
  });

  // Issue 21: with Iceberg tables, publishing is copy, then the append (batched, off the consumption lock), then
  // the staged deletes; each commit carries the partition's flushes the table is not known to hold. Killed between
  // the Kafka commit and the Iceberg commit (after committing; after the copies, before the append) and after the
  // append (before the staged deletes), the next claimer appends what the committed offset names.
  it("keeps every tick exactly once in the Iceberg table when the member is SIGKILLed between the Kafka commit and the Iceberg commit, and after the Iceberg commit, and restarted", async function () {
    this.timeout(300_000);
    const env = environment();
    const topic = uniqueName("iceberg-killed");
    const group = uniqueName("sink");
    // Production outlasts three kills, each followed by a session timeout (6 s) before the next member owns: its
    // last 15,000 ticks wait until the last member is consuming, however slow the machine.
    const total = 75_000;
    await createTestTopic(env.bootstrapServers, topic, 3);
    const cli = cliEnvironment(env);
    const killsDone = gate();
    const producing = runProducer({
      bootstrapServers: env.bootstrapServers,
      topic,
      source: holdingBack(new SyntheticSource({ seed: "iceberg-killed" }), total - 15_000, killsDone.opened),
      count: total,
      ratePerSecond: 2_500,
      batchSize: 500,
    });
    try {
      for (const fault of ["committed:2", "published:2", "appended:2"]) {
        const member = new SinkMember(cli, { topic, group, faultPoint: fault, flushIntervalMs: 300 });
        if (fault === "appended:2") {
          // The held ticks flow once the last member has reported a flush (or reached its fault first).
          const opens = () => killsDone.open();
          member.waitForOutput(/committed \d+|fault point /, 90_000).then(opens, opens);
        }
        const [step, occurrence] = fault.split(":");
        await member.waitForOutput(new RegExp(`fault point ${step} #${occurrence} reached; SIGKILL`), 90_000);
        const ended = await member.ended();
        expect(ended.signal, `${fault}: ${member.output.slice(-2_000)}`).to.equal("SIGKILL");
      }
      expect(
        await committedTotal(env.bootstrapServers, group, topic),
        "the kills happened mid-stream",
      ).to.be.lessThan(total);
    } finally {
      killsDone.open();
    }
    const last = new SinkMember(cli, { topic, group });
    const lastFaultEnded = Date.now();
    const { producerId, produced } = await producing;
    expect(produced).to.equal(total);
    const producedAt = Date.now();
    const caughtUpAt = await waitForLagZero(env.bootstrapServers, group, topic);
    await last.stop();
    await assertLakeExact(
      "Iceberg: SIGKILLed after the Kafka commit, before the Iceberg commit, after it; restarted",
      env,
      new Map([[producerId, produced]]),
      caughtUpAt - Math.max(lastFaultEnded, producedAt),
      [last.output],
    );
  });

  // Two members publish the same committed flush: A freezes after copying its flush's objects, before appending
  // it; B takes the partition over and publishes that flush (copies and append); A is thawed and appends it too.
  it("keeps every tick exactly once in the Iceberg table when two members race to publish the same flush (one frozen between its copies and its append, thawed after the other published it)", async function () {
    this.timeout(300_000);
    const env = environment();
    const topic = uniqueName("iceberg-race");
    const group = uniqueName("sink");
    const total = 24_000;
    await createTestTopic(env.bootstrapServers, topic, 1);
    const cli = cliEnvironment(env);
    const producing = runProducer({
      bootstrapServers: env.bootstrapServers,
      topic,
      source: new SyntheticSource({ seed: "iceberg-race" }),
      count: total,
      ratePerSecond: 2_000,
      batchSize: 200,
    });
    const a = new SinkMember(cli, { topic, group, faultPoint: "published:3:SIGSTOP", flushIntervalMs: 300 });
    await a.waitForOutput(/fault point published #3 reached; SIGSTOP/, 90_000);
    const committedAtFreeze = await committedTotal(env.bootstrapServers, group, topic);
    const b = new SinkMember(cli, { topic, group, flushIntervalMs: 300 });
    const both = () => `--- A:\n${a.output.slice(-2_000)}\n--- B:\n${b.output.slice(-2_000)}`;
    try {
      // B owns the partition once it has committed past what A committed (its claim published A's flush first).
      await waitFor(
        async () => (await committedTotal(env.bootstrapServers, group, topic)) > committedAtFreeze,
        { timeoutMs: 90_000, describe: () => `B never took the partition over:\n${both()}` },
      );
      const thawedAt = a.output.length;
      process.kill(a.pid, "SIGCONT");
      // A goes on with the flush it had copied: appends it (already in the table: nothing added) and reports it
      // once that append returns, then deletes its staged copies; its next commit is refused.
      await waitFor(() => /^partition 0: /m.test(a.output.slice(thawedAt)), {
        timeoutMs: 90_000,
        describe: () => `A never finished publishing the flush it was frozen in:\n${both()}`,
      });
      const { producerId, produced } = await producing;
      expect(produced).to.equal(total);
      const producedAt = Date.now();
      const caughtUpAt = await waitForLagZero(env.bootstrapServers, group, topic);
      await Promise.all([a.stop(), b.stop()]);
      await assertLakeExact(
        "Iceberg: two members publish the same flush (one frozen before its append)",
        env,
        new Map([[producerId, produced]]),
        caughtUpAt - producedAt,
        [both()],
      );
    } finally {
      for (const member of [a, b]) member.child.kill("SIGKILL");
    }
  });
});
