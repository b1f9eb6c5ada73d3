/**
 * The IAM policy documents of the stack, as pure functions of ARNs, so that tests and the policy pack can
 * read exactly what is granted. Least privilege: object access only under the lake's own prefixes.
 */
export const LAKE_PREFIXES = ["ticks/", "quarantine/", "bars_1m/"] as const;
/** Where the lake sink stages a flush before committing it (apps/lake/layout.ts); never a crawler's. */
export const STAGING_PREFIX = "_staging/";

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

/** The Glue crawler reads the lake prefixes (the Glue service policy covers the catalog and its logs). */
export function crawlerLakePolicy(lakeArn: string): PolicyDocument {
  return {
    Version: "2012-10-17",
    Statement: [
      {
        Sid: "LakeRead",
        Effect: "Allow",
        Action: "s3:GetObject",
        Resource: LAKE_PREFIXES.map((prefix) => `${lakeArn}/${prefix}*`),
      },
      lakeListing(lakeArn),
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

/**
 * The crawler's catalog and log rights, scoped to this stack's database and its tables, and the crawlers' log
 * group (in place of the managed AWSGlueServiceRole, which grants glue:* and S3 on every bucket). Glue checks a
 * table call against the catalog, the database and the table ARNs (Glue Developer Guide, "Specifying AWS Glue
 * resource ARNs"); crawlers log to /aws-glue/crawlers.
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
        Sid: "CrawlerLogs",
        Effect: "Allow",
        Action: ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
        Resource: `arn:aws:logs:${region}:${accountId}:log-group:/aws-glue/crawlers:*`,
      },
    ],
  };
}
