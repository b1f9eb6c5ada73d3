/**
 * Local SQL: DuckDB over local copies of the lake (synced by ETag; DuckDB here has no httpfs), with one view
 * per catalog table. A view reads only the partitions the crawler registered, as Athena reads only Glue's,
 * and exposes `dt` as a column through Hive partitioning, so a `dt` predicate skips whole objects.
 */
import type { S3Client } from "@aws-sdk/client-s3";
import type { DuckDBConnection } from "@duckdb/node-api";
import path from "node:path";
import { ConfigError } from "../shared/errors.ts";
import { withDuckDB } from "../lake/duckdb.ts";
import { mirrorPrefix } from "../lake/lake-mirror.ts";
import { loadCatalog, type CatalogTable } from "../catalog/local-catalog.ts";
import type { CellValue, QueryResult } from "./query-result.ts";

export interface LocalQueryOptions {
  readonly s3: S3Client;
  readonly bucket: string;
  readonly cacheDir: string;
  readonly catalogDir: string;
}

function quoteLiteral(text: string): string {
  return `'${text.replaceAll("'", "''")}'`;
}

function viewSql(table: CatalogTable, cacheDir: string): string {
  const partitions = Object.keys(table.partitions).sort();
  const extension = table.format === "parquet" ? "parquet" : "jsonl";
  const globs = partitions.map((dt) => quoteLiteral(path.join(cacheDir, table.location, `dt=${dt}`, `*.${extension}`)));
  const reader =
    table.format === "parquet"
      ? `read_parquet([${globs.join(", ")}], hive_partitioning = true, hive_types = {'dt': VARCHAR}, union_by_name = true)`
      : `read_json([${globs.join(", ")}], format = 'newline_delimited', hive_partitioning = true, hive_types = {'dt': VARCHAR}, union_by_name = true)`;
  return `CREATE OR REPLACE VIEW "${table.name}" AS SELECT * FROM ${reader}`;
}

/** A cell as JSON can carry it: integers as numbers when exact, timestamps as ISO-8601 UTC strings. */
export function toCell(value: unknown): CellValue {
  if (value === null || value === undefined) return null;
  if (typeof value === "bigint") return Number.isSafeInteger(Number(value)) ? Number(value) : value.toString();
  if (typeof value === "number" || typeof value === "boolean" || typeof value === "string") return value;
  if (value instanceof Date) return value.toISOString();
  return String(value);
}

export async function prepareLocalViews(connection: DuckDBConnection, options: LocalQueryOptions): Promise<string[]> {
  const catalog = await loadCatalog(options.catalogDir);
  const tables = Object.values(catalog.tables).filter((table) => Object.keys(table.partitions).length > 0);
  if (tables.length === 0) throw new ConfigError("the local catalog has no tables yet: run `tickstream crawl` first");
  for (const table of tables) {
    await mirrorPrefix(options.s3, options.bucket, table.location, options.cacheDir);
    await connection.run(viewSql(table, options.cacheDir));
  }
  return tables.map((table) => table.name);
}

export async function runLocalQuery(sql: string, options: LocalQueryOptions): Promise<QueryResult> {
  return withDuckDB(async (connection) => {
    await prepareLocalViews(connection, options);
    const reader = await connection.runAndReadAll(sql);
    const columns = reader.columnNames();
    const rows = reader.getRowsJS().map((row) => row.map(toCell));
    return { columns, rows, engine: "duckdb" as const };
  });
}
