/**
 * `tickstream broker start|stop|restart|status|logs`: the local broker, or with `--outputs` a stack's brokers
 * over SSH (`--broker N` or `--all`; `restart --all` is a rolling restart).
 */
import type { Command } from "commander";
import { commandAction, withCommonOptions } from "../command.ts";
import { positiveInteger } from "../options.ts";
import type { Output } from "../output.ts";

export interface RemoteOptions {
  outputs?: string;
  stack?: string;
  identity?: string;
  knownHosts?: string;
  broker?: number;
  all?: boolean;
}

export type LogsOptions = RemoteOptions & { lines: number; follow?: boolean };
export type ReconfigureOptions = RemoteOptions & {
  set: string[];
  kafkaVersion?: string;
  kafkaMirror?: string;
};

/** What the subcommands do, loaded when one runs. */
const actions = () => import("../actions/broker.ts");

function withRemoteOptions(command: Command): Command {
  return withCommonOptions(command)
    .option(
      "--stack <name>",
      "act on this Pulumi stack's brokers over SSH (reads its outputs; needs the Pulumi CLI)",
    )
    .option("--outputs <file>", "a stack's outputs (pulumi stack output --json): act on its brokers over SSH")
    .option("--identity <file>", "SSH private key (default: the SSH agent)")
    .option(
      "--known-hosts <file>",
      "pinned host keys, when the outputs have no brokerHostKeys (default: ~/.ssh/known_hosts)",
    )
    .option("--broker <n>", "which broker of the stack (1-based)", positiveInteger)
    .option("--all", "every broker of the stack");
}

export function registerBrokerCommands(program: Command): void {
  const broker = program
    .command("broker")
    .description("manage the Kafka broker (local, or a stack's over SSH)");

  withRemoteOptions(broker.command("start").description("start the broker and wait until it answers")).action(
    commandAction(async (output: Output, options: RemoteOptions) => (await actions()).start(output, options)),
  );
  withRemoteOptions(
    broker.command("stop").description("stop the broker (SIGTERM, then SIGKILL after 30 s)"),
  ).action(
    commandAction(async (output: Output, options: RemoteOptions) => (await actions()).stop(output, options)),
  );
  withRemoteOptions(
    broker.command("restart").description("stop, then start the broker; with --all, a rolling restart"),
  ).action(
    commandAction(async (output: Output, options: RemoteOptions) =>
      (await actions()).restart(output, options),
    ),
  );
  withRemoteOptions(
    broker
      .command("status")
      .description(
        "is the broker running and answering; a stack's controller and under-replicated partitions",
      ),
  ).action(
    commandAction(async (output: Output, options: RemoteOptions) =>
      (await actions()).status(output, options),
    ),
  );
  withRemoteOptions(
    broker
      .command("logs")
      .description("print the end of the broker's log")
      .option("-n, --lines <n>", "how many lines", positiveInteger, 50)
      .option("-f, --follow", "keep printing new lines (a stack's broker; Ctrl-C stops)"),
  ).action(
    commandAction(async (output: Output, options: LogsOptions) => (await actions()).logs(output, options)),
  );

  withRemoteOptions(
    broker
      .command("reconfigure")
      .description(
        "change Kafka settings or version of a stack's brokers over SSH, then restart them one at a time",
      )
      .option(
        "--set <key=value>",
        "a broker setting, e.g. log.retention.hours=72 (repeat for several)",
        (value: string, previous: string[] = []) => [...previous, value],
        [],
      )
      .option(
        "--kafka-version <version>",
        "move the brokers to this Kafka release (downloaded and SHA-512-verified on every broker first)",
      )
      .option(
        "--kafka-mirror <url>",
        "where the brokers download kafka_2.13-VERSION.tgz and its .sha512 (default https://archive.apache.org/dist/kafka)",
      ),
  ).action(
    commandAction(async (output: Output, options: ReconfigureOptions) =>
      (await actions()).reconfigure(output, options),
    ),
  );

  withRemoteOptions(
    broker
      .command("renew-certificates")
      .description(
        "install each broker's keystore from its SSM parameter (renewed by pulumi up) and restart the brokers whose certificate changed, one at a time",
      ),
  ).action(
    commandAction(async (output: Output, options: RemoteOptions) =>
      (await actions()).renewCertificates(output, options),
    ),
  );
}
