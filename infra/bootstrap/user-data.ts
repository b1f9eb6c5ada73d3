/**
 * A broker's user data as EC2 receives it: the rendered bootstrap, gzipped, in base64 (`userDataBase64`).
 *
 * EC2 refuses user data over 16 KB "in raw form", before base64 (EC2 User Guide, "Run commands when you launch
 * an EC2 instance with user data input"); the secured bootstrap renders to about 23 KB. cloud-init unpacks
 * gzip-compressed user data itself ("Compression": "the user data may be gzip-compressed; cloud-init
 * decompresses it"), so the instance runs the same script, and the raw bytes EC2 counts are the compressed ones.
 * Binary user data must go through `userDataBase64` (the provider's docs: "gzip-encoded user data must be
 * base64-encoded and passed via this argument to avoid corruption").
 */
import { gunzipSync, gzipSync } from "node:zlib";
import { renderBootstrap, type BootstrapParams } from "./render.ts";

/** RunInstances' limit on user data, in raw bytes (before base64). */
export const EC2_USER_DATA_MAX_BYTES = 16_384;

/** gzip's magic bytes, by which cloud-init recognises compressed user data. */
const GZIP_MAGIC = [0x1f, 0x8b] as const;

/** The bootstrap as `userDataBase64`: gzip (deterministic: no name, mtime 0) in base64. */
export function packUserData(script: string): string {
  return gzipSync(Buffer.from(script, "utf8"), { level: 9 }).toString("base64");
}

/** The raw bytes EC2 counts against its limit, from `userData` (UTF-8 text) or `userDataBase64`. */
export function userDataRawBytes(props: { userData?: unknown; userDataBase64?: unknown }): Buffer {
  if (typeof props.userDataBase64 === "string") return Buffer.from(props.userDataBase64, "base64");
  if (typeof props.userData === "string") return Buffer.from(props.userData, "utf8");
  return Buffer.alloc(0);
}

/** What cloud-init hands on as the script: the raw bytes, unpacked when they start with gzip's magic. */
export function unpackUserData(raw: Buffer): string {
  const gzipped = raw.length >= 2 && raw[0] === GZIP_MAGIC[0] && raw[1] === GZIP_MAGIC[1];
  return (gzipped ? gunzipSync(raw) : raw).toString("utf8");
}

/** The script an instance with these inputs runs (for the policy pack and tests). */
export function userDataScript(props: { userData?: unknown; userDataBase64?: unknown }): string {
  return unpackUserData(userDataRawBytes(props));
}

/** A broker's `userDataBase64`: the rendered bootstrap, packed. The stack and the real-run test both use it. */
export function brokerUserData(params: BootstrapParams): string {
  return packUserData(renderBootstrap(params));
}
