import { expect } from "chai";
import type { PolicyResource, ResourceValidationPolicy, StackValidationPolicy } from "@pulumi/policy";
import {
  athenaWorkgroupEnforced,
  imdsV2Required,
  lakeVersioned,
  noCredentialsInUserData,
  iamLeastPrivilege,
  kafkaPlaintextPortsPrivate,
  noCredentialsInTags,
  noWideIngressToAdminPorts,
  s3BucketsHardened,
  s3EncryptionAlgorithm,
  s3PublicAccessBlocked,
  volumesEncrypted,
  RESOURCE_TYPES as T,
} from "../../infra/policy/rules.ts";
import {
  TAG_WITH_ACCESS_KEY,
  USER_DATA_WITH_ACCESS_KEY,
  USER_DATA_WITH_PRIVATE_KEY,
} from "../fixtures/leaky-user-data.ts";

async function violationsOf(
  policy: ResourceValidationPolicy,
  type: string,
  props: Record<string, unknown>,
): Promise<string[]> {
  const violations: string[] = [];
  for (const validate of [policy.validateResource ?? []].flat()) {
    await validate({ type, props, urn: `urn:test::${type}::r`, name: "r" } as never, (message) =>
      violations.push(message),
    );
  }
  return violations;
}

function resource(
  type: string,
  name: string,
  props: Record<string, unknown> = {},
  bucket?: PolicyResource,
): PolicyResource {
  return {
    type,
    name,
    urn: `urn:test::${type}::${name}`,
    props,
    dependencies: [],
    propertyDependencies: bucket ? { bucket: [bucket] } : {},
  } as unknown as PolicyResource;
}

async function stackViolations(
  policy: StackValidationPolicy,
  resources: PolicyResource[],
): Promise<string[]> {
  const violations: string[] = [];
  await policy.validateStack({ resources } as never, (message) => violations.push(message));
  return violations;
}

const instance = {
  metadataOptions: { httpTokens: "required" },
  rootBlockDevice: { encrypted: true },
  ebsBlockDevices: [{ deviceName: "/dev/sdf", encrypted: true }],
  userData: "#!/bin/bash\necho hello\n",
};

