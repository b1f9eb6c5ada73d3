import { expect } from "chai";
import { waitFor } from "../../apps/shared/retry.ts";
import { createTopic, groupLag } from "../../ops/kafka/topics.ts";
import {
  produceTicks,
  readBars,
  readTicks,
  referenceBars,
  syntheticTicks,
  withoutRevisions,
} from "../helpers/bars.ts";
import { createTestTopic, waitForGroupCaughtUp } from "../helpers/kafka.ts";
import { cliEnvironment, uniqueName, useLocalEnvironment } from "../helpers/local-environment.ts";
import { GroupWatcher, type GroupMembers } from "../helpers/group-members.ts";
import { RollupMember } from "../helpers/rollup-member.ts";

describe("fault: rollup members killed and frozen mid-stream @integration", function () {
  const environment = useLocalEnvironment();
  const brokers = () => environment().bootstrapServers;

  async function prepare() {
    const topic = uniqueName("rollup-fault");
    const barsTopic = uniqueName("rollup-fault-bars");
    await createTestTopic(brokers(), topic, 4);
    await createTopic(brokers(), { topic: barsTopic, partitions: 3, replicationFactor: 1 });
    // 12 minutes of event time over 8 symbols, produced over about 15 s.
    const ticks = syntheticTicks({
      startMs: Date.UTC(2026, 11, 1, 14, 0, 0),
      count: 36_000,
      stepMs: 20,
      symbols: ["AAPL", "MSFT", "AMZN", "GOOGL", "NVDA", "META", "TSLA", "JPM"],
      jitterMs: 2_000,
    });
    return { topic, barsTopic, group: uniqueName("rollup-fault"), ticks };
  }

  /** Once everything is folded and out: no (symbol, minute, revision) twice, and the latest revisions exact. */
  async function assertBarsExact(run: Awaited<ReturnType<typeof prepare>>, members: RollupMember[]) {
    await waitForGroupCaughtUp(brokers(), run.group, run.topic, 120_000);
    const produced = await readTicks(brokers(), run.topic, run.ticks.length);
    const reference = referenceBars(produced);
    await waitFor(
      async () => (await readBars(brokers(), run.barsTopic, 1_000)).latest.size >= reference.size,
      {
        timeoutMs: 60_000,
        intervalMs: 2_000,
        describe: () =>
          `not every bar came out:\n${members.map((member) => member.output.slice(-1_500)).join("\n---\n")}`,
      },
    );
    for (const member of members) await member.stop();
    const bars = await readBars(brokers(), run.barsTopic);
    expect(bars.duplicates, "a bar emitted twice").to.deep.equal([]);
    expect(withoutRevisions(bars.latest)).to.deep.equal(reference);
    return bars;
  }

  it("SIGKILLed inside a transaction (bars sent, offsets not committed) and restarted: no bar duplicated or missing", async function () {
    this.timeout(300_000);
    const run = await prepare();
    const env = cliEnvironment(environment());
    const first = new RollupMember(env, { ...run, faultPoint: "records-sent:3" });
    await first.waitForOutput(/rollup: /);
    const producing = produceTicks(brokers(), run.topic, run.ticks, { chunk: 600, pauseMs: 150 });
    await first.waitForOutput(/fault point records-sent #3 reached; SIGKILL/, 120_000);
    expect((await first.ended()).signal).to.equal("SIGKILL");
    const second = new RollupMember(env, run);
    await producing;
    const bars = await assertBarsExact(run, [second]);
    expect(bars.all.length, "bars before and after the kill").to.be.greaterThan(50);
  });

  it("frozen with SIGSTOP inside a transaction past its session, its partitions taken over, then thawed: its bars never appear, none missing", async function () {
    this.timeout(300_000);
    const run = await prepare();
    const env = cliEnvironment(environment());
    const zombie = new RollupMember(env, { ...run, faultPoint: "records-sent:3:SIGSTOP" });
    const other = new RollupMember(env, run);
    await Promise.all([zombie.waitForOutput(/rollup: /), other.waitForOutput(/rollup: /)]);
    const producing = produceTicks(brokers(), run.topic, run.ticks, { chunk: 600, pauseMs: 150 });
    await zombie.waitForOutput(/fault point records-sent #3 reached; SIGSTOP/, 120_000);
    const frozenAt = other.output.length;
    await producing;
    // The zombie's bars are reported only once committed, so its output cannot name the partition whose
    // transaction it is frozen in. Every partition that holds ticks is waited for instead: the other member
    // emits bars for the frozen one's partitions only once it has claimed them (which aborts the zombie's open
    // transaction), and once the group has handed it all of them it emits bars for each.
    const tickPartitions = (await groupLag(brokers(), run.group, run.topic)).partitions
      .filter((partition) => BigInt(partition.endOffset) > 0n)
      .map((partition) => partition.partition);
    expect(tickPartitions, "partitions that hold ticks (the zombie's among them)").to.not.be.empty;
    // Thaw once the other member has taken over and emitted bars for the frozen one's partitions.
    await waitFor(
      () => tickPartitions.every((partition) => other.partitionsWithBars(frozenAt).has(partition)),
      {
        timeoutMs: 90_000,
        describe: () =>
          `the other member did not take ${tickPartitions.join(",")} over:\n${other.output.slice(-2_000)}`,
      },
    );
    process.kill(zombie.pid, "SIGCONT");
    await zombie.waitForOutput(/partition \d+ was claimed by another member/, 60_000);
    // The transaction it was frozen in is refused, and its partition was among those waited for.
    const refused = Number(/partition (\d+) was claimed by another member/.exec(zombie.output)![1]);
    expect(tickPartitions, "the partition frozen mid-transaction was taken over before the thaw").to.include(
      refused,
    );
    // And it is a working member again: it rejoins, and the group shares the partitions between the two.
    const watcher = new GroupWatcher(brokers(), run.group, run.topic);
    let members: GroupMembers | undefined;
    try {
      await waitFor(
        async () => {
          members = await watcher.members();
          return (
            members.state === "Stable" &&
            members.members.length === 2 &&
            members.members.every((member) => member.partitions.length > 0)
          );
        },
        {
          timeoutMs: 60_000,
          describe: () =>
            `the thawed member did not rejoin (${JSON.stringify(members)}):\n${zombie.output.slice(-2_000)}`,
        },
      );
    } finally {
      await watcher.close();
    }
    await assertBarsExact(run, [zombie, other]);
  });
});
