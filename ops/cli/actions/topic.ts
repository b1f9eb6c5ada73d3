/** What `tickstream topic create|describe` does (commands/topic.ts registers it), on the local broker. */
import { createTopic, describeTopic } from "../../kafka/topics.ts";
import { LocalEnvironment } from "../../local/environment.ts";
import type { CreateOptions } from "../commands/topic.ts";
import type { Output } from "../output.ts";

export async function create(output: Output, options: CreateOptions): Promise<void> {
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
}

export async function show(output: Output, options: { topic?: string }): Promise<void> {
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
}
