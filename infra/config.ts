/**
 * Stack configuration: read once from Pulumi config, validated by one pure function before any resource is
 * declared, with errors that name the key and the fix.
 */
import { isIPv4 } from "node:net";
import type * as pulumi from "@pulumi/pulumi";
import { ConfigError } from "../apps/shared/errors.ts";
import { DEFAULT_KAFKA_VERSION } from "../ops/config/settings.ts";

/** Canonical's account, and the Ubuntu 24.04 images the brokers run (for the amiId look-up command). */
export const UBUNTU_OWNER = "099720109477";
export const UBUNTU_IMAGE_NAME = "ubuntu/images/hvm-ssd-gp3/ubuntu-noble-24.04-amd64-server-*";

/** What `Pulumi.<stack>.yaml` may say (namespace `tickstream:`, plus `aws:region`). */
export interface RawStackConfig {
  readonly region?: string;
  readonly instanceType?: string;
  readonly brokerCount?: number;
  readonly kafkaVersion?: string;
  readonly allowedCidrs?: unknown;
  readonly sshPublicKey?: string;
  readonly topicPartitions?: number;
  readonly topicRetentionHours?: number;
  readonly crawlerSchedule?: string;
  readonly forceDestroy?: boolean;
  readonly vpcCidr?: string;
  readonly dataVolumeGb?: number;
  readonly amiId?: string;
  /** `{ provider, symbols, schedule?, timezone? }`: a scheduled quote poller (apps/quotes); absent = none. */
  readonly quotePoller?: unknown;
  /** The poller's API key, a Pulumi secret (`pulumi config set --secret tickstream:quotesApiKey …`). */
  readonly quotesApiKey?: pulumi.Output<string>;
}

export interface QuotePollerConfig {
  readonly provider: "finnhub" | "alphavantage";
  readonly symbols: readonly string[];
  /** An EventBridge Scheduler expression: cron(…), rate(…) or at(…). */
  readonly schedule: string;
  /** IANA time zone the schedule is read in. */
  readonly timezone: string;
}

/** Every 5 minutes of New York's trading hours, Monday to Friday. */
export const DEFAULT_QUOTE_SCHEDULE = "cron(*/5 9-16 ? * MON-FRI *)";
export const DEFAULT_QUOTE_TIMEZONE = "America/New_York";

export interface StackConfig {
  readonly region: string;
  readonly instanceType: string;
  readonly brokerCount: number;
  readonly kafkaVersion: string;
  readonly allowedCidrs: readonly string[];
  readonly sshPublicKey: string;
  readonly topicPartitions: number;
  readonly topicRetentionHours: number;
  /** Replicas per partition: 1 for one broker, 3 for a quorum. */
  readonly replicationFactor: number;
  readonly crawlerSchedule?: string;
  readonly forceDestroy: boolean;
  readonly vpcCidr: string;
  readonly dataVolumeGb: number;
  /** The brokers' image, pinned: a lookup of the newest image would plan a replacement of every broker. */
  readonly amiId: string;
  readonly quotePoller?: QuotePollerConfig & { readonly apiKey: pulumi.Output<string> };
}

export const STACK_DEFAULTS = {
  instanceType: "t3.medium",
  brokerCount: 1,
  kafkaVersion: DEFAULT_KAFKA_VERSION,
  topicPartitions: 3,
  topicRetentionHours: 168,
  forceDestroy: false,
  vpcCidr: "10.42.0.0/16",
  dataVolumeGb: 50,
} as const;

function fail(key: string, problem: string, fix: string): never {
  throw new ConfigError(`config tickstream:${key} ${problem}; ${fix}`);
}

/** True for an IPv4 or IPv6 CIDR block such as 203.0.113.0/24 or 2001:db8::/32. */
export function isCidr(value: string): boolean {
  const [address, bits, ...rest] = value.split("/");
  if (rest.length > 0 || address === undefined || bits === undefined || !/^\d{1,3}$/.test(bits)) return false;
  if (isIPv4(address)) return Number(bits) <= 32;
  return /^[0-9a-f:]+$/i.test(address) && address.includes(":") && Number(bits) <= 128;
}

function positiveInteger(key: string, value: number | undefined, fallback: number, max: number): number {
  const result = value ?? fallback;
  if (!Number.isInteger(result) || result < 1 || result > max)
    fail(
      key,
      `must be a whole number from 1 to ${max}, got ${value}`,
      `set it with: pulumi config set tickstream:${key} <n>`,
    );
  return result;
}

