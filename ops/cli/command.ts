/** Glue between commander and command functions: each command returns an exit code; errors become one line. */
import type { Command } from "commander";
import { Output } from "./output.ts";

export interface CommandResult {
  exitCode: number;
}

/** The exit code of the last command run by `run()` in ops/cli/main.ts. */
export const lastResult: CommandResult = { exitCode: 0 };

/** Wraps a command function for commander: it gets the positional arguments, the options and an Output. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function commandAction<Options = any>(
  task: (output: Output, options: Options, ...args: string[]) => Promise<number | void>,
) {
  return async (...commanderArgs: unknown[]) => {
    const command = commanderArgs.at(-1) as Command;
    const options = command.optsWithGlobals() as Options;
    const positional = commanderArgs.slice(0, -2) as string[];
    const output = new Output({ json: (options as { json?: boolean }).json });
    lastResult.exitCode = (await task(output, options, ...positional)) ?? 0;
  };
}

/** Adds the options every command takes. */
export function withCommonOptions(command: Command): Command {
  return command.option("--json", "machine-readable output on stdout");
}
