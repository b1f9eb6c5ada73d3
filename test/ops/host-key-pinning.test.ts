import { expect } from "chai";
import { DescribeImagesCommand, EC2Client, RunInstancesCommand } from "@aws-sdk/client-ec2";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { parseStackOutputs } from "../../ops/environments/stack-outputs.ts";
import {
  hostKeysFromConsole,
  pinBrokerHostKeys,
  writeKnownHosts,
} from "../../ops/remote/host-key-pinning.ts";
import { RemoteCluster } from "../../ops/remote/remote-cluster.ts";
import { startMoto, type MotoServer } from "../helpers/moto.ts";
import { fingerprintOf, startSshServer, type SshServer } from "../helpers/sshd.ts";

const OUTPUTS = {
  bootstrapServers: "127.0.0.1:9092",
  lakeBucket: "tickstream-test-lake",
  glueDatabase: "tickstream_test",
  crawlerName: "c",
  athenaWorkgroup: "w",
  region: "us-east-1",
};

describe("pinning broker host keys from the console output @integration", function () {
  let sshd: SshServer;
  let moto: MotoServer;
  let dir: string;
  let hostKey: string;

  before(async function () {
    sshd = await startSshServer();
    moto = await startMoto();
    dir = await mkdtemp(path.join(tmpdir(), "tickstream-pin-"));
    hostKey = (await readFile(path.join(sshd.dir, "host_key.pub"), "utf8")).split(" ").slice(0, 2).join(" ");
  });
  after(async function () {
    await sshd?.stop();
    await moto?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it("reads the public keys cloud-init prints, with or without a prefix, from the last boot", function () {
    const console = [
      "[   12.3] cloud-init[901]: Generating public/private ed25519 key pair.",
      "-----BEGIN SSH HOST KEY KEYS-----",
      "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOLDKEYOLDKEYOLDKEYOLDKEYOLDKEYOLDKEYOLDKEY0 root@old",
      "-----END SSH HOST KEY KEYS-----",
      "reboot",
      "-----BEGIN SSH HOST KEY KEYS-----",
      `ec2: ${hostKey} root@ip-10-42-1-10`,
      "ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBA== root@ip-10-42-1-10",
      "-----END SSH HOST KEY KEYS-----",
      "Cloud-init v. 24.1 finished",
    ].join("\n");
    expect(hostKeysFromConsole(console)).to.deep.equal([
      hostKey,
      "ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBA==",
    ]);
    expect(hostKeysFromConsole("Linux version 6.8.0\nno keys here")).to.deep.equal([]);
  });

  it("writes pinned keys that the SSH connection then verifies against", async function () {
    const knownHosts = path.join(dir, "known_hosts");
    const fingerprints = await writeKnownHosts(knownHosts, sshd.host, sshd.port, [hostKey]);
    expect(fingerprints).to.deep.equal([await fingerprintOf(path.join(sshd.dir, "host_key.pub"))]);
    // Pinning again replaces the host's entry instead of adding a second one.
    await writeKnownHosts(knownHosts, sshd.host, sshd.port, [hostKey]);
    expect((await readFile(knownHosts, "utf8")).trim().split("\n")).to.have.length(1);

    const outputs = parseStackOutputs(
      { ...OUTPUTS, brokerPublicIps: [sshd.host], sshUser: sshd.username, sshPort: sshd.port },
      "test",
    );
    const cluster = new RemoteCluster(outputs, {
      identityFile: sshd.clientKeyFile,
      knownHostsFile: knownHosts,
    });
    try {
      const host = await cluster.connect(cluster.brokers[0]!);
      expect((await host.exec("echo", ["pinned"])).stdout).to.equal("pinned\n");
    } finally {
      cluster.close();
    }
  });

  it("asks to wait when an instance's console shows no host keys yet (EC2 API on a local emulator)", async function () {
    const ec2 = new EC2Client(moto.clientConfig);
    try {
      const { Images } = await ec2.send(new DescribeImagesCommand({}));
      const { Instances } = await ec2.send(
        new RunInstancesCommand({
          ImageId: Images![0]!.ImageId!,
          MinCount: 1,
          MaxCount: 1,
          InstanceType: "t3.medium",
        }),
      );
      const instanceId = Instances![0]!.InstanceId!;
      const outputs = parseStackOutputs(
        {
          ...OUTPUTS,
          brokerPublicIps: ["198.51.100.10"],
          brokerInstanceIds: [instanceId],
          sshUser: "ubuntu",
        },
        "test",
      );
      const error = await pinBrokerHostKeys(outputs, path.join(dir, "unused"), ec2).catch(
        (caught: Error) => caught,
      );
      expect((error as Error).message).to.equal(
        `no SSH host keys in the console output of ${instanceId} yet: cloud-init prints them at first boot; try again in a minute`,
      );
    } finally {
      ec2.destroy();
    }
  });
});
