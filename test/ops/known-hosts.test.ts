import { expect } from "chai";
import { createHash, createHmac, randomBytes } from "node:crypto";
import { knownHostFingerprints } from "../../ops/hosts/known-hosts.ts";

/** A made-up ed25519 public key blob and its fingerprint, as `ssh-keygen -lf` prints it. */
function key(): { base64: string; fingerprint: string } {
  const blob = randomBytes(51);
  return {
    base64: blob.toString("base64"),
    fingerprint: `SHA256:${createHash("sha256").update(blob).digest("base64").replace(/=+$/, "")}`,
  };
}

/** A hashed host field, as `ssh-keygen -H` writes it. */
function hashed(name: string): string {
  const salt = randomBytes(20);
  return `|1|${salt.toString("base64")}|${createHmac("sha1", salt).update(name).digest("base64")}`;
}

describe("known_hosts parsing", function () {
  const [a, b, c, d] = [key(), key(), key(), key()];

  it("accepts a plain entry for port 22 by name and for another port as [host]:port", function () {
    const text = `203.0.113.5 ssh-ed25519 ${a.base64}\n[203.0.113.5]:2222 ssh-ed25519 ${b.base64}\n`;
    expect(knownHostFingerprints(text, "203.0.113.5", 22)).to.deep.equal([a.fingerprint]);
    expect(knownHostFingerprints(text, "203.0.113.5", 2222)).to.deep.equal([b.fingerprint]);
    expect(knownHostFingerprints(text, "203.0.113.6", 22)).to.deep.equal([]);
  });

  it("matches any name of a comma-separated host list, and wildcards", function () {
    const text = `broker-1,203.0.113.5,[203.0.113.5]:2222 ssh-ed25519 ${a.base64}\n203.0.113.* ssh-ed25519 ${b.base64}\n`;
    expect(knownHostFingerprints(text, "203.0.113.5", 2222)).to.deep.equal([a.fingerprint]);
    expect(knownHostFingerprints(text, "203.0.113.5", 22)).to.deep.equal([a.fingerprint, b.fingerprint]);
    expect(knownHostFingerprints(text, "203.0.113.77", 22)).to.deep.equal([b.fingerprint]);
  });

  it("reads hashed |1|salt|hash entries (ssh-keygen -H) for the right host and port only", function () {
    const text = `${hashed("[203.0.113.5]:2222")} ssh-ed25519 ${a.base64}\n${hashed("203.0.113.9")} ssh-ed25519 ${b.base64}\n`;
    expect(knownHostFingerprints(text, "203.0.113.5", 2222)).to.deep.equal([a.fingerprint]);
    expect(knownHostFingerprints(text, "203.0.113.5", 22)).to.deep.equal([]);
    expect(knownHostFingerprints(text, "203.0.113.9", 22)).to.deep.equal([b.fingerprint]);
  });

  it("refuses a key marked @revoked, even when another line lists it for the host", function () {
    const text = [
      `203.0.113.5 ssh-ed25519 ${a.base64}`,
      `203.0.113.5 ssh-ed25519 ${b.base64}`,
      `@revoked * ssh-ed25519 ${a.base64}`,
    ].join("\n");
    expect(knownHostFingerprints(text, "203.0.113.5", 22)).to.deep.equal([b.fingerprint]);
  });

  it("pins nothing with an @cert-authority line (host certificates are not checked), and skips comments and negated hosts", function () {
    const text = [
      "# a comment",
      `@cert-authority *.example.com ssh-ed25519 ${c.base64}`,
      `*,!203.0.113.5 ssh-ed25519 ${d.base64}`,
      "",
    ].join("\n");
    expect(knownHostFingerprints(text, "broker.example.com", 22)).to.deep.equal([d.fingerprint]);
    expect(knownHostFingerprints(text, "203.0.113.5", 22)).to.deep.equal([]);
  });
});