export function validateStackConfig(raw: RawStackConfig): StackConfig {
  if (!raw.region)
    throw new ConfigError(
      "config aws:region is not set; set it with: pulumi config set aws:region eu-west-1",
    );

  const brokerCount = raw.brokerCount ?? STACK_DEFAULTS.brokerCount;
  if (
    !Number.isInteger(brokerCount) ||
    brokerCount < 1 ||
    (brokerCount > 1 && (brokerCount < 3 || brokerCount % 2 === 0)) ||
    brokerCount > 9
  ) {
    fail(
      "brokerCount",
      `must be 1, or an odd number from 3 to 9 for a KRaft quorum, got ${raw.brokerCount}`,
      "use 1 for a demo or 3 for production",
    );
  }

  if (raw.allowedCidrs === undefined) {
    fail(
      "allowedCidrs",
      "is required (there is no open default)",
      'list the networks that may reach Kafka and SSH: pulumi config set --path "tickstream:allowedCidrs[0]" 203.0.113.0/24',
    );
  }
  if (!Array.isArray(raw.allowedCidrs) || raw.allowedCidrs.length === 0) {
    fail(
      "allowedCidrs",
      "must be a non-empty list of CIDR blocks",
      'pulumi config set --path "tickstream:allowedCidrs[0]" 203.0.113.0/24',
    );
  }
  for (const cidr of raw.allowedCidrs as unknown[]) {
    if (typeof cidr !== "string" || !isCidr(cidr))
      fail(
        "allowedCidrs",
        `has "${String(cidr)}", which is not a CIDR block`,
        "write blocks such as 203.0.113.0/24",
      );
    if (/\/0$/.test(cidr))
      fail(
        "allowedCidrs",
        `has ${cidr}, which opens Kafka and SSH to the whole Internet`,
        "list your own networks instead",
      );
  }

  const instanceType = raw.instanceType ?? STACK_DEFAULTS.instanceType;
  if (!/^[a-z][a-z0-9-]*\.[a-z0-9]+$/.test(instanceType))
    fail(
      "instanceType",
      `"${instanceType}" is not an EC2 instance type`,
      "use a type such as t3.medium or m7i.large",
    );
  if (/^(t2|t3|t3a|t4g)\.(nano|micro|small)$/.test(instanceType)) {
    fail(
      "instanceType",
      `${instanceType} has too little memory for a Kafka broker (it needs about 4 GiB)`,
      "use t3.medium or larger",
    );
  }

  const kafkaVersion = raw.kafkaVersion ?? STACK_DEFAULTS.kafkaVersion;
  if (!/^\d+\.\d+\.\d+$/.test(kafkaVersion))
    fail("kafkaVersion", `"${kafkaVersion}" is not a Kafka release`, "use a version such as 4.1.1");

  if (!raw.sshPublicKey)
    fail(
      "sshPublicKey",
      "is required (the ops CLI reaches the brokers over SSH)",
      'pulumi config set tickstream:sshPublicKey "$(cat ~/.ssh/id_ed25519.pub)"',
    );
  if (
    !/^(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp(256|384|521)) [A-Za-z0-9+/=]+( .*)?$/.test(
      raw.sshPublicKey.trim(),
    )
  ) {
    fail("sshPublicKey", "is not an OpenSSH public key", "paste the one line of your id_ed25519.pub");
  }
  if (raw.crawlerSchedule !== undefined && !/^cron\(.+\)$/.test(raw.crawlerSchedule)) {
    fail(
      "crawlerSchedule",
      `"${raw.crawlerSchedule}" is not a Glue schedule`,
      "write it as cron(0 * * * ? *), or leave it unset to crawl on demand",
    );
  }
  if (!raw.amiId || !/^ami-([0-9a-f]{8}|[0-9a-f]{17})$/.test(raw.amiId)) {
    fail(
      "amiId",
      raw.amiId
        ? `"${raw.amiId}" is not an AMI id`
        : "is required (the brokers' image is pinned, never looked up)",
      `pulumi config set tickstream:amiId "$(aws ec2 describe-images --owners ${UBUNTU_OWNER} --filters 'Name=name,Values=${UBUNTU_IMAGE_NAME}' 'Name=architecture,Values=x86_64' --query 'sort_by(Images,&CreationDate)[-1].ImageId' --output text)"`,
    );
  }
  const vpcCidr = raw.vpcCidr ?? STACK_DEFAULTS.vpcCidr;
  if (!isCidr(vpcCidr) || !isIPv4(vpcCidr.split("/")[0]!) || Number(vpcCidr.split("/")[1]) > 20) {
    fail("vpcCidr", `"${vpcCidr}" must be an IPv4 block of /20 or larger`, "use e.g. 10.42.0.0/16");
  }

  return {
    quotePoller: validateQuotePoller(raw.quotePoller, raw.quotesApiKey),
    region: raw.region,
    instanceType,
    brokerCount,
    kafkaVersion,
    allowedCidrs: raw.allowedCidrs as string[],
    sshPublicKey: raw.sshPublicKey.trim(),
    topicPartitions: positiveInteger(
      "topicPartitions",
      raw.topicPartitions,
      STACK_DEFAULTS.topicPartitions,
      1_000,
    ),
    topicRetentionHours: positiveInteger(
      "topicRetentionHours",
      raw.topicRetentionHours,
      STACK_DEFAULTS.topicRetentionHours,
      24 * 365,
    ),
    replicationFactor: Math.min(3, brokerCount),
    crawlerSchedule: raw.crawlerSchedule,
    forceDestroy: raw.forceDestroy ?? STACK_DEFAULTS.forceDestroy,
    vpcCidr,
    dataVolumeGb: positiveInteger("dataVolumeGb", raw.dataVolumeGb, STACK_DEFAULTS.dataVolumeGb, 16_384),
    amiId: raw.amiId,
  };
}

