import { expect } from "chai";
import type { PolicyResource, ResourceValidationPolicy, StackValidationPolicy } from "@pulumi/policy";
import {
  athenaWorkgroupEnforced,
  imdsV2Required,
  lakeVersioned,
  noCredentialsInUserData,
  noOpenAdminPorts,
  noStarStarIam,
  s3BucketsHardened,
  s3EncryptionAlgorithm,
  s3PublicAccessBlocked,
  volumesEncrypted,
  RESOURCE_TYPES as T,
} from "../../infra/policy/rules.ts";
import { USER_DATA_WITH_ACCESS_KEY, USER_DATA_WITH_PRIVATE_KEY } from "../fixtures/leaky-user-data.ts";

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

  it("no ingress from 0.0.0.0/0 or ::/0 may reach port 22 or 9092", async function () {
    const group = (ingress: unknown[]) => ({ ingress });
    expect(
      await violationsOf(
        noOpenAdminPorts,
        T.securityGroup,
        group([{ protocol: "tcp", fromPort: 22, toPort: 22, cidrBlocks: ["203.0.113.0/24"] }]),
      ),
    ).to.deep.equal([]);
    expect(
      await violationsOf(
        noOpenAdminPorts,
        T.securityGroup,
        group([{ protocol: "tcp", fromPort: 443, toPort: 443, cidrBlocks: ["0.0.0.0/0"] }]),
      ),
    ).to.deep.equal([]);
    expect(
      await violationsOf(
        noOpenAdminPorts,
        T.securityGroup,
        group([{ protocol: "tcp", fromPort: 9000, toPort: 9100, ipv6CidrBlocks: ["::/0"] }]),
      ),
    ).to.deep.equal(["port 9092 is open to the whole Internet"]);
    expect(
      await violationsOf(noOpenAdminPorts, T.securityGroupRule, {
        type: "ingress",
        protocol: "-1",
        cidrBlocks: ["0.0.0.0/0"],
      }),
    ).to.deep.equal(["port 22 is open to the whole Internet", "port 9092 is open to the whole Internet"]);
    expect(
      await violationsOf(noOpenAdminPorts, T.ingressRule, {
        ipProtocol: "tcp",
        fromPort: 22,
        toPort: 22,
        cidrIpv4: "0.0.0.0/0",
      }),
    ).to.have.length(1);
  });

  it("no IAM statement may allow * on *", async function () {
    const document = (Action: string | string[], Resource: string | string[]) =>
      JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Action, Resource }] });
    expect(
      await violationsOf(noStarStarIam, T.rolePolicy, { policy: document("s3:GetObject", "*") }),
    ).to.deep.equal([]);
    expect(await violationsOf(noStarStarIam, T.rolePolicy, { policy: document(["*"], "*") })).to.deep.equal([
      'a statement allows "*" on "*"',
    ]);
    expect(
      await violationsOf(noStarStarIam, T.role, { inlinePolicies: [{ policy: document("*", ["*"]) }] }),
    ).to.have.length(1);
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
