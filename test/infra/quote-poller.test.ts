import * as pulumi from "@pulumi/pulumi";
import { expect } from "chai";
import { readFileSync } from "node:fs";
import {
  asPolicyResources,
  declaredOptions,
  ofType,
  recordOptions,
  recorded,
  setTickstreamMocks,
  settle,
  stackFileConfig,
  valueOf,
} from "./pulumi-mocks.ts";
import { validateStackConfig, type RawStackConfig } from "../../infra/config.ts";
import { QUOTES_LOG_RETENTION_DAYS, QUOTES_RUNTIME } from "../../infra/components/quote-poller.ts";
import { startPolicyPack } from "../helpers/policy-pack-server.ts";
import { createTickstreamStack, type TickstreamOutputs } from "../../infra/stack.ts";

const API_KEY = "finnhub-key-0123456789";

function pollerConfig(extra: Record<string, unknown> = {}): RawStackConfig {
  return {
    ...stackFileConfig("dev"),
    quotePoller: { provider: "finnhub", symbols: ["AAPL", "MSFT"], ...extra },
    quotesApiKey: pulumi.secret(API_KEY),
  };
}

describe("the scheduled quote poller under Pulumi mocks", function () {
  let outputs: TickstreamOutputs;
  const one = (type: string) => {
    const found = ofType(type).filter((resource) => resource.name.includes("-quotes"));
    expect(found, type).to.have.length(1);
    return found[0]!;
  };

  before(async function () {
    this.timeout(60_000);
    recorded.length = 0;
    setTickstreamMocks("dev");
    declaredOptions.clear();
    outputs = createTickstreamStack(validateStackConfig(pollerConfig()), "dev", {
      transformations: [recordOptions],
    });
    await valueOf(outputs.quotesFunctionName!);
    await settle();
  });

  // Lambda Developer Guide, "Lambda runtimes": nodejs22.x is a supported runtime; a .mjs handler file is loaded
  // as an ES module, and "index.handler" names index.mjs's export `handler`.
  it(`must run the handler's esbuild bundle (index.mjs) on ${QUOTES_RUNTIME}`, async function () {
    const fn = one("aws:lambda/function:Function");
    expect(fn.inputs).to.include({ runtime: QUOTES_RUNTIME, handler: "index.handler", timeout: 60 });
    const code = (await valueOf(fn.inputs.code)) as { assets?: Record<string, { path?: string }> };
    const asset = code.assets?.["index.mjs"] as unknown as { path: string } | undefined;
    expect(asset?.path, "a bundle file").to.be.a("string");
    expect(readFileSync(asset!.path, "utf8")).to.match(/export\s*\{[^}]*handler/);
  });

  // Lambda Developer Guide, "Giving Lambda functions access to resources in an Amazon VPC": a function in a
  // VPC has no public IP, so it reaches the Internet through a NAT gateway from a private subnet.
  it("must run in a private subnet whose default route is a NAT gateway in a public subnet", function () {
    const fn = one("aws:lambda/function:Function");
    const subnet = one("aws:ec2/subnet:Subnet");
    expect(fn.inputs.vpcConfig.subnetIds).to.deep.equal([subnet.id]);
    expect(subnet.inputs.mapPublicIpOnLaunch).to.equal(false);
    const nat = one("aws:ec2/natGateway:NatGateway");
    const publicSubnet = ofType("aws:ec2/subnet:Subnet").find((candidate) =>
      candidate.name.endsWith("-public-1"),
    )!;
    expect(nat.inputs.subnetId).to.equal(publicSubnet.id);
    const routes = one("aws:ec2/routeTable:RouteTable");
    expect(routes.inputs.routes).to.deep.equal([{ cidrBlock: "0.0.0.0/0", natGatewayId: nat.id }]);
  });

  // VPC User Guide, "Security group rules": a rule that references a security group admits the private
  // addresses of that group's members; no address range is opened.
  // The provider's aws.ec2.SecurityGroup documentation: a group's inline rules and standalone rule resources
  // must not be mixed (the group's next update revokes the standalone ones), so the brokers' group admits the
  // poller in an inline rule of its own.
  it("must reach the brokers only on the internal listener (9094), admitted by its own security group in an inline rule of the brokers' group", async function () {
    const groups = ofType("aws:ec2/securityGroup:SecurityGroup");
    const poller = groups.find((candidate) => candidate.name.includes("-quotes"))!;
    const brokers = groups.find((candidate) => candidate.name.includes("-broker"))!;
    const admitting = (brokers.inputs.ingress as Record<string, unknown>[]).filter((rule) =>
      ((rule.securityGroups as string[] | undefined) ?? []).includes(poller.id),
    );
    expect(admitting).to.have.length(1);
    expect(admitting[0]).to.include({ protocol: "tcp", fromPort: 9094, toPort: 9094 });
    expect(admitting[0]!.cidrBlocks ?? []).to.deep.equal([]);
    expect(poller.inputs.ingress ?? []).to.deep.equal([]);
    expect(ofType("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")).to.deep.equal([]);
    expect(ofType("aws:ec2/securityGroupRule:SecurityGroupRule")).to.deep.equal([]);
    // The function learns the brokers' internal listener (declared after it) through a deferred output.
    const fn = one("aws:lambda/function:Function");
    expect(fn.inputs.environment.variables.TICKSTREAM_BOOTSTRAP_SERVERS).to.equal(
      await valueOf(outputs.internalBootstrapServers),
    );
  });

  // SSM: a SecureString parameter's value is encrypted with KMS (the AWS managed key aws/ssm by default).
  it("must keep the API key in an SSM SecureString and out of the function's environment, every resource's inputs in clear, and the outputs", async function () {
    const parameter = one("aws:ssm/parameter:Parameter");
    expect(parameter.inputs).to.include({ type: "SecureString", name: "/tickstream/dev/quotes/api-key" });
    const fn = one("aws:lambda/function:Function");
    expect(fn.inputs.environment.variables).to.include({
      QUOTES_API_KEY_PARAMETER: "/tickstream/dev/quotes/api-key",
    });
    const inClear = recorded.filter(
      (resource) => resource !== parameter && JSON.stringify(resource.inputs).includes(API_KEY),
    );
    expect(inClear.map((resource) => resource.name)).to.deep.equal([]);
    const resolved = await Promise.all(Object.values(outputs).map((output) => valueOf(output)));
    expect(JSON.stringify(resolved)).to.not.include(API_KEY);
  });

  // IAM: only the function's role may read the key (no other statement grants ssm:GetParameter on it); of the
  // brokers' secrets it reads the producer's password alone.
  // IAM: every statement of the function's role, grant by grant (action on resource); only that role reads the
  // key, and of the brokers' secrets it reads the producer's password alone.
  it("must grant the function's role exactly: its key and the producer's password, its log group, the poller's state (and listing it), its network interfaces", function () {
    const statementsOf = (resource: (typeof recorded)[number]) =>
      JSON.parse(resource.inputs.policy).Statement as {
        Effect: string;
        Action: string | string[];
        Resource: string | string[];
        Condition?: unknown;
      }[];
    const grants = (resource: (typeof recorded)[number]) =>
      statementsOf(resource).flatMap((statement) =>
        [statement.Action]
          .flat()
          .flatMap((action) =>
            [statement.Resource]
              .flat()
              .map(
                (target) =>
                  `${statement.Effect} ${action} ${target}${statement.Condition ? ` if ${JSON.stringify(statement.Condition)}` : ""}`,
              ),
          ),
      );
    const role = ofType("aws:iam/rolePolicy:RolePolicy").find(
      (resource) => resource.name === "tickstream-dev-quotes-fn",
    )!;
    const parameter = one("aws:ssm/parameter:Parameter");
    const producerPassword = ofType("aws:ssm/parameter:Parameter").find(
      (resource) => resource.inputs.name === "/tickstream/dev/kafka/users/producer",
    )!;
    const logGroup = one("aws:cloudwatch/logGroup:LogGroup");
    const lake = ofType("aws:s3/bucket:Bucket").find((bucket) => bucket.name.endsWith("-lake"))!.state.arn;
    const subnet = one("aws:ec2/subnet:Subnet").state.arn;
    const group = ofType("aws:ec2/securityGroup:SecurityGroup").find((candidate) =>
      candidate.name.includes("-quotes"),
    )!.state.arn;
    const eni = "arn:aws:ec2:us-east-1:123456789012:network-interface/*";
    expect(grants(role).sort()).to.deep.equal(
      [
        `Allow logs:CreateLogStream ${logGroup.state.arn}:*`,
        `Allow logs:PutLogEvents ${logGroup.state.arn}:*`,
        `Allow ssm:GetParameter ${parameter.state.arn}`,
        `Allow ssm:GetParameter ${producerPassword.state.arn}`,
        `Allow s3:GetObject ${lake}/_state/quotes/*`,
        `Allow s3:PutObject ${lake}/_state/quotes/*`,
        `Allow s3:ListBucket ${lake} if {"StringLike":{"s3:prefix":["_state/quotes/*"]}}`,
        `Allow ec2:CreateNetworkInterface ${eni}`,
        `Allow ec2:CreateNetworkInterface ${subnet}`,
        `Allow ec2:CreateNetworkInterface ${group}`,
        `Allow ec2:DeleteNetworkInterface ${eni}`,
        `Allow ec2:AssignPrivateIpAddresses ${eni}`,
        `Allow ec2:UnassignPrivateIpAddresses ${eni}`,
        `Allow ec2:DescribeNetworkInterfaces *`,
        `Allow ec2:DescribeSubnets *`,
      ].sort(),
    );
    // No other role's policy reads the poller's key.
    const keyReaders = ofType("aws:iam/rolePolicy:RolePolicy").filter((resource) =>
      grants(resource).some((grant) => grant.includes(parameter.state.arn)),
    );
    expect(keyReaders.map((resource) => resource.name)).to.deep.equal(["tickstream-dev-quotes-fn"]);
  });

  // CloudWatch Logs PutRetentionPolicy: retentionInDays is one of 1, 3, 5, 7, 14, 30, 60, 90, … days; Lambda
  // writes to the group its loggingConfig names (JSON format: structured log lines).
  // Lambda quotas: "the total size of all environment variables doesn't exceed 4 KB"
  // (https://docs.aws.amazon.com/lambda/latest/dg/configuration-envvars.html). The CA is public; the password
  // is only named.
  it("must hand the function the brokers' CA and the producer password's parameter name, within Lambda's 4 KB of environment", async function () {
    const fn = one("aws:lambda/function:Function");
    const variables = fn.inputs.environment.variables as Record<string, string>;
    const ca = ofType("tls:index/selfSignedCert:SelfSignedCert")[0]!;
    expect(variables).to.include({
      TICKSTREAM_KAFKA_CA_PEM: ca.state.certPem,
      TICKSTREAM_KAFKA_PASSWORD_PARAMETER: "/tickstream/dev/kafka/users/producer",
    });
    // A real P-256 CA certificate is about 700 bytes; the mock's is shorter, so count it at its real size.
    const size = Object.entries(variables).reduce(
      (total, [key, value]) =>
        total + key.length + (key === "TICKSTREAM_KAFKA_CA_PEM" ? 1_000 : value.length),
      0,
    );
    expect(size).to.be.below(4096);
    const password = ofType("random:index/randomPassword:RandomPassword").find((resource) =>
      resource.name.endsWith("-producer"),
    )!;
    expect(JSON.stringify(fn.inputs)).to.not.include(password.state.result);
  });

  it("must log JSON to a log group with a retention period CloudWatch accepts", function () {
    const logGroup = one("aws:cloudwatch/logGroup:LogGroup");
    expect([1, 3, 5, 7, 14, 30, 60, 90]).to.include(logGroup.inputs.retentionInDays);
    expect(logGroup.inputs.retentionInDays).to.equal(QUOTES_LOG_RETENTION_DAYS);
    const fn = one("aws:lambda/function:Function");
    expect(fn.inputs.loggingConfig).to.deep.equal({ logFormat: "JSON", logGroup: logGroup.inputs.name });
  });

  // EventBridge Scheduler: CreateSchedule takes a cron() expression read in ScheduleExpressionTimezone, a
  // FlexibleTimeWindow (OFF: on the minute), and a target whose RetryPolicy allows 0-185 attempts and an event
  // age of 60-86400 s; the schedule's role needs lambda:InvokeFunction on the function.
  it("must start it on EventBridge Scheduler in New York time with a small retry policy, through a role that may invoke only it", function () {
    const schedule = one("aws:scheduler/schedule:Schedule");
    const fn = one("aws:lambda/function:Function");
    expect(schedule.inputs).to.deep.include({
      scheduleExpression: "cron(0/5 9-16 ? * MON-FRI *)",
      scheduleExpressionTimezone: "America/New_York",
      flexibleTimeWindow: { mode: "OFF" },
    });
    expect(schedule.inputs.target.arn).to.equal(fn.state.arn);
    expect(schedule.inputs.target.retryPolicy).to.deep.equal({
      maximumRetryAttempts: 2,
      maximumEventAgeInSeconds: 300,
    });
    const invoke = ofType("aws:iam/rolePolicy:RolePolicy").find((resource) =>
      resource.name.endsWith("-scheduler"),
    )!;
    expect(JSON.parse(invoke.inputs.policy).Statement).to.deep.equal([
      { Effect: "Allow", Action: "lambda:InvokeFunction", Resource: [fn.state.arn, `${fn.state.arn}:*`] },
    ]);
  });

  it("passes every mandatory rule of the policy pack, served as Pulumi serves it", async function () {
    this.timeout(120_000);
    const pack = await startPolicyPack();
    try {
      const resources = asPolicyResources();
      const diagnostics = [...(await pack.analyze(resources)), ...(await pack.analyzeStack(resources))];
      const refused = diagnostics.filter((diagnostic) => diagnostic.enforcement === "mandatory");
      expect(refused.map((diagnostic) => `${diagnostic.policy}: ${diagnostic.message}`)).to.deep.equal([]);
    } finally {
      await pack.close();
    }
  });
});

