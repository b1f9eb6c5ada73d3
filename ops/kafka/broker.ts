/** The lifecycle of a single-node KRaft broker run from the Kafka jars, on any Host, supervised by a pid file. */
import path from "node:path";
import { ServiceError, errorMessage } from "../../apps/shared/errors.ts";
import { createKafka } from "../../apps/shared/kafka-client.ts";
import { sleep } from "../../apps/shared/retry.ts";
import type { Host } from "../hosts/host.ts";
import { PlainSupervisor } from "../services/plain-supervisor.ts";
import type { ServiceStatus } from "../services/service-manager.ts";
import { ensureKafkaDistribution } from "./distribution.ts";
import { javaExecutable, requireJava } from "./java.ts";
import {
  newClusterId,
  renderLog4j2Properties,
  renderServerProperties,
  type BrokerSecurity,
} from "./server-properties.ts";

export interface BrokerLayout {
  readonly kafkaVersion: string;
  readonly kafkaLibsDir: string;
  readonly kafkaHome?: string;
  readonly dataDir: string;
  readonly propertiesFile: string;
  readonly log4jFile: string;
  readonly pidFile: string;
  readonly logFile: string;
  readonly listenHost: string;
  readonly advertisedHost: string;
  readonly brokerPort: number;
  readonly controllerPort: number;
  readonly heapMb: number;
  readonly defaultPartitions: number;
  /** For a secure broker: its TLS and SASL settings and the SCRAM users to create when storage is formatted. */
  readonly security?: () => SecureBrokerSetup | undefined;
}

export interface SecureBrokerSetup {
  readonly properties: BrokerSecurity;
  /** SCRAM-SHA-512 users (name to password) written into the metadata log by the storage format. */
  readonly scramUsers: Readonly<Record<string, string>>;
}

export interface BrokerStatus extends ServiceStatus {
  readonly bootstrapServers: string;
  /** Set when the process runs and answers the Kafka protocol. */
  readonly cluster?: { clusterId: string; controller: number | null; brokers: number };
}

export const BROKER_START_TIMEOUT_MS = 90_000;

/** The broker's classpath: an official install's libs when KAFKA_HOME is set, else the jars Maven fetched. */
export function kafkaClasspath(layout: Pick<BrokerLayout, "kafkaHome" | "kafkaLibsDir">): string {
  return path.join(layout.kafkaHome ? path.join(layout.kafkaHome, "libs") : layout.kafkaLibsDir, "*");
}

/**
 * Java arguments that format KRaft storage. The id goes as `--cluster-id=ID`, one argument: as two, an id
 * starting with "-" would be read as an option (1 random id in 64 did, before newClusterId ruled them out).
 */
export function storageFormatArgs(
  classpath: string,
  log4jOption: string,
  clusterId: string,
  propertiesFile: string,
): string[] {
  return [
    log4jOption,
    "-cp",
    classpath,
    "kafka.tools.StorageTool",
    "format",
    `--cluster-id=${clusterId}`,
    "-c",
    propertiesFile,
  ];
}

export class Broker {
  private readonly supervisor: PlainSupervisor;

  constructor(
    private readonly host: Host,
    private readonly layout: BrokerLayout,
    private readonly onProgress: (message: string) => void = () => {},
  ) {
    this.supervisor = new PlainSupervisor(host, {
      name: "kafka-broker",
      command: javaExecutable(),
      args: [
        `-Xmx${layout.heapMb}m`,
        `-Xms${Math.min(layout.heapMb, 256)}m`,
        "-XX:+UseG1GC",
        "-Djava.awt.headless=true",
        `-Dlog4j2.configurationFile=${layout.log4jFile}`,
        "-cp",
        kafkaClasspath(layout),
        "kafka.Kafka",
        layout.propertiesFile,
      ],
      pidFile: layout.pidFile,
      logFile: layout.logFile,
      commandMarker: layout.propertiesFile,
    });
  }

  get bootstrapServers(): string {
    return `${this.layout.advertisedHost}:${this.layout.brokerPort}`;
  }

  /** Makes sure Java is there and the Kafka jars are fetched (once; later calls find them cached). */
  async fetchDistribution() {
    const java = await requireJava(this.host);
    const distribution = await ensureKafkaDistribution(this.host, {
      version: this.layout.kafkaVersion,
      libsDir: this.layout.kafkaLibsDir,
      kafkaHome: this.layout.kafkaHome,
      onProgress: this.onProgress,
    });
    return { java, distribution };
  }

