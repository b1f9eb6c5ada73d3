import { expect } from "chai";
import { LakeSink } from "../../apps/consumer/lake-sink.ts";
import { runProducer } from "../../apps/producer/producer.ts";
import { SyntheticSource } from "../../apps/producer/sources/synthetic.ts";
import { sleep, waitFor } from "../../apps/shared/retry.ts";
import { countDuplicatesAndGaps, readLakeTicks } from "../helpers/lake.ts";
import { createTestTopic, waitForGroupCaughtUp } from "../helpers/kafka.ts";
import { uniqueName, useLocalEnvironment } from "../helpers/local-environment.ts";

describe("lake sink during an S3 outage @integration", function () {
  const environment = useLocalEnvironment();

  it("retries without committing while S3 is down and loses nothing when it returns", async function () {
    const env = environment();
    const topic = uniqueName("outage");
    const groupId = uniqueName("sink");
    const total = 12_000;
    await createTestTopic(env.bootstrapServers, topic);
    const warnings: string[] = [];
    let ticksWritten = 0;
    const sink = new LakeSink({
      bootstrapServers: env.bootstrapServers,
      topic,
      groupId,
      lake: env.lake,
      flush: { maxRecords: 500, intervalMs: 300 },
      onWarning: (message) => warnings.push(message),
      onFlush: (event) => (ticksWritten += event.ticks),
    });
    await sink.start();
    try {
      const producing = runProducer({
        bootstrapServers: env.bootstrapServers,
        topic,
        source: new SyntheticSource({ seed: "outage" }),
        count: total,
        ratePerSecond: 1_500,
        batchSize: 100,
      });
      await waitFor(() => ticksWritten > 1_000, {
        timeoutMs: 60_000,
        describe: () => "nothing reached the lake",
      });
      console.log("stopping s3", Date.now(), ticksWritten, warnings);
      const stopped = await env.s3.stop();
      expect(stopped.stopped).to.equal(true);
      const writtenWhenStopped = ticksWritten;
      await sleep(5_000);
      expect(ticksWritten, "nothing is reported written while S3 is down").to.equal(writtenWhenStopped);
      expect(
        warnings.some((warning) => /retry \d+ in \d+ ms, nothing committed/.test(warning)),
        warnings.join("\n"),
      ).to.equal(true);
      await env.s3.start();

      const { producerId } = await producing;
      await waitForGroupCaughtUp(env.bootstrapServers, groupId, topic, 90_000);
      const counts = countDuplicatesAndGaps(await readLakeTicks(env.lake, producerId), total);
      expect(counts).to.deep.equal({ unique: total, duplicates: 0, missing: 0 });
    } finally {
      await sink.stop();
    }
  });
});
