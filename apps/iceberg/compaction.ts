/**
 * `tickstream lake compact`: rewrites the small data files of each day partition (under 75 % of the target size,
 * 128 MB by default; at least two of them) into files near the target (zstd Parquet with the table's field ids,
 * rows in Kafka order; one file when they hold less), committed as one "replace" snapshot (Iceberg's bin-pack).
 * Readers of the table see the small files or the big one, never both and never neither: the swap of the
 * catalog's pointer is the only moment the table changes. The small files stay in S3 (readers of older snapshots
 * and of the Hive layout still read them); removing them is expiry's job, not this one's.
 */
import { GetObjectCommand, PutObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import { randomUUID } from "node:crypto";
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { queryObjects, sqlFileList, withDuckDB } from "../lake/duckdb.ts";
import type { DataFile } from "./avro-files.ts";
import { IcebergTable, s3Key, s3Uri } from "./iceberg-table.ts";
import { DEFAULT_TARGET_FILE_BYTES } from "./maintenance-defaults.ts";
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
  /** Only this day partition (YYYY-MM-DD, UTC). */
  readonly day?: string;
  readonly targetFileBytes?: number;
  readonly onProgress?: (message: string) => void;
}): Promise<CompactionReport> {
  const { s3, bucket, table, definition } = options;
  const target = options.targetFileBytes ?? DEFAULT_TARGET_FILE_BYTES;
  const onlyDay = options.day === undefined ? undefined : Date.parse(`${options.day}T00:00:00Z`) / 86_400_000;
  const partitionField = definition.spec.fields[0]!.name;
  const loaded = await table.ensure();
  const live = await table.liveEntries(loaded);
  const byDay = new Map<number, DataFile[]>();
  for (const { dataFile } of live) {
    const day = dataFile.partition[partitionField]!;
    // Files near the target already are left alone (Iceberg's bin-pack: under 75 % of it is small).
    if (dataFile.fileSizeInBytes >= target * 0.75 || (onlyDay !== undefined && day !== onlyDay)) continue;
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
        const out = path.join(workDir, "compacted");
        await mkdir(out, { recursive: true });
        const columns = definition.schema.fields.map((field) => `"${field.name}"`).join(", ");
        // Files near the target: as many as the input's bytes make, each a contiguous run in Kafka order.
        const inputBytes = files.reduce((sum, file) => sum + file.fileSizeInBytes, 0);
        const tiles = Math.max(1, Math.ceil(inputBytes / target));
        await connection.run(
          `CREATE OR REPLACE TEMP TABLE compacting AS SELECT ${columns}, ntile(${tiles}) OVER (ORDER BY kafka_partition, kafka_offset) AS tile FROM read_parquet(${sqlFileList(locals)})`,
        );
        for (let tile = 1; tile <= tiles; tile++)
          await connection.run(
            `COPY (SELECT ${columns} FROM compacting WHERE tile = ${tile} ORDER BY kafka_partition, kafka_offset) TO '${path.join(out, `${String(tile).padStart(5, "0")}.parquet`)}' (FORMAT parquet, COMPRESSION zstd, FIELD_IDS ${parquetFieldIds(definition.schema)})`,
          );
        await connection.run("DROP TABLE compacting");
        const outputs = (await readdir(out)).filter((name) => name.endsWith(".parquet")).sort();
        const expected = files.reduce((sum, file) => sum + file.recordCount, 0);
        let rewritten = 0;
        for (const name of outputs) {
          const local = path.join(out, name);
          const [{ rows }] = (await queryObjects(
            connection,
            `SELECT count(*)::BIGINT AS rows FROM read_parquet('${local}')`,
          )) as [{ rows: bigint }];
          const body = await readFile(local);
          const key = `${definition.name}/data/${partitionField}=${day}/compacted-${randomUUID()}.parquet`;
          await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));
          added.push({
            filePath: s3Uri(bucket, key),
            recordCount: Number(rows),
            fileSizeInBytes: body.length,
            partition: { [partitionField]: day },
          });
          rewritten += Number(rows);
        }
        if (rewritten !== expected)
          throw new Error(
            `${definition.name}: day ${day}: rewrote ${rewritten} rows from files that hold ${expected}`,
          );
        for (const file of files) replaced.add(file.filePath);
        partitions.push({ day, filesBefore: files.length, rows: expected });
        for (const local of [...locals, out]) await rm(local, { recursive: true, force: true });
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