  /** Resolves the jars, writes the configuration, and formats the storage the first time only. */
  private async prepare(): Promise<void> {
    const { java, distribution } = await this.fetchDistribution();
    const security = this.layout.security?.();
    await this.host.writeFile(
      this.layout.propertiesFile,
      renderServerProperties({
        nodeId: 1,
        listenHost: this.layout.listenHost,
        advertisedHost: this.layout.advertisedHost,
        brokerPort: this.layout.brokerPort,
        controllerPort: this.layout.controllerPort,
        logDir: this.layout.dataDir,
        defaultPartitions: this.layout.defaultPartitions,
        security: security?.properties,
      }),
      // A secure broker's properties hold the inter-broker and controller passwords.
      { mode: security ? 0o600 : 0o644 },
    );
    await this.host.writeFile(this.layout.log4jFile, renderLog4j2Properties());
    const log4j = `-Dlog4j2.configurationFile=${this.layout.log4jFile}`;
    if (!(await this.host.pathExists(path.join(this.layout.dataDir, "meta.properties")))) {
      this.onProgress(`Formatting KRaft storage in ${this.layout.dataDir}`);
      const args = storageFormatArgs(
        distribution.classpath,
        log4j,
        newClusterId(),
        this.layout.propertiesFile,
      );
      // SCRAM users go in through an argument file (the storage tool reads `@FILE`), never on a command line.
      const scramFile = path.join(path.dirname(this.layout.propertiesFile), "format-scram.args");
      if (security) {
        const lines = Object.entries(security.scramUsers).flatMap(([name, password]) => [
          "--add-scram",
          `SCRAM-SHA-512=[name=${name},password=${password}]`,
        ]);
        await this.host.writeFile(scramFile, `${lines.join("\n")}\n`, { mode: 0o600 });
        args.push(`@${scramFile}`);
      }
      const format = await this.host
        .exec(java, args, { timeoutMs: 120_000 })
        .finally(() => (security ? this.host.removePath(scramFile) : undefined));
      if (format.exitCode !== 0) {
        throw new ServiceError(
          `formatting Kafka storage failed: ${(format.stderr || format.stdout).trim().split("\n").at(-1)}`,
        );
      }
    }
  }

  /** Starts the broker unless it runs already; waits until it answers. `started: false` means it was already up. */
  async start(): Promise<{ started: boolean; pid: number }> {
    const running = await this.supervisor.runningPid();
    if (running !== undefined) return { started: false, pid: running };
    await this.prepare();
    const launched = await this.supervisor.start();
    this.onProgress(
      `Kafka broker starting (pid ${launched.pid}); waiting until it answers on ${this.bootstrapServers}`,
    );
    await this.waitUntilHealthy(launched.pid);
    return launched;
  }

  private async waitUntilHealthy(pid: number): Promise<void> {
    const deadline = Date.now() + BROKER_START_TIMEOUT_MS;
    let lastError = "";
    while (Date.now() < deadline) {
      if (!(await this.host.isRunning(pid))) {
        const tail = await this.supervisor.logs(5);
        throw new ServiceError(`the Kafka broker exited while starting; last log lines:\n${tail}`);
      }
      try {
        const cluster = await this.describeCluster();
        if (cluster.controller !== null && cluster.brokers > 0) return;
      } catch (error) {
        lastError = errorMessage(error);
      }
      await sleep(500);
    }
    throw new ServiceError(
      `the Kafka broker did not answer within ${BROKER_START_TIMEOUT_MS / 1000} s (${lastError}); see ${this.layout.logFile}`,
    );
  }

  async describeCluster(): Promise<{ clusterId: string; controller: number | null; brokers: number }> {
    const admin = createKafka([this.bootstrapServers], "tickstream-ops", {
      retry: { retries: 0 },
      requestTimeout: 5_000,
    }).admin();
    await admin.connect();
    try {
      const cluster = await admin.describeCluster();
      return {
        clusterId: cluster.clusterId,
        controller: cluster.controller,
        brokers: cluster.brokers.length,
      };
    } finally {
      await admin.disconnect();
    }
  }

  stop(options: { graceMs?: number } = {}) {
    return this.supervisor.stop(options);
  }

  async restart(): Promise<{ started: boolean; pid: number }> {
    await this.stop();
    return this.start();
  }

  async status(): Promise<BrokerStatus> {
    const base = await this.supervisor.status();
    const status: BrokerStatus = { ...base, bootstrapServers: this.bootstrapServers };
    if (!base.running) return status;
    try {
      return { ...status, cluster: await this.describeCluster() };
    } catch {
      return status;
    }
  }

  logs(lines: number): Promise<string> {
    return this.supervisor.logs(lines);
  }
}
