/**
 * `tickstream broker start|stop|restart|status|logs`: the local broker, or with `--outputs` a stack's brokers
 * over SSH (`--broker N` or `--all`; `restart --all` is a rolling restart).
 */
import type { Command } from "commander";
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
import { renewCertificates } from "../../remote/renew-certificates.ts";
import { commandAction, withCommonOptions } from "../command.ts";
import { positiveInteger } from "../options.ts";
import { formatPairs, type Output } from "../output.ts";
import { untilStopped } from "../signals.ts";

interface RemoteOptions {
  outputs?: string;
  stack?: string;
  identity?: string;
  knownHosts?: string;
  broker?: number;
  all?: boolean;
}

function withRemoteOptions(command: Command): Command {
  return withCommonOptions(command)
    .option(
      "--stack <name>",
      "act on this Pulumi stack's brokers over SSH (reads its outputs; needs the Pulumi CLI)",
    )
    .option("--outputs <file>", "a stack's outputs (pulumi stack output --json): act on its brokers over SSH")
    .option("--identity <file>", "SSH private key (default: the SSH agent)")
    .option(
      "--known-hosts <file>",
      "pinned host keys, when the outputs have no brokerHostKeys (default: ~/.ssh/known_hosts)",
    )
    .option("--broker <n>", "which broker of the stack (1-based)", positiveInteger)
    .option("--all", "every broker of the stack");
}

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

async function remoteReconfigure(
  output: Output,
  options: RemoteOptions & { set: string[]; kafkaVersion?: string; kafkaMirror?: string },
): Promise<void> {
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
    const result = await renewCertificates(cluster, brokers, (message) => output.progress(message));
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

async function remoteLogs(
  output: Output,
  options: RemoteOptions & { lines: number; follow?: boolean },
): Promise<number | void> {
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

export function registerBrokerCommands(program: Command): void {
  const broker = program
    .command("broker")
    .description("manage the Kafka broker (local, or a stack's over SSH)");
  const local = (output: Output) => LocalEnvironment.fromEnvironment((message) => output.progress(message));

  withRemoteOptions(broker.command("start").description("start the broker and wait until it answers")).action(
    commandAction(async (output: Output, options: RemoteOptions) => {
      if (options.outputs || options.stack) return remoteLifecycle(output, options, "start");
      const result = await local(output).broker.start();
      output.result(
        { ...result, alreadyRunning: !result.started },
        result.started
          ? `broker started (pid ${result.pid})`
          : `broker is already running (pid ${result.pid}); nothing started`,
      );
    }),
  );
  withRemoteOptions(
    broker.command("stop").description("stop the broker (SIGTERM, then SIGKILL after 30 s)"),
  ).action(
    commandAction(async (output: Output, options: RemoteOptions) => {
      if (options.outputs || options.stack) return remoteLifecycle(output, options, "stop");
      const result = await local(output).broker.stop();
      output.result(
        result,
        result.stopped
          ? `broker stopped${result.killed ? " (killed after the grace period)" : ""}`
          : "broker was not running",
      );
    }),
  );
  withRemoteOptions(
    broker.command("restart").description("stop, then start the broker; with --all, a rolling restart"),
  ).action(
    commandAction(async (output: Output, options: RemoteOptions) => {
      if (options.outputs || options.stack) return remoteLifecycle(output, options, "restart");
      const result = await local(output).broker.restart();
      output.result(result, `broker restarted (pid ${result.pid})`);
    }),
  );
  withRemoteOptions(
    broker
      .command("status")
      .description(
        "is the broker running and answering; a stack's controller and under-replicated partitions",
      ),
  ).action(
    commandAction(async (output: Output, options: RemoteOptions) => {
      if (options.outputs || options.stack) return remoteStatus(output, options);
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
    }),
  );
  withRemoteOptions(
    broker
      .command("logs")
      .description("print the end of the broker's log")
      .option("-n, --lines <n>", "how many lines", positiveInteger, 50)
      .option("-f, --follow", "keep printing new lines (a stack's broker; Ctrl-C stops)"),
  ).action(
    commandAction(async (output: Output, options: RemoteOptions & { lines: number; follow?: boolean }) => {
      if (options.outputs || options.stack) return remoteLogs(output, options);
      const text = await local(output).broker.logs(options.lines);
      output.result({ lines: text.split("\n") }, text);
    }),
  );

  withRemoteOptions(
    broker
      .command("reconfigure")
      .description(
        "change Kafka settings or version of a stack's brokers over SSH, then restart them one at a time",
      )
      .option(
        "--set <key=value>",
        "a broker setting, e.g. log.retention.hours=72 (repeat for several)",
        (value: string, previous: string[] = []) => [...previous, value],
        [],
      )
      .option(
        "--kafka-version <version>",
        "move the brokers to this Kafka release (downloaded and SHA-512-verified on every broker first)",
      )
      .option(
        "--kafka-mirror <url>",
        "where the brokers download kafka_2.13-VERSION.tgz and its .sha512 (default https://archive.apache.org/dist/kafka)",
      ),
  ).action(
    commandAction(
      async (
        output: Output,
        options: RemoteOptions & { set: string[]; kafkaVersion?: string; kafkaMirror?: string },
      ) => {
        if (!options.outputs && !options.stack) {
          throw new ConfigError(
            "reconfigure acts on a stack's brokers: give --stack NAME or --outputs FILE (the local broker's settings are in .tickstream/settings.json)",
          );
        }
        await remoteReconfigure(output, options);
      },
    ),
  );

  withRemoteOptions(
    broker
      .command("renew-certificates")
      .description(
        "install each broker's keystore from its SSM parameter (renewed by pulumi up) and restart the brokers whose certificate changed, one at a time",
      ),
  ).action(
    commandAction(async (output: Output, options: RemoteOptions) => {
      if (!options.outputs && !options.stack)
        throw new ConfigError(
          "renew-certificates acts on a stack's brokers: give --stack NAME or --outputs FILE",
        );
      await remoteRenewCertificates(output, options);
    }),
  );
}
