/**
 * One place that builds Kafka clients, one client library per role, so that timeouts, security and error
 * messages are the same for every app and command:
 *  - producing (the producer's sources, the quote poller and its Lambda, the bench): @platformatic/kafka 1.x,
 *    about 3x kafkajs' throughput on Node 20 (README, "Kafka clients"); createTickProducer below;
 *  - consuming, transactions and administration (the lake sink, the rollup, ops): kafkajs; createKafka.
 */
import {
  Producer,
  ProduceAcks,
  stringSerializers,
  type SASLOptions as ProducerSasl,
} from "@platformatic/kafka";
import { Kafka, logLevel, type KafkaConfig } from "kafkajs";
import { ServiceError } from "./errors.ts";
import { describeSecurityFailure, kafkaSecurityConfig } from "./kafka-security.ts";
import { installFastKafkajsDecoding } from "./kafkajs-decoding.ts";
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
  installFastKafkajsDecoding();
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

/** The producer's client: idempotent, acks=all, keys and values as strings. */
export type TickProducer = Producer<string, string, string, string>;

/**
 * The retries the client makes by itself within one `send` (a connection refused, a leader that moved); the
 * producer retries a failed send again, with fresh metadata, above these (producer.ts, sendPartition).
 * @platformatic/kafka raises any value <= 1 to "forever" for an idempotent producer.
 */
const PRODUCER_CLIENT_RETRIES = 3;

/**
 * A @platformatic/kafka producer with the project's timeouts and the cluster's TLS and SASL (kafka-security.ts,
 * the same principal of the `producer` role as before). Idempotent with acks=all: the broker writes a retried
 * batch once, by the producer id and the partition's sequence number.
 */
export function createTickProducer(brokers: readonly string[], clientId: string): TickProducer {
  const security = kafkaSecurityConfig(brokers, clientId);
  const sasl = security.sasl as { username: string; password: string } | undefined;
  return new Producer({
    clientId,
    bootstrapBrokers: [...brokers],
    serializers: stringSerializers,
    idempotent: true,
    acks: ProduceAcks.ALL,
    autocreateTopics: false,
    connectTimeout: 3_000,
    requestTimeout: 30_000,
    // The produce request's own timeout (how long the leader waits for the in-sync replicas), as kafkajs' was.
    timeout: 30_000,
    retries: PRODUCER_CLIENT_RETRIES,
    retryDelay: 250,
    ...(security.ssl ? { tls: security.ssl as { ca: string[] } } : {}),
    ...(sasl
      ? {
          sasl: {
            mechanism: "SCRAM-SHA-512",
            username: sasl.username,
            password: sasl.password,
          } satisfies ProducerSasl,
        }
      : {}),
  });
}

/**
 * The innermost error of a chain, through both clients' shapes: kafkajs' `cause`, and @platformatic/kafka's
 * `errors` (MultipleErrors: every attempt's error, the last one last) and `cause`.
 */
export function rootError(error: unknown): unknown {
  let root: unknown = error;
  for (let depth = 0; depth < 20 && root && typeof root === "object"; depth++) {
    const inner = (root as { errors?: unknown[] }).errors;
    const next =
      Array.isArray(inner) && inner.length > 0
        ? inner[inner.length - 1]
        : (root as { cause?: unknown }).cause;
    if (!next) break;
    root = next;
  }
  return root;
}

/** A failed connection as one sentence: refused credentials, an untrusted certificate, or no broker. */
export function brokerConnectionError(
  error: unknown,
  brokers: readonly string[],
  clientId: string,
): ServiceError {
  const root = rootError(error);
  const security = describeSecurityFailure(root, brokers, clientId);
  if (security) return new ServiceError(security, { cause: error });
  const reason = (root as Error).message ?? String(root);
  return new ServiceError(
    `cannot reach the Kafka broker at ${brokers.join(",")} (${reason}); is it running? See: tickstream broker status`,
    { cause: error },
  );
}
