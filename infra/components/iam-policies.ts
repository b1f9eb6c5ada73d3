/**
 * The IAM policy documents of the stack, as pure functions of ARNs, so that tests and the policy pack can
 * read exactly what is granted. Least privilege: object access only under the lake's own prefixes.
 */
export const LAKE_PREFIXES = ["ticks/", "quarantine/", "bars_1m/"] as const;
/** Where the lake sink stages a flush before committing it (apps/lake/layout.ts); never a crawler's. */
export const STAGING_PREFIX = "_staging/";
/**
 * The lake's Apache Iceberg tables (apps/iceberg/table-schema.ts ICEBERG_TABLES; a test keeps the two equal):
 * each is a Glue table of the stack's database whose location is `s3://<lake>/<name>`.
 */
export const ICEBERG_TABLE_NAMES = ["ticks", "bars_1m"] as const;
/** What the crawler still catalogs: quarantine/ only (the Iceberg tables are the stack's and the commits'). */
export const CRAWLED_PREFIXES = ["quarantine/"] as const;

export interface PolicyDocument {
  readonly Version: "2012-10-17";
  readonly Statement: readonly {
    readonly Sid?: string;
    readonly Effect: "Allow" | "Deny";
    readonly Action: string | readonly string[];
    readonly Resource: string | readonly string[];
    readonly Principal?: unknown;
    readonly Condition?: unknown;
  }[];
}

export function assumeRolePolicy(
  service: "ec2.amazonaws.com" | "glue.amazonaws.com" | "lambda.amazonaws.com" | "scheduler.amazonaws.com",
): string {
  return JSON.stringify({
    Version: "2012-10-17",
    Statement: [{ Effect: "Allow", Principal: { Service: service }, Action: "sts:AssumeRole" }],
  });
}

/** Listing the bucket, limited to the given prefixes. */
function lakeListing(
  lakeArn: string,
  prefixes: readonly string[] = LAKE_PREFIXES,
): PolicyDocument["Statement"][number] {
  return {
    Sid: "LakeListing",
    Effect: "Allow",
    Action: "s3:ListBucket",
    Resource: lakeArn,
    Condition: { StringLike: { "s3:prefix": prefixes.map((prefix) => `${prefix}*`) } },
  };
}

/**
 * The broker host runs the lake sink: it writes and reads objects under the lake prefixes (a COPY needs GetObject
 * on its source and PutObject on its target), and stages, reads and deletes under the staging prefix only.
 */
export function brokerLakePolicy(lakeArn: string): PolicyDocument {
  return {
    Version: "2012-10-17",
    Statement: [
      {
        Sid: "LakeObjects",
        Effect: "Allow",
        Action: ["s3:PutObject", "s3:GetObject", "s3:AbortMultipartUpload"],
        Resource: LAKE_PREFIXES.map((prefix) => `${lakeArn}/${prefix}*`),
      },
      {
        Sid: "LakeStaging",
        Effect: "Allow",
        Action: ["s3:PutObject", "s3:GetObject", "s3:DeleteObject", "s3:AbortMultipartUpload"],
        Resource: `${lakeArn}/${STAGING_PREFIX}*`,
      },
      lakeListing(lakeArn, [...LAKE_PREFIXES, STAGING_PREFIX]),
    ],
  };
}

/** The Glue crawler reads what it crawls, quarantine/, and nothing of the Iceberg tables. */
export function crawlerLakePolicy(lakeArn: string): PolicyDocument {
  return {
    Version: "2012-10-17",
    Statement: [
      {
        Sid: "LakeRead",
        Effect: "Allow",
        Action: "s3:GetObject",
        Resource: CRAWLED_PREFIXES.map((prefix) => `${lakeArn}/${prefix}*`),
      },
      lakeListing(lakeArn, CRAWLED_PREFIXES),
    ],
  };
}

/** What a crawler does to the Glue Data Catalog, per the Glue API (tables and partitions it reads and writes). */
export const CRAWLER_CATALOG_ACTIONS = [
  "glue:GetDatabase",
  "glue:GetTable",
  "glue:GetTables",
  "glue:CreateTable",
  "glue:UpdateTable",
  "glue:GetPartition",
  "glue:GetPartitions",
  "glue:BatchGetPartition",
  "glue:CreatePartition",
  "glue:BatchCreatePartition",
  "glue:UpdatePartition",
  "glue:BatchUpdatePartition",
] as const;

