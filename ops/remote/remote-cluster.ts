/**
 * A stack's broker hosts, reached over SSH with pinned host keys: from the outputs' brokerHostKeys, else a
 * known_hosts file. The broker service on a host is its systemd unit `kafka`, or, on a host without
 * systemd, the supervised process that the bootstrap describes in /var/lib/tickstream/kafka.service.json.
 */
import { readFile } from "node:fs/promises";
import { homedir } from "node:os";
import path from "node:path";
import { ConfigError, ServiceError } from "../../apps/shared/errors.ts";
import type { StackOutputs } from "../environments/stack-outputs.ts";
import type { Host } from "../hosts/host.ts";
import { knownHostFingerprints } from "../hosts/known-hosts.ts";
import { SshHost } from "../hosts/ssh-host.ts";
import { PlainSupervisor, type SupervisedService } from "../services/plain-supervisor.ts";
import type { ServiceManager } from "../services/service-manager.ts";
import { SystemdService } from "../services/systemd-service.ts";

export interface RemoteAccess {
  /** A private key file; without one the SSH agent is used. */
  readonly identityFile?: string;
  readonly knownHostsFile?: string;
  readonly connectTimeoutMs?: number;
}

export interface BrokerHost {
  /** 1-based, as the brokers' node ids. */
  readonly nodeId: number;
  readonly address: string;
}

export class RemoteCluster {
  private readonly connections = new Map<number, SshHost>();

  constructor(
    readonly outputs: StackOutputs,
    private readonly access: RemoteAccess = {},
  ) {}

  get brokers(): BrokerHost[] {
    return this.outputs.brokerPublicIps.map((address, index) => ({ nodeId: index + 1, address }));
  }

  get bootstrapServers(): string[] {
    return this.outputs.bootstrapServers.split(",");
  }

  /** `--broker N`, `--all`, or the only broker of a one-broker stack. */
  select(options: { broker?: number; all?: boolean }): BrokerHost[] {
    if (options.all) return this.brokers;
    if (options.broker !== undefined) {
      const broker = this.brokers.find((candidate) => candidate.nodeId === options.broker);
      if (!broker)
        throw new ConfigError(
          `--broker ${options.broker}: the stack has brokers 1 to ${this.brokers.length}`,
        );
      return [broker];
    }
    if (this.brokers.length === 1) return this.brokers;
    throw new ConfigError(`the stack has ${this.brokers.length} brokers: pass --broker N or --all`);
  }

  private async hostKeys(broker: BrokerHost): Promise<string[]> {
    const pinned = this.outputs.brokerHostKeys?.[broker.nodeId - 1];
    if (pinned) return [pinned];
    const file = this.access.knownHostsFile ?? path.join(homedir(), ".ssh", "known_hosts");
    const text = await readFile(file, "utf8").catch(() => "");
    const fingerprints = knownHostFingerprints(text, broker.address, this.outputs.sshPort);
    if (fingerprints.length === 0) {
      throw new ConfigError(
        `no pinned host key for broker ${broker.nodeId} (${broker.address}): the outputs have no brokerHostKeys and ${file} does not list it; ` +
          `pass --known-hosts FILE with its key`,
      );
    }
    return fingerprints;
  }

  async connect(broker: BrokerHost): Promise<SshHost> {
    const existing = this.connections.get(broker.nodeId);
    if (existing) return existing;
    const host = await SshHost.connect({
      host: broker.address,
      port: this.outputs.sshPort,
      username: this.outputs.sshUser ?? "ubuntu",
      hostKeyFingerprints: await this.hostKeys(broker),
      privateKey: this.access.identityFile
        ? await readFile(this.access.identityFile, "utf8").catch(() => {
            throw new ConfigError(`--identity ${this.access.identityFile}: cannot read the key file`);
          })
        : undefined,
      connectTimeoutMs: this.access.connectTimeoutMs,
      // The bootstrap's files, Kafka's config and systemd need root; the image's login user may sudo.
      sudo: (this.outputs.sshUser ?? "ubuntu") !== "root",
    });
    this.connections.set(broker.nodeId, host);
    return host;
  }

  /** A path on the hosts, under the outputs' hostRoot when the bootstrap ran in a sandbox. */
  hostPath(absolute: string): string {
    return path.posix.join(this.outputs.hostRoot ?? "/", absolute);
  }

  async brokerService(host: Host): Promise<ServiceManager> {
    if (!this.outputs.hostRoot && (await host.pathExists("/run/systemd/system")))
      return new SystemdService(host, "kafka");
    const descriptorFile = this.hostPath("/var/lib/tickstream/kafka.service.json");
    const descriptor = await host.readFile(descriptorFile);
    if (!descriptor)
      throw new ServiceError(
        `${host.description} has no kafka service: neither systemd nor ${descriptorFile}; was it bootstrapped?`,
      );
    return new PlainSupervisor(host, JSON.parse(descriptor) as SupervisedService);
  }

  /** An app's service on a host (`tickstream-producer`, `tickstream-consumer`), or undefined when not deployed. */
  async appService(host: Host, app: "producer" | "consumer" | "rollup"): Promise<ServiceManager | undefined> {
    if (!this.outputs.hostRoot && (await host.pathExists("/run/systemd/system"))) {
      const unit = await host.exec("systemctl", ["cat", `tickstream-${app}`]);
      return unit.exitCode === 0 ? new SystemdService(host, `tickstream-${app}`) : undefined;
    }
    const descriptor = await host.readFile(this.hostPath(`/var/lib/tickstream/apps/${app}.service.json`));
    return descriptor ? new PlainSupervisor(host, JSON.parse(descriptor) as SupervisedService) : undefined;
  }

  /** Stops both apps on every broker host; returns what was running and is now stopped. */
  async stopApps(): Promise<string[]> {
    const stopped: string[] = [];
    for (const broker of this.brokers) {
      const host = await this.connect(broker);
      for (const app of ["producer", "consumer", "rollup"] as const) {
        const service = await this.appService(host, app);
        if (service && (await service.stop()).stopped) stopped.push(`${app} on broker ${broker.nodeId}`);
      }
    }
    return stopped;
  }

  /** The `advertised.listeners` line of a broker's server.properties. */
  async advertisedListeners(host: Host): Promise<string | undefined> {
    const properties = await host.readFile(this.hostPath("/etc/kafka/server.properties"));
    return properties ? /^advertised\.listeners=(.*)$/m.exec(properties)?.[1] : undefined;
  }

  close(): void {
    for (const host of this.connections.values()) host.close();
    this.connections.clear();
  }
}
