/**
 * Host key fingerprints from an OpenSSH known_hosts file (sshd(8), "SSH_KNOWN_HOSTS FILE FORMAT"), for one host
 * and port: plain and hashed (`|1|salt|hash`) host patterns, comma-separated lists, `*`/`?` wildcards and
 * `!` negations; a key marked `@revoked` is never accepted, whatever other line lists it; `@cert-authority`
 * lines name a CA that signs host certificates, which ssh2 cannot check, so they pin nothing.
 */
import { createHash, createHmac } from "node:crypto";

function wildcardMatches(pattern: string, name: string): boolean {
  const expression = pattern
    .replace(/[.+^${}()|[\]\\]/g, "\\$&")
    .replace(/\*/g, ".*")
    .replace(/\?/g, ".");
  return new RegExp(`^${expression}$`, "i").test(name);
}

/** Whether a line's host field names host:port (a negated pattern that matches rules the line out). */
function hostFieldMatches(field: string, host: string, port: number): boolean {
  const name = port === 22 ? host : `[${host}]:${port}`;
  if (field.startsWith("|1|")) {
    const [, , salt, hash] = field.split("|");
    const digest = createHmac("sha1", Buffer.from(salt!, "base64")).update(name).digest("base64");
    return digest === hash;
  }
  let matched = false;
  for (const pattern of field.split(",")) {
    if (pattern.startsWith("!")) {
      if (wildcardMatches(pattern.slice(1), name)) return false;
    } else if (wildcardMatches(pattern, name)) matched = true;
  }
  return matched;
}

function fingerprint(base64Key: string): string {
  return `SHA256:${createHash("sha256").update(Buffer.from(base64Key, "base64")).digest("base64").replace(/=+$/, "")}`;
}

/** `SHA256:…` fingerprints of the keys that `text` (a known_hosts file) accepts for host:port. */
export function knownHostFingerprints(text: string, host: string, port: number): string[] {
  const accepted: string[] = [];
  const revoked = new Set<string>();
  for (const line of text.split("\n")) {
    const fields = line.trim().split(/\s+/);
    if (!fields[0] || fields[0].startsWith("#")) continue;
    const marker = fields[0].startsWith("@") ? fields.shift() : undefined;
    const [hosts, , key] = fields;
    if (!hosts || !key || !hostFieldMatches(hosts, host, port)) continue;
    if (marker === "@revoked") revoked.add(fingerprint(key));
    else if (marker === undefined) accepted.push(fingerprint(key));
  }
  return accepted.filter((candidate) => !revoked.has(candidate));
}
