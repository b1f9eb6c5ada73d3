/**
 * The IAM policy documents of the stack, as pure functions of ARNs, so that tests and the policy pack can
 * read exactly what is granted. Least privilege: object access only under the lake's own prefixes.
 */
export const LAKE_PREFIXES = ["ticks/", "quarantine/"] as const;

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

export function assumeRolePolicy(service: "ec2.amazonaws.com" | "glue.amazonaws.com"): string {
  return JSON.stringify({
    Version: "2012-10-17",
    Statement: [{ Effect: "Allow", Principal: { Service: service }, Action: "sts:AssumeRole" }],
  });
}

/** Listing the bucket, limited to the lake's prefixes. */
function lakeListing(lakeArn: string): PolicyDocument["Statement"][number] {
  return {
    Sid: "LakeListing",
    Effect: "Allow",
    Action: "s3:ListBucket",
    Resource: lakeArn,
    Condition: { StringLike: { "s3:prefix": LAKE_PREFIXES.map((prefix) => `${prefix}*`) } },
  };
}

/** The broker host runs the lake sink: it writes and reads objects under the lake prefixes, and lists them. */
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
      lakeListing(lakeArn),
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

export const GLUE_SERVICE_POLICY_ARN = "arn:aws:iam::aws:policy/service-role/AWSGlueServiceRole";
