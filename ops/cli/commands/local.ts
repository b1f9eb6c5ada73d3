/** `tickstream local up|down|status`: the local broker and S3 server together. */
import type { Command } from "commander";
import { commandAction, withCommonOptions } from "../command.ts";
import type { Output } from "../output.ts";

/** What the subcommands do, loaded when one runs. */
const actions = () => import("../actions/local.ts");

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
    commandAction(async (output: Output, options: { secure?: boolean }) =>
      (await actions()).up(output, options),
    ),
  );
  withCommonOptions(
    local
      .command("fetch")
      .description("fetch the Kafka jars from Maven Central now (otherwise done at the first start)"),
  ).action(commandAction(async (output: Output) => (await actions()).fetchJars(output)));
  withCommonOptions(local.command("down").description("stop the local broker and S3 server")).action(
    commandAction(async (output: Output) => (await actions()).down(output)),
  );
  withCommonOptions(
    local.command("status").description("show the local services and how to reach them"),
  ).action(commandAction(async (output: Output) => (await actions()).status(output)));
}
