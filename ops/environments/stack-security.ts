/**
 * A secured stack's Kafka credentials, for the ops CLI: the CA comes from the outputs, the SCRAM passwords from
 * the SSM SecureString parameters the outputs name (read with the operator's AWS credentials, never printed,
 * never passed on a command line). Every Kafka client of this process that connects to the stack's listeners
 * then uses TLS verifying the CA and the credentials of its role (apps/shared/kafka-security.ts).
 */
import { GetParameterCommand, PutParameterCommand, SSMClient } from "@aws-sdk/client-ssm";
import { ConfigError, errorMessage } from "../../apps/shared/errors.ts";
import {
  registerClusterSecurity,
  type ClusterSecurity,
  type KafkaCredentials,
  type KafkaRole,
} from "../../apps/shared/kafka-security.ts";
import type { StackOutputs } from "./stack-outputs.ts";

export function isSecuredStack(outputs: StackOutputs): boolean {
  return Boolean(outputs.kafkaCaCertificate);
}

function parameterOf(outputs: StackOutputs, role: KafkaRole): string {
  const name = outputs.kafkaCredentialParameters?.[role];
  if (!name && outputs.kafkaCredentialParameters)
    throw new ConfigError(`the stack's outputs name no ${role} credentials; run pulumi up to add them`);
  if (!name)
    throw new ConfigError(
      "the stack's outputs have kafkaCaCertificate but no kafkaCredentialParameters; run `pulumi up` to add them",
    );
  return name;
}

function ssmClient(outputs: StackOutputs): SSMClient {
  return new SSMClient({ region: outputs.region });
}

/** A SecureString's decrypted value; `what` names it in the one-line error. */
export async function readStackParameter(outputs: StackOutputs, name: string, what: string): Promise<string> {
  const ssm = ssmClient(outputs);
  try {
    const answer = await ssm.send(new GetParameterCommand({ Name: name, WithDecryption: true }));
    const value = answer.Parameter?.Value;
    if (!value) throw new ConfigError(`SSM parameter ${name} is empty`);
    return value;
  } catch (error) {
    if (error instanceof ConfigError) throw error;
    throw new ConfigError(
      `cannot read ${what} from SSM parameter ${name}: ${errorMessage(error)} (are your AWS credentials for this account and region ${outputs.region}?)`,
    );
  } finally {
    ssm.destroy();
  }
}

/** The principal's current SCRAM password, from its parameter. */
export async function readStackPassword(outputs: StackOutputs, role: KafkaRole): Promise<KafkaCredentials> {
  const password = await readStackParameter(outputs, parameterOf(outputs, role), `the ${role} credentials`);
  return { username: role, password };
}

/** Replaces the principal's password in its parameter (after Kafka has it). */
export async function writeStackPassword(
  outputs: StackOutputs,
  role: KafkaRole,
  password: string,
): Promise<void> {
  const name = parameterOf(outputs, role);
  const ssm = ssmClient(outputs);
  try {
    await ssm.send(
      new PutParameterCommand({ Name: name, Value: password, Type: "SecureString", Overwrite: true }),
    );
  } finally {
    ssm.destroy();
  }
}

/**
 * Registers the stack's security for its listeners (public and internal) in this process: the CA, and the
 * credentials of the given roles (ops by default: what the CLI's own clients use). Nothing for a plaintext stack.
 */
export async function useStackSecurity(
  outputs: StackOutputs,
  roles: readonly KafkaRole[] = ["ops"],
): Promise<ClusterSecurity | undefined> {
  if (!isSecuredStack(outputs)) return undefined;
  const credentials: ClusterSecurity["credentials"] = Object.fromEntries(
    await Promise.all(roles.map(async (role) => [role, await readStackPassword(outputs, role)])),
  );
  const security: ClusterSecurity = { caPem: outputs.kafkaCaCertificate!, credentials };
  const listeners = [
    ...outputs.bootstrapServers.split(","),
    ...(outputs.internalBootstrapServers?.split(",") ?? []),
  ];
  registerClusterSecurity(listeners, security);
  return security;
}
