import { GetParameterCommand, PutParameterCommand, SSMClient } from "@aws-sdk/client-ssm";
import { expect } from "chai";
import kafkajs, { Kafka, logLevel } from "kafkajs";
import { mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { X509Certificate } from "node:crypto";
import { tmpdir } from "node:os";
import { pathToFileURL } from "node:url";
import type { handler as Handler } from "../../apps/quotes/lambda-handler.ts";
import { bundleQuotesFunction } from "../../ops/apps/bundle.ts";
import { parseEnvText, readEnvFile } from "../../ops/apps/deploy.ts";
import { finnhubQuote, startQuoteApi } from "../helpers/quote-api.ts";
import { connect as tlsConnect } from "node:tls";
import path from "node:path";
import { sleep, waitFor } from "../../apps/shared/retry.ts";
import { registerClusterSecurity, unregisterClusterSecurity } from "../../apps/shared/kafka-security.ts";
import { readBars } from "../helpers/bars.ts";
import { encodeTick } from "../../apps/tick/schema.ts";
import { LOCAL_S3_CREDENTIALS } from "../../ops/config/settings.ts";
import { parseStackOutputs } from "../../ops/environments/stack-outputs.ts";
import { LocalHost } from "../../ops/hosts/local-host.ts";
import { RemoteCluster } from "../../ops/remote/remote-cluster.ts";
import { LocalS3Server } from "../../ops/s3/local-s3.ts";
import { prepareBootstrappedBroker, type BootstrappedBroker } from "../helpers/bootstrapped-broker.ts";
import { lastJsonLine, runCli } from "../helpers/cli.ts";
import { countDuplicatesAndGaps, readLakeTicks } from "../helpers/lake.ts";
import { startMoto, type MotoServer } from "../helpers/moto.ts";
import { freePort } from "../helpers/ports.ts";
import { sampleCommandLines, type CommandLineSampler } from "../helpers/process-scan.ts";
import { startSshServer, type SshServer } from "../helpers/sshd.ts";
import { provisionStackSecurity, type ProvisionedSecurity } from "../helpers/stack-security.ts";

const { AclOperationTypes } = kafkajs;
const PUBLIC_IP = "127.0.47.2";
const PRIVATE_IP = "127.0.47.3";
const TOPIC = "stock-ticks";

/**
 * A stack's broker as the stack makes it: the bootstrap rendered with security, run for real, reading its
 * keystore and passwords from Parameter Store (moto) with the role credentials a stand-in IMDS hands out; then
 * the ops CLI over the real sshd deploys the apps with their own credentials and rotates a password.
 */
describe("a secured stack broker: SASL_SSL from Parameter Store, per-app credentials and rotation @integration", function () {
  let moto: MotoServer;
  let security: ProvisionedSecurity;
  let broker: BootstrappedBroker;
  let bootstrapOutput: string;
  let sshd: SshServer;
  let s3: LocalS3Server;
  let s3Dir: string;
  let outputsFile: string;
  let outputs: Record<string, unknown>;
  let sampler: CommandLineSampler;
  const printed: string[] = [];
  const lake = {
    bucket: "tickstream-secure-lake",
    region: "us-east-1",
    endpoint: "",
    credentials: LOCAL_S3_CREDENTIALS,
  };
  const cli = async (...args: string[]) => {
    const result = await runCli(
      [...args, "--outputs", outputsFile, "--identity", sshd.clientKeyFile],
      { ...process.env, ...moto.env },
      240_000,
    );
    printed.push(result.stdout, result.stderr);
    return result;
  };
  const external = () => [`${PUBLIC_IP}:${broker.externalPort}`];
  const client = (username: string, password: string, ca: string[] = [security.caPem]) =>
    new Kafka({
      clientId: "secure-stack-test",
      brokers: external(),
      logLevel: logLevel.NOTHING,
      retry: { retries: 1 },
      ssl: { ca },
      sasl: { mechanism: "scram-sha-512", username, password },
    });
  const parameterValue = async (name: string) => {
    const ssm = new SSMClient(moto.clientConfig);
    try {
      return (await ssm.send(new GetParameterCommand({ Name: name, WithDecryption: true }))).Parameter!
        .Value!;
    } finally {
      ssm.destroy();
    }
  };

  before(async function () {
    this.timeout(420_000);
    sampler = sampleCommandLines();
    moto = await startMoto();
    security = await provisionStackSecurity(moto, "secure", [
      { nodeId: 1, publicIp: PUBLIC_IP, privateIp: PRIVATE_IP },
    ]);
    broker = await prepareBootstrappedBroker({
      publicIp: PUBLIC_IP,
      privateIp: PRIVATE_IP,
      security: security.bootstrap(1),
    });
    const run = await broker.run();
    bootstrapOutput = run.all;
    expect(run.exitCode, run.all).to.equal(0);
    s3Dir = await mkdtemp(path.join(tmpdir(), "tickstream-secure-s3-"));
    const port = await freePort();
    lake.endpoint = `http://127.0.0.1:${port}`;
    s3 = new LocalS3Server(new LocalHost(), {
      host: "127.0.0.1",
      port,
      dataDir: path.join(s3Dir, "data"),
      pidFile: path.join(s3Dir, "s3.pid"),
      logFile: path.join(s3Dir, "s3.log"),
      lake,
    });
    await s3.start();
    sshd = await startSshServer();
    outputs = {
      brokerPublicIps: [sshd.host],
      bootstrapServers: external().join(","),
      internalBootstrapServers: `${PRIVATE_IP}:${(await readFile(broker.script, "utf8")).match(/^readonly INTERNAL_PORT='(\d+)'$/m)![1]}`,
      sshUser: sshd.username,
      sshPort: sshd.port,
      brokerHostKeys: [sshd.hostKeyFingerprint],
      lakeBucket: lake.bucket,
      glueDatabase: "tickstream_secure",
      crawlerName: "tickstream-secure-crawler",
      athenaWorkgroup: "tickstream-secure",
      region: "us-east-1",
      hostRoot: broker.root,
      kafkaCaCertificate: security.caPem,
      kafkaKeystoreParameters: [security.names.keystore(1)],
      kafkaCredentialParameters: {
        ops: security.names.user("ops"),
        producer: security.names.user("producer"),
        consumer: security.names.user("consumer"),
        rollup: security.names.user("rollup"),
      },
    };
    outputsFile = path.join(s3Dir, "outputs.json");
    await writeFile(outputsFile, JSON.stringify(outputs));
  });

  after(async function () {
    this.timeout(120_000);
    await sampler?.stop();
    if (outputs) {
      const cluster = new RemoteCluster(parseStackOutputs(outputs, "test"), {
        identityFile: sshd.clientKeyFile,
      });
      await cluster.stopApps().catch(() => []);
      cluster.close();
    }
    await sshd?.stop();
    await s3?.supervisor.stop();
    await broker?.destroy();
    await security?.dispose();
    await moto?.stop();
    if (s3Dir) await rm(s3Dir, { recursive: true, force: true });
  });

  it("keeps the keystore, the JAAS passwords and its tools' settings in files of mode 600, and no SCRAM argument file", async function () {
    for (const file of ["server.properties", "broker-keystore.pem", "admin.properties"])
      expect((await stat(path.join(broker.root, "etc/kafka", file))).mode & 0o777, file).to.equal(0o600);
    await stat(path.join(broker.root, "etc/kafka/format-scram.args")).then(
      () => expect.fail("the SCRAM argument file was left behind"),
      () => undefined,
    );
    const properties = await readFile(path.join(broker.root, "etc/kafka/server.properties"), "utf8");
    expect(properties).to.include(
      "listener.security.protocol.map=EXTERNAL:SASL_SSL,INTERNAL:SASL_SSL,CONTROLLER:SASL_SSL",
    );
    expect(properties).to.include(`password="${security.passwords.broker}"`);
  });

  it("admits the producer to write the topic but not to read or delete it, and the consumer to read but not write", async function () {
    this.timeout(120_000);
    const producerClient = client("producer", security.passwords.producer);
    const producer = producerClient.producer();
    await producer.connect();
    const [sent] = await producer.send({ topic: TOPIC, acks: -1, messages: [{ key: "AAPL", value: "{}" }] });
    expect(sent!.errorCode).to.equal(0);
    await producer.disconnect();
    const producerAdmin = producerClient.admin();
    await producerAdmin.connect();
    try {
      const error = await producerAdmin.deleteTopics({ topics: [TOPIC], timeout: 5_000 }).then(
        () => undefined,
        (caught: Error) => caught,
      );
      expect(String((error as { type?: string })?.type ?? error)).to.match(/AUTHORIZATION|authoriz/i);
    } finally {
      await producerAdmin.disconnect();
    }
    // To isolate the topic's READ right, ops (a super user) lets the producer use a probe group: the consumer
    // then joins and crashes on its first fetch (kafkajs fails in the background, hence the CRASH event).
    const probeGroup = `acl-probe-${Date.now()}`;
    const ops = client("ops", security.passwords.ops).admin();
    await ops.connect();
    await ops.createAcls({
      acl: [
        {
          principal: "User:producer",
          host: "*",
          operation: AclOperationTypes.READ,
          permissionType: kafkajs.AclPermissionTypes.ALLOW,
          resourceType: kafkajs.AclResourceTypes.GROUP,
          resourceName: probeGroup,
          resourcePatternType: kafkajs.ResourcePatternTypes.LITERAL,
        },
      ],
    });
    await ops.disconnect();
    // A fresh broker may answer "coordinator not available" (or "loading") while it creates and loads
    // __consumer_offsets: that is not the answer sought, so the probe is made again (bounded, a loaded CI machine
    // once needed more than 5 tries) until the broker answers about the topic itself.
    let described = "";
    for (let attempt = 1; attempt <= 10; attempt++) {
      if (attempt > 1) await sleep(2_000);
      const reader = producerClient.consumer({ groupId: probeGroup, retry: { retries: 8 } });
      const crashed = new Promise<unknown>((resolve) =>
        reader.on(reader.events.CRASH, (event) => resolve(event.payload.error)),
      );
      await reader.connect();
      await reader.subscribe({ topics: [TOPIC], fromBeginning: true });
      await reader.run({ eachMessage: async () => {} });
      const readError = await Promise.race([crashed, sleep(60_000).then(() => "no crash in 60 s")]);
      await reader.disconnect().catch(() => undefined);
      described = `${readError} ${(readError as { cause?: unknown })?.cause ?? ""} ${(readError as { originalError?: unknown })?.originalError ?? ""}`;
      if (!/coordinator is not available|coordinator not available|coordinator is loading/i.test(described))
        break;
    }
    expect(described, "the producer may not read the topic").to.match(/Not authorized to access topics/i);

    const consumerClient = client("consumer", security.passwords.consumer);
    const writer = consumerClient.producer();
    await writer.connect();
    const writeError = await writer.send({ topic: TOPIC, messages: [{ value: "x" }] }).then(
      () => undefined,
      (caught: Error) => caught,
    );
    await writer.disconnect();
    expect(String((writeError as { type?: string })?.type ?? writeError)).to.match(/AUTHORIZATION|authoriz/i);
  });

  it("refuses a wrong password, a client without credentials or TLS, and one that does not trust the CA, on both listeners", async function () {
    this.timeout(120_000);
    const refused = async (kafka: Kafka) => {
      const admin = kafka.admin();
      const error = await admin.connect().then(
        () => admin.describeCluster().then(() => undefined),
        (caught: Error) => caught,
      );
      await admin.disconnect().catch(() => undefined);
      return error;
    };
    expect(String(await refused(client("producer", "not-the-password")))).to.match(/SASL|authentication/i);
    expect(String(await refused(client("producer", security.passwords.producer, [])))).to.match(
      /certificate|self.signed|unable to verify/i,
    );
    const plaintext = new Kafka({
      clientId: "plaintext",
      brokers: [outputs.internalBootstrapServers as string],
      logLevel: logLevel.NOTHING,
      retry: { retries: 0 },
      connectionTimeout: 3_000,
      requestTimeout: 5_000,
    });
    expect(await refused(plaintext), "the internal listener wants TLS and SASL too").to.be.instanceOf(Error);
  });

  it("deploys each app with its own credentials only, and the pipeline lands every tick in the lake exactly once", async function () {
    this.timeout(300_000);
    const settings = path.join(s3Dir, "settings.env");
    await writeFile(
      settings,
      [
        "TICKSTREAM_PRODUCER_ID=secure-producer",
        "TICKSTREAM_COUNT=2000",
        "TICKSTREAM_RATE=1000",
        `TICKSTREAM_S3_ENDPOINT=${lake.endpoint}`,
        `AWS_ACCESS_KEY_ID=${LOCAL_S3_CREDENTIALS.accessKeyId}`,
        `AWS_SECRET_ACCESS_KEY=${LOCAL_S3_CREDENTIALS.secretAccessKey}`,
        // The stack's Glue catalog in production (app deploy names it); a local one beside this lake here.
        `TICKSTREAM_ICEBERG_CATALOG=file:${path.join(s3Dir, "iceberg-catalog")}`,
      ].join("\n"),
    );
    for (const app of ["consumer", "producer"] as const) {
      const deployed = await cli("app", "deploy", app, "--env-file", settings, "--json");
      expect(deployed.exitCode, deployed.stderr).to.equal(0);
      const envFile = path.join(broker.root, `etc/tickstream/${app}.env`);
      expect((await stat(envFile)).mode & 0o777).to.equal(0o600);
      const text = await readFile(envFile, "utf8");
      expect(parseEnvText(text, envFile)).to.include({
        TICKSTREAM_KAFKA_USERNAME: app,
        TICKSTREAM_KAFKA_PASSWORD: security.passwords[app],
      });
      const others = (["broker", "controller", "ops", "producer", "consumer", "rollup"] as const).filter(
        (p) => p !== app,
      );
      for (const other of others)
        expect(text, `${app}'s env has ${other}'s password`).to.not.include(security.passwords[other]);
    }
    expect((await cli("app", "start", "consumer")).exitCode).to.equal(0);
    expect((await cli("app", "start", "producer")).exitCode).to.equal(0);
    let rows: Awaited<ReturnType<typeof readLakeTicks>> = [];
    await waitFor(
      async () => {
        rows = await readLakeTicks(lake, "secure-producer");
        return rows.length >= 2000;
      },
      {
        timeoutMs: 180_000,
        intervalMs: 1_000,
        describe: () => `only ${rows.length} of 2000 ticks in the lake`,
      },
    );
    expect(countDuplicatesAndGaps(rows, 2000)).to.deep.equal({ unique: 2000, duplicates: 0, missing: 0 });
  });

  it("runs the rollup with its own principal: it reads ticks, writes bars (into the topic the bootstrap made), and no more", async function () {
    this.timeout(240_000);
    const settings = path.join(s3Dir, "rollup.env");
    await writeFile(settings, ["TICKSTREAM_ROLLUP_IDLE_CLOSE_MS=1000"].join("\n"));
    const deployed = await cli("app", "deploy", "rollup", "--env-file", settings);
    expect(deployed.exitCode, deployed.stderr).to.equal(0);
    expect(await readEnvFile(path.join(broker.root, "etc/tickstream/rollup.env"))).to.include({
      TICKSTREAM_KAFKA_USERNAME: "rollup",
      TICKSTREAM_KAFKA_PASSWORD: security.passwords.rollup,
    });
    expect((await cli("app", "start", "rollup")).exitCode).to.equal(0);
    registerClusterSecurity(external(), {
      caPem: security.caPem,
      credentials: { ops: { username: "ops", password: security.passwords.ops } },
    });
    try {
      await waitFor(async () => (await readBars(external(), "stock-bars-1m", 1_000)).latest.size > 0, {
        timeoutMs: 120_000,
        intervalMs: 2_000,
        describe: () => "the rollup produced no bars",
      });
      const bars = await readBars(external(), "stock-bars-1m");
      expect(bars.duplicates).to.deep.equal([]);
    } finally {
      unregisterClusterSecurity(external());
    }
    const writer = client("rollup", security.passwords.rollup).producer();
    await writer.connect();
    const error = await writer.send({ topic: TOPIC, messages: [{ value: "x" }] }).then(
      () => undefined,
      (caught: Error) => caught,
    );
    await writer.disconnect();
    expect(String((error as { type?: string })?.type ?? error), "the rollup may not write ticks").to.match(
      /AUTHORIZATION|authoriz/i,
    );
    expect((await cli("app", "stop", "rollup")).stdout).to.equal("rollup stopped");
  });

  it("rotates the consumer's password with the broker up: the old one is refused, the sink restarts and goes on exactly once", async function () {
    this.timeout(300_000);
    const rotated = await cli("credentials", "rotate", "consumer", "--json");
    expect(rotated.exitCode, rotated.stderr).to.equal(0);
    expect(lastJsonLine(rotated.stdout)).to.deep.include({ principal: "consumer" });
    expect(lastJsonLine<{ hosts: unknown[] }>(rotated.stdout).hosts).to.deep.equal([
      { nodeId: 1, updated: true, restarted: true },
    ]);
    const fresh = await parameterValue(security.names.user("consumer"));
    expect(fresh).to.not.equal(security.passwords.consumer);
    const envText = await readFile(path.join(broker.root, "etc/tickstream/consumer.env"), "utf8");
    expect(parseEnvText(envText, "consumer.env").TICKSTREAM_KAFKA_PASSWORD).to.equal(fresh);
    expect(envText).to.not.include(security.passwords.consumer);

    const oldLogin = client("consumer", security.passwords.consumer).admin();
    const oldError = await oldLogin.connect().then(
      () => undefined,
      (caught: Error) => caught,
    );
    await oldLogin.disconnect().catch(() => undefined);
    expect(String(oldError)).to.match(/SASL|authentication/i);
    const newLogin = client("consumer", fresh).admin();
    await newLogin.connect();
    await newLogin.disconnect();

    // More ticks after the rotation: the restarted sink takes them, and the first run's are still exact.
    const producer = client("producer", security.passwords.producer).producer({ idempotent: true });
    await producer.connect();
    const now = Date.now() * 1000;
    await producer.send({
      topic: TOPIC,
      acks: -1,
      messages: Array.from({ length: 500 }, (_, seq) => ({
        key: "MSFT",
        value: encodeTick({
          symbol: "MSFT",
          ts: new Date(Math.floor(now / 1000) + seq).toISOString(),
          price: 400 + seq / 100,
          volume: 10,
          source: "synthetic",
          producerId: "after-rotation",
          seq,
        }),
      })),
    });
    await producer.disconnect();
    let rows: Awaited<ReturnType<typeof readLakeTicks>> = [];
    await waitFor(
      async () => {
        rows = await readLakeTicks(lake, "after-rotation");
        return rows.length >= 500;
      },
      {
        timeoutMs: 180_000,
        intervalMs: 1_000,
        describe: () => `only ${rows.length} of 500 ticks after the rotation`,
      },
    );
    expect(countDuplicatesAndGaps(rows, 500)).to.deep.equal({ unique: 500, duplicates: 0, missing: 0 });
    const first = await readLakeTicks(lake, "secure-producer");
    expect(countDuplicatesAndGaps(first, 2000)).to.deep.equal({ unique: 2000, duplicates: 0, missing: 0 });
  });

  it("rotates the producer's password: its parameter and env file change, the old password is refused", async function () {
    this.timeout(180_000);
    const rotated = await cli("credentials", "rotate", "producer");
    expect(rotated.exitCode, rotated.stderr).to.equal(0);
    expect(rotated.stdout.trim()).to.equal(
      "producer: new password in Kafka and in its SSM parameter; no running producer to restart",
    );
    const fresh = await parameterValue(security.names.user("producer"));

    expect(
      (await readEnvFile(path.join(broker.root, "etc/tickstream/producer.env"))).TICKSTREAM_KAFKA_PASSWORD,
    ).to.equal(fresh);
    const old = client("producer", security.passwords.producer).admin();
    const error = await old.connect().then(
      () => undefined,
      (caught: Error) => caught,
    );
    await old.disconnect().catch(() => undefined);
    expect(String(error)).to.match(/SASL|authentication/i);
  });

  // pulumi up renews a certificate within 30 days of its end (earlyRenewalHours) into the keystore parameter;
  // renew-certificates puts it in service.
  it("puts a renewed certificate in service: the broker restarts once and presents it; a second run restarts nothing", async function () {
    this.timeout(300_000);
    const served = () =>
      new Promise<string>((resolve, reject) => {
        const socket = tlsConnect(
          { host: PUBLIC_IP, port: broker.externalPort, ca: [security.caPem], servername: undefined },
          () => {
            resolve(socket.getPeerCertificate().serialNumber);
            socket.destroy();
          },
        );
        socket.on("error", reject);
      });
    const before = await served();
    const keystore = await security.reissue({ nodeId: 1, publicIp: PUBLIC_IP, privateIp: PRIVATE_IP });
    const renewedSerial = new X509Certificate(
      /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/.exec(keystore)![0],
    ).serialNumber;
    expect(renewedSerial).to.not.equal(before);
    const renewed = await cli("broker", "renew-certificates", "--json");
    expect(renewed.exitCode, renewed.stderr).to.equal(0);
    expect(lastJsonLine(renewed.stdout)).to.deep.include({ renewed: [1], unchanged: [] });
    expect((await served()).toUpperCase()).to.equal(renewedSerial.toUpperCase());
    const producer = client("producer", await parameterValue(security.names.user("producer"))).producer();
    await producer.connect();
    await producer.disconnect();
    const again = await cli("broker", "renew-certificates");
    expect(again.stdout.trim()).to.equal(
      "every broker already has the certificate its parameter holds; nothing restarted",
    );
  });

  // The stack hands the function the CA (public) in its environment and the producer password's parameter name.
  it("lets the quote poller's Lambda handler (its bundle) produce over SASL_SSL with the producer password from SSM", async function () {
    this.timeout(180_000);
    const api = await startQuoteApi();
    api.symbols.set("AAPL", { quote: finnhubQuote(201.5, 1_764_700_000) });
    const ssm = new SSMClient(moto.clientConfig);
    await ssm.send(
      new PutParameterCommand({
        Name: "/tickstream/secure/quotes/api-key",
        Type: "SecureString",
        Value: "k-123",
      }),
    );
    ssm.destroy();
    const bundle = await bundleQuotesFunction();
    const saved = { id: process.env.AWS_ACCESS_KEY_ID, secret: process.env.AWS_SECRET_ACCESS_KEY };
    // The function role's credentials: s3rver checks them, moto accepts any.
    process.env.AWS_ACCESS_KEY_ID = LOCAL_S3_CREDENTIALS.accessKeyId;
    process.env.AWS_SECRET_ACCESS_KEY = LOCAL_S3_CREDENTIALS.secretAccessKey;
    try {
      const { handler } = (await import(pathToFileURL(bundle).href)) as { handler: typeof Handler };
      const result = await handler(
        {},
        { awsRequestId: "secure-1" },
        {
          QUOTES_PROVIDER: "finnhub",
          QUOTES_SYMBOLS: "AAPL",
          QUOTES_BASE_URL: api.url,
          QUOTES_API_KEY_PARAMETER: "/tickstream/secure/quotes/api-key",
          TICKSTREAM_BOOTSTRAP_SERVERS: outputs.internalBootstrapServers as string,
          TICKSTREAM_TOPIC: TOPIC,
          TICKSTREAM_LAKE_BUCKET: lake.bucket,
          TICKSTREAM_S3_ENDPOINT: lake.endpoint,
          TICKSTREAM_SSM_ENDPOINT: moto.endpoint,
          TICKSTREAM_KAFKA_CA_PEM: security.caPem,
          TICKSTREAM_KAFKA_PASSWORD_PARAMETER: security.names.user("producer"),
          AWS_REGION: "us-east-1",
        },
      );
      expect(result).to.deep.include({ producerId: "quotes-lambda-secure-1", produced: 1, errors: [] });
    } finally {
      for (const [name, value] of [
        ["AWS_ACCESS_KEY_ID", saved.id],
        ["AWS_SECRET_ACCESS_KEY", saved.secret],
      ] as const) {
        if (value === undefined) delete process.env[name];
        else process.env[name] = value;
      }
      await api.close();
      await rm(path.dirname(bundle), { recursive: true, force: true });
    }
    let rows: Awaited<ReturnType<typeof readLakeTicks>> = [];
    await waitFor(async () => (rows = await readLakeTicks(lake, "quotes-lambda-secure-1")).length >= 1, {
      timeoutMs: 120_000,
      intervalMs: 1_000,
      describe: () => "the poller's tick did not reach the lake",
    });
    expect(rows.map((row) => [row.symbol, row.price])).to.deep.equal([["AAPL", 201.5]]);
  });

  it("names a bad principal in one line", async function () {
    const result = await cli("credentials", "rotate", "broker");
    expect(result.exitCode).to.not.equal(0);
    expect(result.stderr.trim().split("\n")).to.have.length(1);
    expect(result.stderr).to.include(
      'credentials rotate: expected producer, consumer, rollup or ops, got "broker"',
    );
  });

  it("never shows a secret in a command line, the bootstrap's log or anything the CLI printed", async function () {
    await sampler.stop();
    const secrets = [
      ...Object.values(security.passwords),
      await parameterValue(security.names.user("consumer")),
      await parameterValue(security.names.user("producer")),
    ];
    const keystore = await readFile(path.join(broker.root, "etc/kafka/broker-keystore.pem"), "utf8");
    const privateKey = keystore.match(
      /-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]+?-----END [A-Z ]*PRIVATE KEY-----/,
    )![0];
    const log = await readFile(path.join(broker.root, "var/log/tickstream-bootstrap.log"), "utf8");
    const texts = {
      "command lines": [...sampler.seen].join("\n"),
      "bootstrap log": `${log}\n${bootstrapOutput}`,
      "broker log": await readFile(path.join(broker.root, "var/log/kafka/stdout.log"), "utf8").catch(
        () => "",
      ),
      "CLI output": printed.join("\n"),
    };
    expect(sampler.seen.size).to.be.greaterThan(10);
    for (const [where, text] of Object.entries(texts)) {
      for (const secret of secrets)
        expect(text.includes(secret), `a password in the ${where}`).to.equal(false);
      expect(text.includes(privateKey.split("\n")[1]!), `the private key in the ${where}`).to.equal(false);
    }
  });
});
