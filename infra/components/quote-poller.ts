/**
 * The scheduled quote poller (stack config `quotePoller`): a Lambda running apps/quotes/lambda-handler.ts from
 * its esbuild bundle, started by an EventBridge Scheduler schedule in the market's time zone, logging JSON to a
 * log group with a retention period, its API key in an SSM SecureString parameter that only its role may read.
 * It reaches the brokers' internal listener over the VPC (an ingress rule from its own security group; 9092 is
 * never opened for it) and the quote API over the Internet through a NAT gateway: a function in a VPC gets no
 * public address, even in a subnet routed to the internet gateway (Lambda Developer Guide, "Giving Lambda
 * functions access to resources in an Amazon VPC": "connecting a function to a public subnet doesn't give it
 * internet access"), so it runs in a private subnet whose default route is the NAT gateway.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import type { QuotePollerConfig } from "../config.ts";
import { assumeRolePolicy } from "./iam-policies.ts";
import { subnetCidr, type Network } from "./network.ts";
import { bundleQuotesFunction } from "../../ops/apps/bundle.ts";

/** Lambda's current Node.js runtime (Lambda Developer Guide, "Lambda runtimes": nodejs22.x is supported). */
export const QUOTES_RUNTIME = "nodejs22.x";
export const QUOTES_LOG_RETENTION_DAYS = 14;
/** The /24 the function's private subnet takes: the last one a /20 VPC has, past any broker subnet. */
export const QUOTES_SUBNET_INDEX = 14;

export interface QuotePollerArgs {
  readonly config: QuotePollerConfig;
  readonly apiKey: pulumi.Input<string>;
  readonly vpcCidr: string;
  readonly network: Network;
  readonly internalBootstrapServers: pulumi.Input<string>;
  /** The brokers' CA and the producer principal's password parameter (the internal listener is SASL_SSL). */
  readonly kafka: {
    readonly caCertificate: pulumi.Input<string>;
    readonly producerPassword: aws.ssm.Parameter;
  };
  readonly topic: string;
  readonly lakeBucketName: pulumi.Input<string>;
  readonly lakeBucketArn: pulumi.Input<string>;
  readonly stack: string;
  readonly tags: Record<string, string>;
  /** The function's code; default: the esbuild bundle of the handler. */
  readonly code?: pulumi.Input<pulumi.asset.Archive>;
}

/** The function role's policy: its log group, its key, the poller's state in the lake, its network interfaces. */
export function quotesFunctionPolicy(args: {
  region: string;
  accountId: string;
  logGroupArn: string;
  parameterArn: string;
  producerPasswordArn: string;
  lakeBucketArn: string;
  subnetArn: string;
  securityGroupArn: string;
}): string {
  const eni = `arn:aws:ec2:${args.region}:${args.accountId}:network-interface/*`;
  return JSON.stringify({
    Version: "2012-10-17",
    Statement: [
      {
        Sid: "Logs",
        Effect: "Allow",
        Action: ["logs:CreateLogStream", "logs:PutLogEvents"],
        Resource: `${args.logGroupArn}:*`,
      },
      // SSM decrypts with the AWS managed key aws/ssm, whose key policy lets the account's principals use it
      // through SSM, so no kms:Decrypt grant is needed.
      {
        Sid: "Secrets",
        Effect: "Allow",
        Action: "ssm:GetParameter",
        Resource: [args.parameterArn, args.producerPasswordArn],
      },
      {
        Sid: "PollerState",
        Effect: "Allow",
        Action: ["s3:GetObject", "s3:PutObject"],
        Resource: `${args.lakeBucketArn}/_state/quotes/*`,
      },
      // S3 API Reference, GetObject: without s3:ListBucket a missing key answers 403 AccessDenied, not 404
      // NoSuchKey, and a fresh stack has no state yet; listing is limited to the state's own prefix.
      {
        Sid: "PollerStateListing",
        Effect: "Allow",
        Action: "s3:ListBucket",
        Resource: args.lakeBucketArn,
        Condition: { StringLike: { "s3:prefix": ["_state/quotes/*"] } },
      },
      // Lambda Developer Guide, "Giving Lambda functions access to resources in an Amazon VPC": the execution
      // role creates and deletes the function's network interfaces; DescribeNetworkInterfaces works only on "*".
      {
        Sid: "NetworkInterfaces",
        Effect: "Allow",
        Action: ["ec2:CreateNetworkInterface"],
        Resource: [eni, args.subnetArn, args.securityGroupArn],
      },
      {
        Sid: "NetworkInterfaceUpkeep",
        Effect: "Allow",
        Action: [
          "ec2:DeleteNetworkInterface",
          "ec2:AssignPrivateIpAddresses",
          "ec2:UnassignPrivateIpAddresses",
        ],
        Resource: eni,
      },
      {
        Sid: "NetworkInterfaceReads",
        Effect: "Allow",
        Action: ["ec2:DescribeNetworkInterfaces", "ec2:DescribeSubnets"],
        Resource: "*",
      },
    ],
  });
}

