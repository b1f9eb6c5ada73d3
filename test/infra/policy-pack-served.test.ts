/**
 * The policy pack as Pulumi runs it (test/helpers/policy-pack-server.ts), judged by what it serves and what it
 * refuses: a pinned list of its rules, and for every rule, the dev stack (with the quote poller) broken in the
 * one way that rule exists to refuse. Dropping a rule from the pack, or weakening it, turns its case red here.
 */
import * as pulumi from "@pulumi/pulumi";
import type { PolicyResource } from "@pulumi/policy";
import { expect } from "chai";
import { randomBytes } from "node:crypto";
import { gzipSync } from "node:zlib";
import {
  asPolicyResources,
  declaredOptions,
  recordOptions,
  recorded,
  setTickstreamMocks,
  settle,
  stackFileConfig,
  valueOf,
} from "./pulumi-mocks.ts";
import { packUserData, userDataScript } from "../../infra/bootstrap/user-data.ts";
import { validateStackConfig } from "../../infra/config.ts";
import { RESOURCE_TYPES as T } from "../../infra/policy/resource-types.ts";
import { createTickstreamStack } from "../../infra/stack.ts";
import {
  startPolicyPack,
  type PackDiagnostic,
  type PolicyPackServer,
} from "../helpers/policy-pack-server.ts";

/** Every rule the pack must serve, with its enforcement level. A change here is a decision, made on purpose. */
const SERVED = {
  "s3-public-access-blocked": "mandatory",
  "s3-encryption-algorithm": "mandatory",
  "ec2-imdsv2-required": "mandatory",
  "ebs-volumes-encrypted": "mandatory",
  "no-wide-ingress-to-ssh-or-kafka": "mandatory",
  "iam-least-privilege": "mandatory",
  "athena-workgroup-enforced": "mandatory",
  "no-credentials-in-user-data": "mandatory",
  "no-credentials-in-tags": "mandatory",
  "ec2-user-data-within-16kb": "mandatory",
  "ec2-security-group-descriptions": "mandatory",
  "ec2-volume-detach-safely": "mandatory",
  "s3-readers-may-list-what-they-read": "mandatory",
  "aws-names-valid": "mandatory",
  "security-group-rule-quota": "mandatory",
  "glue-incremental-crawler-logs": "mandatory",
  "glue-iceberg-tables-valid": "mandatory",
  "glue-iceberg-tables-ignore-commits": "mandatory",
  "glue-table-optimizers-valid": "mandatory",
  "glue-orphan-deletion-spares-data": "mandatory",
  "s3-buckets-hardened": "mandatory",
  "lake-versioned": "mandatory",
  "kafka-plaintext-ports-inside-the-vpc": "mandatory",
  "security-group-one-rule-style": "mandatory",
  "ec2-replace-attached-instances-delete-first": "mandatory",
  "elastic-ip-quota": "advisory",
  "glue-optimizer-role-trust": "mandatory",
} as const;

type Breach = (resources: PolicyResource[]) => void;

const find = (resources: PolicyResource[], type: string, nameIncludes = "") => {
  const found = resources.find((resource) => resource.type === type && resource.name.includes(nameIncludes));
  if (!found) throw new Error(`the stack has no ${type} named *${nameIncludes}*`);
  return found;
};
const brokerGroup = (resources: PolicyResource[]) => find(resources, T.securityGroup, "-broker");
const rolePolicy = (resources: PolicyResource[], suffix: string) =>
  resources.find((resource) => resource.type === T.rolePolicy && resource.name.endsWith(suffix))!;
const editPolicy = (resource: PolicyResource, edit: (document: any) => void) => {
  const document = JSON.parse(resource.props.policy);
  edit(document);
  resource.props.policy = JSON.stringify(document);
};

