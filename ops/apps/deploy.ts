/**
 * Deploys an app service to a broker host: the esbuild bundle's files (and DuckDB's native packages for the
 * consumer) by SFTP, an environment file (mode 600; settings and any secrets live there, never on a command line), and a
 * systemd unit, or on a host without systemd a service description for the plain supervisor.
 */
import { execa } from "execa";
import { readFile, rm, stat } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { SINK_SERVICE_MEMORY } from "../../apps/consumer/service-memory.ts";
import { ConfigError, HostError } from "../../apps/shared/errors.ts";
import { KAFKA_SECURITY_ENV } from "../../apps/shared/kafka-security.ts";
import { isSecuredStack, readStackPassword } from "../environments/stack-security.ts";
import type { SshHost } from "../hosts/ssh-host.ts";
import type { RemoteCluster } from "../remote/remote-cluster.ts";
import { DEFAULT_STOP_GRACE_MS, type SupervisedService } from "../services/plain-supervisor.ts";
import { BUNDLE_FILES, bundleApp, NATIVE_PACKAGES, type AppName } from "./bundle.ts";

const NODE_MODULES = fileURLToPath(new URL("../../node_modules", import.meta.url));

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * An env file both of its readers take alike: systemd's `EnvironmentFile=` and the supervisor's `set -a && . FILE`
 * (sh). Each value is double-quoted, so a value with spaces (NODE_OPTIONS with two flags) stays one value: inside
 * double quotes both take every character as it is except `\`, `"`, `$` and `` ` ``, which each take a
 * backslash before them (systemd.exec(5), "EnvironmentFile="; POSIX shell, "Double-Quotes").
 */
export function envFileText(values: Record<string, string>): string {
  return (
    Object.entries(values)
      .map(([key, value]) => {
        if (!ENV_NAME.test(key)) throw new HostError(`"${key}" is not an environment variable's name`);
        if (/[\n\r]/.test(value)) throw new HostError(`environment value for ${key} spans lines`);
        return `${key}="${value.replace(/[\\"$`]/g, "\\$&")}"`;
      })
      .join("\n") + "\n"
  );
}

/**
 * A value as an env file holds it: in double quotes (as envFileText writes it, backslash escapes undone), in
 * single quotes, or bare (as written before values were quoted, and as an `--env-file` holds them).
 */
function envValue(text: string): string {
  const doubleQuoted = /^"((?:[^"\\]|\\.)*)"$/.exec(text);
  if (doubleQuoted) return doubleQuoted[1]!.replace(/\\([\\"$`])/g, "$1");
  const singleQuoted = /^'([^']*)'$/.exec(text);
  if (singleQuoted) return singleQuoted[1]!;
  return text;
}

/** KEY=VALUE lines (comments and blank lines skipped; a quoted value unquoted). */
export function parseEnvText(text: string, source: string): Record<string, string> {
  const entries: Record<string, string> = {};
  for (const line of text.split("\n")) {
    const trimmed = line.trim();
    if (!trimmed || trimmed.startsWith("#")) continue;
    const index = trimmed.indexOf("=");
    if (index <= 0) throw new HostError(`${source}: "${trimmed}" is not KEY=VALUE`);
    entries[trimmed.slice(0, index)] = envValue(trimmed.slice(index + 1));
  }
  return entries;
}

/** Reads KEY=VALUE lines (comments and blank lines skipped; a value in quotes taken without them). */
export async function readEnvFile(file: string): Promise<Record<string, string>> {
  return parseEnvText(await readFile(file, "utf8"), file);
}

async function uploadNativePackages(
  host: SshHost,
  app: AppName,
  appDir: string,
  workDir: string,
): Promise<void> {
  const packages = NATIVE_PACKAGES[app];
  if (packages.length === 0) return;
  const version = JSON.parse(await readFile(path.join(NODE_MODULES, packages[0]!, "package.json"), "utf8"))
    .version as string;
  const marker = path.posix.join(appDir, "node_modules", ".tickstream-native");
  if ((await host.readFile(marker))?.trim() === version) return;
  const archive = path.join(workDir, `${app}-native.tgz`);
  await execa("tar", ["-czf", archive, "-C", NODE_MODULES, ...packages]);
  const remoteArchive = path.posix.join(appDir, "native.tgz");
  await host.upload(archive, remoteArchive);
  await host.makeDirectory(path.posix.join(appDir, "node_modules"));
  const unpacked = await host.exec("tar", [
    "-xzf",
    remoteArchive,
    "-C",
    path.posix.join(appDir, "node_modules"),
  ]);
  if (unpacked.exitCode !== 0)
    throw new HostError(`${host.description}: unpacking DuckDB failed: ${unpacked.stderr.trim()}`);
  await host.removePath(remoteArchive);
  await host.writeFile(marker, `${version}\n`);
}

export function appEnvFile(cluster: RemoteCluster, app: AppName): string {
  return cluster.hostPath(`/etc/tickstream/${app}.env`);
}

/**
 * On a secured stack: the CA (a public file) and this app's own principal and password, nothing of any other
 * principal. The password comes from its SSM parameter; it goes only into the env file of mode 600.
 */
