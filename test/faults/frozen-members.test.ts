import { expect } from "chai";
import { runProducer } from "../../apps/producer/producer.ts";
import { SyntheticSource } from "../../apps/producer/sources/synthetic.ts";
import { waitFor } from "../../apps/shared/retry.ts";
import { assertLakeExact, flushedPartitions, SinkMember, waitForLagZero } from "../helpers/fault-run.ts";
import { GroupWatcher, type GroupMembers } from "../helpers/group-members.ts";
import { createTestTopic } from "../helpers/kafka.ts";
import { cliEnvironment, uniqueName, useLocalEnvironment } from "../helpers/local-environment.ts";

/** Production runs until the last freeze is over; this only bounds it if the test goes wrong. */
const MAX_TICKS = 400_000;

describe("fault: lake sink members frozen past their session @integration", function () {
  const environment = useLocalEnvironment();

  it("keeps every tick exactly once when two members are each frozen (SIGSTOP) past the session timeout and thawed (SIGCONT), several times", async function () {
    this.timeout(420_000);
    const env = environment();
    const topic = uniqueName("frozen");
    const group = uniqueName("sink");
    await createTestTopic(env.bootstrapServers, topic, 6);
    const cli = cliEnvironment(env);
    const watcher = new GroupWatcher(env.bootstrapServers, group, topic);
    // A freezes itself with a flush staged and not committed: the zombie that overwrote its successor's objects.
    const a = new SinkMember(cli, { topic, group, faultPoint: "staged:6:SIGSTOP" });
    const b = new SinkMember(cli, { topic, group });
    const both = () => `--- member A:\n${a.output.slice(-3_000)}\n--- member B:\n${b.output.slice(-3_000)}`;
    await Promise.all([a.waitForOutput(/lake sink consuming/), b.waitForOutput(/lake sink consuming/)]);
    /** SIGSTOP or SIGCONT; a member that has ended (it never does here unless killed from outside) says how. */
    const signal = async (member: SinkMember, name: NodeJS.Signals) => {
      try {
        process.kill(member.pid, name);
      } catch (error) {
        const ended = await member.ended();
        throw new Error(
          `cannot send ${name} to member ${member === a ? "A" : "B"} (${(error as Error).message}): it ended with ${JSON.stringify(ended)}\n${both()}`,
        );
      }
    };

    // Ticks flow until every freeze is over, so that each one hits a member with work (and is seen to).
    const stopProducing = new AbortController();
    let acknowledged = 0;
    let productionEnded = false;
    const producing = runProducer({
      bootstrapServers: env.bootstrapServers,
      topic,
      source: new SyntheticSource({ seed: "frozen" }),
      count: MAX_TICKS,
      ratePerSecond: 3_000,
      batchSize: 200,
      signal: stopProducing.signal,
      onProgress: (produced) => (acknowledged = produced),
    }).finally(() => (productionEnded = true));
    producing.catch(() => {}); // awaited below; a failure before that must not be an unhandled rejection
    /** A freeze hit a member while ticks flowed: production was on before and after, and ticks were acknowledged. */
    const expectTicksFlowed = (label: string, acknowledgedAtFreeze: number) => {
      expect(productionEnded, `${label}: production still on when the takeover is done`).to.equal(false);
      expect(acknowledged, `${label}: ticks acknowledged while it was frozen`).to.be.greaterThan(
        acknowledgedAtFreeze,
      );
    };

    try {
      await a.waitForOutput(/fault point staged #6 reached; SIGSTOP/);
      expect(productionEnded, "first freeze: ticks still flow when A freezes").to.equal(false);
      const acknowledgedAtFirstFreeze = acknowledged;
      // Thaw only once the other member has taken the frozen one's partitions over and flushed each (so it holds
      // their fences): the partition of the staged flush A froze in (whose commit must then be refused), and
      // those A reported flushes of (A may have reported none: a flush is reported after its table commit).
      const staged = /fault point staged #6 reached; SIGSTOP \(partition (\d+)\)/.exec(a.output);
      expect(staged, "A says at which partition it froze").to.not.equal(null);
      const frozenPartitions = [...new Set([Number(staged![1]), ...flushedPartitions(a.output)])];
      const frozenAt = b.output.length;
      await waitFor(
        () =>
          frozenPartitions.every((partition) => flushedPartitions(b.output.slice(frozenAt)).has(partition)),
        {
          timeoutMs: 90_000,
          describe: () => `the other member did not take ${frozenPartitions.join(",")} over:\n${both()}`,
        },
      );
      expectTicksFlowed("first freeze", acknowledgedAtFirstFreeze);
      await signal(a, "SIGCONT");
      // The thawed zombie's commit is refused: the other member claimed the partition while it was frozen.
      await a.waitForOutput(/was claimed by another member/, 30_000);

      // Then each in turn, frozen from outside at whatever step it is in, each time while it holds partitions
      // with ticks flowing to them, and thawed once the other member has taken every one of them over.
      const activeSince = new Map([
        [a, a.output.length],
        [b, b.output.length],
      ]);
      for (const [label, member, other] of [
        ["B frozen", b, a],
        ["A frozen", a, b],
        ["B frozen again", b, a],
      ] as const) {
        // Busy: it has flushed since it was last thawed, and the group is stable with both members holding
        // partitions (the thawed one has rejoined).
        let before: GroupMembers | undefined;
        await waitFor(
          async () => {
            if (flushedPartitions(member.output.slice(activeSince.get(member))).size === 0) return false;
            before = await watcher.members();
            return (
              before.state === "Stable" &&
              before.members.length === 2 &&
              before.members.every((entry) => entry.partitions.length > 0)
            );
          },
          {
            timeoutMs: 60_000,
            intervalMs: 100,
            describe: () =>
              `${label}: no stable group of two busy members (${JSON.stringify(before)}):\n${both()}`,
          },
        );
        expect(productionEnded, `${label}: ticks still flow when it is frozen`).to.equal(false);
        const acknowledgedAtFreeze = acknowledged;
        await signal(member, "SIGSTOP");
        const frozenAt = other.output.length;
        // Past its session the coordinator drops it: the group is stable again with the other member alone.
        let after: GroupMembers | undefined;
        await waitFor(
          async () => {
            after = await watcher.members();
            return after.state === "Stable" && after.members.length === 1;
          },
          {
            timeoutMs: 60_000,
            intervalMs: 100,
            describe: () =>
              `${label}: the frozen member was not dropped (${JSON.stringify(after)}):\n${both()}`,
          },
        );
        const survivor = after!.members[0]!.memberId;
        const frozenMember = before!.members.filter((entry) => entry.memberId !== survivor);
        expect(frozenMember, `${label}: the frozen member was one of the two`).to.have.length(1);
        const withTicks = await watcher.partitionsWithRecords();
        const taken = frozenMember[0]!.partitions.filter((partition) => withTicks.has(partition));
        expect(taken, `${label}: the frozen member held partitions with ticks`).to.not.be.empty;
        expect(
          after!.members[0]!.partitions,
          `${label}: the other member is assigned them`,
        ).to.include.members(taken);
        // The takeover: the other member flushes (claims, commits, publishes) each of them.
        await waitFor(
          () => taken.every((partition) => flushedPartitions(other.output.slice(frozenAt)).has(partition)),
          {
            timeoutMs: 90_000,
            describe: () => `${label}: the other member did not take ${taken.join(",")} over:\n${both()}`,
          },
        );
        expectTicksFlowed(label, acknowledgedAtFreeze);
        await signal(member, "SIGCONT");
        activeSince.set(member, member.output.length);
      }
    } finally {
      stopProducing.abort();
      await watcher.close();
    }
    const lastFaultEnded = Date.now();
    const { producerId, produced } = await producing;
    expect(produced, "production stopped after the freezes, not at its bound").to.be.lessThan(MAX_TICKS);
    const producedAt = Date.now();
    // A stall here is a liveness failure: say what each member was doing.
    const caughtUpAt = await waitForLagZero(env.bootstrapServers, group, topic).catch((error: Error) => {
      throw new Error(`${error.message}\n${both()}`);
    });
    await Promise.all([a.stop(), b.stop()]);
    await assertLakeExact(
      "two members frozen past their session, 4 times",
      env,
      new Map([[producerId, produced]]),
      caughtUpAt - Math.max(lastFaultEnded, producedAt),
    );
  });
});
