/** Host key fingerprints from an OpenSSH known_hosts file, plain or hashed entries, for one host and port. */
import { createHash, createHmac } from "node:crypto";

function hostPatternMatches(pattern: string, host: string, port: number): boolean {
  const name = port === 22 ? host : `[${host}]:${port}`;
  if (pattern.startsWith("|1|")) {
    const [, , salt, hash] = pattern.split("|");
    const digest = createHmac("sha1", Buffer.from(salt!, "base64")).update(name).digest("base64");
    return digest === hash;
  }
  return pattern.split(",").includes(name);
}

/** `SHA256:…` fingerprints of the keys that `text` (a known_hosts file) lists for host:port. */
export function knownHostFingerprints(text: string, host: string, port: number): string[] {
  const fingerprints: string[] = [];
  for (const line of text.split("\n")) {
    const fields = line.trim().split(/\s+/);
    if (fields.length < 3 || fields[0]!.startsWith("#") || fields[0] === "@revoked") continue;
    const [patterns, , key] = fields[0] === "@cert-authority" ? fields.slice(1) : fields;
    if (!patterns || !key || !hostPatternMatches(patterns, host, port)) continue;
    fingerprints.push(
      `SHA256:${createHash("sha256").update(Buffer.from(key, "base64")).digest("base64").replace(/=+$/, "")}`,
    );
  }
  return fingerprints;
}
