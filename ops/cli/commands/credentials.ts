/** `tickstream credentials rotate producer|consumer|rollup|ops --stack NAME`: a new SCRAM password, brokers up throughout. */
import { InvalidArgumentError, type Command } from "commander";
import { ROTATABLE_PRINCIPALS, type RotatablePrincipal } from "../../../infra/bootstrap/principals.ts";
import { commandAction, withCommonOptions } from "../command.ts";
import type { Output } from "../output.ts";

export interface CredentialsOptions {
  stack?: string;
  outputs?: string;
  identity?: string;
  knownHosts?: string;
}

function principalName(value: string): RotatablePrincipal {
  if (!(ROTATABLE_PRINCIPALS as readonly string[]).includes(value))
    throw new InvalidArgumentError(
      `credentials rotate: expected producer, consumer, rollup or ops, got "${value}" (the cluster's own principals are the stack's)`,
    );
  return value as RotatablePrincipal;
}

export function registerCredentialsCommands(program: Command): void {
  const credentials = program.command("credentials").description("the Kafka credentials of a secured stack");
  withCommonOptions(
    credentials
      .command("rotate <principal>")
      .description(
        "give producer, consumer, rollup or ops a new SCRAM-SHA-512 password: in Kafka, in its SSM parameter, and in the app's env file (the app restarts once)",
      ),
  )
    .option("--stack <name>", "the Pulumi stack (reads its outputs; needs the Pulumi CLI)")
    .option("--outputs <file>", "a stack's outputs (pulumi stack output --json)")
    .option("--identity <file>", "SSH private key (default: the SSH agent)")
    .option("--known-hosts <file>", "pinned host keys, when the outputs have no brokerHostKeys")
    .action(
      commandAction(async (output: Output, options: CredentialsOptions, name: string) => {
        const principal = principalName(name);
        return (await import("../actions/credentials.ts")).rotate(output, options, principal);
      }),
    );
}
