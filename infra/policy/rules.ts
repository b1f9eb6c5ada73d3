/**
 * The policy pack's rules, one exported object each. Only infra/policy/index.ts constructs the PolicyPack
 * (constructing one starts the policy server), so tests import these and call them directly.
 * Rules read plain resource properties, so they judge a preview as well as an update.
 */
import type {
  PolicyResource,
  ResourceValidationArgs,
  ResourceValidationPolicy,
  StackValidationPolicy,
} from "@pulumi/policy";
import { userDataScript } from "../bootstrap/user-data.ts";
import { iamLeastPrivilege } from "./iam-rules.ts";
import { kafkaPlaintextPortsPrivate, noWideIngressToAdminPorts } from "./network-rules.ts";
import { RESOURCE_TYPES } from "./resource-types.ts";
import {
  awsNamesValid,
  ec2DescriptionCharacters,
  ec2ReplaceAttachedInstancesDeleteFirst,
  ec2UserDataWithinLimit,
  ec2VolumeDetachSafely,
  elasticIpQuota,
  glueIcebergTablesIgnoreCommits,
  glueIcebergTablesValid,
  glueIncrementalCrawlerLogs,
  glueOptimizerRoleTrust,
  glueOrphanDeletionSparesData,
  glueTableOptimizersValid,
  s3ReadersMayListWhatTheyRead,
  securityGroupOneRuleStyle,
  securityGroupRuleQuota,
} from "./aws-limits.ts";

const T = RESOURCE_TYPES;
export { RESOURCE_TYPES, iamLeastPrivilege, kafkaPlaintextPortsPrivate, noWideIngressToAdminPorts };

export const s3PublicAccessBlocked: ResourceValidationPolicy = {
  name: "s3-public-access-blocked",
  description: "An S3 public-access block sets all four of its flags.",
  enforcementLevel: "mandatory",
  validateResource: (args, report) => {
    if (args.type !== T.publicAccessBlock) return;
    for (const flag of [
      "blockPublicAcls",
      "blockPublicPolicy",
      "ignorePublicAcls",
      "restrictPublicBuckets",
    ]) {
      if (args.props[flag] !== true) report(`${flag} must be true`);
    }
  },
};

export const s3EncryptionAlgorithm: ResourceValidationPolicy = {
  name: "s3-encryption-algorithm",
  description: "S3 default encryption uses AES256 or KMS.",
  enforcementLevel: "mandatory",
  validateResource: (args, report) => {
    if (args.type !== T.encryption) return;
    const rules: { applyServerSideEncryptionByDefault?: { sseAlgorithm?: string } }[] =
      args.props.rules ?? [];
    if (rules.length === 0) report("no encryption rule");
    for (const rule of rules) {
      const algorithm = rule.applyServerSideEncryptionByDefault?.sseAlgorithm;
      if (!["AES256", "aws:kms", "aws:kms:dsse"].includes(algorithm ?? ""))
        report(`sseAlgorithm ${algorithm} is not AES256 or aws:kms`);
    }
  },
};

/** The resources of `type` whose `bucket` property comes from `bucket`. */
function attachedTo(
  bucket: PolicyResource,
  resources: readonly PolicyResource[],
  type: string,
): PolicyResource[] {
  return resources.filter(
    (resource) =>
      resource.type === type &&
      (resource.propertyDependencies.bucket ?? []).some((dependency) => dependency.urn === bucket.urn),
  );
}

export const s3BucketsHardened: StackValidationPolicy = {
  name: "s3-buckets-hardened",
  description: "Every S3 bucket has a public-access block and default encryption.",
  enforcementLevel: "mandatory",
  validateStack: (args, report) => {
    for (const bucket of args.resources.filter((resource) => resource.type === T.bucket)) {
      if (attachedTo(bucket, args.resources, T.publicAccessBlock).length === 0)
        report(`bucket ${bucket.name} has no public-access block`, bucket.urn);
      if (attachedTo(bucket, args.resources, T.encryption).length === 0)
        report(`bucket ${bucket.name} has no default encryption`, bucket.urn);
    }
  },
};

export const lakeVersioned: StackValidationPolicy = {
  name: "lake-versioned",
  description: "The lake bucket keeps versions, so an overwritten or deleted object can be recovered.",
  enforcementLevel: "mandatory",
  validateStack: (args, report) => {
    for (const bucket of args.resources.filter(
      (resource) => resource.type === T.bucket && resource.name.endsWith("-lake"),
    )) {
      const versioning = attachedTo(bucket, args.resources, T.versioning);
      if (!versioning.some((resource) => resource.props.versioningConfiguration?.status === "Enabled")) {
        report(`lake bucket ${bucket.name} has no enabled versioning`, bucket.urn);
      }
    }
  },
};

export const imdsV2Required: ResourceValidationPolicy = {
  name: "ec2-imdsv2-required",
  description: "EC2 instances require IMDSv2 session tokens.",
  enforcementLevel: "mandatory",
  validateResource: (args, report) => {
    if (args.type !== T.instance) return;
    if (args.props.metadataOptions?.httpTokens !== "required")
      report('metadataOptions.httpTokens must be "required" (IMDSv2)');
  },
};

