/** `tickstream hosts pin`: pin the brokers' SSH host keys from their console output, through the EC2 API. */
import type { Command } from "commander";
import { homedir } from "node:os";
import path from "node:path";
import { loadStackOutputs } from "../../environments/stack-outputs.ts";
import { pinBrokerHostKeys } from "../../remote/host-key-pinning.ts";
import { commandAction, withCommonOptions } from "../command.ts";
import { formatPairs, type Output } from "../output.ts";

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
    commandAction(
      async (output: Output, options: { stack?: string; outputs?: string; knownHosts: string }) => {
        const pinned = await pinBrokerHostKeys(await loadStackOutputs(options), options.knownHosts);
        output.result(
          pinned,
          formatPairs(
            pinned.map((host) => [
              `broker ${host.nodeId} (${host.address}, ${host.instanceId})`,
              host.fingerprints.join(" "),
            ]),
          ) + `\nwritten to ${options.knownHosts}`,
        );
      },
    ),
  );
}