async function kafkaEnvironment(
  cluster: RemoteCluster,
  host: SshHost,
  app: AppName,
): Promise<Record<string, string>> {
  if (!isSecuredStack(cluster.outputs)) return {};
  const caFile = cluster.hostPath("/etc/tickstream/kafka-ca.pem");
  await host.writeFile(caFile, cluster.outputs.kafkaCaCertificate!, { mode: 0o644 });
  const credentials = await readStackPassword(cluster.outputs, app);
  return {
    [KAFKA_SECURITY_ENV.caFile]: caFile,
    [KAFKA_SECURITY_ENV.username]: credentials.username,
    [KAFKA_SECURITY_ENV.password]: credentials.password,
  };
}

/** Replaces KEY's value in an app's env file on its host (mode 600 kept); false when the app is not deployed. */
export async function updateAppEnvironment(
  cluster: RemoteCluster,
  host: SshHost,
  app: AppName,
  key: string,
  value: string,
): Promise<boolean> {
  const file = appEnvFile(cluster, app);
  const text = await host.readFile(file);
  if (text === undefined) return false;
  await host.writeFile(file, envFileText({ ...parseEnvText(text, file), [key]: value }), { mode: 0o600 });
  return true;
}

export interface DeployResult {
  readonly app: AppName;
  readonly host: string;
  readonly bundleBytes: number;
  readonly service: "systemd" | "supervisor";
}

export async function deployApp(
  cluster: RemoteCluster,
  host: SshHost,
  app: AppName,
  extraEnvironment: Record<string, string> = {},
): Promise<DeployResult> {
  const bundle = await bundleApp(app);
  const bundleDir = path.dirname(bundle);
  const appDir = cluster.hostPath(`/opt/tickstream/${app}`);
  const appFile = path.posix.join(appDir, "app.mjs");
  let bundleBytes = 0;
  try {
    // Every file of the bundle into the app's directory: the consumer's sink starts its encode worker from
    // encode-worker.mjs beside app.mjs.
    for (const file of BUNDLE_FILES[app]) {
      const local = path.join(bundleDir, file);
      await host.upload(local, path.posix.join(appDir, file));
      bundleBytes += (await stat(local)).size;
    }
    await uploadNativePackages(host, app, appDir, bundleDir);
  } finally {
    await rm(bundleDir, { recursive: true, force: true });
  }

  const envFile = appEnvFile(cluster, app);
  await host.writeFile(
    envFile,
    envFileText({
      TICKSTREAM_BOOTSTRAP_SERVERS: internalBootstrapServers(cluster.outputs),
      TICKSTREAM_BUCKET: cluster.outputs.lakeBucket,
      AWS_REGION: cluster.outputs.region,
      // The lake sink commits its Iceberg appends through the stack's Glue database (apps/iceberg/glue-catalog.ts),
      // and runs with the memory settings that hold it within its bound (service-memory.ts; --env-file overrides).
      ...(app === "consumer"
        ? { TICKSTREAM_ICEBERG_CATALOG: `glue:${cluster.outputs.glueDatabase}`, ...SINK_SERVICE_MEMORY }
        : {}),
      ...extraEnvironment,
      ...(await kafkaEnvironment(cluster, host, app)),
    }),
    { mode: 0o600 },
  );

  const systemd = !cluster.outputs.hostRoot && (await host.pathExists("/run/systemd/system"));
  if (systemd) {
    await host.writeFile(
      `/etc/systemd/system/tickstream-${app}.service`,
      [
        "[Unit]",
        `Description=tickstream ${app}`,
        "After=network-online.target kafka.service",
        "",
        "[Service]",
        `EnvironmentFile=${envFile}`,
        `ExecStart=/usr/local/bin/node ${appFile}`,
        `WorkingDirectory=${appDir}`,
        app === "producer" ? "Restart=no" : "Restart=on-failure",
        // The app bounds its own graceful stop (TICKSTREAM_STOP_TIMEOUT_MS, 10 s by default); systemd kills it
        // only past this, as the supervisor does (DEFAULT_STOP_GRACE_MS).
        `TimeoutStopSec=${DEFAULT_STOP_GRACE_MS / 1000}`,
        "RestartSec=5",
        "",
        "[Install]",
        "WantedBy=multi-user.target",
        "",
      ].join("\n"),
    );
    await host.exec("systemctl", ["daemon-reload"]);
    return { app, host: host.description, bundleBytes, service: "systemd" };
  }
  const logDir = cluster.hostPath("/var/log/tickstream");
  const descriptor: SupervisedService = {
    name: `tickstream-${app}`,
    command: "sh",
    // The env file is sourced by the shell, so no value of it appears in a process's arguments.
    args: ["-c", 'set -a && . "$0" && exec node "$1"', envFile, appFile],
    cwd: appDir,
    pidFile: cluster.hostPath(`/var/lib/tickstream/apps/${app}.pid`),
    logFile: path.posix.join(logDir, `${app}.log`),
    commandMarker: appFile,
  };
  await host.writeFile(
    cluster.hostPath(`/var/lib/tickstream/apps/${app}.service.json`),
    JSON.stringify(descriptor, null, 2),
  );
  return { app, host: host.description, bundleBytes, service: "supervisor" };
}

/**
 * Apps on the brokers connect to the INTERNAL listener: traffic to an Elastic IP from inside the VPC leaves
 * through the internet gateway and comes back from the Elastic IP, which the security group does not admit.
 */
function internalBootstrapServers(outputs: { internalBootstrapServers?: string }): string {
  if (!outputs.internalBootstrapServers) {
    throw new ConfigError(
      "stack output internalBootstrapServers is missing: apps on the brokers reach Kafka through the internal listener; run `pulumi up` to add it",
    );
  }
  return outputs.internalBootstrapServers;
}
