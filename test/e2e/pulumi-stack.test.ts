import {
  GetObjectCommand,
  HeadBucketCommand,
  ListObjectsV2Command,
  PutObjectCommand,
} from "@aws-sdk/client-s3";
import { expect } from "chai";
import { access, mkdtemp, rm, writeFile } from "node:fs/promises";
import { readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { lastJsonLine, runCli } from "../helpers/cli.ts";
import { createTestTopic } from "../helpers/kafka.ts";
import { uniqueName, useLocalEnvironment } from "../helpers/local-environment.ts";
import { createPulumiSandbox, type PulumiSandbox } from "../helpers/pulumi-cli.ts";
import { startSshServer, type SshServer } from "../helpers/sshd.ts";
import { createS3Client } from "../../apps/lake/s3-client.ts";

/**
 * The providers of the state's two dynamic resources, as `pulumi.dynamic` serializes them into `__provider`. The
 * broker stands for what a destroy deletes (its instance is a file on the host here); the lake bucket is kept as
 * the program keeps it when forceDestroy is false (`retainOnDelete`, infra/components/secure-bucket.ts), and its
 * delete, were it called, empties and deletes the bucket on the local S3 server.
 */
const BROKER_PROVIDER = `exports.handler = () => ({
  async delete(id, props) {
    require("node:fs").rmSync(props.instanceFile);
  },
});`;
const LAKE_PROVIDER = `exports.handler = () => ({
  async delete(id, props) {
    const s3 = require(props.sdk);
    const client = new s3.S3Client({
      endpoint: props.endpoint,
      region: props.region,
      forcePathStyle: true,
      credentials: { accessKeyId: props.accessKeyId, secretAccessKey: props.secretAccessKey },
    });
    const listed = await client.send(new s3.ListObjectsV2Command({ Bucket: props.bucket }));
    for (const object of listed.Contents ?? [])
      await client.send(new s3.DeleteObjectCommand({ Bucket: props.bucket, Key: object.Key }));
    await client.send(new s3.DeleteBucketCommand({ Bucket: props.bucket }));
  },
});`;

describe("a stack read and torn down through the real Pulumi CLI and Automation API (file backend) @integration", function () {
  const environment = useLocalEnvironment();
  let pulumi: PulumiSandbox;
  let sshd: SshServer;
  let hostRoot: string;
  let instanceFile: string;
  const lakeObjects = new Map<string, string>();
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
    instanceFile = path.join(hostRoot, "instance-id");
    await writeFile(instanceFile, "i-0123456789abcdef0\n");
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
      {
        "broker-1": { provider: BROKER_PROVIDER, props: { instanceFile } },
        lake: {
          provider: LAKE_PROVIDER,
          props: {
            sdk: path.resolve("node_modules/@aws-sdk/client-s3"),
            endpoint: env.lake.endpoint,
            region: env.lake.region,
            bucket: env.lake.bucket,
            ...env.lake.credentials,
          },
          retainOnDelete: true,
        },
      },
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

  it("teardown --yes stops the apps over SSH, destroys the stack's resources, removes it, and keeps the lake's objects (forceDestroy false)", async function () {
    this.timeout(180_000);
    const status = await cli("app", "status", "consumer", "--json");
    const { pid } = lastJsonLine<{ pid: number }>(status.stdout);
    expect(processRuns(pid), "the consumer runs before teardown").to.equal(true);
    await access(instanceFile);
    const lake = environment().lake;
    const s3 = createS3Client(lake);
    for (const [key, body] of [
      ["ticks/dt=2026-11-25/stock-ticks+0+00000000000000000000.parquet", "ticks of the 25th"],
      ["bars_1m/dt=2026-11-25/stock-bars-1m+0+00000000000000000000.parquet", "bars of the 25th"],
    ]) {
      await s3.send(new PutObjectCommand({ Bucket: lake.bucket, Key: key, Body: body }));
    }
    for (const key of await listKeys(s3, lake.bucket))
      lakeObjects.set(key, await objectText(s3, lake.bucket, key));
    expect(lakeObjects.size).to.be.at.least(2);

    // The operator's AWS credentials reach the lake, as on a real stack: anything teardown did to it would show.
    const result = await runCli(
      ["teardown", "--stack", stack, "--yes", "--identity", sshd.clientKeyFile],
      {
        ...pulumi.env,
        AWS_ENDPOINT_URL_S3: lake.endpoint,
        AWS_REGION: lake.region,
        AWS_ACCESS_KEY_ID: lake.credentials!.accessKeyId,
        AWS_SECRET_ACCESS_KEY: lake.credentials!.secretAccessKey,
      },
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

    // The destroy deleted what the stack held: the provider's delete ran and the broker's instance is gone.
    await access(instanceFile).then(
      () => expect.fail(`${instanceFile} is still there: the destroy did not delete broker-1`),
      () => undefined,
    );
    // The lake was kept: the bucket and every object in it, byte for byte.
    await s3
      .send(new HeadBucketCommand({ Bucket: lake.bucket }))
      .catch((error: unknown) => expect.fail(`the lake bucket ${lake.bucket} is gone: ${String(error)}`));
    const kept = new Map<string, string>();
    for (const key of await listKeys(s3, lake.bucket)) kept.set(key, await objectText(s3, lake.bucket, key));
    expect(Object.fromEntries(kept), "the lake's objects after teardown").to.deep.equal(
      Object.fromEntries(lakeObjects),
    );
    s3.destroy();

    const stacks = await pulumi.pulumi(["stack", "ls", "--json"]);
    expect(stacks.exitCode, stacks.stderr).to.equal(0);
    expect((JSON.parse(stacks.stdout) as { name: string }[]).map((entry) => entry.name)).to.not.include(
      stack,
    );
  });
});

async function listKeys(s3: ReturnType<typeof createS3Client>, bucket: string): Promise<string[]> {
  const listed = await s3.send(new ListObjectsV2Command({ Bucket: bucket }));
  expect(listed.IsTruncated, "one page").to.not.equal(true);
  return (listed.Contents ?? []).map((object) => object.Key!);
}

async function objectText(
  s3: ReturnType<typeof createS3Client>,
  bucket: string,
  key: string,
): Promise<string> {
  const object = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  return object.Body!.transformToString();
}

/** True while the process exists and is not a zombie (nothing may reap an orphan in a container). */
function processRuns(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, "utf8"));
  } catch {
    return false;
  }
}