describe("quote poller config", function () {
  const refused = (raw: RawStackConfig) => {
    try {
      validateStackConfig(raw);
    } catch (error) {
      return (error as Error).message;
    }
    return "accepted";
  };

  it("is off unless set, and names each bad key with its fix", function () {
    expect(validateStackConfig(stackFileConfig("dev")).quotePoller).to.equal(undefined);
    expect(refused(pollerConfig({ provider: "yahoo" }))).to.match(
      /^config tickstream:quotePoller\.provider must be finnhub or alphavantage/,
    );
    expect(refused(pollerConfig({ symbols: [] }))).to.match(
      /^config tickstream:quotePoller\.symbols must be a non-empty list/,
    );
    expect(refused(pollerConfig({ schedule: "every 5 minutes" }))).to.match(
      /is not an EventBridge Scheduler expression/,
    );
    // EventBridge User Guide, "Cron expressions": "You can't use * in both the Day-of-month and Day-of-week fields".
    expect(refused(pollerConfig({ schedule: "cron(0/5 9-16 * * * *)" }))).to.match(
      /^config tickstream:quotePoller\.schedule "cron\(0\/5 9-16 \* \* \* \*\)" needs \? in exactly one of day-of-month and day-of-week/,
    );
    expect(refused(pollerConfig({ schedule: "cron(0/5 9-16 ? * ? *)" }))).to.match(/needs \? in exactly one/);
    expect(refused(pollerConfig({ timezone: "New York" }))).to.match(/is not an IANA time zone/);
    expect(refused(pollerConfig({ interval: 5 }))).to.match(
      /^config tickstream:quotePoller\.interval is not a setting/,
    );
    expect(refused({ ...pollerConfig(), quotesApiKey: undefined })).to.equal(
      "config tickstream:quotesApiKey is required when quotePoller is set; pulumi config set --secret tickstream:quotesApiKey <your key>",
    );
  });
});
