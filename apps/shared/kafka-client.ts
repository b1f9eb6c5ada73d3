/** One place that builds kafkajs clients, so timeouts and logging are the same for every app and command. */
import { Kafka, logLevel, type KafkaConfig } from "kafkajs";

const LOG_LEVELS: Record<string, logLevel> = {
  nothing: logLevel.NOTHING,
  error: logLevel.ERROR,
  warn: logLevel.WARN,
  info: logLevel.INFO,
  debug: logLevel.DEBUG,
};

export function createKafka(brokers: readonly string[], clientId: string, overrides: Partial<KafkaConfig> = {}) {
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
