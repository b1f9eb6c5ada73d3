/**
 * A broker installed the way a stack's broker is: the rendered bootstrap run for real in a sandbox root
 * (a stand-in IMDSv2 on loopback, the Maven jars in place of the download, no systemd).
 */
import { execa } from "execa";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { sleep } from "../../apps/shared/retry.ts";
import { clusterIdFor, type BootstrapVoter } from "../../infra/bootstrap/render.ts";
import { brokerUserData } from "../../infra/bootstrap/user-data.ts";
import type { BootstrapSecurity } from "../../infra/bootstrap/security.ts";
import { DEFAULT_KAFKA_VERSION, localPaths } from "../../ops/config/settings.ts";
import { LocalHost } from "../../ops/hosts/local-host.ts";
import { ensureKafkaDistribution } from "../../ops/kafka/distribution.ts";
import { PlainSupervisor, type SupervisedService } from "../../ops/services/plain-supervisor.ts";
import { cloudInitParts } from "./cloud-init.ts";
import { startImdsStub, type ImdsStub } from "./imds-stub.ts";
import { freePorts } from "./ports.ts";

export interface BootstrappedBroker {
  readonly root: string;
  readonly script: string;
  /** The raw size of the user data EC2 is given (what its 16 KB limit counts). */
  readonly userDataBytes: number;
  readonly publicIp: string;
  readonly privateIp: string;
  readonly externalPort: number;
  readonly imds: ImdsStub;
  /** Runs the bootstrap (again); resolves with its exit code and output. */
  run(): Promise<{ exitCode: number; all: string }>;
  /** Stops whatever broker process the root's pid file names, and deletes the root. */
  destroy(): Promise<void>;
}

export interface BootstrapOptions {
  readonly nodeId?: number;
  readonly publicIp: string;
  readonly privateIp: string;
  readonly voters?: readonly BootstrapVoter[];
  readonly ports?: { external: number; internal: number; controller: number };
  readonly replicationFactor?: number;
  readonly publicIpLaterAfter?: number;
  /** The Kafka version the bootstrap installs (its jars from Maven Central); default the project's. */
  readonly kafkaVersion?: string;
  /** A secured broker: its material in the Parameter Store at this endpoint (moto). */
  readonly security?: BootstrapSecurity & { readonly ssmEndpoint: string };
}

export async function kafkaLibsForTests(version = DEFAULT_KAFKA_VERSION): Promise<string> {
  const paths = localPaths(path.resolve(".tickstream"), { kafkaVersion: version });
  return (
    await ensureKafkaDistribution(new LocalHost(), {
      version,
      libsDir: paths.kafkaLibs,
    })
  ).libsDir;
}

export async function freeBrokerPorts() {
  const [external, internal, controller] = await freePorts(3);
  return { external: external!, internal: internal!, controller: controller! };
}

