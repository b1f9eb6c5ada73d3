import { expect } from "chai";
import { rm } from "node:fs/promises";
import { lastJsonLine, runCli } from "../helpers/cli.ts";
import { createTestHome } from "../helpers/local-environment.ts";

describe("broker lifecycle through the CLI @integration", function () {
  let home: string;
  let env: NodeJS.ProcessEnv;
  const cli = (...args: string[]) => runCli(args, env);

  before(async function () {
    home = await createTestHome();
    env = { ...process.env, TICKSTREAM_HOME: home };
  });
  after(async function () {
    // Only this suite's home: never the working directory's .tickstream, where a developer's services run.
    const down = await cli("local", "down");
    expect(down.exitCode, down.stderr).to.equal(0);
    await rm(home, { recursive: true, force: true });
  });

  it("starts the broker and waits until it answers", async function () {
    const result = await cli("broker", "start", "--json");
    expect(result.exitCode, result.stderr).to.equal(0);
    expect(lastJsonLine(result.stdout)).to.include({ started: true, alreadyRunning: false });
  });

  it("reports it running and answering", async function () {
    const result = await cli("broker", "status", "--json");
    expect(result.exitCode, result.stderr).to.equal(0);
    const status = lastJsonLine<{
      running: boolean;
      pid: number;
      cluster: { controller: number; brokers: number };
    }>(result.stdout);
    expect(status.running).to.equal(true);
    expect(status.cluster).to.include({ controller: 1, brokers: 1 });
  });

  it("says so, instead of starting a second broker, when start is run again", async function () {
    const before = lastJsonLine<{ pid: number }>((await cli("broker", "status", "--json")).stdout);
    const result = await cli("broker", "start");
    expect(result.exitCode, result.stderr).to.equal(0);
    expect(result.stdout).to.equal(`broker is already running (pid ${before.pid}); nothing started`);
  });

  it("creates and describes a topic on it", async function () {
    const created = await cli("topic", "create", "--topic", "lifecycle", "--partitions", "2", "--json");
    expect(lastJsonLine(created.stdout)).to.deep.equal({ topic: "lifecycle", created: true, partitions: 2 });
    const again = await cli("topic", "create", "--topic", "lifecycle");
    expect(again.stdout).to.equal("topic lifecycle exists already");
    const described = lastJsonLine<{ partitions: { partition: number; leader: number }[] }>(
      (await cli("topic", "describe", "--topic", "lifecycle", "--json")).stdout,
    );
    expect(described.partitions.map((p) => [p.partition, p.leader])).to.deep.equal([
      [0, 1],
      [1, 1],
    ]);
  });

  it("restarts it as a new process that keeps its data", async function () {
    const before = lastJsonLine<{ pid: number }>((await cli("broker", "status", "--json")).stdout);
    const result = await cli("broker", "restart", "--json");
    expect(result.exitCode, result.stderr).to.equal(0);
    const restarted = lastJsonLine<{ pid: number; started: boolean }>(result.stdout);
    expect(restarted.started).to.equal(true);
    expect(restarted.pid).to.not.equal(before.pid);
    const described = await cli("topic", "describe", "--topic", "lifecycle", "--json");
    expect(described.exitCode, described.stderr).to.equal(0);
  });

  it("tails its log", async function () {
    const result = await cli("broker", "logs", "--lines", "400");
    expect(result.exitCode).to.equal(0);
    expect(result.stdout).to.include("Kafka Server started");
  });

  it("stops it gracefully, and status then exits 3", async function () {
    const stopped = await cli("broker", "stop", "--json");
    expect(lastJsonLine(stopped.stdout)).to.deep.equal({ stopped: true, killed: false });
    const status = await cli("broker", "status", "--json");
    expect(status.exitCode).to.equal(3);
    expect(lastJsonLine(status.stdout)).to.include({ running: false });
    const again = await cli("broker", "stop");
    expect(again.stdout).to.equal("broker was not running");
  });

  it("brings broker and S3 up and down together with `local`, in the documented JSON shape", async function () {
    const up = await cli("local", "up", "--json");
    expect(up.exitCode, up.stderr).to.equal(0);
    const status = lastJsonLine<Record<string, unknown>>((await cli("local", "status", "--json")).stdout);
    expect(status).to.have.all.keys(
      "bootstrapServers",
      "s3Endpoint",
      "bucket",
      "region",
      "accessKeyId",
      "secretAccessKey",
      "broker",
      "s3",
      "security",
    );
    expect(status.broker).to.include({ running: true });
    expect(status.s3).to.include({ running: true });
    expect(status.security, "a plain `local up` stays PLAINTEXT, as the quick start").to.equal("PLAINTEXT");
    expect(status.s3Endpoint).to.match(/^http:\/\/127\.0\.0\.1:\d+$/);
    const down = await cli("local", "down", "--json");
    expect(lastJsonLine(down.stdout)).to.deep.equal({ broker: true, s3: true });
    const after = lastJsonLine<{ broker: { running: boolean }; s3: { running: boolean } }>(
      (await cli("local", "status", "--json")).stdout,
    );
    expect([after.broker.running, after.s3.running]).to.deep.equal([false, false]);
  });
});
