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

/** What is wrong with one Allow statement, if anything. */
function statementProblems(statement: Statement, where: string): string[] {
  if (statement.Effect !== "Allow") return [];
  const problems: string[] = [];
  if (statement.NotAction !== undefined)
    problems.push(`${where} allows with NotAction (everything but a list)`);
  if (statement.NotResource !== undefined)
    problems.push(`${where} allows with NotResource (everything but a list)`);
  const actions = asList(statement.Action);
  const everyResource = asList(statement.Resource).includes("*");
  for (const action of actions) {
    if (action === "*" || /:\*$/.test(action)) problems.push(`${where} allows every action of "${action}"`);
    else if (everyResource && !READ_ONLY_VERB.test(action))
      problems.push(`${where} allows ${action} on every resource ("*")`);
  }
  return problems;
}

export const iamLeastPrivilege: ResourceValidationPolicy = {
  name: "iam-least-privilege",
  description:
    'No IAM statement allows a whole service ("*", "s3:*"), a write on every resource (iam:PassRole on "*"), NotAction or NotResource; no broad AWS-managed policy is attached.',
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