export const volumesEncrypted: ResourceValidationPolicy = {
  name: "ebs-volumes-encrypted",
  description: "Root and data volumes are encrypted.",
  enforcementLevel: "mandatory",
  validateResource: (args, report) => {
    if (args.type === T.volume && args.props.encrypted !== true) report("the volume must be encrypted");
    if (args.type !== T.instance) return;
    if (args.props.rootBlockDevice?.encrypted !== true) report("rootBlockDevice.encrypted must be true");
    for (const device of (args.props.ebsBlockDevices ?? []) as {
      deviceName?: string;
      encrypted?: boolean;
    }[]) {
      if (device.encrypted !== true) report(`ebsBlockDevices ${device.deviceName}: encrypted must be true`);
    }
  },
};

export const athenaWorkgroupEnforced: ResourceValidationPolicy = {
  name: "athena-workgroup-enforced",
  description: "Athena workgroups enforce their settings, encrypt results and cap the data a query scans.",
  enforcementLevel: "mandatory",
  validateResource: (args, report) => {
    if (args.type !== T.workgroup) return;
    const configuration = args.props.configuration ?? {};
    if (configuration.enforceWorkgroupConfiguration !== true)
      report("configuration.enforceWorkgroupConfiguration must be true");
    if (!configuration.resultConfiguration?.encryptionConfiguration?.encryptionOption)
      report("query results must be encrypted");
    if (!(configuration.bytesScannedCutoffPerQuery > 0))
      report("configuration.bytesScannedCutoffPerQuery must be set");
  },
};

const CREDENTIAL_PATTERNS: [RegExp, string][] = [
  [/\b(AKIA|ASIA)[0-9A-Z]{16}\b/, "an AWS access key id"],
  [/aws_secret_access_key|AWS_SECRET_ACCESS_KEY\s*=/, "an AWS secret access key"],
  [/-----BEGIN [A-Z ]*PRIVATE KEY-----/, "a private key"],
  // A value, not a reference a script fills in at run time ($VARIABLE, "$VARIABLE", a printf %s).
  [/\b(password|passwd|secret)\s*[:=]\s*(?!"?\$[A-Za-z_{]|%s)\S+/i, "a password or secret"],
];

export const noCredentialsInUserData: ResourceValidationPolicy = {
  name: "no-credentials-in-user-data",
  description: "EC2 user data holds no credentials (anyone who may describe the instance can read it).",
  enforcementLevel: "mandatory",
  validateResource: (args: ResourceValidationArgs, report) => {
    if (args.type !== T.instance) return;
    // The script the instance runs: gzipped user data (userDataBase64) is read unpacked, as cloud-init does.
    const script = userDataScript(args.props);
    for (const [pattern, what] of CREDENTIAL_PATTERNS)
      if (pattern.test(script)) report(`user data contains ${what}`);
  },
};

/** Tag keys that name a secret, whatever their value looks like. */
const SECRET_TAG_KEY = /pass(word)?|secret|token|private.?key|credential/i;

export const noCredentialsInTags: ResourceValidationPolicy = {
  name: "no-credentials-in-tags",
  description: "No tag holds a credential (tags are readable by anyone who may list the resource).",
  enforcementLevel: "mandatory",
  validateResource: (args, report) => {
    const tags = { ...(args.props.tags ?? {}), ...(args.props.tagsAll ?? {}) } as Record<string, unknown>;
    for (const [key, value] of Object.entries(tags)) {
      const text = `${key}=${String(value)}`;
      if (SECRET_TAG_KEY.test(key)) report(`tag "${key}" names a secret`);
      else
        for (const [pattern, what] of CREDENTIAL_PATTERNS)
          if (pattern.test(text)) report(`tag "${key}" contains ${what}`);
    }
  },
};

export const RESOURCE_POLICIES: readonly ResourceValidationPolicy[] = [
  s3PublicAccessBlocked,
  s3EncryptionAlgorithm,
  imdsV2Required,
  volumesEncrypted,
  noWideIngressToAdminPorts,
  iamLeastPrivilege,
  athenaWorkgroupEnforced,
  noCredentialsInUserData,
  noCredentialsInTags,
  ec2UserDataWithinLimit,
  ec2DescriptionCharacters,
  ec2VolumeDetachSafely,
  s3ReadersMayListWhatTheyRead,
  awsNamesValid,
  securityGroupRuleQuota,
  glueIncrementalCrawlerLogs,
  glueIcebergTablesValid,
  glueIcebergTablesIgnoreCommits,
  glueTableOptimizersValid,
  glueOrphanDeletionSparesData,
];

export const STACK_POLICIES: readonly StackValidationPolicy[] = [
  s3BucketsHardened,
  lakeVersioned,
  kafkaPlaintextPortsPrivate,
  securityGroupOneRuleStyle,
  ec2ReplaceAttachedInstancesDeleteFirst,
  elasticIpQuota,
  glueOptimizerRoleTrust,
];
