/** `tickstream teardown --stack NAME [--yes]`: stop the apps, destroy the stack, remove it. */
import type { Command } from "commander";
import { createInterface } from "node:readline/promises";
import { parseStackOutputs } from "../../environments/stack-outputs.ts";
import { RemoteCluster } from "../../remote/remote-cluster.ts";
import { openPulumiStack } from "../../teardown/pulumi-workspace.ts";
import { teardown } from "../../teardown/teardown.ts";
import { commandAction, withCommonOptions } from "../command.ts";
import type { Output } from "../output.ts";

interface TeardownCommandOptions {
  stack: string;
  yes?: boolean;
  identity?: string;
  knownHosts?: string;
}

async function askOnTerminal(question: string): Promise<string> {
  const prompt = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return await prompt.question(question);
  } finally {
    prompt.close();
  }
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
    commandAction(async (output: Output, options: TeardownCommandOptions) => {
      const workspace = await openPulumiStack(options.stack);
      const result = await teardown({
        workspace,
        yes: options.yes === true,
        confirm: process.stdin.isTTY ? askOnTerminal : undefined,
        onProgress: (message) => output.progress(message),
        stopApps: async (outputs) => {
          const cluster = new RemoteCluster(parseStackOutputs(outputs, `stack ${options.stack}`), {
            identityFile: options.identity,
            knownHostsFile: options.knownHosts,
          });
          try {
            return await cluster.stopApps();
          } finally {
            cluster.close();
          }
        },
      });
      output.result(
        result,
        `stack ${result.stack} destroyed and removed${result.lakeDataDeleted ? ", with the lake's data" : "; the lake's data was kept"}`,
      );
    }),
  );
}
