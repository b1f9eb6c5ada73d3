/**
 * The tutorials' consumer, for comparison: one S3 object per Kafka message, written as each message arrives (their
 * notebooks loop over the consumer and call `s3.put_object` / `s3fs` once a message). Same topic, same S3 server,
 * same client library as the lake sink; run for a fixed time, since at its rate a whole topic would take hours.
 */
import { PutObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import { randomUUID } from "node:crypto";
import { createKafka } from "../../apps/shared/kafka-client.ts";

export async function tutorialMethodRate(options: {
  readonly bootstrapServers: readonly string[];
  readonly topic: string;
  readonly s3: S3Client;
  readonly bucket: string;
  readonly durationMs: number;
}): Promise<{ messages: number; messagesPerSecond: number }> {
  const consumer = createKafka(options.bootstrapServers, "tickstream-bench-tutorial").consumer({
    groupId: `bench-tutorial-${randomUUID()}`,
  });
  let messages = 0;
  let startedAt = 0;
  await consumer.connect();
  try {
    await consumer.subscribe({ topic: options.topic, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ partition, message }) => {
        startedAt ||= Date.now();
        if (Date.now() - startedAt >= options.durationMs) return;
        await options.s3.send(
          new PutObjectCommand({
            Bucket: options.bucket,
            Key: `tutorial-method/${options.topic}/${partition}/${message.offset}.json`,
            Body: message.value ?? undefined,
          }),
        );
        messages++;
      },
    });
    while (!startedAt || Date.now() - startedAt < options.durationMs)
      await new Promise((r) => setTimeout(r, 100));
  } finally {
    await consumer.disconnect();
  }
  return { messages, messagesPerSecond: Math.round((messages * 1000) / options.durationMs) };
}
