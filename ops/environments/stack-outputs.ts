/**
 * A stack's outputs (DESIGN.md, "Stack outputs"), read from the JSON that `pulumi stack output --json` prints.
 * Validated once, so that a missing output is reported by name rather than failing deep inside a command.
 */
import { readFile } from "node:fs/promises";
import { z } from "zod";
import { ConfigError } from "../../apps/shared/errors.ts";

export const stackOutputsSchema = z.object({
  brokerPublicIps: z.array(z.string()).min(1),
  brokerPrivateIps: z.array(z.string()).optional(),
  bootstrapServers: z.string().min(1),
  /** The INTERNAL listener on the private IPs, for apps on the brokers; stacks before it lack it. */
  internalBootstrapServers: z.string().min(1).optional(),
  sshUser: z.string().min(1).optional(),
  sshPort: z.number().int().min(1).max(65_535).default(22),
  brokerHostKeys: z
    .array(z.string().regex(/^SHA256:[A-Za-z0-9+/]{43}$/, "must be SHA256:<43 base64 characters>"))
    .optional(),
  brokerInstanceIds: z.array(z.string()).optional(),
  /** Where the bootstrap installed Kafka on the hosts; absent means "/" (a sandboxed host uses a folder). */
  hostRoot: z.string().optional(),
  lakeBucket: z.string().min(3),
  glueDatabase: z.string().min(1),
  crawlerName: z.string().min(1),
  athenaWorkgroup: z.string().min(1),
  region: z.string().min(1),
  /** The brokers' CA (PEM, public): a stack with it has SASL_SSL listeners (stack-security.ts). */
  kafkaCaCertificate: z.string().includes("BEGIN CERTIFICATE").optional(),
  /** The SSM SecureString parameters of the app principals' SCRAM passwords (names only). */
  kafkaCredentialParameters: z
    .object({
      ops: z.string().min(1),
      producer: z.string().min(1),
      consumer: z.string().min(1),
      /** Stacks from before the rollup principal lack it. */
      rollup: z.string().min(1).optional(),
    })
    .optional(),
  /** Each broker's keystore parameter (by node id - 1), which `broker renew-certificates` installs. */
  kafkaKeystoreParameters: z.array(z.string().min(1)).optional(),
  /** The scheduled quote poller, when the stack enables it. */
  quotesFunctionName: z.string().min(1).optional(),
  quotesLogGroup: z.string().min(1).optional(),
});

export type StackOutputs = z.infer<typeof stackOutputsSchema>;

export function parseStackOutputs(value: unknown, origin: string): StackOutputs {
  const result = stackOutputsSchema.safeParse(value);
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  const key = issue.path.join(".") || "(top level)";
  throw new ConfigError(`${origin}: stack output "${key}": ${issue.message}`);
}

export async function readStackOutputsFile(file: string): Promise<StackOutputs> {
  const text = await readFile(file, "utf8").catch(() => {
    throw new ConfigError(
      `--outputs ${file}: no such file (write it with: pulumi stack output --json > ${file})`,
    );
  });
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new ConfigError(`--outputs ${file}: not valid JSON (${(error as Error).message})`);
  }
  return parseStackOutputs(value, file);
}

/** `--outputs FILE`, else `--stack NAME` through the Pulumi Automation API (which needs the Pulumi CLI). */
export async function loadStackOutputs(options: { outputs?: string; stack?: string }): Promise<StackOutputs> {
  if (options.outputs) return readStackOutputsFile(options.outputs);
  if (!options.stack) throw new ConfigError("name a stack with --stack NAME or --outputs FILE");
  const { openPulumiStack } = await import("../teardown/pulumi-workspace.ts");
  const workspace = await openPulumiStack(options.stack);
  return parseStackOutputs(await workspace.outputs(), `stack ${options.stack}`);
}
