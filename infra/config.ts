/**
 * Stack configuration: read once from Pulumi config, validated by one pure function before any resource is
 * declared, with errors that name the key and the fix.
 */
import { isIPv4 } from "node:net";
import type * as pulumi from "@pulumi/pulumi";
import { ConfigError } from "../apps/shared/errors.ts";
import { DEFAULT_KAFKA_VERSION } from "../ops/config/settings.ts";
import { ICEBERG_RETENTION_DEFAULTS, MIN_ORPHAN_FILE_RETENTION_DAYS } from "./lake-retention.ts";

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
  /** The Iceberg tables' Glue optimizers (infra/lake-retention.ts has the defaults and why). */
  readonly icebergSnapshotRetentionDays?: number;
  readonly icebergSnapshotsToRetain?: number;
  readonly icebergOrphanFileRetentionDays?: number;
}

/** What the Glue table optimizers of the Iceberg tables keep. */
export interface IcebergRetention {
  readonly snapshotRetentionDays: number;
  readonly snapshotsToRetain: number;
  readonly orphanFileRetentionDays: number;
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
export const DEFAULT_QUOTE_SCHEDULE = "cron(0/5 9-16 ? * MON-FRI *)";
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
  readonly icebergRetention: IcebergRetention;
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

/** Two rules per block (SSH, Kafka) within 60 inbound rules per family, beside the group's own rules. */
export const MAX_ALLOWED_CIDRS_PER_FAMILY = 28;

/**
 * What is wrong with a six-field cron expression of EventBridge Scheduler or Glue, if anything: "You can't use
 * * in both the Day-of-month and Day-of-week fields. If you use it in one, you must use ? in the other"
 * (EventBridge User Guide, "Cron expressions"; Glue Developer Guide, "Time-based schedules for jobs and
 * crawlers", the same syntax); Glue schedules run at most every 5 minutes ("the minimum precision").
 */
export function cronProblem(
  expression: string,
  options: { minimumMinutes?: number } = {},
): string | undefined {
  const match = /^cron\((.*)\)$/.exec(expression);
  const fields = match?.[1]!.trim().split(/\s+/) ?? [];
  if (fields.length !== 6) return "is not cron(minutes hours day-of-month month day-of-week year)";
  const [minutes, , dayOfMonth, , dayOfWeek] = fields as [string, string, string, string, string, string];
  if ((dayOfMonth === "?") === (dayOfWeek === "?"))
    return "needs ? in exactly one of day-of-month and day-of-week (AWS refuses * or a value in both)";
  const every = /^(\*|0)?\/(\d+)$/.exec(minutes);
  const minimum = options.minimumMinutes ?? 1;
  if (minimum > 1 && (minutes === "*" || (every && Number(every[2]) < minimum)))
    return `runs more often than every ${minimum} minutes, the shortest interval AWS allows here`;
  return undefined;
}

/** The longest stack name every derived name fits: `tickstream-<stack>-quotes-scheduler-<7 random>` in 64. */
export const MAX_STACK_NAME_LENGTH = 28;

/**
 * The stack name is part of resource names AWS holds to its own rules: S3 buckets take no "_" (S3 User Guide,
 * "General purpose bucket naming rules"), Lambda functions no "." (Lambda API Reference, CreateFunction
 * FunctionName: [a-zA-Z0-9-_]), IAM roles at most 64 characters with the provider's random suffix. Pulumi allows
 * letters, digits, "-", "_" and "." up to 100: refuse what AWS would refuse, before any resource.
 */
export function validateStackName(stack: string): void {
  if (!/^[A-Za-z0-9][A-Za-z0-9-]*$/.test(stack) || stack.length > MAX_STACK_NAME_LENGTH)
    throw new ConfigError(
      `stack name "${stack}" cannot name the stack's resources: use letters, digits and "-", at most ${MAX_STACK_NAME_LENGTH} characters (S3 bucket names take no "_", Lambda function names no ".", IAM role names at most 64); create it with: pulumi stack init <name>`,
    );
}

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

function positiveInteger(
  key: string,
  value: number | undefined,
  fallback: number,
  max: number,
  min = 1,
  why = "",
): number {
  const result = value ?? fallback;
  if (!Number.isInteger(result) || result < min || result > max)
    fail(
      key,
      `must be a whole number from ${min} to ${max}${why}, got ${value}`,
      `set it with: pulumi config set tickstream:${key} <n>`,
    );
  return result;
}

/** The optimizers' retention settings, each bad value one line naming its key. */
function icebergRetention(raw: RawStackConfig): IcebergRetention {
  const defaults = ICEBERG_RETENTION_DEFAULTS;
  return {
    snapshotRetentionDays: positiveInteger(
      "icebergSnapshotRetentionDays",
      raw.icebergSnapshotRetentionDays,
      defaults.snapshotRetentionDays,
      3650,
    ),
    snapshotsToRetain: positiveInteger(
      "icebergSnapshotsToRetain",
      raw.icebergSnapshotsToRetain,
      defaults.snapshotsToRetain,
      1000,
    ),
    orphanFileRetentionDays: positiveInteger(
      "icebergOrphanFileRetentionDays",
      raw.icebergOrphanFileRetentionDays,
      defaults.orphanFileRetentionDays,
      3650,
      MIN_ORPHAN_FILE_RETENTION_DAYS,
      ` (longer than the lake keeps _staging/, so no file whose Iceberg append is still pending is deleted)`,
    ),
  };
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
  const ipv4Cidrs = (raw.allowedCidrs as unknown[]).filter(
    (cidr) => typeof cidr === "string" && !cidr.includes(":"),
  ).length;
  const ipv6Cidrs = (raw.allowedCidrs as unknown[]).length - ipv4Cidrs;
  if (Math.max(ipv4Cidrs, ipv6Cidrs) > MAX_ALLOWED_CIDRS_PER_FAMILY)
    fail(
      "allowedCidrs",
      `lists ${Math.max(ipv4Cidrs, ipv6Cidrs)} ${ipv4Cidrs >= ipv6Cidrs ? "IPv4" : "IPv6"} blocks; each adds two inbound rules (SSH, Kafka) and a security group takes 60 per address family (Amazon VPC quotas), so at most ${MAX_ALLOWED_CIDRS_PER_FAMILY}`,
      "merge them into wider blocks, or reach the brokers through a VPN",
    );
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
  if (!/^(ssh-ed25519|ssh-rsa) [A-Za-z0-9+/=]+( .*)?$/.test(raw.sshPublicKey.trim())) {
    // EC2 API Reference, ImportKeyPair: "Imports the public key from an RSA or ED25519 key pair".
    fail(
      "sshPublicKey",
      "is not an OpenSSH ed25519 or RSA public key (EC2 imports no other type)",
      "paste the one line of your id_ed25519.pub",
    );
  }
  if (raw.crawlerSchedule !== undefined) {
    const problem = cronProblem(raw.crawlerSchedule, { minimumMinutes: 5 });
    if (problem)
      fail(
        "crawlerSchedule",
        `"${raw.crawlerSchedule}" ${problem}`,
        "write it as cron(15 * * * ? *), or leave it unset to crawl on demand",
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
  // EC2 API Reference, CreateVpc: "The smallest VPC you can create uses a /28 netmask … the largest /16";
  // the stack's subnets need a /20 at least (brokers' /24s and the poller's 15th).
  const vpcPrefix = Number(vpcCidr.split("/")[1]);
  if (!isCidr(vpcCidr) || !isIPv4(vpcCidr.split("/")[0]!) || vpcPrefix > 20 || vpcPrefix < 16) {
    fail("vpcCidr", `"${vpcCidr}" must be an IPv4 block from /16 to /20`, "use e.g. 10.42.0.0/16");
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
    icebergRetention: icebergRetention(raw),
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
  const scheduleProblem = schedule.startsWith("cron(") ? cronProblem(schedule) : undefined;
  if (scheduleProblem)
    fail("quotePoller.schedule", `"${schedule}" ${scheduleProblem}`, `write e.g. ${DEFAULT_QUOTE_SCHEDULE}`);
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
