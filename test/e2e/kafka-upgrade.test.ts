import { expect } from "chai";
import { readFile, readlink, writeFile } from "node:fs/promises";
import path from "node:path";
import { createKafka } from "../../apps/shared/kafka-client.ts";
import { createTopic } from "../../ops/kafka/topics.ts";
import { lastJsonLine, runCli } from "../helpers/cli.ts";
import {
  kafkaLibsForTests,
  prepareBootstrappedBroker,
  type BootstrappedBroker,
} from "../helpers/bootstrapped-broker.ts";
import { startKafkaMirror, type KafkaMirror } from "../helpers/kafka-mirror.ts";
import { uniqueName } from "../helpers/local-environment.ts";
import { startSshServer, type SshServer } from "../helpers/sshd.ts";
import { UNUSED_CATALOG_OUTPUTS } from "../helpers/stack-outputs.ts";

const HOST_IP = "127.0.0.4";
const FROM = "4.3.1";
const TO = "4.4.0";

interface BrokerStatus {
  pid: number;
  running: boolean;
  kafkaVersion?: string;
}

describe("a stack's brokers moved to a new Kafka version over SSH @integration", function () {
  let sshd: SshServer;
  let broker: BootstrappedBroker;
  let mirror: KafkaMirror;
  let outputsFile: string;
  const topic = uniqueName("upgrade");
  const cli = (...args: string[]) =>
    runCli([...args, "--outputs", outputsFile, "--identity", sshd.clientKeyFile], process.env, 300_000);
  const status = async () =>
    lastJsonLine<{ brokers: BrokerStatus[] }>((await cli("broker", "status", "--json")).stdout).brokers[0]!;
  const bootstrapServers = () => [`${HOST_IP}:${broker.externalPort}`];

  before(async function () {
    this.timeout(300_000);
    sshd = await startSshServer({ listenAddress: HOST_IP });
    mirror = await startKafkaMirror(TO, await kafkaLibsForTests(TO));
    broker = await prepareBootstrappedBroker({
      publicIp: HOST_IP,
      privateIp: "127.0.0.5",
      kafkaVersion: FROM,
    });
    const installed = await broker.run();
    expect(installed.exitCode, installed.all).to.equal(0);
    outputsFile = path.join(broker.root, "outputs.json");
    await writeFile(
      outputsFile,
      JSON.stringify({
        brokerPublicIps: [HOST_IP],
        bootstrapServers: bootstrapServers().join(","),
        sshUser: sshd.username,
        sshPort: sshd.port,
        brokerHostKeys: [sshd.hostKeyFingerprint],
        ...UNUSED_CATALOG_OUTPUTS,
        hostRoot: broker.root,
      }),
    );
    await createTopic(bootstrapServers(), { topic, partitions: 3, replicationFactor: 1 });
    const producer = createKafka(bootstrapServers(), "upgrade-test").producer();
    await producer.connect();
    for (let batch = 0; batch < 10; batch++) {
      await producer.send({
        topic,
        acks: -1,
        messages: Array.from({ length: 200 }, (_, index) => ({
          key: `k${index % 7}`,
          value: `v${batch}-${index}`,
        })),
      });
    }
    await producer.disconnect();
  });
  after(async function () {
    this.timeout(60_000);
    await broker?.destroy();
    await mirror?.close();
    await sshd?.stop();
  });

  it(`runs the version the bootstrap installed (${FROM}), reported by broker status`, async function () {
    expect(await status()).to.include({ running: true, kafkaVersion: FROM });
    expect(await readlink(path.join(broker.root, "opt/kafka"))).to.equal(`kafka-${FROM}`);
  });

  it("refuses a release whose SHA-512 does not match what the mirror publishes, changing no broker", async function () {
    const before = await status();
    mirror.corruptChecksum = true;
    try {
      const result = await cli("broker", "reconfigure", "--kafka-version", TO, "--kafka-mirror", mirror.url);
      expect(result.exitCode).to.equal(1);
      expect(result.stderr.trim().split("\n").at(-1)).to.match(
        new RegExp(
          `^tickstream: broker 1: cannot install Kafka ${TO}: checksum mismatch for kafka_2\\.13-${TO}\\.tgz: .*; no broker was changed$`,
        ),
      );
    } finally {
      mirror.corruptChecksum = false;
    }
    expect(await status()).to.deep.include({ pid: before.pid, kafkaVersion: FROM });
    expect(await readlink(path.join(broker.root, "opt/kafka"))).to.equal(`kafka-${FROM}`);
  });

  it(`downloads ${TO} from the mirror, verifies it, switches to it and restarts the broker, which keeps its records; a second run changes nothing`, async function () {
    this.timeout(300_000);
    const before = await status();
    mirror.requests.length = 0;
    const result = await cli(
      "broker",
      "reconfigure",
      "--kafka-version",
      TO,
      "--kafka-mirror",
      mirror.url,
      "--json",
    );
    expect(result.exitCode, result.stderr).to.equal(0);
    expect(lastJsonLine(result.stdout)).to.deep.equal({ settings: {}, kafkaVersion: TO, restarted: [1] });
    expect(mirror.requests).to.deep.equal([
      `/${TO}/kafka_2.13-${TO}.tgz`,
      `/${TO}/kafka_2.13-${TO}.tgz.sha512`,
    ]);
    expect(result.stderr).to.include(`broker 1: Kafka ${FROM} -> ${TO} at its restart`);

    const after = await status();
    expect(after).to.include({ running: true, kafkaVersion: TO });
    expect(after.pid, "restarted").to.not.equal(before.pid);
    // What runs is the new release: Kafka logs its own version at start.
    const log = await readFile(path.join(broker.root, "var/log/kafka/server.log"), "utf8");
    expect(log.slice(log.lastIndexOf("Kafka version:"))).to.match(
      new RegExp(`^Kafka version: ${TO.replaceAll(".", "\\.")}`),
    );
    expect(await readlink(path.join(broker.root, "opt/kafka"))).to.equal(`kafka-${TO}`);

    const admin = createKafka(bootstrapServers(), "upgrade-test").admin();
    await admin.connect();
    try {
      const offsets = await admin.fetchTopicOffsets(topic);
      expect(offsets.reduce((sum, partition) => sum + Number(partition.high), 0)).to.equal(2_000);
    } finally {
      await admin.disconnect();
    }

    const again = await cli(
      "broker",
      "reconfigure",
      "--kafka-version",
      TO,
      "--kafka-mirror",
      mirror.url,
      "--json",
    );
    expect(again.exitCode, again.stderr).to.equal(0);
    expect(lastJsonLine(again.stdout)).to.deep.include({ restarted: [] });
    expect((await status()).pid).to.equal(after.pid);
  });

  it("refuses a version that is not a release number, and a reconfigure that names nothing, in one line each", async function () {
    const bad = await cli("broker", "reconfigure", "--kafka-version", "latest");
    expect(bad.exitCode).to.equal(1);
    expect(bad.stderr.trim()).to.equal(
      "tickstream: --kafka-version latest: expected a Kafka release like 4.4.0",
    );
    const nothing = await cli("broker", "reconfigure");
    expect(nothing.exitCode).to.equal(1);
    expect(nothing.stderr.trim()).to.equal(
      "tickstream: give --set KEY=VALUE (a Kafka broker setting) or --kafka-version VERSION",
    );
  });
});
