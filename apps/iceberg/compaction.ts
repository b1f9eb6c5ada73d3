/**
 * `tickstream lake compact`: rewrites each day partition that holds more than one data file into one file per
 * partition (zstd Parquet with the table's field ids, rows in Kafka order), committed as one "replace" snapshot.
 * Readers of the table see the small files or the big one, never both and never neither: the swap of the
 * catalog's pointer is the only moment the table changes. The small files stay in S3 (readers of older snapshots
 * and of the Hive layout still read them); removing them is expiry's job, not this one's.
 */
import { GetObjectCommand, PutObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import { randomUUID } from "node:crypto";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { queryObjects, sqlFileList, withDuckDB } from "../lake/duckdb.ts";
import type { DataFile } from "./avro-files.ts";
import { IcebergTable, s3Key, s3Uri } from "./iceberg-table.ts";
import { parquetFieldIds, type IcebergTableDefinition } from "./table-schema.ts";

export interface CompactionReport {
  readonly table: string;
  /** Day partitions rewritten, each from `filesBefore` files to one. */
  readonly partitions: readonly {
    readonly day: number;
    readonly filesBefore: number;
    readonly rows: number;
  }[];
  readonly filesBefore: number;
  readonly filesAfter: number;
}

export async function compactTable(options: {
  readonly s3: S3Client;
  readonly bucket: string;
  readonly table: IcebergTable;
  readonly definition: IcebergTableDefinition;
  readonly onProgress?: (message: string) => void;
}): Promise<CompactionReport> {
  const { s3, bucket, table, definition } = options;
  const partitionField = definition.spec.fields[0]!.name;
  const loaded = await table.ensure();
  const live = await table.liveEntries(loaded);
  const byDay = new Map<number, DataFile[]>();
  for (const { dataFile } of live) {
    const day = dataFile.partition[partitionField]!;
    byDay.set(day, [...(byDay.get(day) ?? []), dataFile]);
  }
  const crowded = [...byDay].filter(([, files]) => files.length > 1);
  const replaced = new Set<string>();
  const added: DataFile[] = [];
  const partitions: { day: number; filesBefore: number; rows: number }[] = [];
  const workDir = await mkdtemp(path.join(tmpdir(), "tickstream-compact-"));
  try {
    await withDuckDB(async (connection) => {
      for (const [day, files] of crowded) {
        options.onProgress?.(`${definition.name}: day ${day}: ${files.length} files`);
        const locals: string[] = [];
        for (const [index, file] of files.entries()) {
          const response = await s3.send(
            new GetObjectCommand({ Bucket: bucket, Key: s3Key(file.filePath, bucket) }),
          );
          const local = path.join(workDir, `${index}.parquet`);
          await writeFile(local, Buffer.from(await response.Body!.transformToByteArray()));
          locals.push(local);
        }
        const out = path.join(workDir, "compacted.parquet");
        const columns = definition.schema.fields.map((field) => `"${field.name}"`).join(", ");
        await connection.run(
          `COPY (SELECT ${columns} FROM read_parquet(${sqlFileList(locals)}) ORDER BY kafka_partition, kafka_offset) TO '${out}' (FORMAT parquet, COMPRESSION zstd, FIELD_IDS ${parquetFieldIds(definition.schema)})`,
        );
        const [{ rows }] = (await queryObjects(
          connection,
          `SELECT count(*)::BIGINT AS rows FROM read_parquet('${out}')`,
        )) as [{ rows: bigint }];
        const expected = files.reduce((sum, file) => sum + file.recordCount, 0);
        if (Number(rows) !== expected)
          throw new Error(
            `${definition.name}: day ${day}: rewrote ${rows} rows from files that hold ${expected}`,
          );
        const body = await readFile(out);
        const key = `${definition.name}/data/${partitionField}=${day}/compacted-${randomUUID()}.parquet`;
        await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));
        for (const file of files) replaced.add(file.filePath);
        added.push({
          filePath: s3Uri(bucket, key),
          recordCount: expected,
          fileSizeInBytes: body.length,
          partition: { [partitionField]: day },
        });
        partitions.push({ day, filesBefore: files.length, rows: expected });
        for (const local of [...locals, out]) await rm(local, { force: true });
      }
    });
  } finally {
    await rm(workDir, { recursive: true, force: true });
  }
  if (added.length === 0)
    return { table: definition.name, partitions: [], filesBefore: live.length, filesAfter: live.length };
  const { liveFiles } = await table.replaceFiles(replaced, added);
  return { table: definition.name, partitions, filesBefore: live.length, filesAfter: liveFiles };
}
