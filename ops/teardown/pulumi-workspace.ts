/** `StackWorkspace` through Pulumi's Automation API, which drives the Pulumi CLI (it must be installed). */
import { execa } from "execa";
import { fileURLToPath } from "node:url";
import path from "node:path";
import { ConfigError, ServiceError, errorMessage } from "../../apps/shared/errors.ts";
import type { StackWorkspace } from "./teardown.ts";

/** The folder holding Pulumi.yaml and the stack files: this repository, unless TICKSTREAM_PULUMI_PROJECT_DIR. */
export const PROJECT_DIR = path.resolve(fileURLToPath(new URL("../..", import.meta.url)));

export function pulumiProjectDir(): string {
  return process.env.TICKSTREAM_PULUMI_PROJECT_DIR || PROJECT_DIR;
}

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
  const stack = await LocalWorkspace.selectStack({ stackName, workDir: pulumiProjectDir() }).catch(
    (error: unknown) => {
      if (!/no stack named/i.test(errorMessage(error))) throw error;
      const url = process.env.PULUMI_BACKEND_URL;
      const backend = url ? `the backend ${url}` : "the backend you are logged in to";
      throw new ConfigError(
        `stack ${stackName}: no such stack in ${backend} (list them with: pulumi stack ls)`,
      );
    },
  );
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
      await stack
        .destroy({ onOutput: (text) => text.split("\n").filter(Boolean).forEach(onOutput) })
        .catch((error: unknown) => {
          throw new ServiceError(`pulumi destroy of stack ${stackName} failed: ${pulumiReason(error)}`, {
            cause: error,
          });
        });
    },
    async removeStack() {
      await stack.workspace.removeStack(stackName).catch((error: unknown) => {
        throw new ServiceError(`pulumi stack rm ${stackName} failed: ${pulumiReason(error)}`, {
          cause: error,
        });
      });
    },
  };
}

/** The CLI's own "error: ..." line out of an Automation API CommandError (which holds its whole output). */
function pulumiReason(error: unknown): string {
  const text = errorMessage(error);
  return (
    /^error: (.*)$/m.exec(text)?.[1] ?? text.split("\n").find((line) => line.trim() !== "") ?? "unknown error"
  );
}
