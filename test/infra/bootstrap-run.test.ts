import { expect } from "chai";
import { execa } from "execa";
import { readFile, stat } from "node:fs/promises";
import path from "node:path";
import { Partitioners } from "kafkajs";
import { createKafka } from "../../apps/shared/kafka-client.ts";
import { prepareBootstrappedBroker, type BootstrappedBroker } from "../helpers/bootstrapped-broker.ts";

const PUBLIC_IP = "127.0.0.2";
const PRIVATE_IP = "127.0.0.3";

describe("broker bootstrap, run for real in a sandbox @integration", function () {
  let broker: BootstrappedBroker;

  before(async function () {
    this.timeout(300_000);
    // IMDS reports another public IP twice first, as before the Elastic IP is associated.
    broker = await prepareBootstrappedBroker({
      publicIp: PUBLIC_IP,
      privateIp: PRIVATE_IP,
      publicIpLaterAfter: 2,
    });
  });
  after(async () => broker?.destroy());

  it("passes shellcheck", async function () {
    const result = await execa("shellcheck", [broker.script], { reject: false, all: true });
    expect(result.exitCode, result.all).to.equal(0);
  });

  it("installs, configures and starts a broker that advertises exactly the public IP that IMDS gave", async function () {
    const result = await broker.run();
    expect(result.exitCode, result.all).to.equal(0);
    expect(result.all).to.include(`waiting for the Elastic IP ${PUBLIC_IP} (IMDS says '127.0.0.99')`);
    // The log file the script names holds what it printed, and the Elastic IP came before any installation.
    const log = await readFile(path.join(broker.root, "var/log/tickstream-bootstrap.log"), "utf8");
    expect(log).to.include("tickstream-bootstrap: done");
    expect(log.indexOf("waiting for the Elastic IP")).to.be.at.least(0);
    expect(log.indexOf(`node 1: public ${PUBLIC_IP}`)).to.be.lessThan(
      log.indexOf("skipping package installation"),
    );
    expect(broker.imds.requests).to.include("PUT /latest/api/token 200");
    expect(broker.imds.requests.filter((line) => line.endsWith(" 401"))).to.deep.equal([]);

    const properties = await readFile(path.join(broker.root, "etc/kafka/server.properties"), "utf8");
    expect(properties).to.include(
      `advertised.listeners=EXTERNAL://${PUBLIC_IP}:${broker.externalPort},INTERNAL://${PRIVATE_IP}:`,
    );
    expect(properties).to.include(`controller.quorum.voters=1@${PRIVATE_IP}:`);

    const kafka = createKafka([`${PUBLIC_IP}:${broker.externalPort}`], "bootstrap-test");
    const admin = kafka.admin();
    await admin.connect();
    try {
      const cluster = await admin.describeCluster();
      expect(cluster.brokers).to.deep.equal([{ nodeId: 1, host: PUBLIC_IP, port: broker.externalPort }]);
      const [topic] = (await admin.fetchTopicMetadata({ topics: ["stock-ticks"] })).topics;
      expect(topic!.partitions).to.have.length(3);
    } finally {
      await admin.disconnect();
    }
    const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
    await producer.connect();
    const [sent] = await producer.send({
      topic: "stock-ticks",
      acks: -1,
      messages: [{ key: "AAPL", value: "{}" }],
    });
    await producer.disconnect();
    expect(sent!.errorCode).to.equal(0);
  });

  it("changes nothing when run a second time", async function () {
    const watched = [
      "etc/kafka/server.properties",
      "etc/kafka/log4j2.properties",
      "var/lib/kafka/data/meta.properties",
      "var/lib/tickstream/kafka.pid",
      "var/lib/tickstream/kafka.service.json",
    ];
    const snapshot = () =>
      Promise.all(
        watched.map(async (file) => [
          file,
          await readFile(path.join(broker.root, file), "utf8"),
          (await stat(path.join(broker.root, file))).mtimeMs,
        ]),
      );
    const before = await snapshot();
    const result = await broker.run();
    expect(result.exitCode, result.all).to.equal(0);
    expect(result.all).to.not.match(/wrote |formatting |starting the broker|using the Kafka jars/);
    expect(await snapshot()).to.deep.equal(before);
  });
});
