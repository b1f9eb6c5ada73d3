/** What `tickstream local up|fetch|down|status` does (commands/local.ts registers it). */
import { LocalEnvironment, type LocalStatus } from "../../local/environment.ts";
import { formatPairs, type Output } from "../output.ts";

function describeLocal(status: LocalStatus): string {
  const state = (service: { running: boolean; pid: number | null }) =>
    service.running ? `running (pid ${service.pid})` : "stopped";
  return formatPairs([
    ["broker", `${state(status.broker)}  ${status.bootstrapServers}  ${status.security}`],
    ...(status.caFile ? ([["ca", status.caFile]] as [string, string][]) : []),
    ["s3", `${state(status.s3)}  ${status.s3Endpoint}  bucket ${status.bucket}`],
  ]);
}

export async function up(output: Output, options: { secure?: boolean }): Promise<void> {
  const environment = LocalEnvironment.fromEnvironment((message) => output.progress(message));
  const status = await environment.up({ secure: options.secure === true });
  output.result(status, `${describeLocal(status)}\nUp; stop with: tickstream local down`);
}

export async function fetchJars(output: Output): Promise<void> {
  const environment = LocalEnvironment.fromEnvironment((message) => output.progress(message));
  const { distribution } = await environment.broker.fetchDistribution();
  output.result(distribution, `Apache Kafka ${distribution.version} jars ready in ${distribution.libsDir}`);
}

export async function down(output: Output): Promise<void> {
  const environment = LocalEnvironment.fromEnvironment();
  const stopped = await environment.down();
  output.result(
    stopped,
    `broker ${stopped.broker ? "stopped" : "was not running"}, s3 ${stopped.s3 ? "stopped" : "was not running"}`,
  );
}

export async function status(output: Output): Promise<void> {
  const status = await LocalEnvironment.fromEnvironment().status();
  output.result(status, describeLocal(status));
}
