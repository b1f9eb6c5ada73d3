/**
 * Counts one producer's ticks in the lake by (producerId, seq): what landed, what twice, what is missing; in every
 * object under ticks/, or in the data files of the table's current snapshot.
 */
import type { S3Client } from "@aws-sdk/client-s3";
import { TICKS_PREFIX } from "./layout.ts";
import { mirrorPrefix } from "./lake-mirror.ts";
import { queryObjects, sqlFileList, withDuckDB } from "./duckdb.ts";

export interface LakeAudit {
  /** Rows of this producer in the lake. */
  readonly inLake: number;
  readonly unique: number;
  /** Rows beyond the first for a (producerId, seq). */
  readonly duplicates: number;
  /** Sequence numbers in [0, expected) not found. */
  readonly missing: number;
}

export async function auditProducer(
  s3: S3Client,
  bucket: string,
  cacheDir: string,
  producerId: string,
  expected: number,
  /** Only these objects (the data files of an Iceberg table's current snapshot); else every object. */
  only?: ReadonlySet<string>,
): Promise<LakeAudit> {
  // The data files only (the Hive layout, and compacted files): not the table's metadata under ticks/metadata/,
  // which a sink may be writing meanwhile.
  const objects = [
    ...(await mirrorPrefix(s3, bucket, `${TICKS_PREFIX}dt=`, cacheDir)).objects,
    ...(await mirrorPrefix(s3, bucket, `${TICKS_PREFIX}data/`, cacheDir)).objects,
  ];
  const files = objects
    .filter((object) => object.key.endsWith(".parquet") && (only === undefined || only.has(object.key)))
    .map((object) => object.file);
  if (files.length === 0) return { inLake: 0, unique: 0, duplicates: 0, missing: expected };
  const [row] = await withDuckDB((connection) =>
    queryObjects(
      connection,
      `SELECT count(*) AS rows, count(DISTINCT seq) AS uniq, count(DISTINCT seq) FILTER (WHERE seq < $expected) AS expected_found
       FROM read_parquet(${sqlFileList(files)}) WHERE producer_id = $producer`,
      { producer: producerId, expected },
    ),
  );
  const inLake = Number(row!.rows);
  const unique = Number(row!.uniq);
  return { inLake, unique, duplicates: inLake - unique, missing: expected - Number(row!.expected_found) };
}