function validateQuotePoller(
  raw: unknown,
  apiKey: pulumi.Output<string> | undefined,
): (QuotePollerConfig & { apiKey: pulumi.Output<string> }) | undefined {
  if (raw === undefined || raw === null) return undefined;
  const example =
    'pulumi config set --path tickstream:quotePoller.provider finnhub; pulumi config set --path "tickstream:quotePoller.symbols[0]" AAPL';
  if (typeof raw !== "object" || Array.isArray(raw)) fail("quotePoller", "must be an object", example);
  const value = raw as Record<string, unknown>;
  const known = ["provider", "symbols", "schedule", "timezone"];
  const unknown = Object.keys(value).find((key) => !known.includes(key));
  if (unknown !== undefined) fail(`quotePoller.${unknown}`, "is not a setting", `use ${known.join(", ")}`);
  if (value.provider !== "finnhub" && value.provider !== "alphavantage")
    fail(
      "quotePoller.provider",
      `must be finnhub or alphavantage, got ${JSON.stringify(value.provider)}`,
      example,
    );
  const symbols = value.symbols;
  if (
    !Array.isArray(symbols) ||
    symbols.length === 0 ||
    symbols.some((symbol) => typeof symbol !== "string" || !/^[A-Z0-9.^=_-]{1,32}$/.test(symbol))
  )
    fail("quotePoller.symbols", "must be a non-empty list of ticker symbols such as AAPL", example);
  const schedule = value.schedule ?? DEFAULT_QUOTE_SCHEDULE;
  // EventBridge Scheduler: "cron(minutes hours day-of-month month day-of-week year)", "rate(value unit)" or "at(…)".
  if (
    typeof schedule !== "string" ||
    !/^(cron\((\S+ ){5}\S+\)|rate\(\d+ (minute|minutes|hour|hours|day|days)\)|at\(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\))$/.test(
      schedule,
    )
  )
    fail(
      "quotePoller.schedule",
      `"${String(schedule)}" is not an EventBridge Scheduler expression`,
      `write e.g. ${DEFAULT_QUOTE_SCHEDULE} or rate(5 minutes)`,
    );
  const timezone = value.timezone ?? DEFAULT_QUOTE_TIMEZONE;
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: String(timezone) });
  } catch {
    fail(
      "quotePoller.timezone",
      `"${String(timezone)}" is not an IANA time zone`,
      `use e.g. ${DEFAULT_QUOTE_TIMEZONE}`,
    );
  }
  if (!apiKey)
    fail(
      "quotesApiKey",
      "is required when quotePoller is set",
      "pulumi config set --secret tickstream:quotesApiKey <your key>",
    );
  return {
    provider: value.provider,
    symbols: symbols as string[],
    schedule,
    timezone: String(timezone),
    apiKey,
  };
}
