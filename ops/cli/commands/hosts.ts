/** `tickstream hosts pin`: pin the brokers' SSH host keys from their console output, through the EC2 API. */
import type { Command } from "commander";
import { homedir } from "node:os";
import path from "node:path";
import { commandAction, withCommonOptions } from "../command.ts";
import type { Output } from "../output.ts";

export interface PinOptions {
  stack?: string;
  outputs?: string;
  knownHosts: string;
}

export function registerHostsCommands(program: Command): void {
  const hosts = program.command("hosts").description("the broker hosts' SSH host keys");
  withCommonOptions(
    hosts
      .command("pin")
      .description(
        "read each broker's host keys from its console output (EC2 API) and write them to known_hosts",
      )
      .option("--stack <name>", "the Pulumi stack (reads its outputs; needs the Pulumi CLI)")
      .option("--outputs <file>", "a stack's outputs (pulumi stack output --json)")
      .option(
        "--known-hosts <file>",
        "the known_hosts file to write",
        path.join(homedir(), ".ssh", "known_hosts"),
      ),
  ).action(
    commandAction(async (output: Output, options: PinOptions) =>
      (await import("../actions/hosts.ts")).pin(output, options),
    ),
  );
}
