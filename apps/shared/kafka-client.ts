/** One place that builds kafkajs clients, so timeouts and logging are the same for every app and command. */
import { Kafka, logLevel, type KafkaConfig } from "kafkajs";
import { ServiceError } from "./errors.ts";
import { describeSecurityFailure, kafkaSecurityConfig } from "./kafka-security.ts";
import { ignoreKafkajsNegativeTimeouts } from "./kafkajs-warnings.ts";

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
  ignoreKafkajsNegativeTimeouts();
  // kafkajs logs transient, retried conditions (a coordinator still loading) as errors; quiet unless asked.
  const level = LOG_LEVELS[(process.env.TICKSTREAM_KAFKA_LOG ?? "nothing").toLowerCase()] ?? logLevel.NOTHING;
  return new Kafka({
    clientId,
    brokers: [...brokers],
    connectionTimeout: 3_000,
    requestTimeout: 30_000,
    logLevel: level,
    retry: { retries: 8, initialRetryTime: 200, maxRetryTime: 5_000 },
    // TLS and SASL when the cluster is secured (kafka-security.ts): from the app's env file or this process.
    ...kafkaSecurityConfig(brokers, clientId),
    ...overrides,
  });
}

/** Connects a kafkajs client; an unreachable broker becomes one sentence that says what to check. */
export async function connectToBroker(
  client: { connect(): Promise<void> },
  brokers: readonly string[],
  clientId = "tickstream-ops",
): Promise<void> {
  try {
    await client.connect();
  } catch (error) {
    throw brokerConnectionError(error, brokers, clientId);
  }
}

/** A failed connection as one sentence: refused credentials, an untrusted certificate, or no broker. */
export function brokerConnectionError(
  error: unknown,
  brokers: readonly string[],
  clientId: string,
): ServiceError {
  let root: unknown = error;
  while ((root as { cause?: unknown }).cause) root = (root as { cause: unknown }).cause;
  const security = describeSecurityFailure(root, brokers, clientId);
  if (security) return new ServiceError(security, { cause: error });
  const reason = (root as Error).message ?? String(root);
  return new ServiceError(
    `cannot reach the Kafka broker at ${brokers.join(",")} (${reason}); is it running? See: tickstream broker status`,
    { cause: error },
  );
}
