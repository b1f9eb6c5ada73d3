/**
 * A CA and the server certificates it signs, made with openssl (P-256 keys): the secure local broker's, and
 * the test stand-ins for what the stack makes with @pulumi/tls. Keys are written to files of mode 600 and
 * never pass through a command line.
 */
import { randomBytes } from "node:crypto";
import path from "node:path";
import { ServiceError } from "../../apps/shared/errors.ts";
import type { Host } from "../hosts/host.ts";

const EC_KEY = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];

export interface CertificateAuthority {
  readonly certificateFile: string;
  readonly keyFile: string;
}

async function openssl(host: Host, args: string[]): Promise<void> {
  const result = await host.exec("openssl", args, { timeoutMs: 60_000 });
  if (result.exitCode !== 0)
    throw new ServiceError(`openssl ${args[0]} failed: ${result.stderr.trim().split("\n").at(-1)}`);
}

export async function createCertificateAuthority(
  host: Host,
  files: CertificateAuthority,
  commonName: string,
): Promise<void> {
  await openssl(host, [
    "req",
    "-x509",
    "-new",
    ...EC_KEY,
    "-keyout",
    files.keyFile,
    "-out",
    files.certificateFile,
    "-days",
    "3650",
    "-subj",
    `/CN=${commonName}`,
    "-addext",
    "basicConstraints=critical,CA:TRUE",
    "-addext",
    "keyUsage=critical,keyCertSign,cRLSign",
  ]);
  await host.exec("chmod", ["600", files.keyFile]);
}

/**
 * A server (and client) certificate for these addresses, signed by the CA: returns Kafka's PEM keystore, the
 * PKCS#8 key, the certificate and the CA in one text. Scratch files live in `workDir` and are removed.
 */
export async function issueServerCertificate(
  host: Host,
  ca: CertificateAuthority,
  options: {
    workDir: string;
    commonName: string;
    ipAddresses: readonly string[];
    dnsNames?: readonly string[];
  },
): Promise<string> {
  const base = path.join(options.workDir, `server-${randomBytes(4).toString("hex")}`);
  const [key, request, certificate, extensions] = [".key", ".csr", ".pem", ".ext"].map(
    (suffix) => `${base}${suffix}`,
  ) as [string, string, string, string];
  try {
    await openssl(host, [
      "req",
      "-new",
      ...EC_KEY,
      "-keyout",
      key,
      "-out",
      request,
      "-subj",
      `/CN=${options.commonName}`,
    ]);
    const names = [
      ...options.ipAddresses.map((ip) => `IP:${ip}`),
      ...(options.dnsNames ?? []).map((name) => `DNS:${name}`),
    ];
    await host.writeFile(
      extensions,
      `subjectAltName=${names.join(",")}\nextendedKeyUsage=serverAuth,clientAuth\nbasicConstraints=CA:FALSE\n`,
    );
    await openssl(host, [
      "x509",
      "-req",
      "-in",
      request,
      "-CA",
      ca.certificateFile,
      "-CAkey",
      ca.keyFile,
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
      [key, certificate, ca.certificateFile].map((file) => host.readFile(file)),
    );
    return `${parts.map((part) => (part ?? "").trim()).join("\n")}\n`;
  } finally {
    for (const file of [key, request, certificate, extensions]) await host.removePath(file);
  }
}
