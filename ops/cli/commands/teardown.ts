/** `tickstream teardown --stack NAME [--yes]`: stop the apps, destroy the stack, remove it. */
import type { Command } from "commander";
import { commandAction, withCommonOptions } from "../command.ts";
import type { Output } from "../output.ts";

export interface TeardownCommandOptions {
  stack: string;
  yes?: boolean;
  identity?: string;
  knownHosts?: string;
}

export function registerTeardownCommand(program: Command): void {
  withCommonOptions(
    program
      .command("teardown")
      .description("stop the apps, destroy a stack and remove it (asks you to type its name unless --yes)")
      .requiredOption("--stack <name>", "the Pulumi stack to destroy")
      .option("--yes", "do not ask for confirmation")
      .option("--identity <file>", "SSH private key for stopping the apps (default: the SSH agent)")
      .option("--known-hosts <file>", "pinned host keys, when the outputs have no brokerHostKeys"),
  ).action(
    commandAction(async (output: Output, options: TeardownCommandOptions) =>
      (await import("../actions/teardown.ts")).run(output, options),
    ),
  );
}