export class QuotePoller extends pulumi.ComponentResource {
  readonly function: aws.lambda.Function;
  readonly logGroup: aws.cloudwatch.LogGroup;
  readonly schedule: aws.scheduler.Schedule;
  readonly apiKeyParameter: aws.ssm.Parameter;
  readonly securityGroup: aws.ec2.SecurityGroup;

  constructor(name: string, args: QuotePollerArgs, opts?: pulumi.ComponentResourceOptions) {
    super("tickstream:quotes:QuotePoller", name, {}, opts);
    const parent = { parent: this };
    const { network, tags } = args;
    const identity = aws.getCallerIdentityOutput({}, parent);
    const region = aws.getRegionOutput({}, parent);

    // Private subnet, its way out through a NAT gateway in the first public subnet.
    const natAddress = new aws.ec2.Eip(
      `${name}-nat`,
      { domain: "vpc", tags },
      { ...parent, dependsOn: [network.internetGateway] },
    );
    const nat = new aws.ec2.NatGateway(
      `${name}-nat`,
      { allocationId: natAddress.allocationId, subnetId: network.subnets[0]!.id, tags },
      { ...parent, dependsOn: [network.internetGateway] },
    );
    const subnet = new aws.ec2.Subnet(
      `${name}-private`,
      {
        vpcId: network.vpc.id,
        cidrBlock: subnetCidr(args.vpcCidr, QUOTES_SUBNET_INDEX),
        availabilityZone: network.subnets[0]!.availabilityZone,
        mapPublicIpOnLaunch: false,
        tags: { ...tags, Name: `${name}-private` },
      },
      parent,
    );
    const routes = new aws.ec2.RouteTable(
      `${name}-private`,
      { vpcId: network.vpc.id, routes: [{ cidrBlock: "0.0.0.0/0", natGatewayId: nat.id }], tags },
      parent,
    );
    new aws.ec2.RouteTableAssociation(
      `${name}-private`,
      { subnetId: subnet.id, routeTableId: routes.id },
      parent,
    );
    // The brokers' group admits this one on the internal listener (an inline rule there: BrokerCluster).
    const securityGroup = (this.securityGroup = new aws.ec2.SecurityGroup(
      `${name}-sg`,
      {
        vpcId: network.vpc.id,
        description: "tickstream quote poller: no ingress; out to the brokers and the quote API",
        egress: [
          { description: "outbound", protocol: "-1", fromPort: 0, toPort: 0, cidrBlocks: ["0.0.0.0/0"] },
        ],
        tags,
      },
      parent,
    ));
    this.apiKeyParameter = new aws.ssm.Parameter(
      `${name}-api-key`,
      {
        name: `/tickstream/${args.stack}/quotes/api-key`,
        type: "SecureString",
        value: pulumi.secret(args.apiKey),
        description: `${args.config.provider} API key of the quote poller`,
        tags,
      },
      parent,
    );
    const functionName = `${name}-fn`;
    this.logGroup = new aws.cloudwatch.LogGroup(
      `${name}-logs`,
      { name: `/aws/lambda/${functionName}`, retentionInDays: QUOTES_LOG_RETENTION_DAYS, tags },
      parent,
    );
    const role = new aws.iam.Role(
      `${name}-fn`,
      {
        assumeRolePolicy: assumeRolePolicy("lambda.amazonaws.com"),
        tags,
      },
      parent,
    );
    const policy = new aws.iam.RolePolicy(
      `${name}-fn`,
      {
        role: role.id,
        policy: pulumi
          .all([
            region.region,
            identity.accountId,
            this.logGroup.arn,
            this.apiKeyParameter.arn,
            args.kafka.producerPassword.arn,
            args.lakeBucketArn,
            subnet.arn,
            securityGroup.arn,
          ])
          .apply(
            ([
              regionName,
              accountId,
              logGroupArn,
              parameterArn,
              producerPasswordArn,
              lakeBucketArn,
              subnetArn,
              securityGroupArn,
            ]) =>
              quotesFunctionPolicy({
                region: regionName,
                accountId,
                logGroupArn,
                parameterArn,
                producerPasswordArn,
                lakeBucketArn,
                subnetArn,
                securityGroupArn,
              }),
          ),
      },
      parent,
    );
    const code =
      args.code ??
      pulumi
        .output(bundleQuotesFunction())
        .apply((file) => new pulumi.asset.AssetArchive({ "index.mjs": new pulumi.asset.FileAsset(file) }));
    this.function = new aws.lambda.Function(
      `${name}-fn`,
      {
        name: functionName,
        runtime: QUOTES_RUNTIME,
        handler: "index.handler",
        code,
        role: role.arn,
        timeout: 60,
        memorySize: 256,
        vpcConfig: { subnetIds: [subnet.id], securityGroupIds: [securityGroup.id] },
        loggingConfig: { logFormat: "JSON", logGroup: this.logGroup.name },
        environment: {
          variables: {
            QUOTES_PROVIDER: args.config.provider,
            QUOTES_SYMBOLS: args.config.symbols.join(","),
            QUOTES_API_KEY_PARAMETER: this.apiKeyParameter.name,
            TICKSTREAM_BOOTSTRAP_SERVERS: args.internalBootstrapServers,
            TICKSTREAM_TOPIC: args.topic,
            TICKSTREAM_LAKE_BUCKET: args.lakeBucketName,
            TICKSTREAM_KAFKA_CA_PEM: args.kafka.caCertificate,
            TICKSTREAM_KAFKA_PASSWORD_PARAMETER: args.kafka.producerPassword.name,
          },
        },
        tags,
      },
      { ...parent, dependsOn: [policy, this.logGroup, nat] },
    );

    const schedulerRole = new aws.iam.Role(
      `${name}-scheduler`,
      {
        assumeRolePolicy: assumeRolePolicy("scheduler.amazonaws.com"),
        tags,
      },
      parent,
    );
    new aws.iam.RolePolicy(
      `${name}-scheduler`,
      {
        role: schedulerRole.id,
        policy: this.function.arn.apply((arn) =>
          JSON.stringify({
            Version: "2012-10-17",
            Statement: [{ Effect: "Allow", Action: "lambda:InvokeFunction", Resource: [arn, `${arn}:*`] }],
          }),
        ),
      },
      parent,
    );
    this.schedule = new aws.scheduler.Schedule(
      `${name}-schedule`,
      {
        scheduleExpression: args.config.schedule,
        scheduleExpressionTimezone: args.config.timezone,
        flexibleTimeWindow: { mode: "OFF" },
        target: {
          arn: this.function.arn,
          roleArn: schedulerRole.arn,
          retryPolicy: { maximumRetryAttempts: 2, maximumEventAgeInSeconds: 300 },
        },
      },
      parent,
    );
    this.registerOutputs({ functionName: this.function.name, logGroupName: this.logGroup.name });
  }
}
