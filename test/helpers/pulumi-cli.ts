/**
 * The real Pulumi CLI (built from its Go modules by ops/pulumi-cli/build.sh) with a file backend, a Pulumi home
 * and a project folder of the test's own, so that `--stack NAME` and `teardown` run through the real Automation
 * API without an account, a language host or the AWS provider: a stack is given outputs by importing a state.
 *
 * The state may also hold resources that a destroy must really delete, without AWS: Pulumi's own Node.js dynamic
 * provider (`pulumi-nodejs`, the `cmd/dynamic-provider` of the @pulumi/pulumi package in node_modules) runs the
 * `delete` that each resource's state carries, as it does for a `pulumi.dynamic.Resource` of a program.
 */
import { execa } from "execa";
import { randomUUID } from "node:crypto";
import { chmod, copyFile, mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";

export const PULUMI_BIN = path.resolve(
  process.env.TICKSTREAM_PULUMI_HOME ?? path.join(".tickstream", "pulumi"),
  "bin",
  "pulumi",
);

export interface PulumiSandbox {
  /** Environment for the `tickstream` CLI and for `pulumi`: PATH, backend, passphrase, project folder. */
  readonly env: NodeJS.ProcessEnv;
  readonly projectDir: string;
  pulumi(args: readonly string[]): Promise<{ exitCode: number; stdout: string; stderr: string }>;
  /** Creates a stack whose state holds these outputs (and these dynamic resources), with this stack config. */
  createStack(
    stack: string,
    outputs: Record<string, unknown>,
    config: Record<string, string>,
    resources?: Record<string, DynamicResource>,
  ): Promise<void>;
  destroy(): Promise<void>;
}

/** A resource of the `pulumi-nodejs` dynamic provider, as a program's `pulumi.dynamic.Resource` leaves it in the state. */
export interface DynamicResource {
  /**
   * The provider's code, as the SDK serializes it into the state's `__provider`: a CommonJS module whose
   * `exports.handler()` returns the provider object; the engine calls its `delete(id, props)` on destroy.
   */
  readonly provider: string;
  readonly props: Record<string, unknown>;
  /** `retainOnDelete`: a destroy drops it from the state without calling the provider's delete. */
  readonly retainOnDelete?: boolean;
}

export async function createPulumiSandbox(): Promise<PulumiSandbox> {
  const root = await mkdtemp(path.join(tmpdir(), "tickstream-pulumi-"));
  const projectDir = path.join(root, "project");
  const backendDir = path.join(root, "backend");
  const pluginDir = path.join(root, "plugins");
  await execa("mkdir", ["-p", projectDir, backendDir, pluginDir, path.join(root, "home")]);
  // The dynamic provider's plugin, as the Pulumi distribution ships it (a script running the SDK's provider with
  // node), found on PATH: the CLI built here has no bundled plugins and downloads none.
  const dynamicProvider = path.join(pluginDir, "pulumi-resource-pulumi-nodejs");
  await writeFile(
    dynamicProvider,
    `#!/bin/sh\nexec '${process.execPath}' '${path.resolve("node_modules/@pulumi/pulumi/cmd/dynamic-provider")}' "$@"\n`,
  );
  await chmod(dynamicProvider, 0o755);
  // The project's own Pulumi.yaml (name, runtime, main), in a folder where stack files may be written; the
  // program it names is the project's too (destroy checks that it exists, without running it).
  await copyFile("Pulumi.yaml", path.join(projectDir, "Pulumi.yaml"));
  await symlink(path.resolve("infra"), path.join(projectDir, "infra"));
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    PATH: `${path.dirname(PULUMI_BIN)}:${pluginDir}:${process.env.PATH}`,
    PULUMI_HOME: path.join(root, "home"),
    PULUMI_BACKEND_URL: `file://${backendDir}`,
    PULUMI_CONFIG_PASSPHRASE: "test passphrase",
    PULUMI_SKIP_UPDATE_CHECK: "true",
    PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
    TICKSTREAM_PULUMI_PROJECT_DIR: projectDir,
  };
  const pulumi = async (args: readonly string[]) => {
    const result = await execa(PULUMI_BIN, [...args, "--non-interactive"], {
      cwd: projectDir,
      env,
      reject: false,
      timeout: 60_000,
    });
    return { exitCode: result.exitCode ?? -1, stdout: result.stdout, stderr: result.stderr };
  };
  const must = async (args: readonly string[]) => {
    const result = await pulumi(args);
    if (result.exitCode !== 0) throw new Error(`pulumi ${args.join(" ")}: ${result.stderr || result.stdout}`);
    return result;
  };
  return {
    env,
    projectDir,
    pulumi,
    async createStack(stack, outputs, config, resources = {}) {
      await must(["stack", "init", stack]);
      for (const [key, value] of Object.entries(config))
        await must(["config", "set", key, value, "--stack", stack]);
      const state = path.join(root, `${stack}.state.json`);
      await writeFile(state, JSON.stringify(stackState(stack, outputs, resources)));
      await must(["stack", "import", "--file", state, "--stack", stack]);
    },
    async destroy() {
      await rm(root, { recursive: true, force: true });
    },
  };
}

/**
 * A checkpoint (deployment v3) as `pulumi up` leaves it: the root stack resource and its outputs, and, when given,
 * the dynamic provider's default provider resource and the dynamic resources, children of the stack.
 */
function stackState(
  stack: string,
  outputs: Record<string, unknown>,
  resources: Record<string, DynamicResource>,
) {
  const stackUrn = `urn:pulumi:${stack}::tickstream::pulumi:pulumi:Stack::tickstream-${stack}`;
  const providerUrn = `urn:pulumi:${stack}::tickstream::pulumi:providers:pulumi-nodejs::default`;
  const providerId = randomUUID();
  const dynamic = Object.entries(resources).map(([name, resource]) => {
    const state = { ...resource.props, __provider: resource.provider };
    return {
      urn: `urn:pulumi:${stack}::tickstream::pulumi:pulumi:Stack$pulumi-nodejs:dynamic:Resource::${name}`,
      custom: true,
      id: name,
      type: "pulumi-nodejs:dynamic:Resource",
      inputs: state,
      outputs: state,
      parent: stackUrn,
      provider: `${providerUrn}::${providerId}`,
      ...(resource.retainOnDelete ? { retainOnDelete: true } : {}),
    };
  });
  return {
    version: 3,
    deployment: {
      manifest: { time: new Date().toISOString(), magic: "", version: "" },
      resources: [
        { urn: stackUrn, custom: false, type: "pulumi:pulumi:Stack", outputs },
        ...(dynamic.length > 0
          ? [
              {
                urn: providerUrn,
                custom: true,
                id: providerId,
                type: "pulumi:providers:pulumi-nodejs",
                inputs: {},
                outputs: {},
              },
            ]
          : []),
        ...dynamic,
      ],
    },
  };
}
