/**
 * The lake's object names (DESIGN.md, "Lake layout"):
 *   ticks/dt=YYYY-MM-DD/<topic>+<partition>+<startOffset, 20 digits>.parquet
 *   bars_1m/dt=YYYY-MM-DD/<topic>+<partition>+<startOffset, 20 digits>.parquet
 *   quarantine/dt=YYYY-MM-DD/<topic>+<partition>+<startOffset, 20 digits>.jsonl
 * A name depends only on where its flush starts in the Kafka log; only committed flushes are published to these
 * names, from a staging folder (see apps/consumer/lake-sink.ts).
 */
import { createHash } from "node:crypto";

export const TICKS_PREFIX = "ticks/";
export const QUARANTINE_PREFIX = "quarantine/";
/**
 * Where the lake sink stages a flush before its offsets are committed. Outside every table prefix, so no crawler
 * or query ever reads it; a bucket lifecycle rule expires what zombies and crashes leave here.
 */
export const STAGING_PREFIX = "_staging/";

function baseName(topic: string, partition: number, startOffset: bigint | string): string {
  return `${topic}+${partition}+${String(startOffset).padStart(20, "0")}`;
}

export function tickObjectKey(
  dt: string,
  topic: string,
  partition: number,
  startOffset: bigint | string,
): string {
  return tableObjectKey(TICKS_PREFIX, dt, topic, partition, startOffset);
}

export const BARS_PREFIX = "bars_1m/";

/** A Parquet object of a table (`ticks/`, `bars_1m/`): `<prefix>dt=<date>/<topic>+<partition>+<offset>.parquet`. */
export function tableObjectKey(
  prefix: string,
  dt: string,
  topic: string,
  partition: number,
  startOffset: bigint | string,
): string {
  return `${prefix}dt=${dt}/${baseName(topic, partition, startOffset)}.parquet`;
}

export function quarantineObjectKey(
  dt: string,
  topic: string,
  partition: number,
  startOffset: bigint | string,
): string {
  return `${QUARANTINE_PREFIX}dt=${dt}/${baseName(topic, partition, startOffset)}.jsonl`;
}

/** The topic, partition and first offset an object's name holds (`…/<topic>+<partition>+<offset>.<ext>`). */
export function objectNameOffsets(
  key: string,
): { readonly topic: string; readonly partition: number; readonly startOffset: bigint } | undefined {
  const match = /\/([^/]+)\+(\d+)\+(\d{20})\.[a-z]+$/.exec(key);
  return match
    ? { topic: match[1]!, partition: Number(match[2]), startOffset: BigInt(match[3]!) }
    : undefined;
}

/** The `dt` partition value in a key, or undefined for a key outside the layout. */
export function partitionDateOf(key: string): string | undefined {
  return /\/dt=(\d{4}-\d{2}-\d{2})\//.exec(key)?.[1];
}

/**
 * The staging folder of one consumer group's flushes of one partition. Only URL-safe characters, because S3
 * servers disagree on how to decode a COPY's `x-amz-copy-source` (s3rver leaves `%2B` and `%3D` encoded).
 */
export function stagingPartitionPrefix(groupId: string, topic: string, partition: number): string {
  return `${STAGING_PREFIX}${urlSafe(groupId)}/${topic}/${partition}/`;
}

/** The staging folder of one flush: unique per flush attempt, so no other writer (a zombie) can write into it. */
export function stagingFlushPrefix(
  groupId: string,
  topic: string,
  partition: number,
  flushId: string,
): string {
  return `${stagingPartitionPrefix(groupId, topic, partition)}${flushId}/`;
}

/** Kafka topic names are URL-safe already; a group id may hold anything. */
function urlSafe(name: string): string {
  if (/^[A-Za-z0-9._-]+$/.test(name)) return name;
  return `${name.replace(/[^A-Za-z0-9._-]/g, "_")}-${createHash("sha256").update(name).digest("hex").slice(0, 8)}`;
}
