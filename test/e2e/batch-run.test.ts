import { expect } from "chai";
import { runProducer } from "../../apps/producer/producer.ts";
import { SyntheticSource } from "../../apps/producer/sources/synthetic.ts";
import { groupLag } from "../../ops/kafka/topics.ts";
import { lastJsonLine, runCli } from "../helpers/cli.ts";
import { createTestTopic } from "../helpers/kafka.ts";
import { countLake } from "../helpers/lake-count.ts";
import { cliEnvironment, uniqueName, useLocalEnvironment } from "../helpers/local-environment.ts";

/** `tickstream consume --until-caught-up` with a flush interval it must not wait for (10 minutes). */
const batchRun = (topic: string, group: string) => [
  "consume",
  "--topic",
  topic,
  "--group",
  group,
  "--until-caught-up",
  "--flush-interval-ms",
  "600000",
  "--json",
];

describe("a batch run of the lake sink (consume --until-caught-up) @integration", function () {
  const environment = useLocalEnvironment();

  it("writes what the topic holds and exits by itself, without waiting for its flush interval: the lake exact, the group caught up; a second run finds nothing and exits too", async function () {
    this.timeout(240_000);
    const env = environment();
    const topic = uniqueName("batch");
    const group = uniqueName("sink");
    await createTestTopic(env.bootstrapServers, topic, 3);
    const { producerId, produced } = await runProducer({
      bootstrapServers: env.bootstrapServers,
      topic,
      source: new SyntheticSource({ seed: "batch-run" }),
      count: 30_000,
    });
    const cli = cliEnvironment(env);
    // Waiting for the flush interval would take 10 minutes: past the 90 s given here.
    const first = await runCli(batchRun(topic, group), cli, 90_000);
    expect(first.exitCode, first.stderr).to.equal(0);
    expect(first.stderr).to.match(/read what .* held at start; writing it, then exiting/);
    expect(lastJsonLine(first.stdout).ticks, "ticks written").to.equal(produced);
    const lake = await countLake(env.lake, new Map([[producerId, produced]]));
    expect({ landed: lake.landed, lost: lake.lost, duplicated: lake.duplicated }).to.deep.equal({
      landed: produced,
      lost: 0,
      duplicated: 0,
    });
    expect((await groupLag(env.bootstrapServers, group, topic)).total, "the group's lag").to.equal(0);

    const second = await runCli(batchRun(topic, group), cli, 90_000);
    expect(second.exitCode, second.stderr).to.equal(0);
    expect(second.stderr, "ended by itself").to.match(/read what .* held at start/);
    expect(lastJsonLine(second.stdout).ticks, "ticks written by a run with nothing new").to.equal(0);
  });

  it("exits at once on an empty topic, having written nothing", async function () {
    this.timeout(120_000);
    const env = environment();
    const topic = uniqueName("batch-empty");
    await createTestTopic(env.bootstrapServers, topic, 3);
    const run = await runCli(batchRun(topic, uniqueName("sink")), cliEnvironment(env), 90_000);
    expect(run.exitCode, run.stderr).to.equal(0);
    expect(run.stderr, "ended by itself, not by the test's timeout").to.match(/read what .* held at start/);
    expect(lastJsonLine(run.stdout).ticks).to.equal(0);
  });

  it("refuses --until-caught-up for the bars table, in one line", async function () {
    const env = environment();
    const run = await runCli(["consume", "--table", "bars_1m", "--until-caught-up"], cliEnvironment(env));
    expect(run.exitCode).to.equal(1);
    expect(run.stderr.trim().split("\n")).to.have.length(1);
    expect(run.stderr).to.match(/--until-caught-up is for the ticks table/);
  });
});
