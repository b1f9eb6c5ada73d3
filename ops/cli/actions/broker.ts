/** What `tickstream broker …` does (commands/broker.ts registers it): the local broker, or a stack's over SSH. */
import { ConfigError, errorMessage } from "../../../apps/shared/errors.ts";
import { loadStackOutputs } from "../../environments/stack-outputs.ts";
import { useStackSecurity } from "../../environments/stack-security.ts";
import { clusterHealth } from "../../kafka/cluster-health.ts";
import { parseSettings } from "../../kafka/reconfigure.ts";
import { rollingRestart, waitUntilHealthy } from "../../kafka/rolling-restart.ts";
import {
  activeKafkaVersion,
  parseKafkaVersion,
  reconfigureBrokers,
} from "../../remote/reconfigure-brokers.ts";
import { LocalEnvironment } from "../../local/environment.ts";
import { RemoteCluster } from "../../remote/remote-cluster.ts";
import { renewCertificates as renewBrokerCertificates } from "../../remote/renew-certificates.ts";
import type { LogsOptions, ReconfigureOptions, RemoteOptions } from "../commands/broker.ts";
import { formatPairs, type Output } from "../output.ts";
import { untilStopped } from "../signals.ts";

/** Runs `task` against the stack's cluster, closing every SSH connection after. */
async function withCluster<T>(
  options: RemoteOptions,
  task: (cluster: RemoteCluster) => Promise<T>,
): Promise<T> {
  const outputs = await loadStackOutputs(options);
  // Health checks and status connect to the brokers as ops (TLS and SCRAM on a secured stack).
  await useStackSecurity(outputs);
  const cluster = new RemoteCluster(outputs, {
    identityFile: options.identity,
    knownHostsFile: options.knownHosts,
  });
  try {
    return await task(cluster);
  } finally {
    cluster.close();
  }
}

async function remoteLifecycle(
  output: Output,
  options: RemoteOptions,
  verb: "start" | "stop" | "restart",
): Promise<void> {
  await withCluster(options, async (cluster) => {
    const brokers = cluster.select(options);
    if (verb === "restart" && brokers.length > 1) {
      const restartable = await Promise.all(
        brokers.map(async (broker) => ({
          nodeId: broker.nodeId,
          service: await cluster.brokerService(await cluster.connect(broker)),
        })),
      );
      await rollingRestart(restartable, {
        bootstrapServers: cluster.bootstrapServers,
        onProgress: (message) => output.progress(message),
      });
      output.result(
        { restarted: brokers.map((broker) => broker.nodeId) },
        `rolling restart of brokers ${brokers.map((broker) => broker.nodeId).join(", ")} done`,
      );
      return;
    }
    const results = [];
    for (const broker of brokers) {
      const service = await cluster.brokerService(await cluster.connect(broker));
      if (verb === "stop") {
        const stopped = await service.stop();
        output.progress(`broker ${broker.nodeId}: ${stopped.stopped ? "stopped" : "was not running"}`);
        results.push({ nodeId: broker.nodeId, ...stopped });
      } else {
        if (verb === "restart") await service.stop();
        const started = await service.start();
        output.progress(
          `broker ${broker.nodeId}: ${started.started ? `started (pid ${started.pid})` : `already running (pid ${started.pid}); nothing started`}`,
        );
        results.push({ nodeId: broker.nodeId, ...started });
      }
    }
    if (verb !== "stop") {
      // All first, then wait: a quorum answers only once a majority of its controllers is up.
      for (const broker of brokers) await waitUntilHealthy(cluster.bootstrapServers, broker.nodeId, 180_000);
      output.progress("the cluster answers and nothing is under-replicated");
    }
    output.result({ brokers: results }, `${verb}: done`);
  });
}

async function remoteReconfigure(output: Output, options: ReconfigureOptions): Promise<void> {
  const request = {
    settings: options.set.length > 0 ? parseSettings(options.set) : new Map<string, string>(),
    kafkaVersion: options.kafkaVersion === undefined ? undefined : parseKafkaVersion(options.kafkaVersion),
    kafkaMirror: options.kafkaMirror,
  };
  await withCluster(options, async (cluster) => {
    const brokers = options.broker === undefined ? cluster.brokers : cluster.select(options);
    const result = await reconfigureBrokers(cluster, brokers, request, (message) => output.progress(message));
    output.result(
      result,
      result.restarted.length > 0
        ? `reconfigured and restarted brokers ${result.restarted.join(", ")}, one at a time`
        : "nothing to change",
    );
  });
}

async function remoteRenewCertificates(output: Output, options: RemoteOptions): Promise<void> {
  await withCluster(options, async (cluster) => {
    const brokers = options.broker === undefined ? cluster.brokers : cluster.select(options);
    const result = await renewBrokerCertificates(cluster, brokers, (message) => output.progress(message));
    output.result(
      result,
      result.renewed.length > 0
        ? `new certificates in service on brokers ${result.renewed.join(", ")} (restarted one at a time)`
        : "every broker already has the certificate its parameter holds; nothing restarted",
    );
  });
}

