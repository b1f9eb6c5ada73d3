/**
 * `tickstream broker reconfigure`: new broker settings and/or a new Kafka version on a running stack, over SSH.
 * Every broker that moves to a new version first downloads and verifies it beside the active one; only when all
 * have it is anything changed: server.properties rewritten where it differs, /opt/kafka pointed at the new
 * version, then those brokers restarted one at a time, each once the cluster has healed from the one before.
 */
import { ConfigError, ServiceError } from "../../apps/shared/errors.ts";
import { renderKafkaInstallScript } from "../../infra/bootstrap/kafka-install.ts";
import type { Host } from "../hosts/host.ts";
import { applySettings } from "../kafka/reconfigure.ts";
import { rollingRestart, type RestartableBroker } from "../kafka/rolling-restart.ts";
import type { BrokerHost, RemoteCluster } from "./remote-cluster.ts";

export interface ReconfigureRequest {
  readonly settings: ReadonlyMap<string, string>;
  readonly kafkaVersion?: string;
  /** Where hosts download kafka_<scala>-<version>.tgz and its .sha512 (default archive.apache.org). */
  readonly kafkaMirror?: string;
}

export interface ReconfigureResult {
  readonly settings: Record<string, string>;
  readonly kafkaVersion?: string;
  readonly restarted: number[];
}

interface BrokerPlan {
  readonly broker: BrokerHost;
  readonly host: Host;
  readonly properties?: string;
  readonly upgradeFrom?: string;
}

export function parseKafkaVersion(value: string): string {
  if (!/^\d+\.\d+\.\d+$/.test(value))
    throw new ConfigError(`--kafka-version ${value}: expected a Kafka release like 4.4.0`);
  return value;
}

/** The Kafka version a host's /opt/kafka points at ("" when none is installed). */
export async function activeKafkaVersion(cluster: RemoteCluster, host: Host): Promise<string> {
  return ((await host.readFile(cluster.hostPath("/opt/kafka/.tickstream-version"))) ?? "").trim();
}

export async function reconfigureBrokers(
  cluster: RemoteCluster,
  brokers: readonly BrokerHost[],
  request: ReconfigureRequest,
  progress: (message: string) => void,
): Promise<ReconfigureResult> {
  if (request.settings.size === 0 && request.kafkaVersion === undefined)
    throw new ConfigError("give --set KEY=VALUE (a Kafka broker setting) or --kafka-version VERSION");
  const installScript = cluster.hostPath("/var/lib/tickstream/kafka-install.sh");
  const plans: BrokerPlan[] = [];
  for (const broker of brokers) {
    const host = await cluster.connect(broker);
    const file = cluster.hostPath("/etc/kafka/server.properties");
    const before = await host.readFile(file);
    if (before === undefined)
      throw new ConfigError(`broker ${broker.nodeId}: ${file} is missing; was it bootstrapped?`);
    const after = applySettings(before, request.settings);
    const active = await activeKafkaVersion(cluster, host);
    const upgradeFrom =
      request.kafkaVersion !== undefined && active !== request.kafkaVersion ? active : undefined;
    if (after === before && upgradeFrom === undefined) {
      progress(`broker ${broker.nodeId}: already configured; not restarted`);
      continue;
    }
    plans.push({ broker, host, properties: after === before ? undefined : after, upgradeFrom });
  }

  // Download and verify everywhere before changing anything anywhere.
  for (const plan of plans.filter((candidate) => candidate.upgradeFrom !== undefined)) {
    progress(`broker ${plan.broker.nodeId}: downloading and verifying Kafka ${request.kafkaVersion}`);
    await plan.host.writeFile(
      installScript,
      renderKafkaInstallScript({ root: cluster.outputs.hostRoot ?? "", mirror: request.kafkaMirror }),
      { mode: 0o755 },
    );
    const fetched = await plan.host.exec("bash", [installScript, "fetch", request.kafkaVersion!], {
      timeoutMs: 900_000,
    });
    if (fetched.exitCode !== 0) {
      const reason = fetched.stderr
        .trim()
        .split("\n")
        .at(-1)
        ?.replace(/^\S+ tickstream-kafka-install: /, "");
      throw new ServiceError(
        `broker ${plan.broker.nodeId}: cannot install Kafka ${request.kafkaVersion}: ${reason || `exit ${fetched.exitCode}`}; no broker was changed`,
      );
    }
  }

  const changed: RestartableBroker[] = [];
  for (const plan of plans) {
    if (plan.properties !== undefined) {
      await plan.host.writeFile(cluster.hostPath("/etc/kafka/server.properties"), plan.properties, {
        mode: 0o644,
      });
      progress(`broker ${plan.broker.nodeId}: server.properties rewritten`);
    }
    if (plan.upgradeFrom !== undefined) {
      const activated = await plan.host.exec("bash", [installScript, "activate", request.kafkaVersion!]);
      if (activated.exitCode !== 0)
        throw new ServiceError(
          `broker ${plan.broker.nodeId}: cannot switch to Kafka ${request.kafkaVersion}: ${activated.stderr.trim()}`,
        );
      progress(
        `broker ${plan.broker.nodeId}: Kafka ${plan.upgradeFrom || "(none)"} -> ${request.kafkaVersion} at its restart`,
      );
    }
    changed.push({ nodeId: plan.broker.nodeId, service: await cluster.brokerService(plan.host) });
  }
  if (changed.length > 0) {
    await rollingRestart(changed, { bootstrapServers: cluster.bootstrapServers, onProgress: progress });
  }
  return {
    settings: Object.fromEntries(request.settings),
    ...(request.kafkaVersion !== undefined ? { kafkaVersion: request.kafkaVersion } : {}),
    restarted: changed.map((broker) => broker.nodeId),
  };
}
