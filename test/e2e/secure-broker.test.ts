import { expect } from "chai";
import kafkajs, { Kafka, logLevel } from "kafkajs";
import { randomUUID } from "node:crypto";
import { existsSync, readFileSync, statSync } from "node:fs";
import { readdir, readFile, rm } from "node:fs/promises";
import path from "node:path";
import { unregisterClusterSecurity } from "../../apps/shared/kafka-security.ts";
import { sleep } from "../../apps/shared/retry.ts";
import { loadLocalSettings } from "../../ops/config/settings.ts";
import { LocalHost } from "../../ops/hosts/local-host.ts";
import { LocalEnvironment } from "../../ops/local/environment.ts";
import { loadLocalSecurity, type LocalCredentials } from "../../ops/security/local-security.ts";
import { lastJsonLine, printedUrl, runCli, spawnCli } from "../helpers/cli.ts";
import { SinkMember, waitForLagZero } from "../helpers/fault-run.ts";
import { countLake } from "../helpers/lake-count.ts";
import { createTestHome } from "../helpers/local-environment.ts";
import { sampleCommandLines, type CommandLineSampler } from "../helpers/process-scan.ts";
import { expectNoSecrets, passwordSecrets, privateKeySecrets, type Secret } from "../helpers/secret-scan.ts";

