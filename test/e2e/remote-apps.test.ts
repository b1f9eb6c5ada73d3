import { expect } from "chai";
import { mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { SINK_SERVICE_MEMORY } from "../../apps/consumer/service-memory.ts";
import { waitFor } from "../../apps/shared/retry.ts";
import { BUNDLE_FILES } from "../../ops/apps/bundle.ts";
import { readEnvFile } from "../../ops/apps/deploy.ts";
import { parseStackOutputs } from "../../ops/environments/stack-outputs.ts";
import { RemoteCluster } from "../../ops/remote/remote-cluster.ts";
import { lastJsonLine, runCli } from "../helpers/cli.ts";
import { createTestTopic } from "../helpers/kafka.ts";
import { countDuplicatesAndGaps, readLakeTicks } from "../helpers/lake.ts";
import { countTable } from "../helpers/lake-count.ts";
import { uniqueName, useLocalEnvironment } from "../helpers/local-environment.ts";
import { startSshServer, type SshServer } from "../helpers/sshd.ts";
import { readBars, readTicks, referenceBars, withoutRevisions } from "../helpers/bars.ts";

describe("the producer and consumer deployed to a broker host over SSH @integration", function () {
  const environment = useLocalEnvironment();
  let sshd: SshServer;
  let hostRoot: string;
  let outputsFile: string;
  let outputs: Record<string, unknown>;
  const topic = uniqueName("apps");
  const barsTopic = uniqueName("apps-bars");
  const cli = (...args: string[]) =>
    runCli([...args, "--outputs", outputsFile, "--identity", sshd.clientKeyFile], process.env, 180_000);

  before(async function () {
    this.timeout(120_000);
    sshd = await startSshServer();
    hostRoot = await mkdtemp(path.join(tmpdir(), "tickstream-apphost-"));
    const env = environment();
    await createTestTopic(env.bootstrapServers, topic);
    outputs = {
      brokerPublicIps: [sshd.host],
      // The public listener is out of the apps' reach, as an Elastic IP is from inside the VPC: they must use
      // the internal one.
      bootstrapServers: "127.0.0.1:1",
      internalBootstrapServers: env.bootstrapServers.join(","),
      sshUser: sshd.username,
      sshPort: sshd.port,
      brokerHostKeys: [sshd.hostKeyFingerprint],
      lakeBucket: env.lake.bucket,
      glueDatabase: "tickstream_test",
      crawlerName: "tickstream-test-crawler",
      athenaWorkgroup: "tickstream-test",
      region: env.lake.region,
      hostRoot,
    };
    outputsFile = path.join(hostRoot, "outputs.json");
    await writeFile(outputsFile, JSON.stringify(outputs));
  });
  after(async function () {
    this.timeout(60_000);
    const cluster = new RemoteCluster(parseStackOutputs(outputs, "test"), {
      identityFile: sshd.clientKeyFile,
    });
    await cluster.stopApps().catch(() => []);
    cluster.close();
    await sshd?.stop();
    await rm(hostRoot, { recursive: true, force: true });
  });

  it("deploys both apps with their settings in a private env file", async function () {
    const env = environment();
    const settings = path.join(hostRoot, "settings.env");
    await writeFile(
      settings,
      [
        `TICKSTREAM_TOPIC=${topic}`,
        `TICKSTREAM_GROUP=${uniqueName("remote-sink")}`,
        "TICKSTREAM_PRODUCER_ID=remote-producer",
        "TICKSTREAM_COUNT=3000",
        "TICKSTREAM_RATE=1500",
        `TICKSTREAM_S3_ENDPOINT=${env.lake.endpoint}`,
        `AWS_ACCESS_KEY_ID=${env.lake.credentials!.accessKeyId}`,
        `AWS_SECRET_ACCESS_KEY=${env.lake.credentials!.secretAccessKey}`,
        // The stack's Glue catalog in production; this host's lake has the local one.
        `TICKSTREAM_ICEBERG_CATALOG=file:${path.join(env.home, "catalog", "iceberg")}`,
      ].join("\n"),
    );
    for (const app of ["consumer", "producer"] as const) {
      const result = await cli("app", "deploy", app, "--env-file", settings, "--json");
      expect(result.exitCode, result.stderr).to.equal(0);
      expect(lastJsonLine(result.stdout)).to.include({ app, service: "supervisor" });
      // Every file of the bundle (the consumer's encode-worker.mjs beside its app.mjs), counted in bundleBytes.
      let bytes = 0;
      for (const file of BUNDLE_FILES[app])
        bytes += (await stat(path.join(hostRoot, "opt/tickstream", app, file))).size;
      expect(lastJsonLine(result.stdout)).to.include({ bundleBytes: bytes });
      const envFile = path.join(hostRoot, `etc/tickstream/${app}.env`);
      expect((await stat(envFile)).mode & 0o777, "the env file is private").to.equal(0o600);
      const values = await readEnvFile(envFile);
      expect(values.TICKSTREAM_BOOTSTRAP_SERVERS).to.equal(env.bootstrapServers.join(","));
      if (app === "consumer") expect(values, "the sink's memory settings").to.include(SINK_SERVICE_MEMORY);
    }
  });

  it("starts them, and the producer's ticks land in the lake exactly once", async function () {
    this.timeout(180_000);
    const startedConsumer = await cli("app", "start", "consumer");
    expect(startedConsumer.stdout, startedConsumer.stderr).to.match(/^consumer started \(pid \d+\)$/);
    expect((await cli("app", "start", "producer")).stdout).to.match(/^producer started \(pid \d+\)$/);
    const status = await cli("app", "status", "consumer", "--json");
    const { pid } = lastJsonLine<{ running: boolean; pid: number }>(status.stdout);
    expect(lastJsonLine(status.stdout)).to.include({ running: true });
    const commandLine = await readFile(`/proc/${pid}/cmdline`, "utf8");
    expect(commandLine, "no secret on a command line").to.not.include(
      environment().lake.credentials!.secretAccessKey,
    );
    // The supervisor's shell read the env file's quoted values whole: NODE_OPTIONS with both its flags.
    const processEnvironment = (await readFile(`/proc/${pid}/environ`, "utf8")).split("\0");
    expect(processEnvironment, "the deployed sink runs with its memory settings").to.include.members(
      Object.entries(SINK_SERVICE_MEMORY).map(([key, value]) => `${key}=${value}`),
    );

    let rows: Awaited<ReturnType<typeof readLakeTicks>> = [];
    await waitFor(
      async () => {
        rows = await readLakeTicks(environment().lake, "remote-producer");
        return rows.length >= 3000;
      },
      {
        timeoutMs: 120_000,
        intervalMs: 1_000,
        describe: () => `only ${rows.length} of 3000 ticks reached the lake`,
      },
    );
    expect(countDuplicatesAndGaps(rows, 3000)).to.deep.equal({ unique: 3000, duplicates: 0, missing: 0 });
    let table: Awaited<ReturnType<typeof countTable>> | undefined;
    await waitFor(
      async () =>
        (table = await countTable(
          environment().home,
          environment().lake,
          new Map([["remote-producer", 3000]]),
        )).landed === 3000,
      { timeoutMs: 60_000, intervalMs: 1_000, describe: () => `the Iceberg table: ${JSON.stringify(table)}` },
    );
    expect(table, "the deployed sink appends to the Iceberg table, every tick once").to.deep.include({
      landed: 3000,
      lost: 0,
      duplicated: 0,
    });
    const logs = await cli("app", "logs", "consumer", "--lines", "200");
    expect(logs.stdout).to.include(`consumer: consuming ${topic}`);
    expect(logs.stdout).to.include("appended to the Iceberg table in file:");
    const producerLogs = await cli("app", "logs", "producer");
    expect(producerLogs.stdout).to.include("producer: done: 3000 ticks as remote-producer");
  });

  it("deploys the rollup the same way: it creates the bar topic and its bars equal the reference", async function () {
    this.timeout(240_000);
    const settings = path.join(hostRoot, "rollup.env");
    await writeFile(
      settings,
      [
        `TICKSTREAM_TOPIC=${topic}`,
        `TICKSTREAM_BARS_TOPIC=${barsTopic}`,
        `TICKSTREAM_ROLLUP_GROUP=${uniqueName("remote-rollup")}`,
        "TICKSTREAM_ROLLUP_IDLE_CLOSE_MS=1000",
      ].join("\n"),
    );
    const deployed = await cli("app", "deploy", "rollup", "--env-file", settings, "--json");
    expect(deployed.exitCode, deployed.stderr).to.equal(0);
    expect((await cli("app", "start", "rollup")).stdout).to.match(/^rollup started \(pid \d+\)$/);
    const reference = referenceBars(await readTicks(environment().bootstrapServers, topic, 3000));
    await waitFor(
      async () =>
        (await readBars(environment().bootstrapServers, barsTopic, 1_000)).latest.size >= reference.size,
      { timeoutMs: 120_000, intervalMs: 2_000, describe: () => "the deployed rollup emitted no bars" },
    );
    const bars = await readBars(environment().bootstrapServers, barsTopic);
    expect(bars.duplicates).to.deep.equal([]);
    expect(withoutRevisions(bars.latest)).to.deep.equal(reference);
    expect((await cli("app", "stop", "rollup")).stdout).to.equal("rollup stopped");
  });

  it("stops them; status then exits 3, and a stop of a stopped app says so", async function () {
    expect((await cli("app", "stop", "consumer")).stdout).to.equal("consumer stopped");
    const status = await cli("app", "status", "consumer");
    expect(status.exitCode).to.equal(3);
    expect((await cli("app", "stop", "producer")).stdout).to.equal("producer was not running");
  });

  it("says when an app was never deployed", async function () {
    await rm(path.join(hostRoot, "var/lib/tickstream/apps/producer.service.json"));
    const result = await cli("app", "start", "producer");
    expect(result.exitCode).to.equal(1);
    expect(result.stderr.trim()).to.match(
      /^tickstream: producer is not deployed on .*: run tickstream app deploy producer$/,
    );
  });
});
