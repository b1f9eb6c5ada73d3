/**
 * The secure local broker's material, made once by `tickstream local up --secure` under `<home>/security/`:
 * a CA and a broker certificate (P-256, made with openssl; the broker's SANs are its loopback address and
 * localhost), and a random SCRAM-SHA-512 password for each principal: `broker` (inter-broker, super user),
 * `controller` (the controller listener, PLAIN, super user), `ops` (super user), `producer` and `consumer`
 * (each limited by ACLs). Keys and passwords are files of mode 600; none is ever passed on a command line.
 * A home is secure once this folder exists: every later command in that home uses it.
 */
import { randomBytes } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { ConfigError } from "../../apps/shared/errors.ts";
import type { ClusterSecurity, KafkaCredentials } from "../../apps/shared/kafka-security.ts";
import type { Host } from "../hosts/host.ts";
import { createCertificateAuthority, issueServerCertificate } from "./certificates.ts";

export type LocalPrincipal = "broker" | "controller" | "ops" | "producer" | "consumer" | "rollup";
const PRINCIPALS: readonly LocalPrincipal[] = [
  "broker",
  "controller",
  "ops",
  "producer",
  "consumer",
  "rollup",
];

export interface LocalSecurityFiles {
  readonly dir: string;
  readonly caCertificate: string;
  readonly caKey: string;
  /** The broker's private key (PKCS#8), certificate and CA in one PEM file: Kafka's PEM keystore. */
  readonly brokerKeystore: string;
  readonly credentials: string;
}

export function localSecurityFiles(home: string): LocalSecurityFiles {
  const dir = path.join(home, "security");
  return {
    dir,
    caCertificate: path.join(dir, "ca.pem"),
    caKey: path.join(dir, "ca.key"),
    brokerKeystore: path.join(dir, "broker-keystore.pem"),
    credentials: path.join(dir, "credentials.json"),
  };
}

export function isSecureHome(home: string): boolean {
  return existsSync(localSecurityFiles(home).credentials);
}

export type LocalCredentials = Record<LocalPrincipal, string>;

/** The principals' passwords and the CA, when the home is secure. */
export function loadLocalSecurity(
  home: string,
): { files: LocalSecurityFiles; passwords: LocalCredentials } | undefined {
  const files = localSecurityFiles(home);
  if (!existsSync(files.credentials)) return undefined;
  let passwords: Partial<LocalCredentials>;
  try {
    passwords = JSON.parse(readFileSync(files.credentials, "utf8"));
  } catch (error) {
    throw new ConfigError(`${files.credentials}: not valid JSON (${(error as Error).message})`);
  }
  const missing = PRINCIPALS.filter((principal) => typeof passwords[principal] !== "string");
  if (missing.length > 0)
    throw new ConfigError(`${files.credentials}: no password for ${missing.join(", ")}`);
  return { files, passwords: passwords as LocalCredentials };
}

/** What a client of the local broker needs: the CA and the credentials of each client role. */
export function clientSecurity(home: string): ClusterSecurity | undefined {
  const loaded = loadLocalSecurity(home);
  if (!loaded) return undefined;
  const user = (principal: LocalPrincipal): KafkaCredentials => ({
    username: principal,
    password: loaded.passwords[principal],
  });
  return {
    caPem: readFileSync(loaded.files.caCertificate, "utf8"),
    credentials: {
      producer: user("producer"),
      consumer: user("consumer"),
      rollup: user("rollup"),
      ops: user("ops"),
    },
  };
}

/** Makes the CA, the broker certificate and the passwords, unless the home has them already. */
export async function ensureLocalSecurity(
  host: Host,
  home: string,
  brokerHost: string,
): Promise<LocalSecurityFiles> {
  const files = localSecurityFiles(home);
  if (await host.pathExists(files.credentials)) return files;
  await host.makeDirectory(files.dir);
  await host.exec("chmod", ["700", files.dir]);
  const ca = { certificateFile: files.caCertificate, keyFile: files.caKey };
  await createCertificateAuthority(host, ca, "tickstream local CA");
  const keystore = await issueServerCertificate(host, ca, {
    workDir: files.dir,
    commonName: "tickstream broker",
    ipAddresses: [brokerHost],
    dnsNames: ["localhost"],
  });
  await host.writeFile(files.brokerKeystore, keystore, { mode: 0o600 });
  const passwords = Object.fromEntries(
    PRINCIPALS.map((principal) => [principal, randomBytes(24).toString("base64url")]),
  );
  await host.writeFile(files.credentials, `${JSON.stringify(passwords, null, 2)}\n`, { mode: 0o600 });
  return files;
}
