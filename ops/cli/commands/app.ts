/** `tickstream app deploy|start|stop|restart|status|logs producer|consumer|rollup`: the apps as services on a stack's brokers. */
import { InvalidArgumentError, type Command } from "commander";
import { ServiceError } from "../../../apps/shared/errors.ts";
import { APP_NAMES, type AppName } from "../../apps/bundle.ts";
import { deployApp, readEnvFile } from "../../apps/deploy.ts";
import { loadStackOutputs } from "../../environments/stack-outputs.ts";
import { RemoteCluster } from "../../remote/remote-cluster.ts";
import { commandAction, withCommonOptions } from "../command.ts";
import { positiveInteger } from "../options.ts";
import { formatPairs, type Output } from "../output.ts";

interface AppOptions {
  stack?: string;
  outputs?: string;
  identity?: string;
  knownHosts?: string;
  broker?: number;
  envFile?: string;
  lines?: number;
}

function appName(value: string): AppName {
  if (!(APP_NAMES as readonly string[]).includes(value))
    throw new InvalidArgumentError(`expected producer, consumer or rollup, got "${value}"`);
  return value as AppName;
}

function appCommand(parent: Command, verb: string, description: string): Command {
  return withCommonOptions(parent.command(`${verb} <app>`).description(description))
    .option("--stack <name>", "the Pulumi stack (reads its outputs; needs the Pulumi CLI)")
    .option("--outputs <file>", "a stack's outputs (pulumi stack output --json)")
    .option("--identity <file>", "SSH private key (default: the SSH agent)")
    .option("--known-hosts <file>", "pinned host keys, when the outputs have no brokerHostKeys")
    .option("--broker <n>", "which broker host (default 1)", positiveInteger, 1);
}

async function onHost<T>(
  options: AppOptions,
  task: (cluster: RemoteCluster, host: Awaited<ReturnType<RemoteCluster["connect"]>>) => Promise<T>,
) {
  const cluster = new RemoteCluster(await loadStackOutputs(options), {
    identityFile: options.identity,
    knownHostsFile: options.knownHosts,
  });
  try {
    const [broker] = cluster.select({ broker: options.broker });
    return await task(cluster, await cluster.connect(broker!));
  } finally {
    cluster.close();
  }
}

async function serviceOf(
  cluster: RemoteCluster,
  host: Awaited<ReturnType<RemoteCluster["connect"]>>,
  app: AppName,
) {
  const service = await cluster.appService(host, app);
  if (!service)
    throw new ServiceError(`${app} is not deployed on ${host.description}: run tickstream app deploy ${app}`);
  return service;
}

export function registerAppCommands(program: Command): void {
  const app = program
    .command("app")
    .description("deploy and run the producer and consumer on a stack's broker hosts");

  appCommand(app, "deploy", "bundle the app, upload it by SFTP, write its environment file and service")
    .option(
      "--env-file <file>",
      "extra KEY=VALUE settings for the app's environment file (e.g. TICKSTREAM_RATE)",
    )
    .action(
      commandAction(async (output: Output, options: AppOptions, name: string) => {
        const which = appName(name);
        const extra = options.envFile ? await readEnvFile(options.envFile) : {};
        const result = await onHost(options, (cluster, host) => {
          output.progress(`bundling ${which} and uploading it to ${host.description}...`);
          return deployApp(cluster, host, which, extra);
        });
        output.result(
          result,
          `${which} deployed to ${result.host} (${Math.round(result.bundleBytes / 1024)} KiB, ${result.service}); start it with: tickstream app start ${which}`,
        );
      }),
    );
  for (const verb of ["start", "stop", "restart"] as const) {
    appCommand(app, verb, `${verb} the app's service`).action(
      commandAction(async (output: Output, options: AppOptions, name: string) => {
        const which = appName(name);
        const result = await onHost(options, async (cluster, host) => {
          const service = await serviceOf(cluster, host, which);
          if (verb === "stop") return service.stop();
          if (verb === "restart") await service.stop();
          return service.start();
        });
        const text =
          "started" in result
            ? result.started
              ? `${which} started (pid ${result.pid})`
              : `${which} is already running (pid ${result.pid}); nothing started`
            : result.stopped
              ? `${which} stopped`
              : `${which} was not running`;
        output.result(result, text);
      }),
    );
  }
  appCommand(app, "status", "is the app's service running").action(
    commandAction(async (output: Output, options: AppOptions, name: string) => {
      const which = appName(name);
      const status = await onHost(options, async (cluster, host) =>
        (await serviceOf(cluster, host, which)).status(),
      );
      output.result(
        status,
        formatPairs([
          [
            which,
            status.running ? `running (pid ${status.pid}, up ${status.uptimeSeconds ?? "?"} s)` : "stopped",
          ],
        ]),
      );
      return status.running ? 0 : 3;
    }),
  );
  appCommand(app, "logs", "print the end of the app's log")
    .option("-n, --lines <n>", "how many lines", positiveInteger, 50)
    .action(
      commandAction(async (output: Output, options: AppOptions, name: string) => {
        const which = appName(name);
        const text = await onHost(options, async (cluster, host) =>
          (await serviceOf(cluster, host, which)).logs(options.lines ?? 50),
        );
        output.result({ lines: text.split("\n") }, text);
      }),
    );
}