/** For each rule: the smallest breach of the dev stack it must refuse. */
const BREACHES: Record<keyof typeof SERVED, Breach> = {
  "s3-public-access-blocked": (resources) => {
    find(resources, T.publicAccessBlock, "-lake").props.blockPublicAcls = false;
  },
  "s3-encryption-algorithm": (resources) => {
    find(resources, T.encryption, "-lake").props.rules[0].applyServerSideEncryptionByDefault.sseAlgorithm =
      "none";
  },
  "ec2-imdsv2-required": (resources) => {
    find(resources, T.instance).props.metadataOptions.httpTokens = "optional";
  },
  "ebs-volumes-encrypted": (resources) => {
    find(resources, T.volume).props.encrypted = false;
  },
  "no-wide-ingress-to-ssh-or-kafka": (resources) => {
    brokerGroup(resources).props.ingress[1].cidrBlocks = ["0.0.0.0/0"];
  },
  "iam-least-privilege": (resources) => {
    editPolicy(rolePolicy(resources, "-broker-lake"), (document) => {
      document.Statement[0].Action = "s3:*";
    });
  },
  "athena-workgroup-enforced": (resources) => {
    find(resources, T.workgroup).props.configuration.enforceWorkgroupConfiguration = false;
  },
  "no-credentials-in-user-data": (resources) => {
    const instance = find(resources, T.instance);
    instance.props.userDataBase64 = packUserData(`${userDataScript(instance.props)}\npassword=hunter2\n`);
  },
  "no-credentials-in-tags": (resources) => {
    find(resources, T.instance).props.tags.password = "x";
  },
  "ec2-user-data-within-16kb": (resources) => {
    // Random bytes do not compress: 17,000 of them are over the limit however packed.
    find(resources, T.instance).props.userDataBase64 = gzipSync(randomBytes(17_000)).toString("base64");
  },
  "ec2-security-group-descriptions": (resources) => {
    brokerGroup(resources).props.ingress[0].description = "the poller's producer";
  },
  "ec2-volume-detach-safely": (resources) => {
    find(resources, T.volumeAttachment).props.stopInstanceBeforeDetaching = false;
  },
  "s3-readers-may-list-what-they-read": (resources) => {
    editPolicy(rolePolicy(resources, "-quotes-fn"), (document) => {
      document.Statement = document.Statement.filter(
        (statement: { Sid?: string }) => statement.Sid !== "PollerStateListing",
      );
    });
  },
  "aws-names-valid": (resources) => {
    find(resources, T.lambdaFunction).props.name = "tickstream-dev.1-quotes-fn";
  },
  "security-group-rule-quota": (resources) => {
    brokerGroup(resources).props.ingress[0].cidrBlocks = Array.from(
      { length: 61 },
      (_, index) => `203.0.${index}.0/24`,
    );
  },
  "glue-incremental-crawler-logs": (resources) => {
    find(resources, T.crawler).props.schemaChangePolicy.updateBehavior = "UPDATE_IN_DATABASE";
  },
  "glue-iceberg-tables-valid": (resources) => {
    // A pointer at a metadata file outside the table's metadata/ folder (another table's).
    find(resources, T.glueTable, "-iceberg-ticks").props.parameters.metadata_location =
      "s3://tickstream-dev-lake-4f2a/bars_1m/metadata/00000-x.metadata.json";
  },
  "glue-iceberg-tables-ignore-commits": (resources) => {
    // The second pulumi up would send the initial metadata_location back over the commits' pointer.
    find(resources, T.glueTable, "-iceberg-ticks").opts.ignoreChanges = ["description"];
  },
  "glue-table-optimizers-valid": (resources) => {
    // The spelling the provider's documentation gives; Glue's API takes orphan_file_deletion.
    find(resources, T.tableOptimizer, "-ticks-orphan-file-deletion").props.type = "orphanFileDeletion";
  },
  "glue-orphan-deletion-spares-data": (resources) => {
    // The whole table location: the Hive-layout objects and pending appends under ticks/dt=…/ become candidates.
    find(
      resources,
      T.tableOptimizer,
      "-ticks-orphan-file-deletion",
    ).props.configuration.orphanFileDeletionConfiguration.icebergConfiguration.location =
      "s3://tickstream-dev-lake-4f2a/ticks/";
  },
  "glue-optimizer-role-trust": (resources) => {
    find(resources, T.role, "-iceberg-orphans").props.assumeRolePolicy = JSON.stringify({
      Version: "2012-10-17",
      Statement: [
        { Effect: "Allow", Principal: { Service: "glue.amazonaws.com" }, Action: "sts:AssumeRole" },
        { Effect: "Allow", Principal: { AWS: "arn:aws:iam::123456789012:root" }, Action: "sts:AssumeRole" },
      ],
    });
  },
  "s3-buckets-hardened": (resources) => {
    resources.splice(resources.indexOf(find(resources, T.publicAccessBlock, "-lake")), 1);
  },
  "lake-versioned": (resources) => {
    find(resources, T.versioning, "-lake").props.versioningConfiguration.status = "Suspended";
  },
  "kafka-plaintext-ports-inside-the-vpc": (resources) => {
    const controllers = brokerGroup(resources).props.ingress.find(
      (rule: { fromPort: number }) => rule.fromPort === 9093,
    );
    controllers.cidrBlocks = ["203.0.113.0/24"];
  },
  "security-group-one-rule-style": (resources) => {
    const group = brokerGroup(resources);
    resources.push({
      type: T.ingressRule,
      name: "extra-rule",
      urn: "urn:pulumi:test::tickstream::aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule::extra-rule",
      props: { securityGroupId: group.props.id ?? "sg", ipProtocol: "tcp", fromPort: 9094, toPort: 9094 },
      opts: group.opts,
      dependencies: [group],
      propertyDependencies: { securityGroupId: [group] },
    } as unknown as PolicyResource);
  },
  "ec2-replace-attached-instances-delete-first": (resources) => {
    find(resources, T.instance).opts.deleteBeforeReplace = false;
  },
  "elastic-ip-quota": (resources) => {
    const eip = find(resources, T.eip);
    for (let index = 0; index < 5; index++)
      resources.push({ ...eip, name: `${eip.name}-${index}`, urn: `${eip.urn}-${index}` });
  },
};

