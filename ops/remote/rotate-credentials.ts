/**
 * `tickstream credentials rotate producer|consumer|ops`: a new SCRAM-SHA-512 password for one principal, with
 * the brokers up the whole time. In order:
 *  1. Kafka: ConfigCommand on broker 1 (its own tools' settings, /etc/kafka/admin.properties, as the bootstrap
 *     wrote them), the password in a file of mode 600 (`--add-config-file`), never on a command line. SCRAM
 *     credentials live in the KRaft metadata: every broker has the new one moments later. Connections that are
 *     already authenticated stay up; only new logins need the new password.
 *  2. Proof: a login with the new password through the public listener.
 *  3. The principal's SSM parameter, where `app deploy` and the CLI read it (the stack ignores later changes).
 *  4. Each broker host where the app is deployed: its env file gets the new password, and a running app is
 *     restarted once (the lake sink resumes from its committed offsets; nothing is lost or written twice).
 * A failure after step 1 leaves Kafka with the new password and the parameter with the old one: running
 * the rotation again makes a new one and completes every step.
 */
import { randomBytes } from "node:crypto";
import path from "node:path";
import { Kafka, logLevel } from "kafkajs";
import { ServiceError } from "../../apps/shared/errors.ts";
import { waitFor } from "../../apps/shared/retry.ts";
import { KAFKA_SECURITY_ENV } from "../../apps/shared/kafka-security.ts";
import { ignoreKafkajsNegativeTimeouts } from "../../apps/shared/kafkajs-warnings.ts";
import type { RotatablePrincipal } from "../../infra/bootstrap/security.ts";
import { updateAppEnvironment } from "../apps/deploy.ts";
import { isSecuredStack, writeStackPassword } from "../environments/stack-security.ts";
import type { RemoteCluster } from "./remote-cluster.ts";

export interface RotationResult {
  readonly principal: RotatablePrincipal;
  /** Where the app's env file was updated, and whether its service was restarted. */
  readonly hosts: { nodeId: number; updated: boolean; restarted: boolean }[];
}

/** SCRAM passwords go into Kafka's "[name=…,password=…]" syntax: base64url has no bracket, comma or equals. */
function newPassword(): string {
  return randomBytes(24).toString("base64url");
}

async function alterScramCredential(
  cluster: RemoteCluster,
  principal: string,
  password: string,
): Promise<void> {
  const [broker] = cluster.brokers;
  const host = await cluster.connect(broker!);
  const internal = cluster.outputs.internalBootstrapServers?.split(",")[0];
  if (!internal) throw new ServiceError("the stack's outputs have no internalBootstrapServers");
  const configFile = cluster.hostPath(
    `/etc/kafka/rotate-${principal}-${randomBytes(4).toString("hex")}.properties`,
  );
  await host.writeFile(configFile, `SCRAM-SHA-512=iterations=8192,password=${password}\n`, { mode: 0o600 });
  try {
    const result = await host.exec(
      "java",
      [
        "-cp",
        path.posix.join(cluster.hostPath("/opt/kafka/libs"), "*"),
        "org.apache.kafka.tools.ConfigCommand",
        "--bootstrap-server",
        internal,
        "--command-config",
        cluster.hostPath("/etc/kafka/admin.properties"),
        "--alter",
        "--entity-type",
        "users",
        "--entity-name",
        principal,
        "--add-config-file",
        configFile,
      ],
      { timeoutMs: 120_000 },
    );
    if (result.exitCode !== 0)
      throw new ServiceError(
        `broker ${broker!.nodeId}: Kafka refused the new ${principal} credential: ${result.stderr.trim().split("\n").at(-1) ?? `exit ${result.exitCode}`}`,
      );
  } finally {
    await host.removePath(configFile);
  }
}

async function proveLogin(cluster: RemoteCluster, principal: string, password: string): Promise<void> {
  ignoreKafkajsNegativeTimeouts();
  const kafka = new Kafka({
    clientId: `tickstream-ops-rotation`,
    brokers: cluster.bootstrapServers,
    logLevel: logLevel.NOTHING,
    retry: { retries: 0 },
    ssl: { ca: [cluster.outputs.kafkaCaCertificate!] },
    sasl: { mechanism: "scram-sha-512", username: principal, password },
  });
  let last: unknown;
  await waitFor(
    async () => {
      const admin = kafka.admin();
      try {
        await admin.connect();
        await admin.describeCluster();
        return true;
      } catch (error) {
        last = error;
        return false;
      } finally {
        await admin.disconnect().catch(() => undefined);
      }
    },
    {
      timeoutMs: 60_000,
      intervalMs: 1_000,
      describe: () =>
        `the brokers do not accept the new ${principal} password after 60 s (${(last as Error)?.message ?? "no answer"})`,
    },
  );
}

export async function rotateCredentials(
  cluster: RemoteCluster,
  principal: RotatablePrincipal,
  onProgress: (message: string) => void = () => undefined,
): Promise<RotationResult> {
  if (!isSecuredStack(cluster.outputs))
    throw new ServiceError(
      "the stack's listeners have no credentials to rotate (no kafkaCaCertificate output)",
    );
  const password = newPassword();
  onProgress(`setting a new SCRAM-SHA-512 password for ${principal} in Kafka...`);
  await alterScramCredential(cluster, principal, password);
  await proveLogin(cluster, principal, password);
  onProgress(`the brokers accept it; storing it in its SSM parameter...`);
  await writeStackPassword(cluster.outputs, principal, password);
  const hosts: RotationResult["hosts"] = [];
  if (principal === "ops") return { principal, hosts };
  for (const broker of cluster.brokers) {
    const host = await cluster.connect(broker);
    const updated = await updateAppEnvironment(
      cluster,
      host,
      principal,
      KAFKA_SECURITY_ENV.password,
      password,
    );
    let restarted = false;
    const service = updated ? await cluster.appService(host, principal) : undefined;
    if (service && (await service.status()).running) {
      onProgress(`restarting ${principal} on broker ${broker.nodeId} with its new password...`);
      await service.stop();
      await service.start();
      restarted = true;
    }
    hosts.push({ nodeId: broker.nodeId, updated, restarted });
  }
  return { principal, hosts };
}
