import { expect } from "chai";
import { Partitioners } from "kafkajs";
import { runProducer } from "../../apps/producer/producer.ts";
import { SyntheticSource } from "../../apps/producer/sources/synthetic.ts";
import { createKafka } from "../../apps/shared/kafka-client.ts";
import { sleep, waitFor } from "../../apps/shared/retry.ts";
import {
  assertLakeExact,
  committedOffsets,
  committedTotal,
  flushedPartitions,
  SinkMember,
  waitForLagZero,
} from "../helpers/fault-run.ts";
import { createTestTopic } from "../helpers/kafka.ts";
import { readQuarantine } from "../helpers/lake.ts";
import { cliEnvironment, uniqueName, useLocalEnvironment } from "../helpers/local-environment.ts";

describe("fault: outages around the lake sink @integration", function () {
  const environment = useLocalEnvironment();

  function produce(
    topic: string,
    seed: string,
    count: number,
    ratePerSecond: number,
    onProgress?: (acknowledged: number) => void,
  ) {
    return runProducer({
      bootstrapServers: environment().bootstrapServers,
      topic,
      source: new SyntheticSource({ seed }),
      count,
      ratePerSecond,
      batchSize: 200,
      onProgress,
    });
  }

  it("keeps every tick exactly once when one of two members is SIGKILLed and the other takes its partitions over", async function () {
    this.timeout(300_000);
    const env = environment();
    const [topic, group] = [uniqueName("takeover"), uniqueName("sink")];
    await createTestTopic(env.bootstrapServers, topic, 6);
    const cli = cliEnvironment(env);
    const [victim, survivor] = [new SinkMember(cli, { topic, group }), new SinkMember(cli, { topic, group })];
    const producing = produce(topic, "takeover", 60_000, 4_000);
    await victim.waitForOutput(/committed \d+/);
    await sleep(3_000);
    victim.child.kill("SIGKILL");
    await victim.ended();
    const killedAt = Date.now();
    const { producerId, produced } = await producing;
    const producedAt = Date.now();
    const caughtUpAt = await waitForLagZero(env.bootstrapServers, group, topic);
    await survivor.stop();
    const survivorFlushed = flushedPartitions(survivor.output);
    const taken = [...flushedPartitions(victim.output)].filter((partition) => survivorFlushed.has(partition));
    // Seen empty once under heavy load (not reproduced alone): say what each member did.
    expect(
      taken,
      `the survivor flushed partitions the victim had owned\n--- victim:\n${victim.output.slice(-3_000)}\n--- survivor:\n${survivor.output.slice(-3_000)}`,
    ).to.not.be.empty;
    await assertLakeExact(
      "one of two members SIGKILLed, the other takes over",
      env,
      new Map([[producerId, produced]]),
      caughtUpAt - Math.max(killedAt, producedAt),
    );
  });

  it("keeps every tick exactly once when the broker is restarted in the middle of production", async function () {
    this.timeout(300_000);
    const env = environment();
    const [topic, group] = [uniqueName("broker-restart"), uniqueName("sink")];
    await createTestTopic(env.bootstrapServers, topic, 3);
    const member = new SinkMember(cli(env), { topic, group });
    const total = 50_000;
    let acknowledged = 0;
    let productionEnded = false;
    const producing = produce(
      topic,
      "broker-restart",
      total,
      4_000,
      (count) => (acknowledged = count),
    ).finally(() => (productionEnded = true));
    producing.catch(() => {}); // awaited below; a failure before that must not be an unhandled rejection
    await waitFor(async () => (await committedTotal(env.bootstrapServers, group, topic)) > 5_000, {
      timeoutMs: 60_000,
      describe: () => "nothing committed before the restart",
    });
    const pidBefore = (await env.broker.status()).pid;
    // In the middle of production: ticks acknowledged before the broker goes down, and after it is back.
    expect(productionEnded, "production still on when the broker restarts").to.equal(false);
    const acknowledgedBeforeRestart = acknowledged;
    await env.broker.restart();
    const restartedAt = Date.now();
    const acknowledgedWhenBack = acknowledged;
    expect((await env.broker.status()).pid, "a new broker process").to.not.equal(pidBefore);
    const { producerId, produced } = await producing;
    expect(produced).to.equal(total);
    expect(acknowledgedBeforeRestart, "ticks acknowledged before the restart").to.be.greaterThan(0);
    expect(produced - acknowledgedWhenBack, "ticks acknowledged after the restart").to.be.greaterThan(0);
    const producedAt = Date.now();
    const caughtUpAt = await waitForLagZero(env.bootstrapServers, group, topic);
    await member.stop();
    await assertLakeExact(
      "broker restarted mid-production",
      env,
      new Map([[producerId, produced]]),
      caughtUpAt - Math.max(restartedAt, producedAt),
    );
  });

  it("commits nothing while the S3 server is down for 20 seconds, then lands every tick exactly once", async function () {
    this.timeout(300_000);
    const env = environment();
    const [topic, group] = [uniqueName("s3-down"), uniqueName("sink")];
    await createTestTopic(env.bootstrapServers, topic, 3);
    const member = new SinkMember(cli(env), { topic, group, flushIntervalMs: 300 });
    const producing = produce(topic, "s3-down", 60_000, 2_000);
    await waitFor(async () => (await committedTotal(env.bootstrapServers, group, topic)) > 3_000, {
      timeoutMs: 60_000,
      describe: () => "nothing committed before the outage",
    });
    expect((await env.s3.stop()).stopped).to.equal(true);
    // A flush staged just before the stop may still commit; after that, nothing may.
    await sleep(2_000);
    const duringOutage = await committedOffsets(env.bootstrapServers, group, topic);
    await sleep(18_000);
    expect(
      await committedOffsets(env.bootstrapServers, group, topic),
      "offsets committed while S3 was down",
    ).to.deep.equal(duringOutage);
    expect(member.output).to.match(/retry \d+ in \d+ ms, nothing committed/);
    await env.s3.start();
    const backAt = Date.now();
    const { producerId, produced } = await producing;
    const producedAt = Date.now();
    const caughtUpAt = await waitForLagZero(env.bootstrapServers, group, topic);
    await member.stop();
    await assertLakeExact(
      "S3 server down for 20 s",
      env,
      new Map([[producerId, produced]]),
      caughtUpAt - Math.max(backAt, producedAt),
    );
  });

  it("quarantines a burst of poison (not JSON, wrong types, huge values, empty) with a reason each, and lands every valid tick", async function () {
    this.timeout(300_000);
    const env = environment();
    const [topic, group] = [uniqueName("poison"), uniqueName("sink")];
    await createTestTopic(env.bootstrapServers, topic, 3);
    const member = new SinkMember(cli(env), { topic, group });
    const producing = produce(topic, "poison", 30_000, 5_000);
    const poison = [
      "not json at all",
      "{truncated",
      "[1,2,3]",
      JSON.stringify({
        symbol: "AAPL",
        ts: "2026-11-25T14:30:00Z",
        price: "189.12",
        volume: 1,
        source: "x",
        producerId: "p",
        seq: 1,
      }),
      JSON.stringify({
        symbol: "AAPL",
        ts: "yesterday",
        price: 1,
        volume: 1,
        source: "x",
        producerId: "p",
        seq: 2,
      }),
      JSON.stringify({
        symbol: "A".repeat(200_000),
        ts: "2026-11-25T14:30:00Z",
        price: 1,
        volume: 1,
        source: "x",
        producerId: "p",
        seq: 3,
      }),
      JSON.stringify({
        symbol: "AAPL",
        ts: "2026-11-25T14:30:00Z",
        price: 1e400,
        volume: 1e30,
        source: "x",
        producerId: "p",
        seq: 4,
      }),
      "",
    ];
    const producer = createKafka(env.bootstrapServers, "poison").producer({
      createPartitioner: Partitioners.DefaultPartitioner,
    });
    await producer.connect();
    let sent = 0;
    for (let burst = 0; burst < 5; burst++) {
      await sleep(600);
      await producer.send({
        topic,
        acks: -1,
        messages: poison.map((value, index) => ({ key: `bad-${index}`, value })),
      });
      sent += poison.length;
    }
    await producer.disconnect();
    const { producerId, produced } = await producing;
    const producedAt = Date.now();
    const caughtUpAt = await waitForLagZero(env.bootstrapServers, group, topic);
    await member.stop();
    const quarantined = (await readQuarantine(env.lake)).filter((entry) => entry.record.topic === topic);
    expect(quarantined.length, "every poison record quarantined, once").to.equal(sent);
    // Each reason names what is wrong with its record (the key says which poison it is).
    const expectedReasons = [
      /^not JSON\b/, // not json at all
      /^not JSON\b/, // {truncated
      /\bobject\b.*\barray\b/, // an array, not a tick
      /\bprice\b.*\bstring\b/, // the price as a string
      /\bts\b.*\b(date|datetime|time|timestamp)\b/i, // "yesterday"
      /\bsymbol\b/, // a 200,000-character symbol
      /\bprice\b/, // 1e400 (which JSON writes as null)
      /^not JSON\b.*\bend\b|\bempty\b/i, // an empty value
    ];
    expect(expectedReasons, "a pattern per poison").to.have.length(poison.length);
    const byKey = new Map<string, string[]>();
    for (const { record } of quarantined) {
      const key = String(record.key);
      byKey.set(key, [...(byKey.get(key) ?? []), String(record.reason)]);
    }
    expect([...byKey.keys()].sort(), "quarantined keys").to.deep.equal(
      poison.map((_, index) => `bad-${index}`).sort(),
    );
    expectedReasons.forEach((pattern, index) => {
      const reasons = byKey.get(`bad-${index}`)!;
      expect(reasons, `bad-${index}: one record per burst`).to.have.length(sent / poison.length);
      for (const reason of reasons) expect(reason, `bad-${index}'s reason`).to.match(pattern);
    });
    await assertLakeExact(
      `poison burst (${sent} bad records) among valid ticks`,
      env,
      new Map([[producerId, produced]]),
      caughtUpAt - producedAt,
    );
  });

  function cli(env: ReturnType<typeof environment>) {
    return cliEnvironment(env);
  }
});
