/** Runs ticks through the real pipeline: producer -> broker -> lake sink -> lake. */
import { expect } from "chai";
import { LakeSink } from "../../apps/consumer/lake-sink.ts";
import { runProducer } from "../../apps/producer/producer.ts";
import type { TickSource } from "../../apps/producer/sources/source.ts";
import type { Tick } from "../../apps/tick/schema.ts";
import type { LocalEnvironment } from "../../ops/local/environment.ts";
import { createTestTopic, waitForGroupCaughtUp } from "./kafka.ts";
import { uniqueName } from "./local-environment.ts";

/** Produces every tick of `source` (up to `count`) into a fresh topic, sinks it, and returns what was sent. */
export async function sinkThroughPipeline(
  environment: LocalEnvironment,
  source: TickSource,
  options: { count?: number; topicPrefix?: string } = {},
): Promise<{ sent: Tick[]; producerId: string; topic: string }> {
  const topic = uniqueName(options.topicPrefix ?? "pipeline");
  const groupId = uniqueName("sink");
  await createTestTopic(environment.bootstrapServers, topic);
  const sink = new LakeSink({
    bootstrapServers: environment.bootstrapServers,
    topic,
    groupId,
    lake: environment.lake,
    flush: { maxRecords: 400, intervalMs: 500 },
  });
  await sink.start();
  try {
    const sent: Tick[] = [];
    const summary = await runProducer({
      bootstrapServers: environment.bootstrapServers,
      topic,
      source,
      count: options.count,
      batchSize: 250,
      onSent: (ticks) => sent.push(...ticks),
    });
    expect(summary.produced).to.equal(sent.length);
    await waitForGroupCaughtUp(environment.bootstrapServers, groupId, topic);
    return { sent, producerId: summary.producerId, topic };
  } finally {
    await sink.stop();
  }
}
