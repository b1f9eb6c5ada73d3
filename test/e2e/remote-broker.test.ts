import { expect } from "chai";
import { appendFile, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { runCli, spawnCli, lastJsonLine } from "../helpers/cli.ts";
import { prepareBootstrappedBroker, type BootstrappedBroker } from "../helpers/bootstrapped-broker.ts";
import { startSshServer, type SshServer } from "../helpers/sshd.ts";
import { waitFor } from "../../apps/shared/retry.ts";
import { UNUSED_CATALOG_OUTPUTS } from "../helpers/stack-outputs.ts";

const HOST_IP = "127.0.0.2";

describe("a stack's broker managed over SSH through the CLI @integration", function () {
  let sshd: SshServer;
  let broker: BootstrappedBroker;
  let outputsFile: string;
  const cli = (...args: string[]) =>
    runCli([...args, "--outputs", outputsFile, "--identity", sshd.clientKeyFile], process.env);

  before(async function () {
    this.timeout(300_000);
    sshd = await startSshServer({ listenAddress: HOST_IP });
    broker = await prepareBootstrappedBroker({ publicIp: HOST_IP, privateIp: "127.0.0.3" });
    const installed = await broker.run();
    expect(installed.exitCode, installed.all).to.equal(0);
    outputsFile = path.join(broker.root, "outputs.json");
    await writeFile(
      outputsFile,
      JSON.stringify({
        brokerPublicIps: [HOST_IP],
        brokerPrivateIps: ["127.0.0.3"],
        bootstrapServers: `${HOST_IP}:${broker.externalPort}`,
        sshUser: sshd.username,
        sshPort: sshd.port,
        brokerHostKeys: [sshd.hostKeyFingerprint],
        ...UNUSED_CATALOG_OUTPUTS,
        hostRoot: broker.root,
      }),
    );
  });
  after(async function () {
    await broker?.destroy();
    await sshd?.stop();
  });

  it("shows the broker's state, pid, advertised listeners, controller and under-replicated partitions", async function () {
    const result = await cli("broker", "status", "--json");
    expect(result.exitCode, result.stderr).to.equal(0);
    const status = lastJsonLine<{ brokers: Record<string, unknown>[]; cluster: Record<string, unknown> }>(
      result.stdout,
    );
    expect(status.brokers[0]).to.include({ nodeId: 1, address: HOST_IP, running: true });
    expect(status.brokers[0]!.advertisedListeners).to.match(
      new RegExp(
        `^EXTERNAL://${HOST_IP.replaceAll(".", "\\.")}:${broker.externalPort},INTERNAL://127\\.0\\.0\\.3:\\d+$`,
      ),
    );
    expect(status.cluster).to.include({ controller: 1, underReplicatedPartitions: 0 });
    const human = await cli("broker", "status");
    expect(human.stdout).to.match(/^broker 1 \(127\.0\.0\.2\)\s+running \(pid \d+, up \d+ s\)/m);
    expect(human.stdout).to.match(/^under-replicated\s+0$/m);
  });

  it("says a running broker is running instead of starting another", async function () {
    const result = await cli("broker", "start");
    expect(result.exitCode, result.stderr).to.equal(0);
    expect(result.stderr).to.match(/broker 1: already running \(pid \d+\); nothing started/);
  });

  it("restarts it and waits until it answers again", async function () {
    const before = lastJsonLine<{ brokers: { pid: number }[] }>(
      (await cli("broker", "status", "--json")).stdout,
    ).brokers[0]!.pid;
    const result = await cli("broker", "restart", "--json");
    expect(result.exitCode, result.stderr).to.equal(0);
    expect(result.stderr).to.include("the cluster answers and nothing is under-replicated");
    const after = lastJsonLine<{ brokers: { pid: number; running: boolean }[] }>(
      (await cli("broker", "status", "--json")).stdout,
    ).brokers[0]!;
    expect(after.running).to.equal(true);
    expect(after.pid).to.not.equal(before);
  });

  it("tails the broker's log, and follows it until Ctrl-C", async function () {
    const result = await cli("broker", "logs", "--lines", "500");
    expect(result.exitCode, result.stderr).to.equal(0);
    expect(result.stdout).to.include("Kafka Server started");
    const following = spawnCli(
      [
        "broker",
        "logs",
        "--follow",
        "--lines",
        "5",
        "--outputs",
        outputsFile,
        "--identity",
        sshd.clientKeyFile,
      ],
      process.env,
    );
    let seen = "";
    following.stdout!.on("data", (chunk: Buffer) => (seen += chunk.toString()));
    await waitFor(() => seen.split("\n").length > 3, {
      timeoutMs: 20_000,
      describe: () => "no log lines arrived",
    });
    // Lines written after the command started must arrive too: that is what following means.
    const marker = `tickstream-follow-check-${Date.now()}`;
    await appendFile(path.join(broker.root, "var/log/kafka/server.log"), `${marker} one\n${marker} two\n`);
    await waitFor(() => seen.includes(`${marker} two`), {
      timeoutMs: 20_000,
      describe: () => `lines appended to the log did not arrive; got:\n${seen.slice(-1_000)}`,
    });
    following.kill("SIGINT");
    expect((await following).exitCode).to.equal(0);
  });

  it("reconfigures it over SSH: rewrites server.properties, restarts it and waits until it answers; a second run changes nothing", async function () {
    const before = lastJsonLine<{ brokers: { pid: number }[] }>(
      (await cli("broker", "status", "--json")).stdout,
    ).brokers[0]!.pid;
    const result = await cli("broker", "reconfigure", "--set", "log.retention.hours=24", "--json");
    expect(result.exitCode, result.stderr).to.equal(0);
    expect(lastJsonLine(result.stdout)).to.deep.equal({
      settings: { "log.retention.hours": "24" },
      restarted: [1],
    });
    const properties = await readFile(path.join(broker.root, "etc/kafka/server.properties"), "utf8");
    expect(properties.split("\n")).to.include("log.retention.hours=24");
    const status = lastJsonLine<{
      brokers: { pid: number; running: boolean }[];
      cluster: { controller: number };
    }>((await cli("broker", "status", "--json")).stdout);
    expect(status.brokers[0]!.running).to.equal(true);
    expect(status.brokers[0]!.pid, "restarted").to.not.equal(before);
    expect(status.cluster.controller).to.equal(1);
    const again = await cli("broker", "reconfigure", "--set", "log.retention.hours=24", "--json");
    expect(again.exitCode, again.stderr).to.equal(0);
    expect(lastJsonLine(again.stdout)).to.deep.include({ restarted: [] });
    const refused = await cli("broker", "reconfigure", "--set", "node.id=7");
    expect(refused.exitCode).to.equal(1);
    expect(refused.stderr.trim().split("\n")).to.have.length(1);
    expect(refused.stderr).to.match(/^tickstream: --set node\.id: set by the bootstrap/);
  });

  it("stops it, after which status exits 3", async function () {
    const stopped = await cli("broker", "stop");
    expect(stopped.exitCode, stopped.stderr).to.equal(0);
    expect(stopped.stderr).to.include("broker 1: stopped");
    const status = await cli("broker", "status", "--json");
    expect(status.exitCode).to.equal(3);
    expect(lastJsonLine<{ brokers: { running: boolean }[] }>(status.stdout).brokers[0]!.running).to.equal(
      false,
    );
    const started = await cli("broker", "start");
    expect(started.exitCode, started.stderr).to.equal(0);
    expect(started.stderr).to.match(/broker 1: started \(pid \d+\)/);
  });

  it("refuses a host whose key does not match the outputs, running nothing", async function () {
    const wrongOutputs = path.join(broker.root, "wrong-outputs.json");
    const outputs = JSON.parse((await import("node:fs")).readFileSync(outputsFile, "utf8"));
    await writeFile(
      wrongOutputs,
      JSON.stringify({ ...outputs, brokerHostKeys: ["SHA256:" + "B".repeat(43)] }),
    );
    const result = await runCli(
      ["broker", "stop", "--outputs", wrongOutputs, "--identity", sshd.clientKeyFile],
      process.env,
    );
    expect(result.exitCode).to.equal(1);
    expect(result.stderr.trim()).to.equal(
      `tickstream: host key mismatch for ${sshd.username}@${HOST_IP}:${sshd.port}: it offered ${sshd.hostKeyFingerprint}, expected SHA256:${"B".repeat(43)}; nothing was run`,
    );
    const status = lastJsonLine<{ brokers: { running: boolean }[] }>(
      (await cli("broker", "status", "--json")).stdout,
    );
    expect(status.brokers[0]!.running, "the broker was not stopped").to.equal(true);
  });

  it("pins the host key from a known_hosts file when the outputs have none", async function () {
    const { readFileSync } = await import("node:fs");
    const outputs = JSON.parse(readFileSync(outputsFile, "utf8"));
    delete outputs.brokerHostKeys;
    const noKeys = path.join(broker.root, "no-keys.json");
    await writeFile(noKeys, JSON.stringify(outputs));
    const knownHosts = path.join(broker.root, "known_hosts");
    const publicKey = readFileSync(path.join(sshd.dir, "host_key.pub"), "utf8")
      .split(" ")
      .slice(0, 2)
      .join(" ");
    await writeFile(knownHosts, `[${HOST_IP}]:${sshd.port} ${publicKey}\n`);
    const args = ["broker", "status", "--json", "--outputs", noKeys, "--identity", sshd.clientKeyFile];
    const missing = await runCli([...args, "--known-hosts", path.join(broker.root, "empty")], process.env);
    expect(missing.exitCode).to.equal(1);
    expect(missing.stderr).to.match(/no pinned host key for broker 1 \(127\.0\.0\.2\)/);
    const pinned = await runCli([...args, "--known-hosts", knownHosts], process.env);
    expect(pinned.exitCode, pinned.stderr).to.equal(0);
  });
});
