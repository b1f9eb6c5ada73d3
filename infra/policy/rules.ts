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

const T = {
  bucket: "aws:s3/bucket:Bucket",
  publicAccessBlock: "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
  encryption: "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
  versioning: "aws:s3/bucketVersioning:BucketVersioning",
  instance: "aws:ec2/instance:Instance",
  volume: "aws:ebs/volume:Volume",
  securityGroup: "aws:ec2/securityGroup:SecurityGroup",
  securityGroupRule: "aws:ec2/securityGroupRule:SecurityGroupRule",
  ingressRule: "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
  role: "aws:iam/role:Role",
  rolePolicy: "aws:iam/rolePolicy:RolePolicy",
  policy: "aws:iam/policy:Policy",
  workgroup: "aws:athena/workgroup:Workgroup",
} as const;

export const RESOURCE_TYPES = T;

/** Ports that must never be open to the whole Internet. */
export const ADMIN_PORTS = [22, 9092] as const;
const OPEN_CIDRS = new Set(["0.0.0.0/0", "::/0"]);

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

interface IngressLike {
  fromPort?: number;
  toPort?: number;
  protocol?: string;
  cidrBlocks?: string[];
  ipv6CidrBlocks?: string[];
  cidrIpv4?: string;
  cidrIpv6?: string;
}

function openAdminPorts(rule: IngressLike): number[] {
  const cidrs = [
    ...(rule.cidrBlocks ?? []),
    ...(rule.ipv6CidrBlocks ?? []),
    rule.cidrIpv4,
    rule.cidrIpv6,
  ].filter(Boolean) as string[];
  if (!cidrs.some((cidr) => OPEN_CIDRS.has(cidr))) return [];
  const allPorts = rule.protocol === "-1" || rule.protocol === "all";
  return ADMIN_PORTS.filter(
    (port) => allPorts || ((rule.fromPort ?? 0) <= port && port <= (rule.toPort ?? 65_535)),
  );
}

export const noOpenAdminPorts: ResourceValidationPolicy = {
  name: "no-internet-ingress-to-ssh-or-kafka",
  description: "No ingress from 0.0.0.0/0 or ::/0 to port 22 or 9092.",
  enforcementLevel: "mandatory",
  validateResource: (args, report) => {
    let rules: IngressLike[] = [];
    if (args.type === T.securityGroup) rules = args.props.ingress ?? [];
    else if (args.type === T.securityGroupRule && args.props.type === "ingress")
      rules = [args.props as IngressLike];
    else if (args.type === T.ingressRule)
      rules = [{ ...args.props, protocol: args.props.ipProtocol } as IngressLike];
    for (const rule of rules) {
      for (const port of openAdminPorts(rule)) report(`port ${port} is open to the whole Internet`);
    }
  },
};

interface Statement {
  Effect?: string;
  Action?: string | string[];
  Resource?: string | string[];
}

function statementsOf(policy: unknown): Statement[] {
  const document =
    typeof policy === "string"
      ? (JSON.parse(policy) as { Statement?: Statement | Statement[] })
      : (policy as { Statement?: Statement | Statement[] });
  const statements = document?.Statement ?? [];
  return Array.isArray(statements) ? statements : [statements];
}

const asList = (value: string | string[] | undefined) =>
  value === undefined ? [] : Array.isArray(value) ? value : [value];

export const noStarStarIam: ResourceValidationPolicy = {
  name: "iam-no-star-on-star",
  description: "No IAM statement allows every action on every resource.",
  enforcementLevel: "mandatory",
  validateResource: (args, report) => {
    const documents: unknown[] = [];
    if (args.type === T.rolePolicy || args.type === T.policy) documents.push(args.props.policy);
    if (args.type === T.role)
      for (const inline of args.props.inlinePolicies ?? []) documents.push(inline.policy);
    for (const document of documents.filter(Boolean)) {
      for (const statement of statementsOf(document)) {
        if (statement.Effect !== "Allow") continue;
        if (asList(statement.Action).includes("*") && asList(statement.Resource).includes("*"))
          report('a statement allows "*" on "*"');
      }
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
  [/\b(password|passwd|secret)\s*[:=]\s*\S+/i, "a password or secret"],
];

export const noCredentialsInUserData: ResourceValidationPolicy = {
  name: "no-credentials-in-user-data",
  description: "EC2 user data holds no credentials (anyone who may describe the instance can read it).",
  enforcementLevel: "mandatory",
  validateResource: (args: ResourceValidationArgs, report) => {
    if (args.type !== T.instance || typeof args.props.userData !== "string") return;
    for (const [pattern, what] of CREDENTIAL_PATTERNS)
      if (pattern.test(args.props.userData)) report(`user data contains ${what}`);
  },
};

export const RESOURCE_POLICIES: readonly ResourceValidationPolicy[] = [
  s3PublicAccessBlocked,
  s3EncryptionAlgorithm,
  imdsV2Required,
  volumesEncrypted,
  noOpenAdminPorts,
  noStarStarIam,
  athenaWorkgroupEnforced,
  noCredentialsInUserData,
];

export const STACK_POLICIES: readonly StackValidationPolicy[] = [s3BucketsHardened, lakeVersioned];
