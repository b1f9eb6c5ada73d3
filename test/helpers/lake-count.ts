/**
 * Counts the lake from outside the system under test: every Parquet object under `ticks/`, read with a second,
 * independent Parquet reader (hyparquet, not the DuckDB that wrote them), counted by (producerId, seq); and the
 * `ticks` Iceberg table through its current snapshot, read by pyiceberg.
 */
import { GetObjectCommand, ListObjectsV2Command, S3Client } from "@aws-sdk/client-s3";
import { parquetReadObjects } from "hyparquet";
import { compressors } from "hyparquet-compressors";
import { execa } from "execa";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { FileCatalog } from "../../apps/iceberg/catalog.ts";
import type { LakeLocation } from "../../apps/lake/s3-client.ts";

export interface LakeCount {
  /** Distinct (producerId, seq) of the expected producers found in the lake. */
  readonly landed: number;
  /** Rows beyond the first for the same (producerId, seq). */
  readonly duplicated: number;
  /** Expected (producerId, seq) not found. */
  readonly lost: number;
  readonly objects: number;
  /** Objects whose offset ranges overlap (explains duplicates). */
  readonly overlaps: readonly string[];
}

async function listKeys(s3: S3Client, bucket: string, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  let token: string | undefined;
  do {
    const page = await s3.send(
      new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }),
    );
    keys.push(...(page.Contents ?? []).map((object) => object.Key!));
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  return keys;
}

function plainClient(lake: LakeLocation): S3Client {
  return new S3Client({
    region: lake.region,
    endpoint: lake.endpoint,
    forcePathStyle: true,
    credentials: lake.credentials && { ...lake.credentials },
  });
}

export interface ObjectRange {
  readonly key: string;
  readonly partition: number;
  readonly firstOffset: bigint;
  readonly lastOffset: bigint;
  readonly rows: number;
}

/** Every (producerId, seq) row of every tick object, with how often each occurs, and each object's offsets. */
export async function readLakeSeqs(
  lake: LakeLocation,
): Promise<{ counts: Map<string, number>; objects: number; ranges: ObjectRange[] }> {
  const s3 = plainClient(lake);
  try {
    const counts = new Map<string, number>();
    const ranges: ObjectRange[] = [];
    const keys = (await listKeys(s3, lake.bucket, "ticks/")).filter((key) => key.endsWith(".parquet"));
    for (const key of keys) {
      const response = await s3.send(new GetObjectCommand({ Bucket: lake.bucket, Key: key }));
      const bytes = await response.Body!.transformToByteArray();
      const file = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
      const rows = await parquetReadObjects({
        file,
        columns: ["producer_id", "seq", "kafka_partition", "kafka_offset"],
        compressors,
      });
      const offsets = rows.map((row) => BigInt(row.kafka_offset as bigint));
      ranges.push({
        key,
        partition: Number(rows[0]?.kafka_partition ?? -1),
        firstOffset: offsets.reduce((a, b) => (b < a ? b : a), offsets[0] ?? 0n),
        lastOffset: offsets.reduce((a, b) => (b > a ? b : a), offsets[0] ?? 0n),
        rows: rows.length,
      });
      for (const row of rows) {
        const id = `${row.producer_id as string}#${String(row.seq)}`;
        counts.set(id, (counts.get(id) ?? 0) + 1);
      }
    }
    return { counts, objects: keys.length, ranges };
  } finally {
    s3.destroy();
  }
}

/** Counts the lake against what the producers acknowledged: producer id -> number of ticks (seq 0..n-1). */
export async function countLake(
  lake: LakeLocation,
  expected: ReadonlyMap<string, number>,
): Promise<LakeCount> {
  const { counts, objects, ranges } = await readLakeSeqs(lake);
  let landed = 0;
  let duplicated = 0;
  let lost = 0;
  for (const [producerId, total] of expected) {
    for (let seq = 0; seq < total; seq++) {
      const found = counts.get(`${producerId}#${seq}`) ?? 0;
      if (found === 0) lost++;
      else landed++;
      duplicated += Math.max(0, found - 1);
    }
  }
  return { landed, duplicated, lost, objects, overlaps: overlappingObjects(ranges) };
}

/** Pairs of objects of one partition whose offset ranges overlap: where duplicates come from. */
export function overlappingObjects(ranges: readonly ObjectRange[]): string[] {
  const sorted = [...ranges].sort((a, b) =>
    a.partition !== b.partition ? a.partition - b.partition : Number(a.firstOffset - b.firstOffset),
  );
  const overlaps: string[] = [];
  for (let index = 1; index < sorted.length; index++) {
    const [previous, current] = [sorted[index - 1]!, sorted[index]!];
    if (previous.partition === current.partition && current.firstOffset <= previous.lastOffset) {
      overlaps.push(
        `${previous.key} [${previous.firstOffset}..${previous.lastOffset}] overlaps ${current.key} [${current.firstOffset}..${current.lastOffset}]`,
      );
    }
  }
  return overlaps;
}

/** Keys under a prefix, for assertions about what is (not) left in staging. */
export async function lakeKeys(lake: LakeLocation, prefix: string): Promise<string[]> {
  const s3 = plainClient(lake);
  try {
    return await listKeys(s3, lake.bucket, prefix);
  } finally {
    s3.destroy();
  }
}

const PYICEBERG_COUNT = fileURLToPath(new URL("./pyiceberg-count.py", import.meta.url));

export interface TableCount {
  readonly snapshotId: number | null;
  readonly landed: number;
  readonly lost: number;
  readonly duplicated: number;
  readonly examples: readonly string[];
}

/**
 * Counts the `ticks` Iceberg table of a local home through its current snapshot, with pyiceberg (a reader not
 * written here): what a reader of the table sees, against what the producers acknowledged.
 */
export async function countTable(
  home: string,
  lake: LakeLocation,
  expected: ReadonlyMap<string, number>,
): Promise<TableCount> {
  const pointer = await new FileCatalog(path.join(home, "catalog", "iceberg")).load("ticks");
  const total = [...expected.values()].reduce((sum, value) => sum + value, 0);
  if (!pointer) return { snapshotId: null, landed: 0, lost: total, duplicated: 0, examples: [] };
  const result = await execa(
    "python3",
    [
      PYICEBERG_COUNT,
      pointer.metadataLocation,
      lake.endpoint!,
      lake.credentials!.accessKeyId,
      lake.credentials!.secretAccessKey,
      lake.region,
      ...[...expected].map(([producerId, count]) => `${producerId}=${count}`),
    ],
    { timeout: 180_000 },
  );
  return JSON.parse(result.stdout.trim().split("\n").at(-1)!) as TableCount;
}
