/**
 * The `tickstream` command line. Importing this module runs nothing; `run(argv)` does and returns the exit code.
 * Each command's module (commands/) registers it, its options and help with light imports only; what the command
 * does (actions/) is imported when it runs, so a process carries the code of its own command alone
 * (test/ops/cli/lazy-commands.test.ts).
 */
import { Command, CommanderError, InvalidArgumentError } from "commander";
import { errorMessage } from "../../apps/shared/errors.ts";
import { lastResult } from "./command.ts";
import { registerAppCommands } from "./commands/app.ts";
import { registerBenchCommand } from "./commands/bench.ts";
import { registerHostsCommands } from "./commands/hosts.ts";
import { registerTeardownCommand } from "./commands/teardown.ts";
import { registerBrokerCommands } from "./commands/broker.ts";
import { registerCrawlCommand } from "./commands/crawl.ts";
import { registerCredentialsCommands } from "./commands/credentials.ts";
import { registerQueryCommand } from "./commands/query.ts";
import { registerConsumeCommand } from "./commands/consume.ts";
import { registerDashboardCommand } from "./commands/dashboard.ts";
import { registerDemoCommand } from "./commands/demo.ts";
import { registerLakeCommands } from "./commands/lake.ts";
import { registerLocalCommands } from "./commands/local.ts";
import { registerProduceCommand } from "./commands/produce.ts";
import { registerQuotesCommands } from "./commands/quotes.ts";
import { registerRollupCommand } from "./commands/rollup.ts";
import { registerTopicCommands } from "./commands/topic.ts";

export function buildProgram(): Command {
  const program = new Command("tickstream")
    .description(
      "Run a real-time stock-tick pipeline: Kafka -> S3 Parquet lake -> catalog -> SQL, locally or on AWS",
    )
    .showHelpAfterError("(run with --help for usage)")
    .exitOverride();
  registerDemoCommand(program);
  registerLocalCommands(program);
  registerBrokerCommands(program);
  registerTopicCommands(program);
  registerProduceCommand(program);
  registerConsumeCommand(program);
  registerRollupCommand(program);
  registerDashboardCommand(program);
  registerCrawlCommand(program);
  registerLakeCommands(program);
  registerQueryCommand(program);
  registerHostsCommands(program);
  registerQuotesCommands(program);
  registerAppCommands(program);
  registerCredentialsCommands(program);
  registerTeardownCommand(program);
  registerBenchCommand(program);
  for (const command of program.commands) {
    command.exitOverride();
    for (const sub of command.commands) sub.exitOverride();
  }
  return program;
}

export async function run(argv: readonly string[]): Promise<number> {
  lastResult.exitCode = 0;
  try {
    await buildProgram().parseAsync([...argv]);
    return lastResult.exitCode;
  } catch (error) {
    // A bad positional argument checked inside a command (`app deploy foo`): commander did not print it.
    if (error instanceof InvalidArgumentError) {
      process.stderr.write(`tickstream: ${error.message}\n`);
      return 1;
    }
    // Commander's own parse errors, already printed with the usage hint.
    if (error instanceof CommanderError) return error.exitCode;
    const message = errorMessage(error).split("\n");
    process.stderr.write(`tickstream: ${message[0]}\n`);
    if (message.length > 1) process.stderr.write(`${message.slice(1).join("\n")}\n`);
    if (process.env.TICKSTREAM_DEBUG) console.error(error);
    return 1;
  }
}
