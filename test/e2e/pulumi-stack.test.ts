import { expect } from "chai";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { lastJsonLine, runCli } from "../helpers/cli.ts";
import { createTestTopic } from "../helpers/kafka.ts";
import { uniqueName, useLocalEnvironment } from "../helpers/local-environment.ts";
import { createPulumiSandbox, type PulumiSandbox } from "../helpers/pulumi-cli.ts";
import { startSshServer, type SshServer } from "../helpers/sshd.ts";

describe("a stack read and torn down through the real Pulumi CLI and Automation API (file backend) @integration", function () {
  const environment = useLocalEnvironment();
  let pulumi: PulumiSandbox;
  let sshd: SshServer;
  let hostRoot: string;
  const stack = uniqueName("e2e").replace("-", "");
  const cli = (...args: string[]) =>
    runCli([...args, "--stack", stack, "--identity", sshd.clientKeyFile], pulumi.env, 180_000);

  before(async function () {
    this.timeout(120_000);
    pulumi = await createPulumiSandbox();
    sshd = await startSshServer();
    hostRoot = await mkdtemp(path.join(tmpdir(), "tickstream-stackhost-"));
    const env = environment();
    const topic = uniqueName("stack");
    await createTestTopic(env.bootstrapServers, topic);
    await pulumi.createStack(
      stack,
      {
        brokerPublicIps: [sshd.host],
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
      },
      { "tickstream:forceDestroy": "false" },
    );
    const settings = path.join(hostRoot, "settings.env");
    await writeFile(
      settings,
      [
        `TICKSTREAM_TOPIC=${topic}`,
        `TICKSTREAM_GROUP=${uniqueName("stack-sink")}`,
        `TICKSTREAM_S3_ENDPOINT=${env.lake.endpoint}`,
        `AWS_ACCESS_KEY_ID=${env.lake.credentials!.accessKeyId}`,
        `AWS_SECRET_ACCESS_KEY=${env.lake.credentials!.secretAccessKey}`,
      ].join("\n"),
    );
    const deployed = await cli("app", "deploy", "consumer", "--env-file", settings);
    expect(deployed.exitCode, deployed.stderr).to.equal(0);
  });
  after(async function () {
    this.timeout(60_000);
    // Whatever a failed test left: the consumer stopped through the outputs file, not the stack.
    const outputsFile = path.join(hostRoot, "outputs.json");
    const outputs = await pulumi.pulumi(["stack", "output", "--json", "--stack", stack]);
    if (outputs.exitCode === 0) {
      await writeFile(outputsFile, outputs.stdout);
      await runCli(
        ["app", "stop", "consumer", "--outputs", outputsFile, "--identity", sshd.clientKeyFile],
        process.env,
      );
    }
    await sshd?.stop();
    await pulumi?.destroy();
    await rm(hostRoot, { recursive: true, force: true });
  });

  it("reads the stack's outputs with --stack: an app is started and reported on the host they name", async function () {
    const started = await cli("app", "start", "consumer");
    expect(started.stdout, started.stderr).to.match(/^consumer started \(pid \d+\)$/);
    const status = await cli("app", "status", "consumer", "--json");
    expect(status.exitCode, status.stderr).to.equal(0);
    expect(lastJsonLine(status.stdout)).to.include({ running: true });
  });

  it("names a stack that does not exist, in one line", async function () {
    const result = await runCli(["app", "status", "consumer", "--stack", "nosuchstack"], pulumi.env);
    expect(result.exitCode).to.equal(1);
    expect(result.stderr.trim().split("\n")).to.have.length(1);
    expect(result.stderr.trim()).to.match(
      /^tickstream: stack nosuchstack: no such stack in the backend file:\/\/.* \(list them with: pulumi stack ls\)$/,
    );
  });

  it("teardown --yes stops the apps over SSH, destroys the stack, removes it, and says the lake was kept (forceDestroy false)", async function () {
    this.timeout(180_000);
    const status = await cli("app", "status", "consumer", "--json");
    const { pid } = lastJsonLine<{ pid: number }>(status.stdout);
    expect(processRuns(pid), "the consumer runs before teardown").to.equal(true);

    const result = await runCli(
      ["teardown", "--stack", stack, "--yes", "--identity", sshd.clientKeyFile],
      pulumi.env,
      180_000,
    );
    expect(result.exitCode, result.stderr).to.equal(0);
    expect(result.stderr).to.include(
      `NOT the lake bucket s3://${environment().lake.bucket}: forceDestroy is false`,
    );
    expect(result.stderr).to.include("stopped consumer on broker 1");
    expect(result.stderr).to.include(`removing stack ${stack}`);
    expect(result.stdout).to.equal(`stack ${stack} destroyed and removed; the lake's data was kept`);
    expect(processRuns(pid), "the consumer was stopped").to.equal(false);

    const stacks = await pulumi.pulumi(["stack", "ls", "--json"]);
    expect(stacks.exitCode, stacks.stderr).to.equal(0);
    expect((JSON.parse(stacks.stdout) as { name: string }[]).map((entry) => entry.name)).to.not.include(
      stack,
    );
  });
});

/** True while the process exists and is not a zombie (nothing may reap an orphan in a container). */
function processRuns(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, "utf8"));
  } catch {
    return false;
  }
}
