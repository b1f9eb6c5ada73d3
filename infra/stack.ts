/** Declares the whole stack from a validated config; `infra/index.ts` reads the config and exports the outputs. */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { DEFAULT_LOCAL_SETTINGS } from "../ops/config/settings.ts";
import { clusterIdFor } from "./bootstrap/render.ts";
import { validateStackConfig, validateStackName, type RawStackConfig, type StackConfig } from "./config.ts";
import { BrokerCluster } from "./components/broker-cluster.ts";
import { BrokerSecurity } from "./components/broker-security.ts";
import { Catalog } from "./components/catalog.ts";
import { IcebergTables } from "./components/iceberg-tables.ts";
import { Lake } from "./components/lake.ts";
import { Network } from "./components/network.ts";
import { QuotePoller } from "./components/quote-poller.ts";
import { elasticIpWarning } from "./policy/aws-limits.ts";

export const TOPIC = "stock-ticks";
export const SSH_USER = "ubuntu";
export const ATHENA_BYTES_SCANNED_CUTOFF = 10 * 1024 ** 3;

/** The outputs DESIGN.md names, which the ops CLI reads. */
export interface TickstreamOutputs {
  readonly brokerPublicIps: pulumi.Output<string[]>;
  readonly brokerPrivateIps: pulumi.Output<string[]>;
  /**
   * Where the brokers' SSH host key fingerprints can be read (EC2 GetConsoleOutput, as cloud-init prints them).
   * DESIGN.md's `brokerHostKeys` cannot be a stack output without generating the host keys here and shipping
   * the private halves in user data, which the policy pack forbids.
   */
  readonly brokerInstanceIds: pulumi.Output<string[]>;
  readonly bootstrapServers: pulumi.Output<string>;
  readonly sshUser: string;
  readonly sshPort: number;
  readonly lakeBucket: pulumi.Output<string>;
  readonly glueDatabase: pulumi.Output<string>;
  readonly crawlerName: pulumi.Output<string>;
  readonly athenaWorkgroup: pulumi.Output<string>;
  /** The INTERNAL listener (private IPs): what apps on the brokers use. */
  readonly internalBootstrapServers: pulumi.Output<string>;
  readonly region: string;
  /** The CA that signed the brokers' certificates (public): clients verify the brokers against it. */
  readonly kafkaCaCertificate: pulumi.Output<string>;
  /** The SSM SecureString parameters holding each app principal's SCRAM password (names, not values). */
  readonly kafkaCredentialParameters: Record<"ops" | "producer" | "consumer" | "rollup", string>;
  /** Each broker's keystore parameter (names), for `tickstream broker renew-certificates`. */
  readonly kafkaKeystoreParameters: string[];
  /** The scheduled quote poller's function and log group (`tickstream quotes invoke|logs`), when enabled. */
  readonly quotesFunctionName?: pulumi.Output<string>;
  readonly quotesLogGroup?: pulumi.Output<string>;
}

/** Glue database names take lowercase letters, digits and underscores. */
export function glueDatabaseName(stack: string): string {
  return `tickstream_${stack.toLowerCase().replace(/[^a-z0-9]+/g, "_")}`;
}