/** A deep copy of the stack (JSON-safe properties, as the engine sends them), links rebuilt by URN. */
function copyOf(resources: readonly PolicyResource[]): PolicyResource[] {
  const copies = resources.map(
    (resource) =>
      ({
        ...resource,
        props: JSON.parse(JSON.stringify(resource.props)),
        opts: { ...resource.opts },
        dependencies: [],
        propertyDependencies: {},
      }) as unknown as PolicyResource,
  );
  const byUrn = new Map(copies.map((copy) => [copy.urn, copy]));
  resources.forEach((resource, index) => {
    copies[index]!.dependencies = resource.dependencies.map((dependency) => byUrn.get(dependency.urn)!);
    for (const [key, list] of Object.entries(resource.propertyDependencies))
      copies[index]!.propertyDependencies[key] = list.map((dependency) => byUrn.get(dependency.urn)!);
  });
  return copies;
}

/** The stack's resources as the engine would send them, for a stack file with the quote poller on. */
async function stackWithPoller(stack: "dev" | "prod"): Promise<PolicyResource[]> {
  recorded.length = 0;
  declaredOptions.clear();
  setTickstreamMocks(stack);
  const outputs = createTickstreamStack(
    validateStackConfig({
      ...stackFileConfig(stack),
      quotePoller: { provider: "finnhub", symbols: ["AAPL"] },
      quotesApiKey: pulumi.secret("finnhub-key"),
    }),
    stack,
    { transformations: [recordOptions] },
  );
  await valueOf(outputs.quotesFunctionName!);
  await settle();
  return asPolicyResources();
}

describe("the policy pack, served as the Pulumi CLI serves it", function () {
  this.timeout(120_000);
  let pack: PolicyPackServer;
  let stack: PolicyResource[];
  const judge = async (resources: PolicyResource[]): Promise<PackDiagnostic[]> => [
    ...(await pack.analyze(resources)),
    ...(await pack.analyzeStack(resources)),
  ];

  before(async function () {
    stack = await stackWithPoller("dev");
    pack = await startPolicyPack();
  });
  after(async () => pack?.close());

  it("serves exactly the rules the project decided on, each at its enforcement level", async function () {
    const served = await pack.policies();
    expect(Object.fromEntries(served.map((policy) => [policy.name, policy.enforcement]))).to.deep.equal(
      SERVED,
    );
  });

  it("finds nothing to refuse in the dev stack with the quote poller", async function () {
    const diagnostics = await judge(copyOf(stack));
    expect(diagnostics.map((diagnostic) => `${diagnostic.policy}: ${diagnostic.message}`)).to.deep.equal([]);
  });

  // Three brokers and a NAT gateway: 4 Elastic IPs, within the default 5; every AWS-limit rule holds.
  it("finds nothing to refuse in the prod stack with the quote poller", async function () {
    const diagnostics = await judge(await stackWithPoller("prod"));
    expect(diagnostics.map((diagnostic) => `${diagnostic.policy}: ${diagnostic.message}`)).to.deep.equal([]);
  });

  // A preview of a new stack: the metadata object's key comes from a RandomUuid and the optimizers' role from a
  // role not made yet, so the engine sends those values as unknown (the SDK's sentinel). The Iceberg rules then
  // cannot run on them; the pack says so as advisory and refuses nothing.
  it("refuses nothing in a preview whose Iceberg table pointers and optimizer roles are not known yet", async function () {
    const unknown = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";
    const resources = copyOf(stack);
    for (const resource of resources) {
      if (resource.type === T.glueTable) resource.props.parameters.metadata_location = unknown;
      if (resource.type === T.bucketObject) resource.props.key = unknown;
      if (resource.type === T.tableOptimizer) resource.props.configuration.roleArn = unknown;
    }
    const diagnostics = await judge(resources);
    expect(
      diagnostics.filter((diagnostic) => diagnostic.enforcement === "mandatory"),
      JSON.stringify(diagnostics),
    ).to.deep.equal([]);
    expect(diagnostics.map((diagnostic) => diagnostic.policy)).to.include("glue-iceberg-tables-valid");
  });

  for (const [policy, breach] of Object.entries(BREACHES)) {
    it(`refuses, through ${policy} alone, the stack broken as that rule forbids`, async function () {
      const resources = copyOf(stack);
      breach(resources);
      const diagnostics = await judge(resources);
      expect(
        [...new Set(diagnostics.map((diagnostic) => diagnostic.policy))],
        JSON.stringify(diagnostics),
      ).to.deep.equal([policy]);
      expect(diagnostics.map((diagnostic) => diagnostic.enforcement)).to.satisfy((levels: string[]) =>
        levels.every((level) => level === SERVED[policy as keyof typeof SERVED]),
      );
    });
  }
});
