/**
 * How a Kafka client authenticates and encrypts: TLS that verifies the cluster's CA, and SASL SCRAM-SHA-512
 * with the credentials of the app's own principal. Two sources, never a command-line argument:
 *  - the environment (an app's private env file): TICKSTREAM_KAFKA_CA_FILE, TICKSTREAM_KAFKA_USERNAME and
 *    TICKSTREAM_KAFKA_PASSWORD, one principal, used for every client of the process;
 *  - a cluster registered in this process (the secure local environment registers its broker address with the
 *    CA and every principal's credentials), each client then using the principal of its role.
 */
import type { KafkaConfig, SASLOptions } from "kafkajs";
import { readFileSync } from "node:fs";
import { ConfigError } from "./errors.ts";

/** The principals: each app may do only its own job (ACLs); ops administers. */
export type KafkaRole = "producer" | "consumer" | "rollup" | "ops";
export const KAFKA_ROLES: readonly KafkaRole[] = ["producer", "consumer", "rollup", "ops"];

export interface KafkaCredentials {
  readonly username: string;
  readonly password: string;
}

export interface ClusterSecurity {
  /** The CA that signed the brokers' certificates (PEM). */
  readonly caPem: string;
  readonly credentials: Partial<Record<KafkaRole, KafkaCredentials>>;
}

/** The role of a client, from its client id (one table: apps/shared/kafka-client.ts names them). */
export function kafkaRoleOf(clientId: string): KafkaRole {
  if (clientId.startsWith("tickstream-producer")) return "producer";
  if (clientId.startsWith("tickstream-lake-sink")) return "consumer";
  if (clientId.startsWith("tickstream-rollup")) return "rollup";
  return "ops";
}

const registered = new Map<string, ClusterSecurity>();

/** Every client of this process that connects to one of these brokers uses this security. */
export function registerClusterSecurity(brokers: readonly string[], security: ClusterSecurity): void {
  for (const broker of brokers) registered.set(broker, security);
}

export function unregisterClusterSecurity(brokers: readonly string[]): void {
  for (const broker of brokers) registered.delete(broker);
}

export const KAFKA_SECURITY_ENV = {
  caFile: "TICKSTREAM_KAFKA_CA_FILE",
  username: "TICKSTREAM_KAFKA_USERNAME",
  password: "TICKSTREAM_KAFKA_PASSWORD",
} as const;

function fromEnvironment(env: NodeJS.ProcessEnv): { caPem?: string; credentials?: KafkaCredentials } {
  const caFile = env[KAFKA_SECURITY_ENV.caFile];
  const username = env[KAFKA_SECURITY_ENV.username];
  const password = env[KAFKA_SECURITY_ENV.password];
  if (Boolean(username) !== Boolean(password))
    throw new ConfigError(
      `set both ${KAFKA_SECURITY_ENV.username} and ${KAFKA_SECURITY_ENV.password}, or neither`,
    );
  let caPem: string | undefined;
  if (caFile) {
    try {
      caPem = readFileSync(caFile, "utf8");
    } catch {
      throw new ConfigError(`${KAFKA_SECURITY_ENV.caFile}=${caFile}: cannot read the CA certificate`);
    }
  }
  return { caPem, credentials: username ? { username, password: password! } : undefined };
}

/** The kafkajs `ssl` and `sasl` settings for a client, or {} for a plaintext cluster. */
export function kafkaSecurityConfig(
  brokers: readonly string[],
  clientId: string,
  env: NodeJS.ProcessEnv = process.env,
): Pick<KafkaConfig, "ssl" | "sasl"> {
  const fromEnv = fromEnvironment(env);
  const cluster = brokers.map((broker) => registered.get(broker)).find(Boolean);
  const caPem = fromEnv.caPem ?? cluster?.caPem;
  const credentials = fromEnv.credentials ?? cluster?.credentials[kafkaRoleOf(clientId)];
  const config: Pick<KafkaConfig, "ssl" | "sasl"> = {};
  // Node's TLS verifies the certificate chain against this CA only, and the broker's address against its SANs.
  if (caPem) config.ssl = { ca: [caPem] };
  if (credentials) {
    const sasl: SASLOptions = {
      mechanism: "scram-sha-512",
      username: credentials.username,
      password: credentials.password,
    };
    config.sasl = sasl;
  }
  return config;
}

/**
 * One sentence for what went wrong when connecting to a secured broker, or undefined when the cause is not a
 * security one (then the caller's "is it running?" message stands).
 */
export function describeSecurityFailure(
  root: unknown,
  brokers: readonly string[],
  clientId: string,
): string | undefined {
  const name = (root as Error)?.name ?? "";
  const message = (root as Error)?.message ?? String(root);
  const code = (root as { code?: string })?.code ?? "";
  const at = brokers.join(",");
  const config = kafkaSecurityConfig(brokers, clientId);
  // kafkajs' error, or @platformatic/kafka's (the broker's SaslAuthenticate answer, SASL_AUTHENTICATION_FAILED).
  const apiId = (root as { apiId?: string })?.apiId ?? "";
  if (name === "KafkaJSSASLAuthenticationError" || apiId === "SASL_AUTHENTICATION_FAILED") {
    const user = (config.sasl as { username?: string } | undefined)?.username ?? "?";
    return `the Kafka broker at ${at} refused the credentials of user ${user} (SCRAM-SHA-512: invalid credentials); check the password`;
  }
  if (/CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ERR_TLS/.test(code) || /certificate/i.test(message)) {
    return `the Kafka broker at ${at} presented a TLS certificate that is not trusted (${message}); set ${KAFKA_SECURITY_ENV.caFile} to the cluster's CA`;
  }
  // "Closed connection" (kafkajs), "Connection closed" (@platformatic/kafka).
  if (/Closed connection|Connection closed/i.test(message) && (!config.sasl || !config.ssl)) {
    return `the Kafka broker at ${at} closed the connection: it requires TLS and SASL credentials (${KAFKA_SECURITY_ENV.username}, ${KAFKA_SECURITY_ENV.password}, ${KAFKA_SECURITY_ENV.caFile})`;
  }
  return undefined;
}
