/**
 * Teardown of a stack: say what will be deleted (and whether the lake's data goes with it), get a typed
 * confirmation unless --yes, stop the apps on the broker hosts, destroy the stack, then remove it.
 * The Pulumi side is behind `StackWorkspace`, which the Automation API implements (ops/teardown/pulumi-workspace.ts).
 */
import { ConfigError, errorMessage } from "../../apps/shared/errors.ts";

/** What teardown needs of a Pulumi stack. */
export interface StackWorkspace {
  readonly stackName: string;
  outputs(): Promise<Record<string, unknown>>;
  config(key: string): Promise<string | undefined>;
  destroy(onOutput: (line: string) => void): Promise<void>;
  removeStack(): Promise<void>;
}

export interface TeardownOptions {
  readonly workspace: StackWorkspace;
  /** Stops the producer and consumer on the broker hosts; returns what it stopped. */
  readonly stopApps: (outputs: Record<string, unknown>) => Promise<string[]>;
  /** Shows the plan and asks the user to type the stack's name; resolves with what they typed. */
  readonly confirm?: (plan: string) => Promise<string>;
  readonly yes: boolean;
  readonly onProgress?: (message: string) => void;
}

export interface TeardownResult {
  readonly stack: string;
  readonly appsStopped: string[];
  readonly lakeDataDeleted: boolean;
  readonly destroyed: boolean;
  readonly removed: boolean;
}

export function describeTeardown(
  stack: string,
  outputs: Record<string, unknown>,
  forceDestroy: boolean,
): string {
  const brokers = (outputs.brokerPublicIps as string[] | undefined) ?? [];
  const lake = String(outputs.lakeBucket ?? "(unknown)");
  return [
    `Tearing down stack ${stack} deletes:`,
    `  - ${brokers.length} broker instance(s)${brokers.length > 0 ? ` (${brokers.join(", ")})` : ""} with their volumes and Elastic IPs`,
    "  - the VPC, subnets, security group, IAM roles and the SSH key pair",
    `  - the Glue database ${outputs.glueDatabase ?? "?"} and crawler ${outputs.crawlerName ?? "?"}, the Athena workgroup ${outputs.athenaWorkgroup ?? "?"} and its results`,
    forceDestroy
      ? `  - the lake bucket s3://${lake} AND ALL ITS DATA (forceDestroy is true)`
      : `  - NOT the lake bucket s3://${lake}: forceDestroy is false, so the bucket, its data and its guards (public-access block, encryption, TLS-only policy, versioning, lifecycle) are kept; empty and delete it yourself when you mean to`,
  ].join("\n");
}

export async function teardown(options: TeardownOptions): Promise<TeardownResult> {
  const { workspace } = options;
  const progress = options.onProgress ?? (() => {});
  const outputs = await workspace.outputs();
  const forceDestroy = (await workspace.config("tickstream:forceDestroy")) === "true";
  const plan = describeTeardown(workspace.stackName, outputs, forceDestroy);
  if (!options.yes) {
    if (!options.confirm)
      throw new ConfigError(
        "refusing to tear down without a confirmation: run it in a terminal, or pass --yes",
      );
    const typed = (
      await options.confirm(`${plan}\nType the stack name (${workspace.stackName}) to confirm: `)
    ).trim();
    if (typed !== workspace.stackName)
      throw new ConfigError(
        `teardown cancelled: "${typed}" is not ${workspace.stackName}; nothing was changed`,
      );
  } else {
    progress(plan);
  }
  let appsStopped: string[] = [];
  try {
    appsStopped = await options.stopApps(outputs);
    progress(
      appsStopped.length > 0 ? `stopped ${appsStopped.join(", ")}` : "no app was running on the brokers",
    );
  } catch (error) {
    // The hosts are about to be deleted; an unreachable one must not keep the stack alive.
    progress(`could not stop the apps (${errorMessage(error)}); destroying anyway`);
  }
  progress(`destroying stack ${workspace.stackName}...`);
  await workspace.destroy((line) => progress(line));
  progress(`removing stack ${workspace.stackName}`);
  await workspace.removeStack();
  return {
    stack: workspace.stackName,
    appsStopped,
    lakeDataDeleted: forceDestroy,
    destroyed: true,
    removed: true,
  };
}
