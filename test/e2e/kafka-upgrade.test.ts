import { expect } from "chai";
import { access, mkdir, mkdtemp, readFile, readlink, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { createKafka } from "../../apps/shared/kafka-client.ts";
import { waitFor } from "../../apps/shared/retry.ts";
import { createTopic } from "../../ops/kafka/topics.ts";
import { lastJsonLine, runCli, type CliResult } from "../helpers/cli.ts";
import {
  bootstrapThreeBrokerCluster,
  kafkaLibsForTests,
  type BootstrappedCluster,
} from "../helpers/bootstrapped-broker.ts";
import { startKafkaMirror, type KafkaMirror } from "../helpers/kafka-mirror.ts";
import { uniqueName } from "../helpers/local-environment.ts";
import { startSshServer, type SshServer } from "../helpers/sshd.ts";
import { UNUSED_CATALOG_OUTPUTS } from "../helpers/stack-outputs.ts";

// Brokers at 127.0.6.1-3 (public, SSH) and 127.0.5.1-3 (internal listener, controllers).
const PUBLIC_NET = 6;
const PRIVATE_NET = 5;
const FROM = "4.3.1";
const TO = "4.4.0";
const BROKERS = [1, 2, 3];

interface BrokerStatus {
  nodeId: number;
  pid: number;
  running: boolean;
  advertisedListeners?: string;
  kafkaVersion?: string;
}

/** The lines of a command's progress that tell the order of a reconfigure: downloads, switches, restarts. */
function orderOfEvents(stderr: string): string[] {
  return stderr
    .split("\n")
    .filter((line) =>
      /^broker \d+: downloading and verifying |^broker \d+: Kafka .* at its restart$|^restarting broker \d+$|^broker \d+ is back$/.test(
        line,
      ),
    );
}

/**
 * Three brokers, each installed by the real bootstrap in a root of its own and reached as its own host: an OpenSSH
 * server on its public address, in a mount namespace where its root is at the outputs' hostRoot (so one hostRoot
 * names a different folder on each host, as "/" does on three instances).
 */
describe("a three-broker stack moved to a new Kafka version over SSH, every host verified before any is switched @integration", function () {
  let cluster: BootstrappedCluster;
  const hosts: SshServer[] = [];
  let mirror: KafkaMirror;
  let work: string;
  let outputsFile: string;
  const topic = uniqueName("upgrade");
  const produced: string[] = [];
  const cli = (...args: string[]) =>
    runCli([...args, "--outputs", outputsFile, "--identity", hosts[0]!.clientKeyFile], process.env, 400_000);
  const statuses = async () => {
    const result = await cli("broker", "status", "--json");
    return lastJsonLine<{ brokers: BrokerStatus[] }>(result.stdout).brokers;
  };
  /** Each broker's process as its supervisor recorded it: a restart changes it. */
  const pids = () =>
    Promise.all(
      cluster.brokers.map(async (broker) =>
        Number(await readFile(path.join(broker.root, "var/lib/tickstream/kafka.pid"), "utf8")),
      ),
    );
  const activeLinks = () =>
    Promise.all(cluster.brokers.map((broker) => readlink(path.join(broker.root, "opt/kafka"))));
  const unpacked = (version: string) =>
    Promise.all(
      cluster.brokers.map((broker) =>
        access(path.join(broker.root, `opt/kafka-${version}/.tickstream-version`)).then(
          () => true,
          () => false,
        ),
      ),
    );

  before(async function () {
    this.timeout(400_000);
    mirror = await startKafkaMirror(TO, await kafkaLibsForTests(TO));
    cluster = await bootstrapThreeBrokerCluster(PUBLIC_NET, PRIVATE_NET, { kafkaVersion: FROM });
    work = await mkdtemp(path.join(tmpdir(), "tickstream-upgrade-"));
    const hostRoot = path.join(work, "host");
    await mkdir(hostRoot);
    for (const broker of cluster.brokers) {
      hosts.push(
        await startSshServer({
          listenAddress: broker.publicIp,
          port: hosts[0]?.port,
          clientKeyFile: hosts[0]?.clientKeyFile,
          bindMount: { source: broker.root, target: hostRoot },
        }),
      );
    }
    outputsFile = path.join(work, "outputs.json");
    await writeFile(
      outputsFile,
      JSON.stringify({
        brokerPublicIps: cluster.brokers.map((broker) => broker.publicIp),
        bootstrapServers: cluster.bootstrapServers.join(","),
        sshUser: hosts[0]!.username,
        sshPort: hosts[0]!.port,
        brokerHostKeys: hosts.map((host) => host.hostKeyFingerprint),
        ...UNUSED_CATALOG_OUTPUTS,
        hostRoot,
      }),
    );
    await createTopic(cluster.bootstrapServers, { topic, partitions: 3, replicationFactor: 3 });
    const producer = createKafka(cluster.bootstrapServers, "upgrade-test").producer();
    await producer.connect();
    try {
      for (let batch = 0; batch < 10; batch++) {
        const messages = Array.from({ length: 200 }, (_, index) => ({
          key: `k${index % 7}`,
          value: `v${batch}-${index}`,
        }));
        await producer.send({ topic, acks: -1, messages });
        produced.push(...messages.map((message) => `${message.key}=${message.value}`));
      }
    } finally {
      await producer.disconnect();
    }
  });
  after(async function () {
    this.timeout(120_000);
    await cluster?.destroy();
    for (const host of hosts.reverse()) await host.stop();
    await mirror?.close();
    if (work) await rm(work, { recursive: true, force: true });
  });

  it(`runs the version the bootstrap installed (${FROM}) on every broker, each host reached with its own files`, async function () {
    const before = await statuses();
    expect(before.map((broker) => broker.nodeId)).to.deep.equal(BROKERS);
    expect(await pids(), "the pid files the later tests read").to.deep.equal(
      before.map((broker) => broker.pid),
    );
    before.forEach((broker, index) => {
      expect(broker, `broker ${broker.nodeId}`).to.include({ running: true, kafkaVersion: FROM });
      // Each host's server.properties, read at the same hostRoot path, is its own broker's.
      expect(broker.advertisedListeners, `broker ${broker.nodeId}`).to.include(
        cluster.brokers[index]!.publicIp,
      );
    });
    expect(await activeLinks()).to.deep.equal(BROKERS.map(() => `kafka-${FROM}`));
  });

  it("refuses a release whose SHA-512 does not match on the last broker, after the others downloaded and verified theirs: no broker was switched or restarted", async function () {
    this.timeout(300_000);
    const before = await pids();
    mirror.requests.length = 0;
    mirror.trueChecksumsLeft = BROKERS.length - 1;
    let result: CliResult;
    try {
      result = await cli("broker", "reconfigure", "--kafka-version", TO, "--kafka-mirror", mirror.url);
    } finally {
      mirror.trueChecksumsLeft = Infinity;
    }
    expect(result.exitCode, result.stderr).to.equal(1);
    expect(result.stderr.trim().split("\n").at(-1)).to.match(
      new RegExp(
        `^tickstream: broker 3: cannot install Kafka ${TO}: checksum mismatch for kafka_2\\.13-${TO}\\.tgz: .*; no broker was changed$`,
      ),
    );
    expect(await activeLinks(), "the version each broker's /opt/kafka points at").to.deep.equal(
      BROKERS.map(() => `kafka-${FROM}`),
    );
    const after = await statuses();
    after.forEach((broker, index) =>
      expect(broker, `broker ${broker.nodeId}`).to.deep.include({
        running: true,
        pid: before[index],
        kafkaVersion: FROM,
      }),
    );
    // Every broker fetched, in order; none was switched before the last one's check.
    expect(orderOfEvents(result.stderr)).to.deep.equal(
      BROKERS.map((nodeId) => `broker ${nodeId}: downloading and verifying Kafka ${TO}`),
    );
    expect(mirror.requests).to.have.length(2 * BROKERS.length);
    expect(await unpacked(TO), "the verified release beside the active one").to.deep.equal([
      true,
      true,
      false,
    ]);
  });

  it(`verifies ${TO} on every broker, then switches each and restarts them one at a time; every record is read back once; a second run changes nothing`, async function () {
    this.timeout(400_000);
    const before = await pids();
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
    expect(lastJsonLine(result.stdout)).to.deep.equal({
      settings: {},
      kafkaVersion: TO,
      restarted: BROKERS,
    });
    // Brokers 1 and 2 kept the release they verified in the refused run; only broker 3 downloads it.
    expect(mirror.requests).to.deep.equal([
      `/${TO}/kafka_2.13-${TO}.tgz`,
      `/${TO}/kafka_2.13-${TO}.tgz.sha512`,
    ]);
    expect(orderOfEvents(result.stderr)).to.deep.equal([
      ...BROKERS.map((nodeId) => `broker ${nodeId}: downloading and verifying Kafka ${TO}`),
      ...BROKERS.map((nodeId) => `broker ${nodeId}: Kafka ${FROM} -> ${TO} at its restart`),
      ...BROKERS.flatMap((nodeId) => [`restarting broker ${nodeId}`, `broker ${nodeId} is back`]),
    ]);

    const after = await statuses();
    after.forEach((broker, index) => {
      expect(broker, `broker ${broker.nodeId}`).to.include({ running: true, kafkaVersion: TO });
      expect(broker.pid, `broker ${broker.nodeId} restarted`).to.not.equal(before[index]);
    });
    expect(await activeLinks()).to.deep.equal(BROKERS.map(() => `kafka-${TO}`));
    // What runs is the new release: Kafka logs its own version at start.
    for (const broker of cluster.brokers) {
      const log = await readFile(path.join(broker.root, "var/log/kafka/server.log"), "utf8");
      expect(log.slice(log.lastIndexOf("Kafka version:")), broker.publicIp).to.match(
        new RegExp(`^Kafka version: ${TO.replaceAll(".", "\\.")}`),
      );
    }

    // Every record produced before the upgrade, read back from the upgraded cluster: each exactly once.
    const admin = createKafka(cluster.bootstrapServers, "upgrade-test").admin();
    await admin.connect();
    const ends = new Map<number, number>();
    try {
      for (const partition of await admin.fetchTopicOffsets(topic))
        ends.set(partition.partition, Number(partition.high));
    } finally {
      await admin.disconnect();
    }
    const read: string[] = [];
    const next = new Map<number, number>();
    const consumer = createKafka(cluster.bootstrapServers, "upgrade-test").consumer({
      groupId: uniqueName("upgrade-check"),
    });
    await consumer.connect();
    try {
      await consumer.subscribe({ topic, fromBeginning: true });
      await consumer.run({
        eachMessage: async ({ partition, message }) => {
          read.push(`${message.key?.toString()}=${message.value?.toString()}`);
          next.set(partition, Number(message.offset) + 1);
        },
      });
      await waitFor(() => [...ends].every(([partition, end]) => (next.get(partition) ?? 0) >= end), {
        timeoutMs: 90_000,
        describe: () => `read ${read.length} records back; ends ${JSON.stringify([...ends])}`,
      });
    } finally {
      await consumer.disconnect();
    }
    expect(read.toSorted()).to.deep.equal(produced.toSorted());

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
    expect(await pids(), "no broker restarted").to.deep.equal(after.map((broker) => broker.pid));
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