export async function prepareBootstrappedBroker(options: BootstrapOptions): Promise<BootstrappedBroker> {
  const root = await mkdtemp(path.join(tmpdir(), "tickstream-host-"));
  const kafkaVersion = options.kafkaVersion ?? DEFAULT_KAFKA_VERSION;
  const libs = await kafkaLibsForTests(kafkaVersion);
  const ports = options.ports ?? (await freeBrokerPorts());
  const imds = await startImdsStub({
    publicIp: options.publicIp,
    privateIp: options.privateIp,
    publicIpLaterAfter: options.publicIpLaterAfter,
  });
  const script = path.join(root, "user-data.sh");
  // What EC2 would be given (the stack's own packing), unpacked by cloud-init's own code as on first boot.
  const userDataBase64 = brokerUserData({
    nodeId: options.nodeId ?? 1,
    voters: options.voters ?? [],
    publicIp: options.publicIp,
    clusterId: clusterIdFor("tests"),
    kafkaVersion,
    nodeVersion: "20.20.2",
    topic: "stock-ticks",
    partitions: 3,
    replicationFactor: options.replicationFactor ?? 1,
    retentionHours: 24,
    ports,
    security: options.security,
    barsTopic: options.security ? "stock-bars-1m" : undefined,
  });
  const parts = await cloudInitParts(userDataBase64);
  if (parts.length !== 1 || parts[0]!.type !== "text/x-shellscript")
    throw new Error(`cloud-init reads the user data as ${JSON.stringify(parts.map((part) => part.type))}`);
  await writeFile(script, parts[0]!.payload);
  return {
    root,
    script,
    userDataBytes: Buffer.from(userDataBase64, "base64").length,
    publicIp: options.publicIp,
    privateIp: options.privateIp,
    externalPort: ports.external,
    imds,
    async run() {
      const result = await execa("bash", [script], {
        reject: false,
        all: true,
        // The broker it starts in the background must not inherit a pipe of this process.
        stdin: "ignore",
        timeout: 300_000,
        env: {
          ...process.env,
          TICKSTREAM_BOOTSTRAP_ROOT: root,
          TICKSTREAM_IMDS_ENDPOINT: imds.endpoint,
          TICKSTREAM_KAFKA_LIBS: libs,
          TICKSTREAM_SERVICE_MANAGER: "none",
          TICKSTREAM_SKIP_PACKAGES: "1",
          TICKSTREAM_DATA_DEVICE: "none",
          TICKSTREAM_EXTERNAL_BIND: options.publicIp,
          ...(options.security ? { TICKSTREAM_SSM_ENDPOINT: options.security.ssmEndpoint } : {}),
        },
      });
      return { exitCode: result.exitCode ?? -1, all: result.all ?? "" };
    },
    async destroy() {
      const pid = Number(
        await readFile(path.join(root, "var/lib/tickstream/kafka.pid"), "utf8").catch(() => "0"),
      );
      if (pid > 0) {
        try {
          process.kill(pid, "SIGTERM");
          for (let i = 0; i < 150; i++) {
            process.kill(pid, 0);
            await sleep(200);
          }
          process.kill(pid, "SIGKILL");
        } catch {
          // exited
        }
      }
      await imds.close();
      await rm(root, { recursive: true, force: true });
    },
  };
}

export interface BootstrappedCluster {
  readonly brokers: readonly BootstrappedBroker[];
  /** The external listeners, as a client outside the VPC sees them. */
  readonly bootstrapServers: string[];
  /** Each broker's supervised process, to stop, kill and start it as the fault tests do. */
  readonly services: readonly { nodeId: number; service: PlainSupervisor }[];
  destroy(): Promise<void>;
}

/**
 * Three brokers bootstrapped at once, as three instances boot (each waits for the quorum to create the topic):
 * a KRaft quorum with replication factor 3 and min.insync.replicas 2. Addresses are 127.0.<publicNet>.1-3
 * (advertised, like Elastic IPs) and 127.0.<privateNet>.1-3 (the internal listener and the controllers).
 */
export async function bootstrapThreeBrokerCluster(
  publicNet: number,
  privateNet: number,
  options: { readonly kafkaVersion?: string } = {},
): Promise<BootstrappedCluster> {
  const publicIps = [1, 2, 3].map((host) => `127.0.${publicNet}.${host}`);
  const privateIps = [1, 2, 3].map((host) => `127.0.${privateNet}.${host}`);
  const ports = await freeBrokerPorts();
  const voters = privateIps.map((host, index) => ({ nodeId: index + 1, host }));
  const brokers: BootstrappedBroker[] = [];
  const destroy = async () => void (await Promise.all(brokers.map((broker) => broker.destroy())));
  try {
    for (let index = 0; index < 3; index++) {
      brokers.push(
        await prepareBootstrappedBroker({
          nodeId: index + 1,
          publicIp: publicIps[index]!,
          privateIp: privateIps[index]!,
          voters,
          ports,
          replicationFactor: 3,
          kafkaVersion: options.kafkaVersion,
        }),
      );
    }
    const results = await Promise.all(brokers.map((broker) => broker.run()));
    results.forEach((result, index) => {
      if (result.exitCode !== 0) throw new Error(`broker ${index + 1} bootstrap failed:\n${result.all}`);
    });
    const host = new LocalHost();
    const services = await Promise.all(
      brokers.map(async (broker, index) => ({
        nodeId: index + 1,
        service: new PlainSupervisor(
          host,
          JSON.parse(
            await readFile(path.join(broker.root, "var/lib/tickstream/kafka.service.json"), "utf8"),
          ) as SupervisedService,
        ),
      })),
    );
    return { brokers, bootstrapServers: publicIps.map((ip) => `${ip}:${ports.external}`), services, destroy };
  } catch (error) {
    await destroy();
    throw error;
  }
}
