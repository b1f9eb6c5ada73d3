/** One place that builds kafkajs clients, so timeouts and logging are the same for every app and command. */
import { Kafka, logLevel, type KafkaConfig } from "kafkajs";
import { ServiceError } from "./errors.ts";

const LOG_LEVELS: Record<string, logLevel> = {
  nothing: logLevel.NOTHING,
  error: logLevel.ERROR,
  warn: logLevel.WARN,
  info: logLevel.INFO,
  debug: logLevel.DEBUG,
};

export function createKafka(
  brokers: readonly string[],
  clientId: string,
  overrides: Partial<KafkaConfig> = {},
) {
  // kafkajs logs transient, retried conditions (a coordinator still loading) as errors; quiet unless asked.
  const level = LOG_LEVELS[(process.env.TICKSTREAM_KAFKA_LOG ?? "nothing").toLowerCase()] ?? logLevel.NOTHING;
  return new Kafka({
    clientId,
    brokers: [...brokers],
    connectionTimeout: 3_000,
    requestTimeout: 30_000,
    logLevel: level,
    retry: { retries: 8, initialRetryTime: 200, maxRetryTime: 5_000 },
    ...overrides,
  });
}

/** Connects a kafkajs client; an unreachable broker becomes one sentence that says what to check. */
export async function connectToBroker(
  client: { connect(): Promise<void> },
  brokers: readonly string[],
): Promise<void> {
  try {
    await client.connect();
  } catch (error) {
    let root: unknown = error;
    while ((root as { cause?: unknown }).cause) root = (root as { cause: unknown }).cause;
    const reason = (root as Error).message ?? String(root);
    throw new ServiceError(
      `cannot reach the Kafka broker at ${brokers.join(",")} (${reason}); is it running? See: tickstream broker status`,
      { cause: error },
    );
  }
}
