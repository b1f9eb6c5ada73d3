/** `tickstream topic create|describe`. */
import type { Command } from "commander";
import { LocalEnvironment } from "../../local/environment.ts";
import { createTopic, describeTopic } from "../../kafka/topics.ts";
import { commandAction, withCommonOptions } from "../command.ts";
import { positiveInteger } from "../options.ts";
import type { Output } from "../output.ts";

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
    commandAction(
      async (output: Output, options: { topic?: string; partitions?: number; replicationFactor: number }) => {
        const environment = LocalEnvironment.fromEnvironment();
        const name = options.topic ?? environment.settings.topic;
        const partitions = options.partitions ?? environment.settings.defaultPartitions;
        const { created } = await createTopic(environment.bootstrapServers, {
          topic: name,
          partitions,
          replicationFactor: options.replicationFactor,
        });
        // On a secure broker, the apps may use the new topic: the producer write it, the lake sink read it.
        await environment.grantAppAcls([name]);
        output.result(
          { topic: name, created, partitions },
          created ? `created topic ${name} with ${partitions} partitions` : `topic ${name} exists already`,
        );
      },
    ),
  );
  withCommonOptions(
    topic
      .command("describe")
      .description("partitions, leaders, replicas and end offsets")
      .option("--topic <name>", "topic name"),
  ).action(
    commandAction(async (output: Output, options: { topic?: string }) => {
      const environment = LocalEnvironment.fromEnvironment();
      const description = await describeTopic(
        environment.bootstrapServers,
        options.topic ?? environment.settings.topic,
      );
      const lines = description.partitions.map(
        (p) =>
          `partition ${p.partition}  leader ${p.leader}  replicas [${p.replicas.join(",")}]  isr [${p.isr.join(",")}]  end offset ${p.endOffset}`,
      );
      output.result(description, [`topic ${description.topic}`, ...lines].join("\n"));
    }),
  );
}
