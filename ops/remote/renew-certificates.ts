/**
 * `tickstream broker renew-certificates`: installs on each broker the keystore its SSM parameter holds, and
 * restarts only the brokers whose keystore changed, one at a time, each back and fully replicated before the
 * next. `pulumi up` replaces a broker's certificate within BROKER_CERTIFICATE_RENEWAL_HOURS of its end (the
 * LocallySignedCert's earlyRenewalHours) and writes the new keystore to the parameter; a broker reads its
 * keystore only when it starts, so this is the step that puts the new certificate in service.
 */
import { X509Certificate } from "node:crypto";
import { ConfigError, ServiceError } from "../../apps/shared/errors.ts";
import { readStackParameter } from "../environments/stack-security.ts";
import { rollingRestart } from "../kafka/rolling-restart.ts";
import type { BrokerHost, RemoteCluster } from "./remote-cluster.ts";

export interface RenewalResult {
  readonly renewed: number[];
  readonly unchanged: number[];
  /** The certificate each broker now has: its serial number and end of validity. */
  readonly certificates: { nodeId: number; serialNumber: string; validTo: string }[];
}

function firstCertificate(keystore: string, parameter: string): X509Certificate {
  const pem = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/.exec(keystore)?.[0];
  if (!pem || !/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(keystore))
    throw new ServiceError(
      `SSM parameter ${parameter} is not a PEM keystore (a PKCS#8 key and certificates)`,
    );
  const certificate = new X509Certificate(pem);
  if (new Date(certificate.validTo).getTime() < Date.now())
    throw new ServiceError(
      `the certificate in ${parameter} expired on ${certificate.validTo}: run pulumi up first`,
    );
  return certificate;
}

export async function renewCertificates(
  cluster: RemoteCluster,
  brokers: readonly BrokerHost[],
  onProgress: (message: string) => void = () => undefined,
): Promise<RenewalResult> {
  const parameters = cluster.outputs.kafkaKeystoreParameters;
  if (!parameters)
    throw new ConfigError("the stack's outputs have no kafkaKeystoreParameters: run pulumi up");
  const changed: { broker: BrokerHost; keystore: string }[] = [];
  const result: RenewalResult = { renewed: [], unchanged: [], certificates: [] };
  const file = cluster.hostPath("/etc/kafka/broker-keystore.pem");
  for (const broker of brokers) {
    const parameter = parameters[broker.nodeId - 1];
    if (!parameter)
      throw new ConfigError(`the outputs name no keystore parameter for broker ${broker.nodeId}`);
    const keystore = await readStackParameter(
      cluster.outputs,
      parameter,
      `broker ${broker.nodeId}'s keystore`,
    );
    const certificate = firstCertificate(keystore, parameter);
    result.certificates.push({
      nodeId: broker.nodeId,
      serialNumber: certificate.serialNumber,
      validTo: certificate.validTo,
    });
    const host = await cluster.connect(broker);
    if ((await host.readFile(file)) === keystore) {
      result.unchanged.push(broker.nodeId);
      continue;
    }
    changed.push({ broker, keystore });
  }
  for (const { broker, keystore } of changed) {
    const host = await cluster.connect(broker);
    await host.writeFile(file, keystore, { mode: 0o600 });
    if (!cluster.outputs.hostRoot) await host.exec("chown", ["kafka:kafka", file]);
    onProgress(`broker ${broker.nodeId}: new keystore installed`);
  }
  if (changed.length > 0) {
    const restartable = await Promise.all(
      changed.map(async ({ broker }) => ({
        nodeId: broker.nodeId,
        service: await cluster.brokerService(await cluster.connect(broker)),
      })),
    );
    await rollingRestart(restartable, { bootstrapServers: cluster.bootstrapServers, onProgress });
    result.renewed.push(...changed.map(({ broker }) => broker.nodeId));
  }
  return result;
}