async function remoteStatus(output: Output, options: RemoteOptions): Promise<number> {
  return withCluster(options, async (cluster) => {
    const brokers = options.broker === undefined ? cluster.brokers : cluster.select(options);
    const statuses: {
      nodeId: number;
      address: string;
      running: boolean;
      pid?: number;
      uptimeSeconds?: number;
      advertisedListeners?: string;
      kafkaVersion?: string;
      error?: string;
    }[] = [];
    for (const broker of brokers) {
      try {
        const host = await cluster.connect(broker);
        const status = await (await cluster.brokerService(host)).status();
        statuses.push({
          nodeId: broker.nodeId,
          address: broker.address,
          ...status,
          advertisedListeners: await cluster.advertisedListeners(host),
          kafkaVersion: (await activeKafkaVersion(cluster, host)) || undefined,
        });
      } catch (error) {
        // A host that cannot be reached is part of the answer; a setting the user must fix is not.
        if (error instanceof ConfigError) throw error;
        statuses.push({
          nodeId: broker.nodeId,
          address: broker.address,
          running: false,
          error: errorMessage(error),
        });
      }
    }
    const health = await clusterHealth(cluster.bootstrapServers).catch((error) => ({
      error: errorMessage(error),
    }));
    const lines = statuses.map((status) => {
      const state = status.error
        ? `unreachable: ${status.error}`
        : status.running
          ? `running (pid ${status.pid}, up ${status.uptimeSeconds ?? "?"} s)`
          : "stopped";
      const listeners =
        (status.kafkaVersion ? `  Kafka ${status.kafkaVersion}` : "") +
        (status.advertisedListeners ? `  ${status.advertisedListeners}` : "");
      return [`broker ${status.nodeId} (${status.address})`, `${state}${listeners}`] as const;
    });
    const clusterLines: [string, unknown][] =
      "error" in health
        ? [["cluster", `not answering: ${health.error}`]]
        : [
            ["controller", health.controller ?? "none"],
            ["brokers in cluster", health.brokers.map((broker) => broker.nodeId).join(", ")],
            ["under-replicated", health.underReplicatedPartitions],
          ];
    output.result({ brokers: statuses, cluster: health }, formatPairs([...lines, ...clusterLines]));
    return statuses.every((status) => status.running) ? 0 : 3;
  });
}

async function remoteLogs(output: Output, options: LogsOptions): Promise<number | void> {
  // Following runs until a signal: stopping is bounded, whatever the SSH connection is doing (see signals.ts).
  const lifecycle = options.follow ? untilStopped(output, "closing the log stream") : undefined;
  try {
    await withCluster(options, async (cluster) => {
      const [broker] = cluster.select(options);
      const name = `broker ${broker!.nodeId} (${broker!.address})`;
      lifecycle?.doing(`connecting to ${name} over SSH`);
      if (lifecycle) output.progress(`connecting to ${name} over SSH...`);
      const host = await cluster.connect(broker!);
      const logFile = cluster.hostPath("/var/log/kafka/server.log");
      if (!lifecycle) {
        const text = await host.tail(logFile, options.lines);
        output.result({ lines: text.split("\n") }, text);
        return;
      }
      lifecycle.running(`following ${logFile} on ${name}`);
      output.progress(`following ${logFile} on ${name} (Ctrl-C to stop)`);
      await host.stream(
        "tail",
        ["-n", String(options.lines), "-F", logFile],
        (chunk) => process.stdout.write(chunk),
        lifecycle.stop,
      );
      lifecycle.doing(`closing the SSH session to ${name}`);
    });
  } finally {
    lifecycle?.dispose();
  }
  return lifecycle?.finish();
}

const isRemote = (options: RemoteOptions) => Boolean(options.outputs || options.stack);
const local = (output: Output) => LocalEnvironment.fromEnvironment((message) => output.progress(message));

export async function start(output: Output, options: RemoteOptions): Promise<void> {
  if (isRemote(options)) return remoteLifecycle(output, options, "start");
  const result = await local(output).broker.start();
  output.result(
    { ...result, alreadyRunning: !result.started },
    result.started
      ? `broker started (pid ${result.pid})`
      : `broker is already running (pid ${result.pid}); nothing started`,
  );
}

export async function stop(output: Output, options: RemoteOptions): Promise<void> {
  if (isRemote(options)) return remoteLifecycle(output, options, "stop");
  const result = await local(output).broker.stop();
  output.result(
    result,
    result.stopped
      ? `broker stopped${result.killed ? " (killed after the grace period)" : ""}`
      : "broker was not running",
  );
}

export async function restart(output: Output, options: RemoteOptions): Promise<void> {
  if (isRemote(options)) return remoteLifecycle(output, options, "restart");
  const result = await local(output).broker.restart();
  output.result(result, `broker restarted (pid ${result.pid})`);
}

export async function status(output: Output, options: RemoteOptions): Promise<number> {
  if (isRemote(options)) return remoteStatus(output, options);
  const status = await local(output).broker.status();
  const answering = status.cluster
    ? `yes (cluster ${status.cluster.clusterId}, controller ${status.cluster.controller})`
    : "no";
  output.result(
    status,
    formatPairs([
      ["running", status.running ? `yes (pid ${status.pid}, up ${status.uptimeSeconds ?? "?"} s)` : "no"],
      ["answering", answering],
      ["bootstrap", status.bootstrapServers],
    ]),
  );
  return status.running ? 0 : 3;
}

export async function logs(output: Output, options: LogsOptions): Promise<number | void> {
  if (isRemote(options)) return remoteLogs(output, options);
  const text = await local(output).broker.logs(options.lines);
  output.result({ lines: text.split("\n") }, text);
}

export async function reconfigure(output: Output, options: ReconfigureOptions): Promise<void> {
  if (!isRemote(options)) {
    throw new ConfigError(
      "reconfigure acts on a stack's brokers: give --stack NAME or --outputs FILE (the local broker's settings are in .tickstream/settings.json)",
    );
  }
  await remoteReconfigure(output, options);
}

export async function renewCertificates(output: Output, options: RemoteOptions): Promise<void> {
  if (!isRemote(options))
    throw new ConfigError(
      "renew-certificates acts on a stack's brokers: give --stack NAME or --outputs FILE",
    );
  await remoteRenewCertificates(output, options);
}