/** `opts` reach every component (the tests pass a transformation that records each resource's options). */
export function createTickstreamStack(
  config: StackConfig,
  stack: string,
  opts: pulumi.ComponentResourceOptions = {},
): TickstreamOutputs {
  validateStackName(stack);
  const name = `tickstream-${stack}`;
  const tags = { project: "tickstream", stack };
  const network = new Network(
    name,
    {
      cidrBlock: config.vpcCidr,
      instanceType: config.instanceType,
      subnetCount: Math.max(2, config.brokerCount),
      tags,
    },
    opts,
  );
  const lake = new Lake(
    name,
    { forceDestroy: config.forceDestroy, glueDatabaseName: glueDatabaseName(stack), tags },
    opts,
  );
  const security = new BrokerSecurity(`${name}-kafka`, { stack, tags }, opts);
  // The poller is declared before the brokers: their group admits its group in an inline rule (one style per
  // group), and it learns their internal listener later, through a deferred output.
  const [internalBootstrapServers, resolveInternalBootstrapServers] = pulumi.deferredOutput<string>();
  const quotes = config.quotePoller
    ? new QuotePoller(
        `${name}-quotes`,
        {
          config: config.quotePoller,
          apiKey: config.quotePoller.apiKey,
          vpcCidr: config.vpcCidr,
          network,
          internalBootstrapServers,
          kafka: {
            caCertificate: security.caCertificatePem,
            producerPassword: security.userParameters.producer,
          },
          topic: TOPIC,
          lakeBucketName: lake.bucket.name,
          lakeBucketArn: lake.bucket.arn,
          stack,
          tags,
        },
        opts,
      )
    : undefined;
  const brokers = new BrokerCluster(
    `${name}-broker`,
    {
      config,
      network,
      instanceProfileName: lake.brokerInstanceProfile.name,
      brokerRoleId: lake.brokerRole.id,
      security,
      consumerGroupPrefixes: [DEFAULT_LOCAL_SETTINGS.consumerGroup],
      barsTopic: DEFAULT_LOCAL_SETTINGS.barsTopic,
      rollupGroupPrefix: DEFAULT_LOCAL_SETTINGS.rollupGroup,
      internalListenerClients: quotes ? [quotes.securityGroup.id] : [],
      clusterId: clusterIdFor(`${pulumi.getProject()}/${stack}`),
      topic: TOPIC,
      tags,
    },
    opts,
  );
  resolveInternalBootstrapServers(brokers.internalBootstrapServers);
  const catalog = new Catalog(
    name,
    {
      databaseName: glueDatabaseName(stack),
      lakeBucketName: lake.bucket.name,
      crawlerRoleArn: lake.crawlerRole.arn,
      crawlerSchedule: config.crawlerSchedule,
      forceDestroy: config.forceDestroy,
      bytesScannedCutoffPerQuery: ATHENA_BYTES_SCANNED_CUTOFF,
      tags,
    },
    opts,
  );
  new IcebergTables(
    `${name}-iceberg`,
    {
      database: catalog.database,
      lakeBucketName: lake.bucket.name,
      lakeBucketArn: lake.bucket.arn,
      retention: config.icebergRetention,
      forceDestroy: config.forceDestroy,
      tags,
    },
    opts,
  );
  warnOfElasticIpQuota(stack, config.brokerCount + (quotes ? 1 : 0));
  return {
    ...(quotes ? { quotesFunctionName: quotes.function.name, quotesLogGroup: quotes.logGroup.name } : {}),
    brokerPublicIps: brokers.publicIps,
    kafkaCaCertificate: security.caCertificatePem,
    kafkaKeystoreParameters: Array.from({ length: config.brokerCount }, (_, index) =>
      security.names.keystore(index + 1),
    ),
    kafkaCredentialParameters: {
      ops: security.names.user("ops"),
      producer: security.names.user("producer"),
      consumer: security.names.user("consumer"),
      rollup: security.names.user("rollup"),
    },
    brokerPrivateIps: brokers.privateIps,
    brokerInstanceIds: brokers.instanceIds,
    bootstrapServers: brokers.bootstrapServers,
    internalBootstrapServers: brokers.internalBootstrapServers,
    sshUser: SSH_USER,
    sshPort: 22,
    lakeBucket: lake.bucket.name,
    glueDatabase: catalog.database.name,
    crawlerName: catalog.crawler.name,
    athenaWorkgroup: catalog.workgroup.name,
    region: config.region,
  };
}

/**
 * Elastic IPs: one per broker and one per quote poller's NAT gateway; the default quota is 5 per region, shared
 * with every other stack there (dev 1 + prod 3 + two pollers is 6). A preview warns before AWS refuses.
 */
function warnOfElasticIpQuota(stack: string, needed: number): void {
  const inRegion = aws.ec2.getEipsOutput({});
  const ofThisStack = aws.ec2.getEipsOutput({ tags: { project: "tickstream", stack } });
  pulumi.all([inRegion.allocationIds, ofThisStack.allocationIds]).apply(([all, own]) => {
    const warning = elasticIpWarning(all.length - own.length, needed);
    if (warning) void pulumi.log.warn(warning);
  });
}

/** The program: a config that fails validation throws before a single resource is declared. */
export function declareTickstream(raw: RawStackConfig, stack: string): TickstreamOutputs {
  validateStackName(stack);
  return createTickstreamStack(validateStackConfig(raw), stack);
}