/** Every Glue call that writes a table or its partitions: what the crawler must never do to an Iceberg table. */
export const GLUE_TABLE_WRITES = [
  "glue:CreateTable",
  "glue:UpdateTable",
  "glue:DeleteTable",
  "glue:BatchDeleteTable",
  "glue:CreatePartition",
  "glue:BatchCreatePartition",
  "glue:UpdatePartition",
  "glue:BatchUpdatePartition",
  "glue:DeletePartition",
  "glue:BatchDeletePartition",
] as const;

/** The Glue ARNs of the stack's Iceberg tables: what a call on one of them is checked against. */
export function icebergTableArns(region: string, accountId: string, databaseName: string): string[] {
  const glue = `arn:aws:glue:${region}:${accountId}`;
  return ICEBERG_TABLE_NAMES.map((table) => `${glue}:table/${databaseName}/${table}`);
}

/**
 * The crawler's catalog and log rights, scoped to this stack's database and its tables, and the crawlers' log
 * group (in place of the managed AWSGlueServiceRole, which grants glue:* and S3 on every bucket). Glue checks a
 * table call against the catalog, the database and the table ARNs (Glue Developer Guide, "Specifying AWS Glue
 * resource ARNs"); crawlers log to /aws-glue/crawlers. An explicit Deny keeps it off the Iceberg tables' Glue
 * entries whatever else is allowed (IAM User Guide, "Policy evaluation logic": an explicit deny overrides any
 * allow): only a commit moves a table's metadata_location, never a crawl.
 */
export function crawlerCatalogPolicy(
  region: string,
  accountId: string,
  databaseName: string,
): PolicyDocument {
  const glue = `arn:aws:glue:${region}:${accountId}`;
  return {
    Version: "2012-10-17",
    Statement: [
      {
        Sid: "CatalogOfThisStack",
        Effect: "Allow",
        Action: CRAWLER_CATALOG_ACTIONS,
        Resource: [`${glue}:catalog`, `${glue}:database/${databaseName}`, `${glue}:table/${databaseName}/*`],
      },
      {
        Sid: "NeverTheIcebergTables",
        Effect: "Deny",
        Action: GLUE_TABLE_WRITES,
        Resource: icebergTableArns(region, accountId, databaseName),
      },
      {
        Sid: "CrawlerLogs",
        Effect: "Allow",
        Action: ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
        Resource: `arn:aws:logs:${region}:${accountId}:log-group:/aws-glue/crawlers:*`,
      },
    ],
  };
}

/** Reading and swapping the Iceberg tables' pointers: the tables, their database and the catalog (Glue's ARNs). */
function icebergTableCommits(
  sid: string,
  actions: string[],
  region: string,
  accountId: string,
  databaseName: string,
) {
  const glue = `arn:aws:glue:${region}:${accountId}`;
  return {
    Sid: sid,
    Effect: "Allow" as const,
    Action: actions,
    Resource: [
      `${glue}:catalog`,
      `${glue}:database/${databaseName}`,
      ...icebergTableArns(region, accountId, databaseName),
    ],
  };
}

/**
 * The lake sink's side of the Iceberg commit protocol on a stack (apps/iceberg/glue-catalog.ts, as Iceberg's
 * GlueCatalog): GetTable reads a table's metadata_location and VersionId, UpdateTable swaps the pointer with that
 * VersionId; GetDatabase tells a missing database from a missing table. Only the two tables, their database and
 * the catalog (Glue checks a table call against all three ARNs: Glue Developer Guide, "Specifying AWS Glue
 * resource ARNs"). No CreateTable: the stack creates the tables. Its S3 side (the tables' metadata under
 * `<table>/metadata/`) is within brokerLakePolicy's `ticks/` and `bars_1m/`.
 */
