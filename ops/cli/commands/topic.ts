/** `tickstream topic create|describe`. */
import type { Command } from "commander";
import { commandAction, withCommonOptions } from "../command.ts";
import { positiveInteger } from "../options.ts";
import type { Output } from "../output.ts";

export interface CreateOptions {
  topic?: string;
  partitions?: number;
  replicationFactor: number;
}

/** What the subcommands do, loaded when one runs. */
const actions = () => import("../actions/topic.ts");

export function registerTopicCommands(program: Command): void {
  const topic = program.command("topic").description("create and describe the tick topic");
  withCommonOptions(
    topic
      .command("create")
      .description("create the topic (nothing changes if it exists)")
      .option("--topic <name>", "topic name (default: the `topic` setting)")
      .option(
        "--partitions <n>",
        "partition count (default: the `defaultPartitions` setting)",
        positiveInteger,
      )
      .option("--replication-factor <n>", "replicas per partition", positiveInteger, 1),
  ).action(
    commandAction(async (output: Output, options: CreateOptions) =>
      (await actions()).create(output, options),
    ),
  );
  withCommonOptions(
    topic
      .command("describe")
      .description("partitions, leaders, replicas and end offsets")
      .option("--topic <name>", "topic name"),
  ).action(
    commandAction(async (output: Output, options: { topic?: string }) =>
      (await actions()).show(output, options),
    ),
  );
}