describe("the local broker with --secure: SASL_SSL, SCRAM-SHA-512 and ACLs per app @integration", function () {
  let home: string;
  let environment: LocalEnvironment;
  let passwords: LocalCredentials;
  let caPem: string;
  let sampler: CommandLineSampler;
  /** What `local up --secure` printed. */
  let upPrinted: string[] = [];
  /** Everything the CLI (and the dashboard) printed in the current test; each test scans its own. */
  let printed: string[] = [];
  const env = () => ({ ...process.env, TICKSTREAM_HOME: home });
  const cli = async (args: string[], extra: NodeJS.ProcessEnv = {}) => {
    const result = await runCli(args, { ...env(), ...extra }, 180_000);
    printed.push(result.stdout, result.stderr);
    return result;
  };
  /**
   * Every password, and every private key under the home (read again at each scan, so a key a test made is
   * included): `local up --secure` made at least the CA's and the broker's.
   */
  const secrets = async (): Promise<Secret[]> => {
    const keys = await privateKeySecrets(home);
    const names = keys.map((key) => key.name);
    for (const file of ["ca.key", "broker-keystore.pem"])
      expect(names, "the private keys found under the home").to.include(
        `the private key in ${path.join("security", file)}`,
      );
    for (const key of keys)
      expect(
        key.needles.filter((needle) => needle.label.startsWith("body line")),
        `distinctive lines of ${key.name}`,
      ).to.have.length.greaterThan(1);
    return [...passwordSecrets(passwords), ...keys];
  };
  const expectNoSecretIn = async (where: string, texts: readonly string[]) => {
    expect(texts.join(""), `something was printed to scan (${where})`).to.not.equal("");
    expectNoSecrets(where, texts, await secrets());
  };
  const client = (username: string, password: string) =>
    new Kafka({
      clientId: "secure-test",
      brokers: environment.bootstrapServers,
      logLevel: logLevel.NOTHING,
      retry: { retries: 1 },
      ssl: { ca: [caPem] },
      sasl: { mechanism: "scram-sha-512", username, password },
    });

  before(async function () {
    this.timeout(240_000);
    sampler = sampleCommandLines();
    home = await createTestHome();
    const up = await runCli(["local", "up", "--secure", "--json"], env(), 180_000);
    upPrinted = [up.stdout, up.stderr];
    expect(up.exitCode, up.stderr).to.equal(0);
    expect(lastJsonLine(up.stdout)).to.include({ security: "SASL_SSL" });
    environment = new LocalEnvironment(loadLocalSettings(home), home, new LocalHost());
    const loaded = loadLocalSecurity(home)!;
    passwords = loaded.passwords;
    caPem = readFileSync(loaded.files.caCertificate, "utf8");
  });
  beforeEach(function () {
    printed = [];
  });
  after(async function () {
    this.timeout(60_000);
    await sampler?.stop();
    await runCli(["local", "down"], env());
    unregisterClusterSecurity(environment?.bootstrapServers ?? []);
    await rm(home, { recursive: true, force: true });
  });

  it("keeps its keys and passwords in files of mode 600, and leaves no SCRAM argument file behind", function () {
    const security = path.join(home, "security");
    for (const file of ["ca.key", "broker-keystore.pem", "credentials.json"])
      expect(statSync(path.join(security, file)).mode & 0o777, file).to.equal(0o600);
    expect(statSync(path.join(home, "broker", "server.properties")).mode & 0o777).to.equal(0o600);
    expect(existsSync(path.join(home, "broker", "format-scram.args"))).to.equal(false);
  });

  it("runs the whole pipeline over SASL_SSL through the CLI: every tick in the lake exactly once", async function () {
    this.timeout(240_000);
    const topic = `secure-${randomUUID().slice(0, 8)}`;
    const group = `${environment.settings.consumerGroup}-${randomUUID().slice(0, 8)}`;
    const created = await cli(["topic", "create", "--topic", topic]);
    expect(created.exitCode, created.stderr).to.equal(0);
    const member = new SinkMember(env(), { topic, group });
    const producerId = `secure-${randomUUID().slice(0, 8)}`;
    const produced = await cli([
      "produce",
      "--topic",
      topic,
      "--count",
      "6000",
      "--rate",
      "3000",
      "--producer-id",
      producerId,
    ]);
    expect(produced.exitCode, produced.stderr).to.equal(0);
    await waitForLagZero(environment.bootstrapServers, group, topic);
    await member.stop();
    printed.push(member.output);
    const count = await countLake(environment.lake, new Map([[producerId, 6000]]));
    expect({ landed: count.landed, lost: count.lost, duplicated: count.duplicated }).to.deep.equal({
      landed: 6000,
      lost: 0,
      duplicated: 0,
    });
    await expectNoSecretIn("the CLI's and the sink's output", printed);
  });

  it("refuses a wrong password, a client without credentials, and one that does not trust the CA, each in one line", async function () {
    const wrong = await cli(["topic", "describe"], {
      TICKSTREAM_KAFKA_USERNAME: "ops",
      TICKSTREAM_KAFKA_PASSWORD: "not-the-password",
    });
    expect(wrong.exitCode).to.equal(1);
    expect(wrong.stderr.trim()).to.equal(
      `tickstream: the Kafka broker at ${environment.bootstrapServers[0]} refused the credentials of user ops (SCRAM-SHA-512: invalid credentials); check the password`,
    );

    // Another home on the same port: a plaintext client, with no credentials and no CA.
    const stranger = await createTestHome({ brokerPort: environment.settings.brokerPort });
    try {
      const anonymous = await runCli(["topic", "describe"], { ...process.env, TICKSTREAM_HOME: stranger });
      printed.push(anonymous.stdout, anonymous.stderr);
      expect(anonymous.exitCode).to.equal(1);
      expect(anonymous.stderr.trim().split("\n")).to.have.length(1);
      expect(anonymous.stderr).to.match(/closed the connection: it requires TLS and SASL credentials/);
    } finally {
      await rm(stranger, { recursive: true, force: true });
    }

    const otherCa = path.join(home, "security", "ca.pem.other");
    const { execa } = await import("execa");
    await execa("openssl", [
      "req",
      "-x509",
      "-new",
      "-newkey",
      "ec",
      "-pkeyopt",
      "ec_paramgen_curve:prime256v1",
      "-nodes",
      "-keyout",
      `${otherCa}.key`,
      "-out",
      otherCa,
      "-days",
      "1",
      "-subj",
      "/CN=another CA",
    ]);
    const untrusted = await cli(["topic", "describe"], { TICKSTREAM_KAFKA_CA_FILE: otherCa });
    expect(untrusted.exitCode).to.equal(1);
    expect(untrusted.stderr.trim()).to.match(
      /^tickstream: the Kafka broker at \S+ presented a TLS certificate that is not trusted \(.*self-signed certificate in certificate chain\); set TICKSTREAM_KAFKA_CA_FILE to the cluster's CA$/,
    );
    await expectNoSecretIn("the refusals' output", printed);
  });

  it("keeps each app to its own job: the producer can neither read nor delete the topic, the consumer cannot write it", async function () {
    this.timeout(120_000);
    const topic = environment.settings.topic;
    expect((await cli(["topic", "create"])).exitCode).to.equal(0);
    const producerClient = client("producer", passwords.producer);
    // Give the producer a group of its own, so that the only right it lacks is READ on the topic.
    const thiefGroup = `thief-${randomUUID().slice(0, 8)}`;
    const ops = client("ops", passwords.ops).admin();
    await ops.connect();
    await ops.createAcls({
      acl: [kafkajs.AclOperationTypes.READ, kafkajs.AclOperationTypes.DESCRIBE].map((operation) => ({
        principal: "User:producer",
        host: "*",
        operation,
        permissionType: kafkajs.AclPermissionTypes.ALLOW,
        resourceType: kafkajs.AclResourceTypes.GROUP,
        resourceName: thiefGroup,
        resourcePatternType: kafkajs.ResourcePatternTypes.LITERAL,
      })),
    });
    await ops.disconnect();
    const reader = producerClient.consumer({ groupId: thiefGroup });
    await reader.connect();
    const readError = await new Promise<string>((resolve) => {
      // The reason is deepest in the chain (kafkajs wraps it as "Failed to find group coordinator").
      const chain = (error: unknown): string =>
        error ? `${(error as Error).message} / ${chain((error as { cause?: unknown }).cause)}` : "";
      reader.on(reader.events.CRASH, (event) => resolve(chain(event.payload.error)));
      void reader.subscribe({ topic, fromBeginning: true }).then(
        () => reader.run({ eachMessage: async () => resolve("read a message") }),
        (error: Error) => resolve(error.message),
      );
    });
    await reader.disconnect();
    expect(readError).to.match(/not authorized to access topics/i);

    const admin = producerClient.admin();
    await admin.connect();
    const deleteError = await admin.deleteTopics({ topics: [topic] }).then(
      () => "deleted",
      (error: Error) => `${error.message} ${JSON.stringify((error as { type?: string }).type ?? "")}`,
    );
    await admin.disconnect();
    expect(deleteError).to.match(/authoriz/i);

    const writer = client("consumer", passwords.consumer).producer();
    await writer.connect();
    const writeError = await writer.send({ topic, messages: [{ value: "forged" }] }).then(
      () => "wrote",
      (error: Error) => error.message,
    );
    await writer.disconnect();
    expect(writeError).to.match(/not authorized/i);
    expect(readError + deleteError + writeError).to.not.equal("");
    await expectNoSecretIn("the refusals and the CLI's output", [
      ...printed,
      readError,
      deleteError,
      writeError,
    ]);
  });

  it("serves the dashboard from the secure broker, and nothing the page is sent holds a secret", async function () {
    this.timeout(120_000);
    await cli(["topic", "create"]);
    const dashboard = spawnCli(["dashboard", "--port", "0", "--json"], env());
    const url = await printedUrl(dashboard);
    const state = (await (await fetch(`${url}api/state`)).json()) as {
      pipeline: { sinkLag: unknown[] } | null;
    };
    expect(state.pipeline?.sinkLag, "it reads the topic over SASL_SSL").to.have.length(3);
    for (const asset of ["", "dashboard.js", "dashboard.css", "vendor/lightweight-charts.mjs", "api/state"])
      printed.push(await (await fetch(`${url}${asset}`)).text());
    // Two seconds of the live stream, as the page gets it.
    const events = await fetch(`${url}api/events`, { signal: AbortSignal.timeout(2_500) });
    const reader = events.body!.getReader();
    const decoder = new TextDecoder();
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        printed.push(decoder.decode(value));
      }
    } catch {
      // The timeout ended the stream.
    }
    dashboard.kill("SIGTERM");
    const result = await dashboard;
    printed.push(result.all ?? "");
    expect(result.exitCode, result.all).to.equal(0);
    expect(
      printed.some((text) => text.includes("event: pipeline")),
      "pipeline events were read",
    ).to.equal(true);
    await expectNoSecretIn("the dashboard's page, assets, state, event stream and output", printed);
  });

  it("shows no secret in any process's command line, in the logs, or in anything the CLI printed (--json included)", async function () {
    const status = await cli(["local", "status", "--json"]);
    expect(lastJsonLine(status.stdout)).to.have.property("caFile");
    await sleep(200);
    await sampler.stop();
    const logs: string[] = [];
    for (const dir of ["broker", "s3"]) {
      for (const file of await readdir(path.join(home, dir))) {
        if (file.endsWith(".log")) logs.push(await readFile(path.join(home, dir, file), "utf8"));
      }
    }
    expect(sampler.seen.size, "command lines were sampled").to.be.greaterThan(10);
    expect(
      [...sampler.seen].some((line) => line.includes("StorageTool")),
      "the format tool was seen",
    ).to.equal(true);
    expect(logs, "broker and S3 logs").to.not.be.empty;
    await expectNoSecretIn("a command line", [...sampler.seen]);
    await expectNoSecretIn("a log", logs);
    await expectNoSecretIn("the CLI's output (local up --secure, local status)", [...upPrinted, ...printed]);
  });
});
