import { expect } from "chai";
import { Partitioners } from "kafkajs";
import { LakeSink } from "../../apps/consumer/lake-sink.ts";
import { createKafka } from "../../apps/shared/kafka-client.ts";
import { encodeTick, type Tick } from "../../apps/tick/schema.ts";
import { readLakeTicks, readQuarantine } from "../helpers/lake.ts";
import { createTestTopic, waitForGroupCaughtUp } from "../helpers/kafka.ts";
import { uniqueName, useLocalEnvironment } from "../helpers/local-environment.ts";

describe("quarantine of bad records @integration", function () {
  const environment = useLocalEnvironment();

  it("quarantines a malformed message and a schema-invalid tick with their reasons, and lands the rest", async function () {
    const env = environment();
    const topic = uniqueName("quarantine");
    const groupId = uniqueName("sink");
    // One partition, so that the offsets of the bad records are known.
    await createTestTopic(env.bootstrapServers, topic, 1);
    const good = (seq: number): Tick => ({
      symbol: "AAPL",
      ts: new Date(Date.UTC(2026, 10, 25, 14, 30, seq)).toISOString(),
      price: 189 + seq / 100,
      volume: 100 + seq,
      source: "test",
      producerId: "quarantine-test",
      seq,
    });
    const invalidTick = JSON.stringify({ ...good(999), price: -5 });
    const producer = createKafka(env.bootstrapServers, "quarantine-test").producer({
      createPartitioner: Partitioners.DefaultPartitioner,
    });
    await producer.connect();
    await producer.send({
      topic,
      acks: -1,
      messages: [
        ...[0, 1, 2].map((seq) => ({ key: "AAPL", value: encodeTick(good(seq)) })),
        { key: "AAPL", value: "{not json" },
        { key: "AAPL", value: invalidTick },
        ...[3, 4].map((seq) => ({ key: "AAPL", value: encodeTick(good(seq)) })),
      ],
    });
    await producer.disconnect();

    const sink = new LakeSink({
      bootstrapServers: env.bootstrapServers,
      topic,
      groupId,
      lake: env.lake,
      flush: { intervalMs: 300 },
    });
    await sink.start();
    try {
      await waitForGroupCaughtUp(env.bootstrapServers, groupId, topic);
    } finally {
      await sink.stop();
    }

    const landed = await readLakeTicks(env.lake, "quarantine-test");
    expect(landed.map((row) => Number(row.seq))).to.deep.equal([0, 1, 2, 3, 4]);
    const quarantined = (await readQuarantine(env.lake)).filter(({ record }) => record.topic === topic);
    expect(quarantined).to.have.length(2);
    const [malformed, invalid] = quarantined.map(({ record }) => record);
    expect(malformed).to.include({ offset: "3", value: "{not json", key: "AAPL", partition: 0 });
    expect(malformed!.reason).to.match(/^not JSON/);
    expect(invalid).to.include({ offset: "4", value: invalidTick });
    expect(invalid!.reason).to.match(/^invalid tick: price/);
    expect(quarantined[0]!.key).to.match(
      new RegExp(`^quarantine/dt=\\d{4}-\\d{2}-\\d{2}/${topic}\\+0\\+00000000000000000003\\.jsonl$`),
    );
  });
});
