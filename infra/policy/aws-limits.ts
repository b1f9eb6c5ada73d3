/**
 * AWS's own limits as rules of the pack. Pulumi's mocks accept any input; AWS refuses these at create or update
 * time, or accepts them and misbehaves later. Each rule cites the rule it carries; the README's limits table
 * lists every input with the rule or test that enforces it.
 */
import type { PolicyResource, ResourceValidationPolicy, StackValidationPolicy } from "@pulumi/policy";
import { EC2_USER_DATA_MAX_BYTES, userDataRawBytes } from "../bootstrap/user-data.ts";
import { MIN_ORPHAN_FILE_RETENTION_DAYS } from "../lake-retention.ts";
import { RESOURCE_TYPES as T } from "./resource-types.ts";

/**
 * EC2 API Reference, CreateSecurityGroup GroupDescription: "Up to 255 characters in length. Valid characters:
 * a-z, A-Z, 0-9, spaces, and ._-:/()#,@[]+=&;{}!$*".
 */
export const GROUP_DESCRIPTION = /^[a-zA-Z0-9. _\-:/()#,@[\]+=&;{}!$*]{0,255}$/;
/**
 * EC2 API Reference, IpRange / Ipv6Range / UserIdGroupPair Description: up to 255 characters of
 * "a-z, A-Z, 0-9, spaces, and ._-:/()#,@[]+=;{}!$*" (UserIdGroupPair has no "&"; the stricter set serves all).
 */
export const RULE_DESCRIPTION = /^[a-zA-Z0-9. _\-:/()#,@[\]+=;{}!$*]{0,255}$/;

const STANDALONE_RULE_TYPES = [T.securityGroupRule, T.ingressRule, T.egressRule] as const;

export const ec2UserDataWithinLimit: ResourceValidationPolicy = {
  name: "ec2-user-data-within-16kb",
  description: `EC2 user data is at most ${EC2_USER_DATA_MAX_BYTES} bytes raw, before base64 (EC2 User Guide, "Run commands when you launch an EC2 instance with user data input").`,
  enforcementLevel: "mandatory",
  validateResource: (args, report) => {
    if (args.type !== T.instance) return;
    const bytes = userDataRawBytes(args.props).length;
    if (bytes > EC2_USER_DATA_MAX_BYTES)
      report(
        `user data is ${bytes} bytes raw, over EC2's ${EC2_USER_DATA_MAX_BYTES}; gzip it (userDataBase64)`,
      );
  },
};

/** Every description a security group resource carries, with the pattern AWS holds it to. */
function descriptionsOf(type: string, props: Record<string, any>): [string, string, RegExp][] {
  const found: [string, string, RegExp][] = [];
  if (type === T.securityGroup) {
    if (typeof props.description === "string")
      found.push(["description", props.description, GROUP_DESCRIPTION]);
    for (const direction of ["ingress", "egress"] as const)
      ((props[direction] ?? []) as { description?: unknown }[]).forEach((rule, index) => {
        if (typeof rule.description === "string")
          found.push([`${direction}[${index}].description`, rule.description, RULE_DESCRIPTION]);
      });
  }
  if ((STANDALONE_RULE_TYPES as readonly string[]).includes(type) && typeof props.description === "string")
    found.push(["description", props.description, RULE_DESCRIPTION]);
  return found;
}

export const ec2DescriptionCharacters: ResourceValidationPolicy = {
  name: "ec2-security-group-descriptions",
  description:
    "Security group and rule descriptions use only the characters EC2 accepts, up to 255 (EC2 API Reference: CreateSecurityGroup, IpRange, UserIdGroupPair).",
  enforcementLevel: "mandatory",
  validateResource: (args, report) => {
    for (const [where, text, pattern] of descriptionsOf(args.type, args.props)) {
      if (pattern.test(text)) continue;
      const bad = [...new Set([...text].filter((character) => !pattern.test(character)))].join("");
      report(
        text.length > 255
          ? `${where} is ${text.length} characters, over 255`
          : `${where} "${text}" has characters EC2 refuses: ${JSON.stringify(bad)}`,
      );
    }
  },
};

/**
 * The provider's aws.ec2.SecurityGroup documentation: do not use inline ingress/egress together with
 * aws.vpc.SecurityGroupIngressRule / EgressRule or aws.ec2.SecurityGroupRule on the same group ("rule
 * conflicts, perpetual differences, and result in rules being overwritten").
 */
export const securityGroupOneRuleStyle: StackValidationPolicy = {
  name: "security-group-one-rule-style",
  description:
    "No security group has both inline rules and standalone rule resources (the provider's documentation: they overwrite each other).",
  enforcementLevel: "mandatory",
  validateStack: (args, report) => {
    const inline = args.resources.filter(
      (resource) =>
        resource.type === T.securityGroup &&
        ((resource.props.ingress ?? []).length > 0 || (resource.props.egress ?? []).length > 0),
    );
    for (const group of inline) {
      const standalone = args.resources.filter(
        (resource) =>
          (STANDALONE_RULE_TYPES as readonly string[]).includes(resource.type) &&
          (resource.propertyDependencies.securityGroupId ?? []).some(
            (dependency) => dependency.urn === group.urn,
          ),
      );
      for (const rule of standalone)
        report(
          `security group ${group.name} has inline rules and the standalone rule ${rule.name}`,
          rule.urn,
        );
    }
  },
};

/**
 * EC2 API Reference, DetachVolume: a volume mounted by a running instance can stay "busy" indefinitely; forcing
 * it "can lead to data loss or a corrupted file system". The attachment must stop the instance first or leave
 * the detach to the instance's termination.
 */
export const ec2VolumeDetachSafely: ResourceValidationPolicy = {
  name: "ec2-volume-detach-safely",
  description:
    "A volume attachment stops the instance before detaching (or skips the detach), and never forces it (EC2 API Reference, DetachVolume).",
  enforcementLevel: "mandatory",
  validateResource: (args, report) => {
    if (args.type !== T.volumeAttachment) return;
    if (args.props.forceDetach === true) report("forceDetach can corrupt the broker's file system");
    if (args.props.stopInstanceBeforeDetaching !== true && args.props.skipDestroy !== true)
      report("set stopInstanceBeforeDetaching (or skipDestroy): detaching a mounted volume can hang");
  },
};

/**
 * EBS User Guide, "Attach a volume to multiple instances with Amazon EBS Multi-Attach": io1 and io2 only; so an
 * instance with a gp3 volume attached cannot be replaced create-first (the new attachment fails VolumeInUse).
 */
export const ec2ReplaceAttachedInstancesDeleteFirst: StackValidationPolicy = {
  name: "ec2-replace-attached-instances-delete-first",
  description:
    "An instance with an EBS volume attachment, and the attachment, are deleted before their replacement is created (no Multi-Attach on gp3).",
  enforcementLevel: "mandatory",
  validateStack: (args, report) => {
    const attachments = args.resources.filter((resource) => resource.type === T.volumeAttachment);
    for (const attachment of attachments) {
      if (attachment.opts?.deleteBeforeReplace !== true)
        report(`${attachment.name} must be deleteBeforeReplace`, attachment.urn);
      for (const instance of attachment.propertyDependencies.instanceId ?? [])
        if (instance.opts?.deleteBeforeReplace !== true)
          report(
            `instance ${instance.name} has a volume attached and must be deleteBeforeReplace`,
            instance.urn,
          );
    }
  },
};

/** S3 resource ARNs of a statement, split into bucket and key pattern. */
function s3ObjectPatterns(resources: readonly string[]): { bucket: string; key: string }[] {
  return resources
    .map((arn) => /^arn:aws:s3:::([^/]+)\/(.+)$/.exec(arn))
    .filter((match): match is RegExpExecArray => match !== null)
    .map((match) => ({ bucket: match[1]!, key: match[2]! }));
}

/** True when an s3:prefix StringLike pattern (with * and ?) covers every key that `key` (with *) covers. */
function prefixCovers(pattern: string, key: string): boolean {
  if (pattern === "*") return true;
  const literal = pattern.endsWith("*") ? pattern.slice(0, -1) : undefined;
  if (literal === undefined || /[*?]/.test(literal)) return pattern === key;
  const keyLiteral = key.endsWith("*") ? key.slice(0, -1) : key;
  return !/[*?]/.test(keyLiteral) && keyLiteral.startsWith(literal);
}

interface S3Statement {
  Effect?: string;
  Action?: string | string[];
  Resource?: string | string[];
  Condition?: {
    StringLike?: Record<string, string | string[]>;
    StringEquals?: Record<string, string | string[]>;
  };
}

/**
 * S3 API Reference, GetObject, "Permissions": "If you have the s3:ListBucket permission on the bucket, Amazon S3
 * returns an HTTP status code 404 Not Found error. If you don't have the s3:ListBucket permission, Amazon S3
 * returns an HTTP status code 403 Access Denied error." Readers of keys that may be missing (the poller's state,
 * the sink's staged flushes) tell "not there" from "refused" by the 404, so whoever may GET under a prefix may
 * also list it: unconditionally, or with an s3:prefix condition that covers the prefix (S3 evaluates the
 * condition against the requested key, as Ceph RGW does to match AWS: ceph/ceph#68577).
 */
export const s3ReadersMayListWhatTheyRead: ResourceValidationPolicy = {
  name: "s3-readers-may-list-what-they-read",
  description:
    "A policy that allows s3:GetObject under a prefix also allows s3:ListBucket of that prefix, so a missing key answers 404, not 403 (S3 API Reference, GetObject).",
  enforcementLevel: "mandatory",
  validateResource: (args, report) => {
    if (args.type !== T.rolePolicy && args.type !== T.policy) return;
    const document =
      typeof args.props.policy === "string" ? JSON.parse(args.props.policy) : (args.props.policy ?? {});
    const statements = [document.Statement ?? []].flat() as S3Statement[];
    const allows = statements.filter((statement) => statement.Effect === "Allow");
    const actions = (statement: S3Statement) => [statement.Action ?? []].flat();
    const listings = allows.filter((statement) =>
      actions(statement).some((action) => ["s3:ListBucket", "s3:*", "*"].includes(action)),
    );
    for (const statement of allows) {
      if (!actions(statement).some((action) => ["s3:GetObject", "s3:Get*", "s3:*", "*"].includes(action)))
        continue;
      for (const { bucket, key } of s3ObjectPatterns([statement.Resource ?? []].flat())) {
        const listed = listings.some((listing) => {
          const onBucket = [listing.Resource ?? []]
            .flat()
            .some((arn) => arn === `arn:aws:s3:::${bucket}` || arn === "*");
          if (!onBucket) return false;
          const prefixes = [
            listing.Condition?.StringLike?.["s3:prefix"] ??
              listing.Condition?.StringEquals?.["s3:prefix"] ??
              [],
          ].flat();
          if (listing.Condition === undefined) return true;
          return prefixes.some((pattern) => prefixCovers(pattern, key));
        });
        if (!listed)
          report(
            `s3:GetObject on arn:aws:s3:::${bucket}/${key} without s3:ListBucket of that prefix: a missing key answers 403 AccessDenied, not 404`,
          );
      }
    }
  },
};

/**
 * Names AWS refuses (the program's explicit names and the provider's autonames, as the policy sees them):
 * S3 User Guide, "General purpose bucket naming rules" (3-63 of a-z 0-9 . -, start and end alphanumeric);
 * Lambda API Reference, CreateFunction FunctionName (1-64 of a-zA-Z0-9-_); IAM User Guide, "IAM and AWS STS
 * quotas" (role and instance profile names up to 64 and 128 of a-zA-Z0-9+=,.@_-); Systems Manager API
 * Reference, PutParameter Name (a-zA-Z0-9_.-/, at most 15 levels); CloudWatch Logs API Reference,
 * CreateLogGroup (1-512 of a-zA-Z0-9_-/.#); Athena API Reference, CreateWorkGroup Name ([a-zA-Z0-9._-]{1,128});
 * Athena User Guide, "Name databases, tables, and columns" (Glue database and table names for Athena:
 * lowercase, 1-255, letters, digits and underscore).
 */
export const NAME_RULES: Record<
  string,
  { readonly property: string; readonly pattern: RegExp; readonly rule: string }
> = {
  [T.bucket]: {
    property: "bucket",
    pattern: /^(?!xn--|sthree-)(?!.*\.\.)[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/,
    rule: "3-63 lowercase letters, digits, dots and hyphens, starting and ending with a letter or digit",
  },
  [T.lambdaFunction]: { property: "name", pattern: /^[a-zA-Z0-9_-]{1,64}$/, rule: "1-64 of a-z A-Z 0-9 - _" },
  [T.role]: { property: "name", pattern: /^[\w+=,.@-]{1,64}$/, rule: "1-64 of a-z A-Z 0-9 + = , . @ _ -" },
  [T.instanceProfile]: {
    property: "name",
    pattern: /^[\w+=,.@-]{1,128}$/,
    rule: "1-128 of a-z A-Z 0-9 + = , . @ _ -",
  },
  [T.parameter]: {
    property: "name",
    pattern: /^(?!\/?(aws|ssm))(\/?[a-zA-Z0-9_.-]+){1,15}$/i,
    rule: "a-z A-Z 0-9 _ . - and /, at most 15 levels, not beginning with aws or ssm",
  },
  [T.logGroup]: {
    property: "name",
    pattern: /^[a-zA-Z0-9_\-/.#]{1,512}$/,
    rule: "1-512 of a-z A-Z 0-9 _ - / . #",
  },
  [T.workgroup]: { property: "name", pattern: /^[a-zA-Z0-9._-]{1,128}$/, rule: "1-128 of a-z A-Z 0-9 . _ -" },
  [T.glueDatabase]: {
    property: "name",
    pattern: /^[a-z0-9_]{1,255}$/,
    rule: "1-255 lowercase letters, digits and _",
  },
  [T.glueTable]: {
    property: "name",
    pattern: /^[a-z0-9_]{1,255}$/,
    rule: "1-255 lowercase letters, digits and _",
  },
};

export const awsNamesValid: ResourceValidationPolicy = {
  name: "aws-names-valid",
  description:
    "Bucket, function, role, instance profile, parameter, log group, workgroup, Glue database and Glue table names meet AWS's length and character rules.",
  enforcementLevel: "mandatory",
  validateResource: (args, report) => {
    const rule = NAME_RULES[args.type];
    const value = rule ? args.props[rule.property] : undefined;
    if (rule && typeof value === "string" && !rule.pattern.test(value))
      report(`${rule.property} "${value}" is not a valid name: ${rule.rule}`);
  },
};

/**
 * Amazon VPC quotas: "Inbound or outbound rules per security group: 60", counted separately for IPv4 and IPv6;
 * each CIDR block of a rule is one rule, a referenced security group one rule of each family.
 */
export const SECURITY_GROUP_RULES_PER_DIRECTION = 60;

export const securityGroupRuleQuota: ResourceValidationPolicy = {
  name: "security-group-rule-quota",
  description: `A security group has at most ${SECURITY_GROUP_RULES_PER_DIRECTION} inbound and ${SECURITY_GROUP_RULES_PER_DIRECTION} outbound rules per address family (Amazon VPC quotas).`,
  enforcementLevel: "mandatory",
  validateResource: (args, report) => {
    if (args.type !== T.securityGroup) return;
    for (const direction of ["ingress", "egress"] as const) {
      const rules = (args.props[direction] ?? []) as Record<string, any>[];
      const referenced = (rule: Record<string, any>) =>
        (rule.self === true ? 1 : 0) + (rule.securityGroups ?? []).length + (rule.prefixListIds ?? []).length;
      const ipv4 = rules.reduce((sum, rule) => sum + (rule.cidrBlocks ?? []).length + referenced(rule), 0);
      const ipv6 = rules.reduce(
        (sum, rule) => sum + (rule.ipv6CidrBlocks ?? []).length + referenced(rule),
        0,
      );
      for (const [family, count] of [
        ["IPv4", ipv4],
        ["IPv6", ipv6],
      ] as const)
        if (count > SECURITY_GROUP_RULES_PER_DIRECTION)
          report(
            `${count} ${family} ${direction} rules, over the quota of ${SECURITY_GROUP_RULES_PER_DIRECTION} per group`,
          );
    }
  },
};

/** Amazon VPC quotas: "Elastic IP addresses per Region: 5" (adjustable), shared by every stack in the region. */
export const ELASTIC_IPS_PER_REGION = 5;

/**
 * The warning for a preview when the region's Elastic IPs held by others plus this stack's would pass the default
 * quota (the program counts them with DescribeAddresses; a raised quota makes the warning moot, not wrong).
 */
export function elasticIpWarning(heldByOthers: number, thisStack: number): string | undefined {
  const total = heldByOthers + thisStack;
  if (total <= ELASTIC_IPS_PER_REGION) return undefined;
  return `this stack needs ${thisStack} Elastic IPs and ${heldByOthers} are held by others in the region: ${total}, over the default quota of ${ELASTIC_IPS_PER_REGION} per region (Amazon VPC quotas); ask for more (Service Quotas, L-0263D0A3) before pulumi up`;
}

export const elasticIpQuota: StackValidationPolicy = {
  name: "elastic-ip-quota",
  description: `Warns when a stack allocates more Elastic IPs than the default quota of ${ELASTIC_IPS_PER_REGION} per region (Amazon VPC quotas), which every other stack in the region shares.`,
  enforcementLevel: "advisory",
  validateStack: (args, report) => {
    const eips = args.resources.filter((resource: PolicyResource) => resource.type === T.eip);
    if (eips.length > ELASTIC_IPS_PER_REGION)
      report(
        `${eips.length} Elastic IPs: over the default quota of ${ELASTIC_IPS_PER_REGION} per region; ask for more (Service Quotas, L-0263D0A3) before pulumi up`,
      );
  },
};

/**
 * AWS Glue Developer Guide, "Scheduling incremental crawls for adding new partitions": with
 * CRAWL_NEW_FOLDERS_ONLY the update and delete behaviours must be LOG.
 */
export const glueIncrementalCrawlerLogs: ResourceValidationPolicy = {
  name: "glue-incremental-crawler-logs",
  description:
    "A crawler that crawls new folders only logs schema changes and deletions (Glue refuses UPDATE_IN_DATABASE or DELETE_* with CRAWL_NEW_FOLDERS_ONLY).",
  enforcementLevel: "mandatory",
  validateResource: (args, report) => {
    if (args.type !== T.crawler || args.props.recrawlPolicy?.recrawlBehavior !== "CRAWL_NEW_FOLDERS_ONLY")
      return;
    const policy = args.props.schemaChangePolicy ?? {};
    if (policy.updateBehavior !== "LOG" || policy.deleteBehavior !== "LOG")
      report("schemaChangePolicy must be LOG/LOG with recrawlBehavior CRAWL_NEW_FOLDERS_ONLY");
  },
};

/** A property path is ignored when it, or a path above it, is in ignoreChanges. */
function ignores(ignoreChanges: readonly string[] | undefined, property: string): boolean {
  return (ignoreChanges ?? []).some((path) => path === property || path === "*");
}

const isIcebergTable = (props: Record<string, any>) =>
  String(props.parameters?.table_type ?? "").toUpperCase() === "ICEBERG";

/**
 * Iceberg's catalog contract as Glue holds it (Iceberg's GlueCatalog, GlueTableOperations; Athena User Guide,
 * "Creating Iceberg tables": Athena reads an Iceberg table from its `metadata_location`): a Glue table with
 * `table_type = ICEBERG` is an EXTERNAL_TABLE whose `metadata_location` is a metadata JSON file under
 * `<location>/metadata/` of its storage descriptor's location; Glue's table optimizers run only on such tables
 * (Glue Developer Guide, "Optimizing Iceberg tables").
 */
export const glueIcebergTablesValid: ResourceValidationPolicy = {
  name: "glue-iceberg-tables-valid",
  description:
    "A Glue Iceberg table is an EXTERNAL_TABLE with table_type ICEBERG and a metadata_location under <location>/metadata/ (Iceberg's GlueCatalog; Athena reads the table from metadata_location).",
  enforcementLevel: "mandatory",
  validateResource: (args, report) => {
    if (args.type !== T.glueTable || !isIcebergTable(args.props)) return;
    const location = String(args.props.storageDescriptor?.location ?? "").replace(/\/$/, "");
    const metadata = args.props.parameters?.metadata_location;
    if (args.props.tableType !== "EXTERNAL_TABLE")
      report(
        `tableType "${args.props.tableType}" is not EXTERNAL_TABLE (Glue's DeleteTable then keeps the data)`,
      );
    if (!/^s3:\/\/[^/]+\/.+/.test(location))
      report("storageDescriptor.location is not an s3:// table location");
    if (
      typeof metadata !== "string" ||
      !metadata.startsWith(`${location}/metadata/`) ||
      !metadata.endsWith(".metadata.json")
    )
      report(
        `parameters.metadata_location ${JSON.stringify(metadata)} is not a metadata file under ${location}/metadata/`,
      );
  },
};

/**
 * After `pulumi up` creates an Iceberg table, its commits own it: each swaps `metadata_location` and rewrites the
 * storage descriptor with UpdateTable (apps/iceberg/glue-catalog.ts; Iceberg's GlueTableOperations). Without
 * ignoreChanges, the next `pulumi up` (or any other change to the table) would send the stack's parameters back
 * with UpdateTable and move the pointer to the initial metadata, dropping every snapshot since. The initial
 * metadata object ignores its content likewise (a replacement would delete the file the table first named).
 */
export const glueIcebergTablesIgnoreCommits: ResourceValidationPolicy = {
  name: "glue-iceberg-tables-ignore-commits",
  description:
    "A Glue Iceberg table ignores changes to its parameters and storage descriptor (which its commits move), and an Iceberg metadata object to its content, so that pulumi up never moves a table's pointer backwards.",
  enforcementLevel: "mandatory",
  validateResource: (args, report) => {
    const ignored = args.opts?.ignoreChanges;
    if (args.type === T.glueTable && isIcebergTable(args.props))
      for (const property of ["parameters", "storageDescriptor"])
        if (!ignores(ignored, property))
          report(
            `ignoreChanges must hold "${property}": a commit moves it, and pulumi up would move it back`,
          );
    if (
      args.type === T.bucketObject &&
      /\/metadata\/[^/]+\.metadata\.json$/.test(String(args.props.key ?? ""))
    )
      if (!ignores(ignored, "content"))
        report(`ignoreChanges must hold "content" for the Iceberg metadata file ${args.props.key}`);
  },
};

/** Glue API, TableOptimizer: Type "compaction" | "retention" | "orphan_file_deletion" (not "orphanFileDeletion"). */
const OPTIMIZER_BLOCKS: Record<string, string> = {
  compaction: "compactionConfiguration",
  retention: "retentionConfiguration",
  orphan_file_deletion: "orphanFileDeletionConfiguration",
};

/**
 * Glue API, TableOptimizer Type (compaction | retention | orphan_file_deletion); IcebergRetentionConfiguration
 * (runRateInHours 3-168; numberOfSnapshotsToRetain: the snapshots kept); IcebergOrphanFileDeletionConfiguration.
 * Each optimizer carries the configuration block of its own type, and retention keeps at least one snapshot.
 */
export const glueTableOptimizersValid: ResourceValidationPolicy = {
  name: "glue-table-optimizers-valid",
  description:
    "A Glue table optimizer has one of AWS's types (compaction, retention, orphan_file_deletion) with that type's configuration block, a role, and retention run rates of 3-168 hours keeping at least one snapshot (Glue API, TableOptimizer, IcebergRetentionConfiguration).",
  enforcementLevel: "mandatory",
  validateResource: (args, report) => {
    if (args.type !== T.tableOptimizer) return;
    const type = String(args.props.type);
    const configuration = args.props.configuration ?? {};
    const block = OPTIMIZER_BLOCKS[type];
    if (!block) report(`type "${type}" is not one of ${Object.keys(OPTIMIZER_BLOCKS).join(", ")}`);
    for (const [other, name] of Object.entries(OPTIMIZER_BLOCKS))
      if (other !== type && configuration[name] !== undefined)
        report(`a ${type} optimizer carries ${name}, which is ${other}'s`);
    if (!configuration.roleArn) report("configuration.roleArn is not set");
    for (const name of ["retentionConfiguration", "orphanFileDeletionConfiguration"]) {
      const rate = configuration[name]?.icebergConfiguration?.runRateInHours;
      if (rate !== undefined && !(Number.isInteger(rate) && rate >= 3 && rate <= 168))
        report(
          `${name}.icebergConfiguration.runRateInHours ${rate} is not a whole number of hours from 3 to 168`,
        );
    }
    const kept = configuration.retentionConfiguration?.icebergConfiguration?.numberOfSnapshotsToRetain;
    if (kept !== undefined && !(Number.isInteger(kept) && kept >= 1))
      report(
        `numberOfSnapshotsToRetain ${kept}: at least the current snapshot, which carries the published offsets`,
      );
  },
};

/**
 * Glue Developer Guide, "Deleting orphan files": the optimizer deletes unreferenced files under its location
 * older than the retention, and "A file awaiting a delayed or retried commit is not yet referenced by that
 * metadata ... Configure orphanFileRetentionPeriodInDays to exceed the maximum expected time between file creation
 * and successful commit completion"; "If your table location overlaps with other data sources, the service might
 * identify and delete unrelated files as orphans". The lake's tables share their prefixes with the Hive-layout
 * objects and the sink's published flushes (copied to their final names before their append), so the optimizer
 * is held to `s3://<bucket>/<table>/metadata/` and to a retention above the lake's _staging/ expiration.
 */
export const glueOrphanDeletionSparesData: ResourceValidationPolicy = {
  name: "glue-orphan-deletion-spares-data",
  description: `Orphan-file deletion looks only under its table's metadata/ folder and keeps orphans at least ${MIN_ORPHAN_FILE_RETENTION_DAYS} days, longer than an append can be pending (Glue Developer Guide, "Deleting orphan files").`,
  enforcementLevel: "mandatory",
  validateResource: (args, report) => {
    if (args.type !== T.tableOptimizer || args.props.type !== "orphan_file_deletion") return;
    const iceberg = args.props.configuration?.orphanFileDeletionConfiguration?.icebergConfiguration ?? {};
    const days = iceberg.orphanFileRetentionPeriodInDays;
    if (!(Number.isInteger(days) && days >= MIN_ORPHAN_FILE_RETENTION_DAYS))
      report(
        `orphanFileRetentionPeriodInDays ${days ?? "unset (Glue's default 3)"} is under ${MIN_ORPHAN_FILE_RETENTION_DAYS}: a published file whose append is pending could be deleted`,
      );
    const location = String(iceberg.location ?? "");
    if (!new RegExp(`^s3://[^/]+/${args.props.tableName}/metadata/?$`).test(location))
      report(
        `location ${JSON.stringify(iceberg.location ?? "unset (the whole table location)")} is not s3://<bucket>/${args.props.tableName}/metadata/: data files and Hive-layout objects would be candidates`,
      );
  },
};

/**
 * Glue Developer Guide, "Table optimization prerequisites": the optimizer's role trusts the AWS Glue service
 * (Principal Service glue.amazonaws.com, sts:AssumeRole), and nothing else may assume a role that can rewrite
 * and delete the tables' files.
 */
export const glueOptimizerRoleTrust: StackValidationPolicy = {
  name: "glue-optimizer-role-trust",
  description:
    'The role of every Glue table optimizer is assumable by glue.amazonaws.com alone (Glue Developer Guide, "Table optimization prerequisites").',
  enforcementLevel: "mandatory",
  validateStack: (args, report) => {
    for (const optimizer of args.resources.filter((resource) => resource.type === T.tableOptimizer)) {
      const arn = optimizer.props.configuration?.roleArn;
      const role = args.resources.find((resource) => resource.type === T.role && resource.props.arn === arn);
      if (!role) continue; // an ARN not known yet (a preview of a new role) or a role of another stack
      const document =
        typeof role.props.assumeRolePolicy === "string"
          ? JSON.parse(role.props.assumeRolePolicy)
          : (role.props.assumeRolePolicy ?? {});
      const statements = [document.Statement ?? []].flat() as {
        Effect?: string;
        Principal?: unknown;
        Action?: string | string[];
      }[];
      const trusted = statements
        .filter((statement) => statement.Effect === "Allow")
        .flatMap((statement) => {
          const principal = statement.Principal as { Service?: string | string[] } | string | undefined;
          if (typeof principal === "string" || principal === undefined) return [String(principal)];
          return Object.entries(principal).flatMap(([kind, value]) =>
            [value].flat().map((entry) => (kind === "Service" ? String(entry) : `${kind}:${String(entry)}`)),
          );
        });
      if (trusted.length === 0 || trusted.some((principal) => principal !== "glue.amazonaws.com"))
        report(
          `role ${role.name} of optimizer ${optimizer.name} trusts ${JSON.stringify(trusted)}, not glue.amazonaws.com alone`,
          role.urn,
        );
    }
  },
};
