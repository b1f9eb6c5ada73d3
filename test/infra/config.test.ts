import { recorded, setTickstreamMocks, stackFileConfig, stackFileOnly, settle } from "./pulumi-mocks.ts";
import { expect } from "chai";
import { load } from "js-yaml";
import { readFileSync } from "node:fs";
import { ConfigError } from "../../apps/shared/errors.ts";
import { validateStackConfig, type RawStackConfig } from "../../infra/config.ts";
import { declareTickstream } from "../../infra/stack.ts";

const dev = stackFileConfig("dev");

describe("stack config validation", function () {
  before(() => setTickstreamMocks("dev"));

  it("has a project file that names the program and runs it as TypeScript modules", function () {
    const project = load(readFileSync("Pulumi.yaml", "utf8")) as {
      name: string;
      main: string;
      runtime: { name: string; options: { nodeargs: string } };
    };
    expect(project).to.deep.include({ name: "tickstream", main: "infra/index.ts" });
    expect(project.runtime).to.deep.include({ name: "nodejs" });
    expect(project.runtime.options.nodeargs).to.equal("--import tsx");
  });

  it("refuses the stack files alone, naming what the operator must set (no placeholder key, networks or image)", function () {
    for (const stack of ["dev", "prod"]) {
      const raw = stackFileOnly(stack);
      expect(raw.allowedCidrs, stack).to.equal(undefined);
      expect(raw.sshPublicKey, stack).to.equal(undefined);
      expect(raw.amiId, stack).to.equal(undefined);
      expect(() => validateStackConfig(raw)).to.throw(
        ConfigError,
        /^config tickstream:allowedCidrs is required/,
      );
      expect(() => validateStackConfig({ ...raw, allowedCidrs: ["203.0.113.0/24"] })).to.throw(
        ConfigError,
        /^config tickstream:sshPublicKey is required/,
      );
    }
  });

  it("requires a pinned AMI id, with the command that looks the current Ubuntu 24.04 image up", function () {
    const { amiId: _pinned, ...unpinned } = dev;
    expect(() => validateStackConfig(unpinned)).to.throw(
      ConfigError,
      /^config tickstream:amiId is required \(the brokers' image is pinned, never looked up\); pulumi config set tickstream:amiId "\$\(aws ec2 describe-images --owners 099720109477 /,
    );
    expect(() => validateStackConfig({ ...dev, amiId: "ubuntu-latest" })).to.throw(
      ConfigError,
      /^config tickstream:amiId "ubuntu-latest" is not an AMI id/,
    );
  });

  it("accepts the dev and prod stack files with the operator's settings", function () {
    expect(validateStackConfig(dev)).to.include({ brokerCount: 1, replicationFactor: 1 });
    expect(validateStackConfig(stackFileConfig("prod"))).to.include({
      brokerCount: 3,
      replicationFactor: 3,
      crawlerSchedule: "cron(15 * * * ? *)",
    });
  });

  const cases: [string, Partial<RawStackConfig>, RegExp][] = [
    // Glue Developer Guide, "Deleting orphan files": a file whose commit is pending can be deleted once older
    // than the retention; the lake keeps _staging/ (whence a copied flush is appended) 7 days.
    [
      "an orphan-file retention the lake's pending appends could outlive",
      { icebergOrphanFileRetentionDays: 7 },
      /^config tickstream:icebergOrphanFileRetentionDays must be a whole number from 8 to 3650 \(longer than the lake keeps _staging\/, so no file whose Iceberg append is still pending is deleted\), got 7; set it with: pulumi config set tickstream:icebergOrphanFileRetentionDays <n>$/,
    ],
    [
      "no snapshot kept",
      { icebergSnapshotsToRetain: 0 },
      /^config tickstream:icebergSnapshotsToRetain must be a whole number from 1 to 1000, got 0; set it with: pulumi config set tickstream:icebergSnapshotsToRetain <n>$/,
    ],
    [
      "a fractional snapshot retention",
      { icebergSnapshotRetentionDays: 1.5 },
      /^config tickstream:icebergSnapshotRetentionDays must be a whole number from 1 to 3650, got 1.5; set it with/,
    ],
    [
      "a missing region",
      { region: undefined },
      /^config aws:region is not set; set it with: pulumi config set aws:region/,
    ],
    [
      "no allowedCidrs",
      { allowedCidrs: undefined },
      /^config tickstream:allowedCidrs is required \(there is no open default\); list the networks/,
    ],
    [
      "an open allowedCidrs",
      { allowedCidrs: ["0.0.0.0/0"] },
      /^config tickstream:allowedCidrs has 0\.0\.0\.0\/0, which opens Kafka and SSH to the whole Internet/,
    ],
    ["an open IPv6 allowedCidrs", { allowedCidrs: ["::/0"] }, /has ::\/0, which opens/],
    [
      "a malformed CIDR",
      { allowedCidrs: ["10.0.0.300/8"] },
      /^config tickstream:allowedCidrs has "10\.0\.0\.300\/8", which is not a CIDR block/,
    ],
    [
      "an even broker count",
      { brokerCount: 2 },
      /^config tickstream:brokerCount must be 1, or an odd number from 3 to 9 for a KRaft quorum, got 2/,
    ],
    [
      "a tiny instance",
      { instanceType: "t3.micro" },
      /^config tickstream:instanceType t3\.micro has too little memory/,
    ],
    ["a missing SSH key", { sshPublicKey: undefined }, /^config tickstream:sshPublicKey is required/],
    [
      "a bad SSH key",
      { sshPublicKey: "not a key" },
      /^config tickstream:sshPublicKey is not an OpenSSH ed25519 or RSA public key/,
    ],
    // EC2 API Reference, ImportKeyPair: "Imports the public key from an RSA or ED25519 key pair".
    [
      "an ECDSA SSH key, which EC2 cannot import",
      { sshPublicKey: "ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTY= ops@example" },
      /^config tickstream:sshPublicKey is not an OpenSSH ed25519 or RSA public key \(EC2 imports no other type\)/,
    ],
    // EventBridge User Guide and Glue Developer Guide, cron expressions: "You can't use * in both the
    // Day-of-month and Day-of-week fields"; Glue: "the minimum precision for a schedule is 5 minutes".
    [
      "a crawler schedule with * in both day fields",
      { crawlerSchedule: "cron(15 * * * * *)" },
      /^config tickstream:crawlerSchedule "cron\(15 \* \* \* \* \*\)" needs \? in exactly one of day-of-month and day-of-week/,
    ],
    [
      "a crawler schedule more often than every 5 minutes",
      { crawlerSchedule: "cron(0/2 * * * ? *)" },
      /^config tickstream:crawlerSchedule "cron\(0\/2 \* \* \* \? \*\)" runs more often than every 5 minutes/,
    ],
    // Amazon VPC quotas: 60 inbound rules per security group and address family; each block adds two.
    [
      "29 IPv4 allowedCidrs (58 rules beside the group's own)",
      { allowedCidrs: Array.from({ length: 29 }, (_, index) => `198.51.${index}.0/24`) },
      /^config tickstream:allowedCidrs lists 29 IPv4 blocks; each adds two inbound rules \(SSH, Kafka\) and a security group takes 60 per address family/,
    ],
    // EC2 API Reference, CreateVpc: a VPC is /16 to /28.
    [
      "a VPC block wider than /16",
      { vpcCidr: "10.0.0.0/8" },
      /^config tickstream:vpcCidr "10\.0\.0\.0\/8" must be an IPv4 block from \/16 to \/20/,
    ],
    [
      "a bad schedule",
      { crawlerSchedule: "hourly" },
      /^config tickstream:crawlerSchedule "hourly" is not cron\(minutes hours day-of-month month day-of-week year\)/,
    ],
    [
      "zero partitions",
      { topicPartitions: 0 },
      /^config tickstream:topicPartitions must be a whole number from 1 to 1000, got 0/,
    ],
    [
      "a bad Kafka version",
      { kafkaVersion: "latest" },
      /^config tickstream:kafkaVersion "latest" is not a Kafka release/,
    ],
  ];

  it("takes the Iceberg tables' retention settings, with defaults (infra/lake-retention.ts)", function () {
    expect(validateStackConfig(dev).icebergRetention).to.deep.equal({
      snapshotRetentionDays: 7,
      snapshotsToRetain: 1,
      orphanFileRetentionDays: 14,
    });
    expect(
      validateStackConfig({
        ...dev,
        icebergSnapshotRetentionDays: 30,
        icebergSnapshotsToRetain: 5,
        icebergOrphanFileRetentionDays: 8,
      }).icebergRetention,
    ).to.deep.equal({ snapshotRetentionDays: 30, snapshotsToRetain: 5, orphanFileRetentionDays: 8 });
    // What Pulumi reads: the keys the validation names.
    const reader = readFileSync("infra/read-config.ts", "utf8");
    for (const key of [
      "icebergSnapshotRetentionDays",
      "icebergSnapshotsToRetain",
      "icebergOrphanFileRetentionDays",
    ])
      expect(reader).to.include(`config.getNumber("${key}")`);
  });

  it("accepts 28 IPv4 allowedCidrs, the most a group's 60 inbound rules hold", function () {
    const allowedCidrs = Array.from({ length: 28 }, (_, index) => `198.51.${index}.0/24`);
    expect(validateStackConfig({ ...dev, allowedCidrs }).allowedCidrs).to.have.length(28);
  });

  // S3 bucket names take no "_", Lambda function names no "."; IAM role names are at most 64 characters.
  for (const stack of ["my.stack", "my_stack", "a-stack-name-of-twenty-nine-c"]) {
    it(`refuses the stack name "${stack}" in one line, declaring no resource`, async function () {
      recorded.length = 0;
      expect(() => declareTickstream(dev, stack)).to.throw(
        ConfigError,
        new RegExp(
          `^stack name "${stack.replace(".", "\\.")}" cannot name the stack's resources: use letters, digits and "-", at most 28 characters`,
        ),
      );
      await settle();
      expect(recorded).to.deep.equal([]);
    });
  }

  for (const [what, change, message] of cases) {
    it(`refuses ${what} with a named error, declaring no resource`, async function () {
      recorded.length = 0;
      expect(() => declareTickstream({ ...dev, ...change }, "dev")).to.throw(ConfigError, message);
      await settle();
      expect(recorded).to.deep.equal([]);
    });
  }
});
