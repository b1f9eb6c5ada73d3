/** `tickstream local up|down|status`: the local broker and S3 server together. */
import type { Command } from "commander";
import { LocalEnvironment, type LocalStatus } from "../../local/environment.ts";
import { commandAction, withCommonOptions } from "../command.ts";
import { formatPairs, type Output } from "../output.ts";

export function describeLocal(status: LocalStatus): string {
  const state = (service: { running: boolean; pid: number | null }) =>
    service.running ? `running (pid ${service.pid})` : "stopped";
  return formatPairs([
    ["broker", `${state(status.broker)}  ${status.bootstrapServers}  ${status.security}`],
    ...(status.caFile ? ([["ca", status.caFile]] as [string, string][]) : []),
    ["s3", `${state(status.s3)}  ${status.s3Endpoint}  bucket ${status.bucket}`],
  ]);
}

export function registerLocalCommands(program: Command): void {
  const local = program.command("local").description("run the pipeline's services on this machine");
  withCommonOptions(
    local
      .command("up")
      .description("start the local Kafka broker and S3 server (kept up until `local down`)")
      .option(
        "--secure",
        "a SASL_SSL broker (SCRAM-SHA-512, TLS with a CA made under the home, ACLs per app); the home stays secure",
      ),
  ).action(
    commandAction(async (output: Output, options: { secure?: boolean }) => {
      const environment = LocalEnvironment.fromEnvironment((message) => output.progress(message));
      const status = await environment.up({ secure: options.secure === true });
      output.result(status, `${describeLocal(status)}\nUp; stop with: tickstream local down`);
    }),
  );
  withCommonOptions(
    local
      .command("fetch")
      .description("fetch the Kafka jars from Maven Central now (otherwise done at the first start)"),
  ).action(
    commandAction(async (output: Output) => {
      const environment = LocalEnvironment.fromEnvironment((message) => output.progress(message));
      const { distribution } = await environment.broker.fetchDistribution();
      output.result(
        distribution,
        `Apache Kafka ${distribution.version} jars ready in ${distribution.libsDir}`,
      );
    }),
  );
  withCommonOptions(local.command("down").description("stop the local broker and S3 server")).action(
    commandAction(async (output: Output) => {
      const environment = LocalEnvironment.fromEnvironment();
      const stopped = await environment.down();
      output.result(
        stopped,
        `broker ${stopped.broker ? "stopped" : "was not running"}, s3 ${stopped.s3 ? "stopped" : "was not running"}`,
      );
    }),
  );
  withCommonOptions(
    local.command("status").description("show the local services and how to reach them"),
  ).action(
    commandAction(async (output: Output) => {
      const status = await LocalEnvironment.fromEnvironment().status();
      output.result(status, describeLocal(status));
    }),
  );
}
