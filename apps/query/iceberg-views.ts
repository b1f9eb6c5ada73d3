/**
 * Local SQL over the lake's Iceberg tables: DuckDB reads exactly the data files of each table's current snapshot
 * (or of the snapshot current at `--as-of`), listed from the table's own metadata, never by listing folders.
 * Each view also has the `dt` column the named analyses filter on, derived from the event time, so every
 * analysis runs unchanged on either layout.
 */
import { GetObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import type { DuckDBConnection } from "@duckdb/node-api";
import { mkdir, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import type { IcebergCatalog } from "../iceberg/catalog.ts";
import { IcebergTable, s3Key } from "../iceberg/iceberg-table.ts";
import { ICEBERG_TABLES } from "../iceberg/table-schema.ts";
import { sqlFileList } from "../lake/duckdb.ts";
import { ConfigError } from "../shared/errors.ts";

export interface IcebergViewOptions {
  readonly s3: S3Client;
  readonly bucket: string;
  readonly cacheDir: string;
  readonly catalog: IcebergCatalog;
  /** Read the snapshots current at this time (ms since the epoch); default: the current ones. */
  readonly asOfMs?: number;
}

/** A local copy of a data file (data files never change once written: a copy of the same size is the file). */
async function localCopy(options: IcebergViewOptions, key: string, bytes: number): Promise<string> {
  const file = path.join(options.cacheDir, "iceberg", key);
  const existing = await stat(file).catch(() => undefined);
  if (existing?.size === bytes) return file;
  const response = await options.s3
    .send(new GetObjectCommand({ Bucket: options.bucket, Key: key }))
    .catch((error: Error) => {
      throw new ConfigError(
        `data file s3://${options.bucket}/${key}, which the table's snapshot lists, cannot be read (${error.name}): was it deleted outside the table?`,
      );
    });
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(file, Buffer.from(await response.Body!.transformToByteArray()));
  return file;
}

/** Creates a view per Iceberg table that has a snapshot (at `asOfMs`); returns their names. */
export async function prepareIcebergViews(
  connection: DuckDBConnection,
  options: IcebergViewOptions,
): Promise<string[]> {
  const names: string[] = [];
  for (const definition of Object.values(ICEBERG_TABLES)) {
    const table = new IcebergTable({ ...options, definition });
    const loaded = await table.load();
    if (!loaded) continue;
    const snapshot = table.snapshotAsOf(loaded.metadata, options.asOfMs);
    if (!snapshot) {
      if (options.asOfMs !== undefined)
        throw new ConfigError(
          `table ${definition.name} has no snapshot at or before ${new Date(options.asOfMs).toISOString()}`,
        );
      continue;
    }
    const files = await table.dataFilesOf(snapshot);
    const locals = [];
    for (const file of files)
      locals.push(await localCopy(options, s3Key(file.filePath, options.bucket), file.fileSizeInBytes));
    const columns = definition.schema.fields.map((field) => `"${field.name}"`).join(", ");
    const dt = `strftime(CAST("${definition.eventTimeColumn}" AT TIME ZONE 'UTC' AS DATE), '%Y-%m-%d') AS dt`;
    const source =
      locals.length > 0
        ? `read_parquet(${sqlFileList(locals)}, union_by_name = true)`
        : `(SELECT ${definition.schema.fields.map((field) => `NULL AS "${field.name}"`).join(", ")} WHERE false)`;
    await connection.run(
      `CREATE OR REPLACE VIEW "${definition.name}" AS SELECT ${columns}, ${dt} FROM ${source}`,
    );
    names.push(definition.name);
  }
  if (names.length === 0)
    throw new ConfigError(
      "the lake has no Iceberg tables yet: run `tickstream lake migrate` or `consume --iceberg`",
    );
  return names;
}
