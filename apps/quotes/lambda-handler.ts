/**
 * The quote poller as an AWS Lambda handler, invoked by an EventBridge Scheduler schedule: one poll of the quote
 * API produced into Kafka (produce-quotes.ts, the same code as `tickstream produce --source quotes:…`), logged as
 * JSON lines for CloudWatch. Its settings come from the function's environment; the API key from an SSM
 * SecureString parameter the function's role alone may read (never from the environment in clear).
 *   QUOTES_PROVIDER, QUOTES_SYMBOLS (comma-separated), QUOTES_BASE_URL (optional), QUOTES_API_KEY_PARAMETER,
 *   TICKSTREAM_BOOTSTRAP_SERVERS (the brokers' internal listener), TICKSTREAM_TOPIC, TICKSTREAM_LAKE_BUCKET
 *   (where the poller's state lives), and for tests TICKSTREAM_S3_ENDPOINT / TICKSTREAM_SSM_ENDPOINT.
 * On a secured cluster also TICKSTREAM_KAFKA_CA_PEM (the brokers' CA, public) and
 * TICKSTREAM_KAFKA_PASSWORD_PARAMETER (the SecureString of the `producer` principal's SCRAM password).
 */
import { GetParameterCommand, SSMClient } from "@aws-sdk/client-ssm";
import { randomUUID } from "node:crypto";
import { createS3Client } from "../lake/s3-client.ts";
import { ConfigError } from "../shared/errors.ts";
import { registerClusterSecurity } from "../shared/kafka-security.ts";
import { produceQuotes, type QuotesProduced } from "./produce-quotes.ts";
import { QUOTE_PROVIDERS } from "./providers.ts";

export interface SchedulerEvent {
  readonly [key: string]: unknown;
}

export interface LambdaContext {
  readonly awsRequestId?: string;
}

const cachedParameters = new Map<string, string>();

function setting(env: NodeJS.ProcessEnv, name: string): string {
  const value = env[name];
  if (!value) throw new ConfigError(`the function's environment has no ${name}`);
  return value;
}

/** A SecureString's value, read once per container (a warm invocation reuses it). */
async function secureParameter(env: NodeJS.ProcessEnv, region: string, parameter: string): Promise<string> {
  const cached = cachedParameters.get(parameter);
  if (cached !== undefined) return cached;
  const ssm = new SSMClient({ region, endpoint: env.TICKSTREAM_SSM_ENDPOINT || undefined });
  try {
    const answer = await ssm.send(new GetParameterCommand({ Name: parameter, WithDecryption: true }));
    const value = answer.Parameter?.Value;
    if (!value) throw new ConfigError(`SSM parameter ${parameter} is empty`);
    cachedParameters.set(parameter, value);
    return value;
  } finally {
    ssm.destroy();
  }
}

function log(level: "info" | "warn" | "error", message: string, fields: Record<string, unknown> = {}): void {
  console.log(JSON.stringify({ level, message, ...fields }));
}

export async function handler(
  _event: SchedulerEvent,
  context: LambdaContext = {},
  env: NodeJS.ProcessEnv = process.env,
): Promise<QuotesProduced> {
  const providerName = setting(env, "QUOTES_PROVIDER");
  const provider = QUOTE_PROVIDERS[providerName];
  if (!provider) throw new ConfigError(`QUOTES_PROVIDER ${providerName} is not a known provider`);
  const region = env.AWS_REGION ?? "us-east-1";
  const s3 = createS3Client({
    bucket: setting(env, "TICKSTREAM_LAKE_BUCKET"),
    region,
    endpoint: env.TICKSTREAM_S3_ENDPOINT || undefined,
  });
  const bootstrapServers = setting(env, "TICKSTREAM_BOOTSTRAP_SERVERS").split(",");
  const passwordParameter = env.TICKSTREAM_KAFKA_PASSWORD_PARAMETER;
  if (passwordParameter) {
    registerClusterSecurity(bootstrapServers, {
      caPem: setting(env, "TICKSTREAM_KAFKA_CA_PEM"),
      credentials: {
        producer: {
          username: "producer",
          password: await secureParameter(env, region, passwordParameter),
        },
      },
    });
  }
  try {
    const result = await produceQuotes({
      provider,
      baseUrl: env.QUOTES_BASE_URL || undefined,
      apiKey: await secureParameter(env, region, setting(env, "QUOTES_API_KEY_PARAMETER")),
      symbols: setting(env, "QUOTES_SYMBOLS")
        .split(",")
        .map((symbol) => symbol.trim()),
      bootstrapServers,
      topic: setting(env, "TICKSTREAM_TOPIC"),
      s3,
      bucket: setting(env, "TICKSTREAM_LAKE_BUCKET"),
      producerId: `quotes-lambda-${context.awsRequestId ?? randomUUID()}`,
    });
    for (const error of result.errors)
      log("warn", "quote failed", {
        provider: provider.name,
        symbol: error.symbol,
        kind: error.kind,
        reason: error.reason,
      });
    log("info", "quotes produced", {
      provider: provider.name,
      producerId: result.producerId,
      produced: result.produced,
      unchanged: result.unchanged,
      failed: result.errors.length,
    });
    return result;
  } finally {
    s3.destroy();
  }
}