export function brokerCatalogPolicy(region: string, accountId: string, databaseName: string): PolicyDocument {
  const glue = `arn:aws:glue:${region}:${accountId}`;
  return {
    Version: "2012-10-17",
    Statement: [
      icebergTableCommits(
        "IcebergCommits",
        ["glue:GetTable", "glue:UpdateTable"],
        region,
        accountId,
        databaseName,
      ),
      {
        Sid: "IcebergDatabase",
        Effect: "Allow",
        Action: "glue:GetDatabase",
        Resource: [`${glue}:catalog`, `${glue}:database/${databaseName}`],
      },
    ],
  };
}

/** The log groups Glue's table optimizers write (Glue Developer Guide, "Table optimization prerequisites"). */
export const OPTIMIZER_LOG_GROUPS = {
  compaction: "/aws-glue/iceberg-compaction/logs",
  retention: "/aws-glue/iceberg-retention/logs",
  orphan_file_deletion: "/aws-glue/iceberg-orphan-file-deletion/logs",
} as const;

/**
 * The role of the compaction and snapshot-retention optimizers, as AWS documents it (Glue Developer Guide, "Table
 * optimization prerequisites", for data not registered with Lake Formation): s3:PutObject, GetObject and
 * DeleteObject on the table's data (here only the tables' prefixes, not the bucket), s3:ListBucket,
 * glue:UpdateTable and GetTable on the table, its database and the catalog, and its two log groups. Both
 * optimizers need the same set.
 */
export function tableOptimizerPolicy(
  lakeArn: string,
  region: string,
  accountId: string,
  databaseName: string,
): PolicyDocument {
  const prefixes = ICEBERG_TABLE_NAMES.map((table) => `${table}/`);
  return {
    Version: "2012-10-17",
    Statement: [
      {
        Sid: "TableObjects",
        Effect: "Allow",
        Action: ["s3:PutObject", "s3:GetObject", "s3:DeleteObject"],
        Resource: prefixes.map((prefix) => `${lakeArn}/${prefix}*`),
      },
      lakeListing(lakeArn, prefixes),
      icebergTableCommits(
        "IcebergTables",
        ["glue:UpdateTable", "glue:GetTable"],
        region,
        accountId,
        databaseName,
      ),
      {
        Sid: "OptimizerLogs",
        Effect: "Allow",
        Action: ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
        Resource: [OPTIMIZER_LOG_GROUPS.compaction, OPTIMIZER_LOG_GROUPS.retention].map(
          (group) => `arn:aws:logs:${region}:${accountId}:log-group:${group}:*`,
        ),
      },
    ],
  };
}

/**
 * The orphan-file deletion optimizer's role: AWS's note ("The orphan file deletion optimizer doesn't require the
 * glue:updateTable or s3:putObject permissions", Glue Developer Guide, "Table optimization prerequisites") and
 * the stack's choice of location (`<table>/metadata/`, where only the table's own metadata, manifest lists and
 * manifests live) make it: read the table's Glue entry, read, list and delete under `<table>/metadata/` only.
 * So IAM itself keeps it off every data file, the Hive-layout objects and a published flush whose append is
 * pending among them, whatever its location says.
 */
export function orphanFileDeletionPolicy(
  lakeArn: string,
  region: string,
  accountId: string,
  databaseName: string,
): PolicyDocument {
  const glue = `arn:aws:glue:${region}:${accountId}`;
  const prefixes = ICEBERG_TABLE_NAMES.map((table) => `${table}/metadata/`);
  return {
    Version: "2012-10-17",
    Statement: [
      {
        Sid: "TableMetadataObjects",
        Effect: "Allow",
        Action: ["s3:GetObject", "s3:DeleteObject"],
        Resource: prefixes.map((prefix) => `${lakeArn}/${prefix}*`),
      },
      lakeListing(lakeArn, prefixes),
      {
        Sid: "IcebergTables",
        Effect: "Allow",
        Action: "glue:GetTable",
        Resource: [
          `${glue}:catalog`,
          `${glue}:database/${databaseName}`,
          ...icebergTableArns(region, accountId, databaseName),
        ],
      },
      {
        Sid: "OptimizerLogs",
        Effect: "Allow",
        Action: ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
        Resource: `arn:aws:logs:${region}:${accountId}:log-group:${OPTIMIZER_LOG_GROUPS.orphan_file_deletion}:*`,
      },
    ],
  };
}
