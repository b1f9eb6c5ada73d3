import { expect } from "chai";
import { runProducer } from "../../apps/producer/producer.ts";
import { createKafka } from "../../apps/shared/kafka-client.ts";
import { SyntheticSource } from "../../apps/producer/sources/synthetic.ts";
import { assertLakeExact, SinkMember, waitForLagZero } from "../helpers/fault-run.ts";
import { createTestTopic } from "../helpers/kafka.ts";
import { cliEnvironment, uniqueName, useLocalEnvironment } from "../helpers/local-environment.ts";
import type { LocalEnvironment } from "../../ops/local/environment.ts";

// Issue 22: a partition's flushes are pipelined (the next one is encoded and staged while the one before it
// commits and publishes). A commit that fails must stop every later flush of the claim from committing past it:
// they would commit an offset beyond records no flush holds, and those records would never reach the lake. And a
// flush must be published before the next one commits: the next commit's metadata no longer names it.
describe("fault: pipelined flushes @integration", function () {
  const environment = useLocalEnvironment();

  it("keeps every tick exactly once when a commit fails, and when a publish fails halfway, while the partition's next flush is already staged (that flush is discarded, the records read again)", async function () {
    this.timeout(240_000);
    const env = environment();
    const topic = uniqueName("pipelined");
    const group = uniqueName("sink");
    const total = 120_000;
    await createTestTopic(env.bootstrapServers, topic, 3);
    // A backlog, so that the member drains at full speed and seals a partition's next flush while the one
    // before it commits and publishes; a bad record in every partition after each 12,000 ticks, so that many
    // flushes hold two objects (ticks and quarantine) and a publish can stop between the two.
    const poison = createKafka(env.bootstrapServers, "poison").producer();
    await poison.connect();
    const produced = new Map<string, number>();
    for (let round = 0; round < total / 12_000; round++) {
      const run = await runProducer({
        bootstrapServers: env.bootstrapServers,
        topic,
        source: new SyntheticSource({ seed: `pipelined-${round}` }),
        count: 12_000,
      });
      produced.set(run.producerId, run.produced);
      await poison.send({
        topic,
        acks: -1,
        messages: [0, 1, 2].map((partition) => ({ partition, value: "not json" })),
      });
    }
    await poison.disconnect();
    // The 3rd commit of partition 0 and the 4th of partition 2 fail before they reach the broker, as a lost
    // connection would. Each of those flushes is first held 2 s before its turn, so that the partition's next
    // flush is sealed and staged behind it when it fails (without the hold, whether one is depends on timing).
    // The 3rd publish of a two-object flush fails after its first copy.
    const member = new SinkMember(cliEnvironment(env), {
      topic,
      group,
      faultPoint: [
        "awaiting-turn@p0:3:DELAY2000",
        "committing@p0:3:THROW",
        "awaiting-turn@p2:4:DELAY2000",
        "committing@p2:4:THROW",
        "published-partly:3:THROW",
      ].join(","),
      flushRecords: 2_000,
    });
    const failedAt = Date.now();
    const caughtUpAt = await waitForLagZero(env.bootstrapServers, group, topic);
    await member.stop();
    expect(member.output, "the injected failures happened").to.match(/fault point committing@p0 #3 reached/);
    expect(member.output).to.match(/fault point committing@p2 #4 reached/);
    expect(member.output).to.match(/fault point published-partly #3 reached/);
    await assertLakeExact(
      "a commit fails, and a publish halfway, while the next flush is staged (pipelined)",
      env,
      produced,
      caughtUpAt - failedAt,
      member.output.split("\n"),
    );
    expect(
      member.output,
      "a later flush of the partition was in flight when its commit failed, and was discarded",
    ).to.match(/partition 0: flush of offsets .* discarded: sealed before the claim was given up/);
    expect(member.output).to.match(
      /partition 2: flush of offsets .* discarded: sealed before the claim was given up/,
    );
  });

  // A commit can land and still fail for the sink (the transaction coordinator's broker dies before it answers
  // EndTxn: "Closed connection" in the three-broker case). Claiming the partition again finds that commit and must
  // publish it from staging: deleting the staged objects on the failure left a committed flush nobody could
  // publish, every claim of the partition failed and kafkajs stopped the consumer for good.
  it("publishes a flush whose commit landed but was reported failed (a lost response), and consumes on", async function () {
    this.timeout(240_000);
    const env = environment();
    const { topic, group, run } = await backlog(env, "lost-response", 60_000, 3);
    // Commits 3 and 9 reach the broker and commit; the sink is then told they failed.
    const member = new SinkMember(cliEnvironment(env), {
      topic,
      group,
      faultPoint: "committed:3:THROW,committed:9:THROW",
      flushRecords: 2_000,
    });
    const failedAt = Date.now();
    let caughtUpAt: number;
    try {
      caughtUpAt = await waitForLagZero(env.bootstrapServers, group, topic, 90_000);
    } catch (error) {
      throw new Error(`${(error as Error).message}\n${member.output.slice(-3_000)}`, { cause: error });
    }
    await member.stop();
    expect(member.output, "the injected failures happened").to.match(
      /fault point committed #9 reached; THROW/,
    );
    await assertLakeExact(
      "a commit lands but the sink is told it failed (a lost response)",
      env,
      new Map([[run.producerId, run.produced]]),
      caughtUpAt - failedAt,
      member.output.split("\n"),
    );
  });
  // A flush commits only once the partition's previous flush has committed and published: the next commit's
  // metadata names only itself (and what is committed already), so a flush that overtook a slower one would
  // commit an offset past records no commit names. Here the 3rd flush is held for 3 s between staging and its
  // turn, while the 4th is sealed and staged behind it; the member is killed at the 3rd commit.
  it("never lets a flush commit before the slower one sealed before it (a flush held 3 s, the member killed at the next commit)", async function () {
    this.timeout(240_000);
    const env = environment();
    const { topic, group, run } = await backlog(env, "overtaken", 30_000, 1);
    const cli = cliEnvironment(env);
    const held = new SinkMember(cli, {
      topic,
      group,
      faultPoint: "awaiting-turn:3:DELAY3000,committed:3",
      flushRecords: 2_000,
    });
    const ended = await held.ended();
    expect(ended.signal, held.output.slice(-2_000)).to.equal("SIGKILL");
    expect(held.output, "the 3rd flush was held").to.match(/fault point awaiting-turn #3 reached; DELAY/);
    expect(held.output).to.match(/fault point committed #3 reached; SIGKILL/);
    const restartedAt = Date.now();
    const last = new SinkMember(cli, { topic, group });
    const caughtUpAt = await waitForLagZero(env.bootstrapServers, group, topic);
    await last.stop();
    await assertLakeExact(
      "a flush held between staging and its turn, the member killed at the next commit",
      env,
      new Map([[run.producerId, run.produced]]),
      caughtUpAt - restartedAt,
      [...held.output.split("\n"), ...last.output.split("\n")],
    );
  });
  // kafkajs restarts its consumer after a retriable error only; after any other error thrown from the batch
  // handler it stops it for good, and a member that lived on would consume nothing while holding its partitions
  // (liveness, not exactness: the lag never moves). The member must end non-zero, so that its service manager
  // (Restart=on-failure) starts it again.
  it("ends a member non-zero when kafkajs stops its consumer for good (an error it cannot retry), and a restarted member lands everything once", async function () {
    this.timeout(240_000);
    const env = environment();
    const { topic, group, run } = await backlog(env, "stopped-for-good", 30_000, 3);
    const cli = cliEnvironment(env);
    // The 4th batch handled fails with an error marked not retriable (as S3's AccessDenied or a TypeError is).
    const failing = new SinkMember(cli, { topic, group, faultPoint: "batch:4:REFUSE" });
    const ended = await Promise.race([
      failing.ended(),
      new Promise<undefined>((resolve) => setTimeout(resolve, 60_000, undefined)),
    ]);
    expect(ended, `still running 60 s after the error:\n${failing.output.slice(-6_000)}`).to.not.equal(
      undefined,
    );
    expect(ended!.exitCode, failing.output.slice(-2_000)).to.equal(1);
    expect(failing.output).to.match(
      /^tickstream: the lake sink's consumer stopped after an error it cannot retry: fault point batch #4: injected refusal$/m,
    );
    const restartedAt = Date.now();
    const restarted = new SinkMember(cli, { topic, group });
    const caughtUpAt = await waitForLagZero(env.bootstrapServers, group, topic);
    await restarted.stop();
    await assertLakeExact(
      "kafkajs stops the consumer for good (an error it cannot retry); the member exits 1 and is restarted",
      env,
      new Map([[run.producerId, run.produced]]),
      caughtUpAt - restartedAt,
      [...failing.output.split("\n"), ...restarted.output.split("\n")],
    );
  });
});

/** A fresh topic of `partitions` holding `count` synthetic ticks from one producer run, and a fresh group name. */
async function backlog(env: LocalEnvironment, name: string, count: number, partitions: number) {
  const topic = uniqueName(name);
  await createTestTopic(env.bootstrapServers, topic, partitions);
  const run = await runProducer({
    bootstrapServers: env.bootstrapServers,
    topic,
    source: new SyntheticSource({ seed: name }),
    count,
  });
  return { topic, group: uniqueName("sink"), run };
}
