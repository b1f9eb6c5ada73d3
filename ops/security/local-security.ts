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
import { ConfigError, ServiceError } from "../../apps/shared/errors.ts";
import type { ClusterSecurity, KafkaCredentials } from "../../apps/shared/kafka-security.ts";
import type { Host } from "../hosts/host.ts";

export type LocalPrincipal = "broker" | "controller" | "ops" | "producer" | "consumer";
const PRINCIPALS: readonly LocalPrincipal[] = ["broker", "controller", "ops", "producer", "consumer"];

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
    credentials: { producer: user("producer"), consumer: user("consumer"), ops: user("ops") },
  };
}

async function openssl(host: Host, args: string[]): Promise<void> {
  const result = await host.exec("openssl", args, { timeoutMs: 60_000 });
  if (result.exitCode !== 0)
    throw new ServiceError(`openssl ${args[0]} failed: ${result.stderr.trim().split("\n").at(-1)}`);
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
  const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
  await openssl(host, [
    "req",
    "-x509",
    "-new",
    ...ec,
    "-keyout",
    files.caKey,
    "-out",
    files.caCertificate,
    "-days",
    "3650",
    "-subj",
    "/CN=tickstream local CA",
    "-addext",
    "basicConstraints=critical,CA:TRUE",
    "-addext",
    "keyUsage=critical,keyCertSign,cRLSign",
  ]);
  const brokerKey = path.join(files.dir, "broker.key");
  const request = path.join(files.dir, "broker.csr");
  const certificate = path.join(files.dir, "broker.pem");
  const extensions = path.join(files.dir, "broker.ext");
  await openssl(host, [
    "req",
    "-new",
    ...ec,
    "-keyout",
    brokerKey,
    "-out",
    request,
    "-subj",
    "/CN=tickstream broker",
  ]);
  await host.writeFile(
    extensions,
    `subjectAltName=IP:${brokerHost},DNS:localhost\nextendedKeyUsage=serverAuth,clientAuth\nbasicConstraints=CA:FALSE\n`,
  );
  await openssl(host, [
    "x509",
    "-req",
    "-in",
    request,
    "-CA",
    files.caCertificate,
    "-CAkey",
    files.caKey,
    "-set_serial",
    `0x${randomBytes(8).toString("hex")}`,
    "-days",
    "825",
    "-extfile",
    extensions,
    "-out",
    certificate,
  ]);
  const parts = await Promise.all(
    [brokerKey, certificate, files.caCertificate].map((file) => host.readFile(file)),
  );
  const keystore = parts.map((part) => (part ?? "").trim()).join("\n");
  await host.writeFile(files.brokerKeystore, `${keystore}\n`, { mode: 0o600 });
  for (const file of [brokerKey, request, extensions]) await host.removePath(file);
  await host.exec("chmod", ["600", files.caKey]);
  const passwords = Object.fromEntries(
    PRINCIPALS.map((principal) => [principal, randomBytes(24).toString("base64url")]),
  );
  await host.writeFile(files.credentials, `${JSON.stringify(passwords, null, 2)}\n`, { mode: 0o600 });
  return files;
}
