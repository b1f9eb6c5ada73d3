/** Reads the lake back for assertions: the rows of the Parquet objects, and the quarantine records. */
import { GetObjectCommand } from "@aws-sdk/client-s3";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { queryObjects, sqlFileList, withDuckDB } from "../../apps/lake/duckdb.ts";
import { QUARANTINE_PREFIX, TICKS_PREFIX } from "../../apps/lake/layout.ts";
import { listObjects, mirrorPrefix } from "../../apps/lake/lake-mirror.ts";
import { createS3Client, type LakeLocation } from "../../apps/lake/s3-client.ts";

export interface LakeTickRow {
  symbol: string;
  tsMicros: bigint;
  price: number;
  volume: bigint;
  open: number | null;
  high: number | null;
  low: number | null;
  close: number | null;
  source: string;
  producerId: string;
  seq: bigint;
  kafkaPartition: number;
  kafkaOffset: bigint;
  dt: string;
  key: string;
}

/** Every row of one producer, ordered by seq, with the `dt` of the object it lies in. */
export async function readLakeTicks(lake: LakeLocation, producerId: string): Promise<LakeTickRow[]> {
  const s3 = createS3Client(lake);
  const cache = await mkdtemp(path.join(tmpdir(), "tickstream-lake-"));
  try {
    const { objects } = await mirrorPrefix(s3, lake.bucket, TICKS_PREFIX, cache);
    const files = objects.filter((object) => object.key.endsWith(".parquet")).map((object) => object.file);
    if (files.length === 0) return [];
    const rows = await withDuckDB((connection) =>
      queryObjects(
        connection,
        `SELECT symbol, epoch_us(ts) AS ts_micros, price, volume, open, high, low, close, source, producer_id, seq,
                kafka_partition, kafka_offset, regexp_extract(filename, 'dt=([0-9-]+)/', 1) AS dt, filename
         FROM read_parquet(${sqlFileList(files)}, filename = true) WHERE producer_id = $producer ORDER BY seq, kafka_offset`,
        { producer: producerId },
      ),
    );
    return rows.map((row) => ({
      symbol: row.symbol as string,
      tsMicros: BigInt(row.ts_micros as bigint),
      price: row.price as number,
      volume: BigInt(row.volume as bigint),
      open: row.open as number | null,
      high: row.high as number | null,
      low: row.low as number | null,
      close: row.close as number | null,
      source: row.source as string,
      producerId: row.producer_id as string,
      seq: BigInt(row.seq as bigint),
      kafkaPartition: row.kafka_partition as number,
      kafkaOffset: BigInt(row.kafka_offset as bigint),
      dt: row.dt as string,
      key: path.relative(cache, row.filename as string),
    }));
  } finally {
    s3.destroy();
    await rm(cache, { recursive: true, force: true });
  }
}

/** Every quarantined record (each line of every quarantine object). */
export async function readQuarantine(
  lake: LakeLocation,
): Promise<{ key: string; record: Record<string, unknown> }[]> {
  const s3 = createS3Client(lake);
  try {
    const records: { key: string; record: Record<string, unknown> }[] = [];
    for (const object of await listObjects(s3, lake.bucket, QUARANTINE_PREFIX)) {
      const response = await s3.send(new GetObjectCommand({ Bucket: lake.bucket, Key: object.key }));
      const text = await response.Body!.transformToString();
      for (const line of text.split("\n").filter(Boolean))
        records.push({ key: object.key, record: JSON.parse(line) });
    }
    return records;
  } finally {
    s3.destroy();
  }
}

/** Counts by (producerId, seq): duplicates and gaps against the expected 0..expected-1. */
export function countDuplicatesAndGaps(rows: readonly { seq: bigint }[], expected: number) {
  const seen = new Map<bigint, number>();
  for (const row of rows) seen.set(row.seq, (seen.get(row.seq) ?? 0) + 1);
  let duplicates = 0;
  for (const count of seen.values()) duplicates += count - 1;
  let missing = 0;
  for (let seq = 0n; seq < BigInt(expected); seq++) if (!seen.has(seq)) missing++;
  return { unique: seen.size, duplicates, missing };
}
