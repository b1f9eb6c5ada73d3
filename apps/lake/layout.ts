/**
 * The lake's object names (DESIGN.md, "Lake layout"):
 *   ticks/dt=YYYY-MM-DD/<topic>+<partition>+<startOffset, 20 digits>.parquet
 *   quarantine/dt=YYYY-MM-DD/<topic>+<partition>+<startOffset, 20 digits>.jsonl
 * A name depends only on where its batch starts in the Kafka log, so re-writing a batch overwrites it.
 */
export const TICKS_PREFIX = "ticks/";
export const QUARANTINE_PREFIX = "quarantine/";

function baseName(topic: string, partition: number, startOffset: bigint | string): string {
  return `${topic}+${partition}+${String(startOffset).padStart(20, "0")}`;
}

export function tickObjectKey(
  dt: string,
  topic: string,
  partition: number,
  startOffset: bigint | string,
): string {
  return `${TICKS_PREFIX}dt=${dt}/${baseName(topic, partition, startOffset)}.parquet`;
}

export function quarantineObjectKey(
  dt: string,
  topic: string,
  partition: number,
  startOffset: bigint | string,
): string {
  return `${QUARANTINE_PREFIX}dt=${dt}/${baseName(topic, partition, startOffset)}.jsonl`;
}

/** The `dt` partition value in a key, or undefined for a key outside the layout. */
export function partitionDateOf(key: string): string | undefined {
  return /\/dt=(\d{4}-\d{2}-\d{2})\//.exec(key)?.[1];
}
