/**
 * IAM rules of the policy pack: every statement of every document a resource carries (inline role policies,
 * role policies, managed policies), not only the first, and the AWS-managed policies attached to roles.
 */
import type { ResourceValidationPolicy } from "@pulumi/policy";
import { RESOURCE_TYPES as T } from "./resource-types.ts";

interface Statement {
  Effect?: string;
  Action?: string | string[];
  NotAction?: string | string[];
  Resource?: string | string[];
  NotResource?: string | string[];
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

/** AWS-managed policies that grant a whole service or more (AWSGlueServiceRole: glue:* and S3 on *). */
export const BROAD_MANAGED_POLICIES = [
  "AdministratorAccess",
  "PowerUserAccess",
  "IAMFullAccess",
  "AmazonS3FullAccess",
  "AmazonEC2FullAccess",
  "AWSGlueServiceRole",
  "AmazonSSMFullAccess",
] as const;

/** Actions that may name every resource: they read, and many of them (Describe*) take no resource ARN. */
const READ_ONLY_VERB = /^[a-z0-9-]+:(Describe|List|Get)[A-Za-z]*$/;

/**
 * Reads of secrets: a Get of a SecureString parameter decrypts it (Systems Manager API Reference, GetParameter
 * WithDecryption), GetSecretValue returns a secret, kms:Decrypt any ciphertext of a key. On every resource such a
 * read is every secret of the account, not a harmless Get.
 */
export const SECRET_READS = [
  "ssm:GetParameter",
  "ssm:GetParameters",
  "ssm:GetParametersByPath",
  "ssm:GetParameterHistory",
  "secretsmanager:GetSecretValue",
  "secretsmanager:BatchGetSecretValue",
  "kms:Decrypt",
] as const;

/** IAM matches actions case-insensitively, with * and ? as wildcards (IAM User Guide, "IAM JSON policy elements: Action"). */
function actionPattern(action: string): RegExp {
  const escaped = action
    .replace(/[.+^${}()|[\]\\]/g, "\\$&")
    .replace(/\*/g, ".*")
    .replace(/\?/g, ".");
  return new RegExp(`^${escaped}$`, "i");
}

/** A resource that names every secret of its service: "*", or an ARN whose resource part is all wildcard. */
function everySecret(resource: string): boolean {
  return (
    resource === "*" ||
    /^arn:aws[a-z-]*:(ssm|secretsmanager|kms):[^:]*:[^:]*:(\*|parameter\/?\*|secret:\*|key\/\*)$/.test(
      resource,
    )
  );
}

/** What is wrong with one Allow statement, if anything. */
function statementProblems(statement: Statement, where: string): string[] {
  if (statement.Effect !== "Allow") return [];
  const problems: string[] = [];
  if (statement.NotAction !== undefined)
    problems.push(`${where} allows with NotAction (everything but a list)`);
  if (statement.NotResource !== undefined)
    problems.push(`${where} allows with NotResource (everything but a list)`);
  const actions = asList(statement.Action);
  const resources = asList(statement.Resource);
  const everyResource = resources.includes("*");
  // A whole service is refused whatever the resource: s3:* on one bucket still deletes it and rewrites its policy.
  for (const action of actions) {
    if (action === "*" || /:\*$/.test(action)) problems.push(`${where} allows every action of "${action}"`);
    else if (resources.some(everySecret) && SECRET_READS.some((read) => actionPattern(action).test(read)))
      problems.push(`${where} allows ${action} on every secret (${resources.find(everySecret)})`);
    else if (everyResource && !READ_ONLY_VERB.test(action))
      problems.push(`${where} allows ${action} on every resource ("*")`);
  }
  return problems;
}

export const iamLeastPrivilege: ResourceValidationPolicy = {
  name: "iam-least-privilege",
  description:
    'No IAM statement allows a whole service ("*", "s3:*") on any resource, a write on every resource (iam:PassRole on "*"), a read of every secret (ssm:GetParameter*, secretsmanager:GetSecretValue, kms:Decrypt on "*"), NotAction or NotResource; no broad AWS-managed policy is attached.',
  enforcementLevel: "mandatory",
  validateResource: (args, report) => {
    const documents: unknown[] = [];
    if (args.type === T.rolePolicy || args.type === T.policy) documents.push(args.props.policy);
    if (args.type === T.role)
      for (const inline of args.props.inlinePolicies ?? []) documents.push(inline.policy);
    documents.filter(Boolean).forEach((document, documentIndex) => {
      statementsOf(document).forEach((statement, index) => {
        const where = `statement ${index + 1}${documents.length > 1 ? ` of policy ${documentIndex + 1}` : ""}`;
        for (const problem of statementProblems(statement, where)) report(problem);
      });
    });
    const attached = [
      ...(args.type === T.rolePolicyAttachment ? [args.props.policyArn] : []),
      ...(args.type === T.role ? (args.props.managedPolicyArns ?? []) : []),
    ].filter((arn): arn is string => typeof arn === "string");
    for (const arn of attached) {
      const name = arn.split("/").at(-1)!;
      if (
        arn.startsWith("arn:aws:iam::aws:policy/") &&
        (BROAD_MANAGED_POLICIES as readonly string[]).includes(name)
      )
        report(`the AWS-managed policy ${name} grants far more than a tickstream role needs`);
    }
  },
};
