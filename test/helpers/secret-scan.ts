/**
 * The secrets of a secure home, and a scan of texts (output, logs, command lines, pages) for them. A private
 * key is looked for as its whole PEM block, as its body without line breaks, and as each distinctive line of
 * its body, so that a key printed in part, JSON-escaped or re-wrapped is still found.
 */
import { expect } from "chai";
import type { Dirent } from "node:fs";
import { readdir, readFile, stat } from "node:fs/promises";
import path from "node:path";

export interface Secret {
  /** What it is, for messages (never the secret itself). */
  readonly name: string;
  /** Texts whose presence anywhere means the secret leaked, each with its own label. */
  readonly needles: readonly { readonly label: string; readonly text: string }[];
}

const PRIVATE_KEY = /-----BEGIN ([A-Z0-9 ]*)PRIVATE KEY-----([\s\S]*?)-----END \1PRIVATE KEY-----/g;
/** Key files are a few hundred bytes; anything far larger (jars, log segments, indexes) is not one. */
const MAX_KEY_FILE_BYTES = 256 * 1024;
/** A body line shorter than this could occur by chance in base64 elsewhere (the last line of a body). */
const MIN_DISTINCTIVE_LINE = 24;

async function filesUnder(dir: string, depth = 0): Promise<string[]> {
  if (depth > 12) return [];
  const entries: Dirent[] = await readdir(dir, { withFileTypes: true }).catch(() => []);
  const files: string[] = [];
  for (const entry of entries) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) files.push(...(await filesUnder(full, depth + 1)));
    else if (entry.isFile()) files.push(full);
  }
  return files;
}

/** Every private key (PEM) in a file under `dir`, with the file it is in. */
export async function privateKeysUnder(
  dir: string,
): Promise<{ file: string; block: string; body: string[] }[]> {
  const keys: { file: string; block: string; body: string[] }[] = [];
  for (const file of await filesUnder(dir)) {
    const size = await stat(file).then(
      (info) => info.size,
      () => Infinity,
    );
    if (size > MAX_KEY_FILE_BYTES) continue;
    const text = await readFile(file, "utf8").catch(() => "");
    for (const match of text.matchAll(PRIVATE_KEY)) {
      const body = match[2]!
        .split(/\r?\n/)
        .map((line) => line.trim())
        .filter((line) => line && !line.includes(":"));
      keys.push({ file: path.relative(dir, file), block: match[0], body });
    }
  }
  return keys;
}

/**
 * The private keys under `home` as secrets. A body line counts as distinctive when it is long enough and occurs
 * in no other text under the home outside private-key blocks (a certificate holds the public key, which an EC
 * key's body also carries).
 */
export async function privateKeySecrets(home: string): Promise<Secret[]> {
  const keys = await privateKeysUnder(home);
  const publicTexts: string[] = [];
  for (const file of await filesUnder(home)) {
    const size = await stat(file).then(
      (info) => info.size,
      () => Infinity,
    );
    if (size > MAX_KEY_FILE_BYTES) continue;
    publicTexts.push((await readFile(file, "utf8").catch(() => "")).replace(PRIVATE_KEY, ""));
  }
  return keys.map(({ file, block, body }, index) => {
    const distinctive = body
      .map((line, number) => ({ line, number }))
      .filter(
        ({ line }) =>
          line.length >= MIN_DISTINCTIVE_LINE && publicTexts.every((text) => !text.includes(line)),
      );
    return {
      name: `the private key in ${file}${keys.filter((key) => key.file === file).length > 1 ? ` (#${index})` : ""}`,
      needles: [
        { label: "whole PEM block", text: block },
        { label: "whole body, unwrapped", text: body.join("") },
        ...distinctive.map(({ line, number }) => ({ label: `body line ${number + 1}`, text: line })),
      ],
    };
  });
}

/** Passwords as secrets, one per principal. */
export function passwordSecrets(passwords: Readonly<Record<string, string>>): Secret[] {
  return Object.entries(passwords).map(([principal, password]) => ({
    name: `${principal}'s password`,
    needles: [{ label: "password", text: password }],
  }));
}

/** Where each secret occurs in the texts, as "name (needle) in text N at offset M", without the secret. */
export function findSecrets(texts: readonly string[], secrets: readonly Secret[]): string[] {
  const found: string[] = [];
  for (const secret of secrets) {
    for (const needle of secret.needles) {
      texts.forEach((text, index) => {
        const at = text.indexOf(needle.text);
        if (at >= 0) found.push(`${secret.name} (${needle.label}) in text ${index} at offset ${at}`);
      });
    }
  }
  return found;
}

/** Asserts that no secret occurs in any of the texts; `where` names them in the message. */
export function expectNoSecrets(where: string, texts: readonly string[], secrets: readonly Secret[]): void {
  expect(secrets, "secrets to look for").to.not.be.empty;
  expect(findSecrets(texts, secrets), `a secret in ${where}`).to.deep.equal([]);
}
