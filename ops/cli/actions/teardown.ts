/** What `tickstream teardown` does (commands/teardown.ts registers it): stop the apps, destroy the stack, remove it. */
import { createInterface } from "node:readline/promises";
import { parseStackOutputs } from "../../environments/stack-outputs.ts";
import { RemoteCluster } from "../../remote/remote-cluster.ts";
import { openPulumiStack } from "../../teardown/pulumi-workspace.ts";
import { teardown } from "../../teardown/teardown.ts";
import type { TeardownCommandOptions } from "../commands/teardown.ts";
import type { Output } from "../output.ts";

async function askOnTerminal(question: string): Promise<string> {
  const prompt = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return await prompt.question(question);
  } finally {
    prompt.close();
  }
}

export async function run(output: Output, options: TeardownCommandOptions): Promise<void> {
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
}
