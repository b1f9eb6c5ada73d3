import { expect } from "chai";
import { execa } from "execa";
import { mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { Partitioners } from "kafkajs";
import { createKafka } from "../../apps/shared/kafka-client.ts";
import { sleep } from "../../apps/shared/retry.ts";
import { clusterIdFor, renderBootstrap } from "../../infra/bootstrap/render.ts";
import { DEFAULT_KAFKA_VERSION, localPaths } from "../../ops/config/settings.ts";
import { LocalHost } from "../../ops/hosts/local-host.ts";
import { ensureKafkaDistribution } from "../../ops/kafka/distribution.ts";
import { startImdsStub, type ImdsStub } from "../helpers/imds-stub.ts";
import { freePort } from "../helpers/ports.ts";

const PUBLIC_IP = "127.0.0.2";
const PRIVATE_IP = "127.0.0.3";

describe("broker bootstrap, run for real in a sandbox @integration", function () {
  let root: string;
  let script: string;
  let imds: ImdsStub;
  let libs: string;
  let externalPort: number;

  const run = () =>
    execa("bash", [script], {
      reject: false,
      all: true,
      timeout: 240_000,
      env: {
        ...process.env,
        TICKSTREAM_BOOTSTRAP_ROOT: root,
        TICKSTREAM_IMDS_ENDPOINT: imds.endpoint,
        TICKSTREAM_KAFKA_LIBS: libs,
        TICKSTREAM_SERVICE_MANAGER: "none",
        TICKSTREAM_SKIP_PACKAGES: "1",
        TICKSTREAM_DATA_DEVICE: "none",
        TICKSTREAM_EXTERNAL_BIND: PUBLIC_IP,
      },
    });

  before(async function () {
    this.timeout(300_000);
    root = await mkdtemp(path.join(tmpdir(), "tickstream-bootstrap-"));
    libs = (
      await ensureKafkaDistribution(new LocalHost(), {
        version: DEFAULT_KAFKA_VERSION,
        libsDir: localPaths(root, { kafkaVersion: DEFAULT_KAFKA_VERSION }).kafkaLibs,
      })
    ).libsDir;
    externalPort = await freePort();
    imds = await startImdsStub({ publicIp: PUBLIC_IP, privateIp: PRIVATE_IP, publicIpLaterAfter: 2 });
    script = path.join(root, "user-data.sh");
    await writeFile(
      script,
      renderBootstrap({
        nodeId: 1,
        voters: [],
        publicIp: PUBLIC_IP,
        clusterId: clusterIdFor("bootstrap-test"),
        kafkaVersion: DEFAULT_KAFKA_VERSION,
        nodeVersion: "20.20.2",
        topic: "stock-ticks",
        partitions: 3,
        replicationFactor: 1,
        retentionHours: 24,
        ports: { external: externalPort, internal: await freePort(), controller: await freePort() },
      }),
    );
  });

  after(async function () {
    const pid = Number(await readFile(path.join(root, "var/lib/tickstream/kafka.pid"), "utf8").catch(() => "0"));
    if (pid > 0) {
      try {
        process.kill(pid, "SIGTERM");
        for (let i = 0; i < 100; i++) {
          process.kill(pid, 0);
          await sleep(200);
        }
        process.kill(pid, "SIGKILL");
      } catch {
        // gone
      }
    }
    await imds?.close();
    await rm(root, { recursive: true, force: true });
  });

  it("passes shellcheck", async function () {
    const result = await execa("shellcheck", [script], { reject: false, all: true });
    expect(result.exitCode, result.all).to.equal(0);
  });

  it("installs, configures and starts a broker that advertises exactly the public IP that IMDS gave", async function () {
    const result = await run();
    expect(result.exitCode, result.all).to.equal(0);
    expect(result.all).to.include(`waiting for the Elastic IP ${PUBLIC_IP} (IMDS says '127.0.0.99')`);
    expect(imds.requests).to.include("PUT /latest/api/token 200");
    expect(imds.requests.filter((line) => line.endsWith(" 401"))).to.deep.equal([]);

    const properties = await readFile(path.join(root, "etc/kafka/server.properties"), "utf8");
    expect(properties).to.include(`advertised.listeners=EXTERNAL://${PUBLIC_IP}:${externalPort},INTERNAL://${PRIVATE_IP}:`);
    expect(properties).to.include(`controller.quorum.voters=1@${PRIVATE_IP}:`);

    const admin = createKafka([`${PUBLIC_IP}:${externalPort}`], "bootstrap-test").admin();
    await admin.connect();
    try {
      const cluster = await admin.describeCluster();
      expect(cluster.brokers).to.deep.equal([{ nodeId: 1, host: PUBLIC_IP, port: externalPort }]);
      const [topic] = (await admin.fetchTopicMetadata({ topics: ["stock-ticks"] })).topics;
      expect(topic!.partitions).to.have.length(3);
    } finally {
      await admin.disconnect();
    }
    const producer = createKafka([`${PUBLIC_IP}:${externalPort}`], "bootstrap-test").producer({
      createPartitioner: Partitioners.DefaultPartitioner,
    });
    await producer.connect();
    const [sent] = await producer.send({ topic: "stock-ticks", acks: -1, messages: [{ key: "AAPL", value: "{}" }] });
    await producer.disconnect();
    expect(sent!.errorCode).to.equal(0);
  });

  it("changes nothing when run a second time", async function () {
    const watched = ["etc/kafka/server.properties", "etc/kafka/log4j2.properties", "var/lib/kafka/data/meta.properties", "var/lib/tickstream/kafka.pid"];
    const before = await Promise.all(watched.map(async (file) => [await readFile(path.join(root, file), "utf8"), (await stat(path.join(root, file))).mtimeMs]));
    const result = await run();
    expect(result.exitCode, result.all).to.equal(0);
    expect(result.all).to.not.match(/wrote |formatting |starting the broker|using the Kafka jars/);
    const after = await Promise.all(watched.map(async (file) => [await readFile(path.join(root, file), "utf8"), (await stat(path.join(root, file))).mtimeMs]));
    expect(after).to.deep.equal(before);
  });
});
