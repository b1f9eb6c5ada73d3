/**
 * A stack's Kafka material in a Parameter Store (moto), as infra/components/broker-security.ts leaves it: a CA,
 * a keystore per broker whose certificate names its public and private IP, and a SCRAM password per principal.
 * The certificates are made with openssl here, where the stack uses @pulumi/tls; their shape is the same.
 */
import { PutParameterCommand, SSMClient } from "@aws-sdk/client-ssm";
import { randomBytes } from "node:crypto";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import {
  kafkaParameterNames,
  STACK_PRINCIPALS,
  type BootstrapSecurity,
  type StackPrincipal,
} from "../../infra/bootstrap/security.ts";
import { LocalHost } from "../../ops/hosts/local-host.ts";
import { createCertificateAuthority, issueServerCertificate } from "../../ops/security/certificates.ts";
import type { MotoServer } from "./moto.ts";

export interface ProvisionedSecurity {
  readonly caPem: string;
  readonly passwords: Record<StackPrincipal, string>;
  readonly names: ReturnType<typeof kafkaParameterNames>;
  /** The bootstrap's security parameters for broker `nodeId`. */
  bootstrap(nodeId: number): BootstrapSecurity & { ssmEndpoint: string };
  /** A new certificate for the broker, from the same CA, into its parameter (as pulumi up renews it). */
  reissue(broker: { nodeId: number; publicIp: string; privateIp: string }): Promise<string>;
  /** Removes the CA's key. */
  dispose(): Promise<void>;
}

export async function provisionStackSecurity(
  moto: MotoServer,
  stack: string,
  brokers: readonly { nodeId: number; publicIp: string; privateIp: string }[],
  topics: readonly string[] = ["stock-ticks"],
): Promise<ProvisionedSecurity> {
  const host = new LocalHost();
  const workDir = await mkdtemp(path.join(tmpdir(), "tickstream-pki-"));
  const ssm = new SSMClient(moto.clientConfig);
  const names = kafkaParameterNames(stack);
  const put = (Name: string, Value: string, Type: "String" | "SecureString" = "SecureString") =>
    ssm.send(new PutParameterCommand({ Name, Value, Type, Overwrite: true }));
  const ca = { certificateFile: path.join(workDir, "ca.pem"), keyFile: path.join(workDir, "ca.key") };
  const issue = async (broker: { nodeId: number; publicIp: string; privateIp: string }) => {
    const keystore = await issueServerCertificate(host, ca, {
      workDir,
      commonName: `tickstream broker ${broker.nodeId}`,
      ipAddresses: [broker.publicIp, broker.privateIp],
    });
    await put(names.keystore(broker.nodeId), keystore);
    return keystore;
  };
  try {
    await createCertificateAuthority(host, ca, "tickstream test stack CA");
    const caPem = await readFile(ca.certificateFile, "utf8");
    await put(names.caCertificate, caPem, "String");
    for (const broker of brokers) await issue(broker);
    const passwords = Object.fromEntries(
      STACK_PRINCIPALS.map((principal) => [principal, randomBytes(24).toString("base64url")]),
    ) as Record<StackPrincipal, string>;
    for (const principal of STACK_PRINCIPALS) await put(names.user(principal), passwords[principal]);
    return {
      caPem,
      passwords,
      names,
      bootstrap: (nodeId) => ({
        ssmEndpoint: moto.endpoint,
        caParameter: names.caCertificate,
        keystoreParameter: names.keystore(nodeId),
        userParameters: Object.fromEntries(
          STACK_PRINCIPALS.map((principal) => [principal, names.user(principal)]),
        ) as Record<StackPrincipal, string>,
        aclScope: {
          topics,
          groupPrefixes: ["tickstream-lake-sink"],
          barsTopics: ["stock-bars-1m"],
          rollupGroupPrefixes: ["tickstream-rollup"],
        },
      }),
      reissue: issue,
      dispose: async () => {
        ssm.destroy();
        await rm(workDir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    ssm.destroy();
    await rm(workDir, { recursive: true, force: true });
    throw error;
  }
}
