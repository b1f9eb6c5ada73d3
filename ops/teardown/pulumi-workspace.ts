/** `StackWorkspace` through Pulumi's Automation API, which drives the Pulumi CLI (it must be installed). */
import { execa } from "execa";
import { fileURLToPath } from "node:url";
import path from "node:path";
import { ConfigError } from "../../apps/shared/errors.ts";
import type { StackWorkspace } from "./teardown.ts";

/** The folder holding Pulumi.yaml. */
export const PROJECT_DIR = path.resolve(fileURLToPath(new URL("../..", import.meta.url)));

export async function requirePulumiCli(): Promise<void> {
  const found = await execa("pulumi", ["version"], { reject: false }).catch(() => undefined);
  if (!found || found.exitCode !== 0) {
    throw new ConfigError(
      "the Pulumi CLI is needed to read or destroy a stack and was not found on PATH: install it (https://www.pulumi.com/docs/install/), or use --outputs FILE to read outputs",
    );
  }
}

export async function openPulumiStack(stackName: string): Promise<StackWorkspace> {
  await requirePulumiCli();
  const { LocalWorkspace } = await import("@pulumi/pulumi/automation/index.js");
  const stack = await LocalWorkspace.selectStack({ stackName, workDir: PROJECT_DIR });
  return {
    stackName,
    async outputs() {
      return Object.fromEntries(
        Object.entries(await stack.outputs()).map(([key, output]) => [key, output.value]),
      );
    },
    async config(key) {
      return (await stack.getConfig(key).catch(() => undefined))?.value;
    },
    async destroy(onOutput) {
      await stack.destroy({ onOutput: (text) => text.split("\n").filter(Boolean).forEach(onOutput) });
    },
    async removeStack() {
      await stack.workspace.removeStack(stackName);
    },
  };
}
