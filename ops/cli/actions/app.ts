/** What `tickstream app …` does (commands/app.ts registers it): the apps as services on a stack's brokers. */
import { ServiceError } from "../../../apps/shared/errors.ts";
import type { AppName } from "../../apps/app-names.ts";
import { deployApp, readEnvFile } from "../../apps/deploy.ts";
import { loadStackOutputs } from "../../environments/stack-outputs.ts";
import { RemoteCluster } from "../../remote/remote-cluster.ts";
import type { AppOptions } from "../commands/app.ts";
import { formatPairs, type Output } from "../output.ts";

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

export async function deploy(output: Output, options: AppOptions, which: AppName): Promise<void> {
  const extra = options.envFile ? await readEnvFile(options.envFile) : {};
  const result = await onHost(options, (cluster, host) => {
    output.progress(`bundling ${which} and uploading it to ${host.description}...`);
    return deployApp(cluster, host, which, extra);
  });
  output.result(
    result,
    `${which} deployed to ${result.host} (${Math.round(result.bundleBytes / 1024)} KiB, ${result.service}); start it with: tickstream app start ${which}`,
  );
}

export async function control(
  output: Output,
  options: AppOptions,
  which: AppName,
  verb: "start" | "stop" | "restart",
): Promise<void> {
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
}

export async function status(output: Output, options: AppOptions, which: AppName): Promise<number> {
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
}

export async function logs(output: Output, options: AppOptions, which: AppName): Promise<void> {
  const text = await onHost(options, async (cluster, host) =>
    (await serviceOf(cluster, host, which)).logs(options.lines ?? 50),
  );
  output.result({ lines: text.split("\n") }, text);
}
