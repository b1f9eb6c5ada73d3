/** `tickstream app deploy|start|stop|restart|status|logs producer|consumer|rollup`: the apps as services on a stack's brokers. */
import { InvalidArgumentError, type Command } from "commander";
import { APP_NAMES, type AppName } from "../../apps/app-names.ts";
import { commandAction, withCommonOptions } from "../command.ts";
import { positiveInteger } from "../options.ts";
import type { Output } from "../output.ts";

export interface AppOptions {
  stack?: string;
  outputs?: string;
  identity?: string;
  knownHosts?: string;
  broker?: number;
  envFile?: string;
  lines?: number;
}

/** What the subcommands do, loaded when one runs. */
const actions = () => import("../actions/app.ts");

function appName(value: string): AppName {
  if (!(APP_NAMES as readonly string[]).includes(value))
    throw new InvalidArgumentError(`expected producer, consumer or rollup, got "${value}"`);
  return value as AppName;
}

function appCommand(parent: Command, verb: string, description: string): Command {
  return withCommonOptions(parent.command(`${verb} <app>`).description(description))
    .option("--stack <name>", "the Pulumi stack (reads its outputs; needs the Pulumi CLI)")
    .option("--outputs <file>", "a stack's outputs (pulumi stack output --json)")
    .option("--identity <file>", "SSH private key (default: the SSH agent)")
    .option("--known-hosts <file>", "pinned host keys, when the outputs have no brokerHostKeys")
    .option("--broker <n>", "which broker host (default 1)", positiveInteger, 1);
}

export function registerAppCommands(program: Command): void {
  const app = program
    .command("app")
    .description("deploy and run the producer and consumer on a stack's broker hosts");

  appCommand(app, "deploy", "bundle the app, upload it by SFTP, write its environment file and service")
    .option(
      "--env-file <file>",
      "extra KEY=VALUE settings for the app's environment file (e.g. TICKSTREAM_RATE)",
    )
    .action(
      commandAction(async (output: Output, options: AppOptions, name: string) => {
        const which = appName(name);
        return (await actions()).deploy(output, options, which);
      }),
    );
  for (const verb of ["start", "stop", "restart"] as const) {
    appCommand(app, verb, `${verb} the app's service`).action(
      commandAction(async (output: Output, options: AppOptions, name: string) => {
        const which = appName(name);
        return (await actions()).control(output, options, which, verb);
      }),
    );
  }
  appCommand(app, "status", "is the app's service running").action(
    commandAction(async (output: Output, options: AppOptions, name: string) => {
      const which = appName(name);
      return (await actions()).status(output, options, which);
    }),
  );
  appCommand(app, "logs", "print the end of the app's log")
    .option("-n, --lines <n>", "how many lines", positiveInteger, 50)
    .action(
      commandAction(async (output: Output, options: AppOptions, name: string) => {
        const which = appName(name);
        return (await actions()).logs(output, options, which);
      }),
    );
}