describe("policy pack rules", function () {
  it("s3 public-access blocks must set all four flags", async function () {
    const good = {
      blockPublicAcls: true,
      blockPublicPolicy: true,
      ignorePublicAcls: true,
      restrictPublicBuckets: true,
    };
    expect(await violationsOf(s3PublicAccessBlocked, T.publicAccessBlock, good)).to.deep.equal([]);
    expect(
      await violationsOf(s3PublicAccessBlocked, T.publicAccessBlock, {
        ...good,
        restrictPublicBuckets: false,
      }),
    ).to.deep.equal(["restrictPublicBuckets must be true"]);
  });

  it("s3 default encryption must be AES256 or KMS", async function () {
    const rule = (sseAlgorithm: string) => ({
      rules: [{ applyServerSideEncryptionByDefault: { sseAlgorithm } }],
    });
    expect(await violationsOf(s3EncryptionAlgorithm, T.encryption, rule("aws:kms"))).to.deep.equal([]);
    expect(await violationsOf(s3EncryptionAlgorithm, T.encryption, rule("none"))).to.deep.equal([
      "sseAlgorithm none is not AES256 or aws:kms",
    ]);
  });

  it("every bucket must have a public-access block and default encryption", async function () {
    const bucket = resource(T.bucket, "results");
    const hardened = [
      bucket,
      resource(T.publicAccessBlock, "b", {}, bucket),
      resource(T.encryption, "e", {}, bucket),
    ];
    expect(await stackViolations(s3BucketsHardened, hardened)).to.deep.equal([]);
    expect(
      await stackViolations(s3BucketsHardened, [bucket, resource(T.encryption, "e", {}, bucket)]),
    ).to.deep.equal(["bucket results has no public-access block"]);
  });

  it("the lake bucket must be versioned", async function () {
    const lake = resource(T.bucket, "tickstream-dev-lake");
    const enabled = resource(T.versioning, "v", { versioningConfiguration: { status: "Enabled" } }, lake);
    expect(await stackViolations(lakeVersioned, [lake, enabled])).to.deep.equal([]);
    const suspended = resource(T.versioning, "v", { versioningConfiguration: { status: "Suspended" } }, lake);
    expect(await stackViolations(lakeVersioned, [lake, suspended])).to.deep.equal([
      "lake bucket tickstream-dev-lake has no enabled versioning",
    ]);
  });

  it("instances must require IMDSv2", async function () {
    expect(await violationsOf(imdsV2Required, T.instance, instance)).to.deep.equal([]);
    expect(
      await violationsOf(imdsV2Required, T.instance, {
        ...instance,
        metadataOptions: { httpTokens: "optional" },
      }),
    ).to.have.length(1);
  });

  it("root, data and standalone volumes must be encrypted", async function () {
    expect(await violationsOf(volumesEncrypted, T.instance, instance)).to.deep.equal([]);
    expect(
      await violationsOf(volumesEncrypted, T.instance, {
        ...instance,
        ebsBlockDevices: [{ deviceName: "/dev/sdf", encrypted: false }],
      }),
    ).to.deep.equal(["ebsBlockDevices /dev/sdf: encrypted must be true"]);
    expect(await violationsOf(volumesEncrypted, T.volume, { encrypted: false })).to.deep.equal([
      "the volume must be encrypted",
    ]);
  });

  describe("ingress to SSH and Kafka", function () {
    const group = (ingress: unknown[]) => ({ ingress });
    const tcp = (fromPort: number, toPort: number, extra: Record<string, unknown>) => ({
      protocol: "tcp",
      fromPort,
      toPort,
      ...extra,
    });

    it("admits SSH and Kafka from an office block, and any port but those from the Internet", async function () {
      expect(
        await violationsOf(
          noWideIngressToAdminPorts,
          T.securityGroup,
          group([tcp(22, 22, { cidrBlocks: ["203.0.113.0/24"] })]),
        ),
      ).to.deep.equal([]);
      expect(
        await violationsOf(
          noWideIngressToAdminPorts,
          T.securityGroup,
          group([tcp(443, 443, { cidrBlocks: ["0.0.0.0/0"] })]),
        ),
      ).to.deep.equal([]);
      expect(
        await violationsOf(
          noWideIngressToAdminPorts,
          T.securityGroup,
          group([{ protocol: "udp", fromPort: 0, toPort: 65535, cidrBlocks: ["0.0.0.0/0"] }]),
        ),
      ).to.deep.equal([]);
    });

    it("must refuse 0.0.0.0/0 to port 22", async function () {
      expect(
        await violationsOf(noWideIngressToAdminPorts, T.ingressRule, {
          ipProtocol: "tcp",
          fromPort: 22,
          toPort: 22,
          cidrIpv4: "0.0.0.0/0",
        }),
      ).to.deep.equal(["port 22 open to 0.0.0.0/0, wider than /16"]);
    });

    it("must refuse all traffic (protocol -1, every port) from 0.0.0.0/1 and 128.0.0.0/1, which together are all of IPv4", async function () {
      expect(
        await violationsOf(noWideIngressToAdminPorts, T.securityGroupRule, {
          type: "ingress",
          protocol: "-1",
          fromPort: 0,
          toPort: 0,
          cidrBlocks: ["0.0.0.0/1", "128.0.0.0/1"],
        }),
      ).to.deep.equal([
        "port 22, 9092, 9093, 9094 open to 0.0.0.0/1, wider than /16",
        "port 22, 9092, 9093, 9094 open to 128.0.0.0/1, wider than /16",
      ]);
    });

    it("must refuse a port range that spans the Kafka port (9000-9100) from ::/0 (IPv6)", async function () {
      expect(
        await violationsOf(
          noWideIngressToAdminPorts,
          T.securityGroup,
          group([tcp(9000, 9100, { ipv6CidrBlocks: ["::/0"] })]),
        ),
      ).to.deep.equal(["port 9092, 9093, 9094 open to ::/0, wider than /48"]);
    });

    it("must refuse a block wider than /16 even when it is private (10.0.0.0/8), and a value that is not a CIDR", async function () {
      expect(
        await violationsOf(
          noWideIngressToAdminPorts,
          T.securityGroup,
          group([tcp(9092, 9092, { cidrBlocks: ["10.0.0.0/8", "my-office"] })]),
        ),
      ).to.deep.equal([
        "port 9092 open to 10.0.0.0/8, wider than /16",
        'ingress from "my-office", which is not a CIDR block',
      ]);
    });

    const vpc = resource(T.vpc, "vpc", { cidrBlock: "10.42.0.0/16" });

    it("admits the unencrypted controller and internal listeners from the VPC and from the security group itself", async function () {
      const sg = resource(T.securityGroup, "sg", {
        ingress: [tcp(9093, 9093, { self: true }), tcp(9094, 9094, { cidrBlocks: ["10.42.3.0/24"] })],
      });
      expect(await stackViolations(kafkaPlaintextPortsPrivate, [vpc, sg])).to.deep.equal([]);
    });

    it("must refuse the internal listener (9094, PLAINTEXT on older stacks) to a block outside the VPC, however narrow", async function () {
      const sg = resource(T.securityGroup, "sg", {
        ingress: [tcp(9094, 9094, { cidrBlocks: ["203.0.113.7/32"] })],
      });
      expect(await stackViolations(kafkaPlaintextPortsPrivate, [vpc, sg])).to.deep.equal([
        "sg: VPC-only Kafka port 9094 open to 203.0.113.7/32, outside the VPC",
      ]);
    });

    it("must refuse the controller listener (9093) to any IPv6 block, and all traffic to another private range", async function () {
      const ipv6 = resource(T.ingressRule, "v6", {
        ipProtocol: "tcp",
        fromPort: 9093,
        toPort: 9093,
        cidrIpv6: "2001:db8::/64",
      });
      const all = resource(T.securityGroupRule, "all", {
        type: "ingress",
        protocol: "-1",
        fromPort: 0,
        toPort: 0,
        cidrBlocks: ["10.43.0.0/16"],
      });
      expect(await stackViolations(kafkaPlaintextPortsPrivate, [vpc, ipv6, all])).to.deep.equal([
        "v6: VPC-only Kafka port 9093 open to 2001:db8::/64, outside the VPC",
        "all: VPC-only Kafka port 9093, 9094 open to 10.43.0.0/16, outside the VPC",
      ]);
    });
  });

  describe("IAM, every statement of every document", function () {
    const document = (...Statement: Record<string, unknown>[]) =>
      JSON.stringify({ Version: "2012-10-17", Statement });
    const allow = (Action: string | string[], Resource: string | string[]) => ({
      Effect: "Allow",
      Action,
      Resource,
    });

    it("admits scoped grants, reads on every resource, and any Deny", async function () {
      const policy = document(
        allow("s3:GetObject", "arn:aws:s3:::lake/ticks/*"),
        allow(["ec2:DescribeInstances", "glue:GetTables"], "*"),
        { Effect: "Deny", Action: "*", Resource: "*" },
      );
      expect(await violationsOf(iamLeastPrivilege, T.rolePolicy, { policy })).to.deep.equal([]);
    });

    it('must refuse "*" on "*"', async function () {
      expect(
        await violationsOf(iamLeastPrivilege, T.rolePolicy, { policy: document(allow(["*"], "*")) }),
      ).to.deep.equal(['statement 1 allows every action of "*"']);
    });

    it("must refuse a third statement allowing s3:* and iam:PassRole on every resource behind two harmless ones", async function () {
      const policy = document(
        allow("s3:GetObject", "arn:aws:s3:::lake/ticks/*"),
        allow("s3:ListBucket", "arn:aws:s3:::lake"),
        allow(["s3:*", "iam:PassRole"], "*"),
      );
      expect(await violationsOf(iamLeastPrivilege, T.rolePolicy, { policy })).to.deep.equal([
        'statement 3 allows every action of "s3:*"',
        'statement 3 allows iam:PassRole on every resource ("*")',
      ]);
    });

    // The rule's promise: no statement allows a whole service, whatever its resource (s3:* on one bucket still
    // deletes the bucket, rewrites its policy and its lifecycle).
    it("must refuse s3:* scoped to one bucket, not only on every resource", async function () {
      const policy = document(allow("s3:*", ["arn:aws:s3:::lake", "arn:aws:s3:::lake/*"]));
      expect(await violationsOf(iamLeastPrivilege, T.rolePolicy, { policy })).to.deep.equal([
        'statement 1 allows every action of "s3:*"',
      ]);
    });

    it("must judge a customer-managed policy (aws:iam/policy:Policy) as it judges a role's own", async function () {
      const policy = document(allow("s3:GetObject", "arn:aws:s3:::lake/*"), allow("iam:PassRole", "*"));
      expect(await violationsOf(iamLeastPrivilege, T.policy, { policy })).to.deep.equal([
        'statement 2 allows iam:PassRole on every resource ("*")',
      ]);
    });

    // Systems Manager GetParameter(s) decrypt SecureStrings; GetSecretValue and kms:Decrypt read secrets: on
    // every resource, each is a read of every secret of the account, not a harmless Get.
    it("must refuse a read of every secret (ssm:GetParameter*, secretsmanager:GetSecretValue, kms:Decrypt on every resource), and admit it on named ones", async function () {
      const every = document(
        allow("ssm:GetParameters", "*"),
        allow("ssm:GetParameter*", "arn:aws:ssm:us-east-1:123456789012:parameter/*"),
        allow("secretsmanager:GetSecretValue", "*"),
        allow("kms:Decrypt", "*"),
        allow("ssm:Get*", "*"),
      );
      expect(await violationsOf(iamLeastPrivilege, T.rolePolicy, { policy: every })).to.deep.equal([
        "statement 1 allows ssm:GetParameters on every secret (*)",
        "statement 2 allows ssm:GetParameter* on every secret (arn:aws:ssm:us-east-1:123456789012:parameter/*)",
        "statement 3 allows secretsmanager:GetSecretValue on every secret (*)",
        "statement 4 allows kms:Decrypt on every secret (*)",
        "statement 5 allows ssm:Get* on every secret (*)",
      ]);
      const named = document(
        allow(
          ["ssm:GetParameter", "ssm:GetParameters"],
          "arn:aws:ssm:us-east-1:123456789012:parameter/tickstream/dev/quotes/api-key",
        ),
        allow("ssm:DescribeParameters", "*"),
      );
      expect(await violationsOf(iamLeastPrivilege, T.rolePolicy, { policy: named })).to.deep.equal([]);
    });

    it("must refuse NotAction and NotResource in an Allow, in a role's second inline policy", async function () {
      const inlinePolicies = [
        { policy: document(allow("s3:GetObject", "arn:aws:s3:::lake/*")) },
        { policy: document({ Effect: "Allow", NotAction: "iam:*", NotResource: "arn:aws:s3:::other/*" }) },
      ];
      expect(await violationsOf(iamLeastPrivilege, T.role, { inlinePolicies })).to.deep.equal([
        "statement 1 of policy 2 allows with NotAction (everything but a list)",
        "statement 1 of policy 2 allows with NotResource (everything but a list)",
      ]);
    });

    it("must refuse broad AWS-managed policies attached to a role (AWSGlueServiceRole grants glue:* and S3 on *)", async function () {
      expect(
        await violationsOf(iamLeastPrivilege, T.rolePolicyAttachment, {
          policyArn: "arn:aws:iam::aws:policy/service-role/AWSGlueServiceRole",
        }),
      ).to.deep.equal([
        "the AWS-managed policy AWSGlueServiceRole grants far more than a tickstream role needs",
      ]);
      expect(
        await violationsOf(iamLeastPrivilege, T.role, {
          managedPolicyArns: ["arn:aws:iam::aws:policy/AdministratorAccess"],
        }),
      ).to.have.length(1);
    });
  });

  it("Athena workgroups must enforce encrypted results and a scan cutoff", async function () {
    const configuration = {
      enforceWorkgroupConfiguration: true,
      bytesScannedCutoffPerQuery: 1e10,
      resultConfiguration: { encryptionConfiguration: { encryptionOption: "SSE_S3" } },
    };
    expect(await violationsOf(athenaWorkgroupEnforced, T.workgroup, { configuration })).to.deep.equal([]);
    expect(
      await violationsOf(athenaWorkgroupEnforced, T.workgroup, {
        configuration: { ...configuration, enforceWorkgroupConfiguration: false, resultConfiguration: {} },
      }),
    ).to.deep.equal([
      "configuration.enforceWorkgroupConfiguration must be true",
      "query results must be encrypted",
    ]);
  });

  it("tags must hold no credentials: neither a key that names a secret nor a value that is one", async function () {
    expect(
      await violationsOf(noCredentialsInTags, T.instance, { tags: { Name: "broker-1", stack: "dev" } }),
    ).to.deep.equal([]);
    expect(
      await violationsOf(noCredentialsInTags, T.instance, { tags: { scramPassword: "x" } }),
    ).to.deep.equal(['tag "scramPassword" names a secret']);
    expect(
      await violationsOf(noCredentialsInTags, T.volume, { tagsAll: { owner: TAG_WITH_ACCESS_KEY } }),
    ).to.deep.equal(['tag "owner" contains an AWS access key id']);
  });

  it("user data must hold no credentials", async function () {
    expect(await violationsOf(noCredentialsInUserData, T.instance, instance)).to.deep.equal([]);
    const leaked = { ...instance, userData: USER_DATA_WITH_ACCESS_KEY };
    expect(await violationsOf(noCredentialsInUserData, T.instance, leaked)).to.deep.equal([
      "user data contains an AWS access key id",
    ]);
    const key = { ...instance, userData: USER_DATA_WITH_PRIVATE_KEY };
    expect(await violationsOf(noCredentialsInUserData, T.instance, key)).to.deep.equal([
      "user data contains a private key",
    ]);
  });
});
