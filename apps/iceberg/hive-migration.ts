/**
 * `tickstream lake migrate`: the Parquet objects of a Hive-layout lake (`<table>/dt=YYYY-MM-DD/*.parquet`,
 * written by the lake sink) become data files of the table's Iceberg table, in place: nothing is copied, and an
 * object the table already holds (by path) is not added again. Only objects below where the sinks' appends of
 * their partition began are candidates (`tickstream.hive-below.<topic>.<partition>`, set by a partition's first
 * append; a later object is a sink's, appended by offset or about to be), and the migrating commit marks each
 * partition migrated, so a second run adds nothing, even after a compaction replaced what the first one added.
 * Each object's row
 * count and columns are read from its Parquet footer; an object whose columns are not the table's contract is
 * refused in one line before anything is committed. Objects written before the encoder wrote field ids are read
 * through the table's name mapping.
 */
import { GetObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { listObjects } from "../lake/lake-mirror.ts";
import { queryObjects, withDuckDB } from "../lake/duckdb.ts";
import { objectNameOffsets, partitionDateOf } from "../lake/layout.ts";
import type { DataFile } from "./avro-files.ts";
import type { IcebergCatalog } from "./catalog.ts";
import { hiveBelowProperty, IcebergTable, s3Key, s3Uri, type LoadedTable } from "./iceberg-table.ts";
import type { IcebergTableDefinition } from "./table-schema.ts";

export interface MigrationReport {
  readonly table: string;
  readonly objects: number;
  readonly added: number;
  readonly alreadyInTable: number;
  readonly rowsAdded: number;
}

export class MigrationError extends Error {}

/**
 * Whether an object may be migrated: its name's first offset is below where the sinks' appends of its partition
 * began (no such mark: the partition never had one). A partition marked migrated (0) takes nothing more.
 */
function belowSinks(key: string, table: LoadedTable): boolean {
  const name = objectNameOffsets(key);
  if (!name) return true;
  const below = table.metadata.properties[hiveBelowProperty(name.topic, name.partition)];
  return below === undefined || name.startOffset < BigInt(below);
}

/** Days from 1970-01-01 of a `dt=` date. */
function daysOf(date: string): number {
  return Date.parse(`${date}T00:00:00Z`) / 86_400_000;
}

export async function migrateHiveTable(options: {
  readonly s3: S3Client;
  readonly bucket: string;
  readonly catalog: IcebergCatalog;
  readonly definition: IcebergTableDefinition;
  readonly onProgress?: (message: string) => void;
}): Promise<MigrationReport> {
  const { s3, bucket, definition } = options;
  const table = new IcebergTable({ s3, bucket, catalog: options.catalog, definition });
  const objects = (await listObjects(s3, bucket, `${definition.name}/dt=`)).filter((object) =>
    object.key.endsWith(".parquet"),
  );
  const loaded = await table.ensure();
  const known = new Set((await table.dataFiles(loaded)).map((file) => file.filePath));
  const fresh = objects.filter(
    (object) => !known.has(s3Uri(bucket, object.key)) && belowSinks(object.key, loaded),
  );
  const partitions = new Map<string, { topic: string; partition: number }>();
  for (const object of objects) {
    const name = objectNameOffsets(object.key);
    if (name) partitions.set(`${name.topic}+${name.partition}`, name);
  }
  options.onProgress?.(
    `${definition.name}: ${objects.length} objects in the Hive layout, ${fresh.length} not in the table yet`,
  );
  const expected = definition.schema.fields.map((field) => field.name).join(", ");
  const files: DataFile[] = [];
  const workDir = await mkdtemp(path.join(tmpdir(), "tickstream-migrate-"));
  try {
    await withDuckDB(async (connection) => {
      for (const [index, object] of fresh.entries()) {
        const date = partitionDateOf(object.key);
        if (!date) throw new MigrationError(`${object.key}: not in a dt=YYYY-MM-DD folder`);
        const local = path.join(workDir, "object.parquet");
        const response = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: object.key }));
        const body = Buffer.from(await response.Body!.transformToByteArray());
        await writeFile(local, body);
        const columns = (
          await queryObjects(
            connection,
            `SELECT name FROM parquet_schema('${local}') WHERE num_children IS NULL`,
          )
        ).map((row) => String(row.name));
        if (columns.join(", ") !== expected)
          throw new MigrationError(
            `s3://${bucket}/${object.key} has the columns ${columns.join(", ")}, not the ${definition.name} table's (${expected}): nothing was migrated`,
          );
        const [{ rows }] = (await queryObjects(
          connection,
          `SELECT sum(row_group_num_rows)::BIGINT AS rows FROM (SELECT DISTINCT row_group_id, row_group_num_rows FROM parquet_metadata('${local}'))`,
        )) as [{ rows: bigint }];
        files.push({
          filePath: s3Uri(bucket, object.key),
          recordCount: Number(rows ?? 0n),
          fileSizeInBytes: body.length,
          partition: { [definition.spec.fields[0]!.name]: daysOf(date) },
        });
        if ((index + 1) % 500 === 0)
          options.onProgress?.(`${definition.name}: read ${index + 1} of ${fresh.length}`);
      }
    });
  } finally {
    await rm(workDir, { recursive: true, force: true });
  }
  const { added } = await table.appendNewFiles(files, [...partitions.values()], (file, base) =>
    belowSinks(s3Key(file.filePath, bucket), base),
  );
  const rowsAdded = added === files.length ? files.reduce((sum, file) => sum + file.recordCount, 0) : 0;
  return {
    table: definition.name,
    objects: objects.length,
    added,
    alreadyInTable: objects.length - added,
    rowsAdded,
  };
}
