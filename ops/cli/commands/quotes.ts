/** `tickstream quotes invoke|logs --stack NAME`: the stack's scheduled quote poller (infra/components/quote-poller.ts). */
import type { Command } from "commander";
import { commandAction, withCommonOptions } from "../command.ts";
import { duration } from "../options.ts";
import type { Output } from "../output.ts";

export interface StackOptions {
  stack?: string;
  outputs?: string;
}

export type LogsOptions = StackOptions & { since: number; follow?: boolean };

/** What the subcommands do, loaded when one runs. */
const actions = () => import("../actions/quotes.ts");

function withStackOptions(command: Command): Command {
  return withCommonOptions(command)
    .option("--stack <name>", "the Pulumi stack (reads its outputs; needs the Pulumi CLI)")
    .option("--outputs <file>", "a stack's outputs (pulumi stack output --json)");
}

export function registerQuotesCommands(program: Command): void {
  const quotes = program.command("quotes").description("the stack's scheduled quote poller (a Lambda)");
  withStackOptions(
    quotes.command("invoke").description("run the poller once now and print what it produced"),
  ).action(
    commandAction(async (output: Output, options: StackOptions) => (await actions()).invoke(output, options)),
  );
  withStackOptions(
    quotes
      .command("logs")
      .description("the poller's CloudWatch logs")
      .option("--since <duration>", "how far back (e.g. 1h, 30m)", duration, 3_600_000)
      .option("--follow", "keep printing new lines until Ctrl-C"),
  ).action(
    commandAction(async (output: Output, options: LogsOptions) => (await actions()).logs(output, options)),
  );
}
