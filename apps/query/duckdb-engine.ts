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
import type { IcebergCatalog } from "../iceberg/catalog.ts";
import { prepareIcebergViews } from "./iceberg-views.ts";
import type { CellValue, QueryResult } from "./query-result.ts";

export interface LocalQueryOptions {
  readonly s3: S3Client;
  readonly bucket: string;
  readonly cacheDir: string;
  readonly catalogDir: string;
  /** Read the Iceberg tables instead of the crawled Hive layout (apps/query/iceberg-views.ts). */
  readonly iceberg?: { readonly catalog: IcebergCatalog; readonly asOfMs?: number };
}

function quoteLiteral(text: string): string {
  return `'${text.replaceAll("'", "''")}'`;
}

/**
 * The view of one table: a UNION ALL with one branch per distinct object schema, each reading its objects
 * with the table's full column list (NULL where an object lacks a column). Binding a branch reads one
 * footer; a filter on `dt` then skips every object of another date before it is opened. Newest dates first,
 * so the footer read at binding is of the data most often asked for.
 */
export function viewSql(
  table: CatalogTable,
  objects: readonly { key: string; schema: string; dt: string }[],
  cacheDir: string,
): string {
  const bySchema = new Map<string, string[]>();
  const ordered = [...objects].sort((a, b) => b.dt.localeCompare(a.dt) || a.key.localeCompare(b.key));
  for (const object of ordered)
    bySchema.set(object.schema, [...(bySchema.get(object.schema) ?? []), object.key]);
  const branches = [...bySchema].map(([schema, keys]) => {
    const present = new Set((table.schemas[schema] ?? []).map((column) => column.name));
    const columns = table.columns.map((column) =>
      present.has(column.name)
        ? `CAST("${column.name}" AS ${column.type}) AS "${column.name}"`
        : `CAST(NULL AS ${column.type}) AS "${column.name}"`,
    );
    const files = keys.map((key) => quoteLiteral(path.join(cacheDir, key))).join(", ");
    const hive = "hive_partitioning = true, hive_types = {'dt': VARCHAR}";
    const reader =
      table.format === "parquet"
        ? `read_parquet([${files}], ${hive})`
        : `read_json([${files}], format = 'newline_delimited', ${hive})`;
    return `SELECT ${[...columns, "dt"].join(", ")} FROM ${reader}`;
  });
  return `CREATE OR REPLACE VIEW "${table.name}" AS ${branches.join(" UNION ALL ")}`;
}

/** A cell as JSON can carry it: integers as numbers when exact, timestamps as ISO-8601 UTC strings. */
export function toCell(value: unknown): CellValue {
  if (value === null || value === undefined) return null;
  if (typeof value === "bigint")
    return Number.isSafeInteger(Number(value)) ? Number(value) : value.toString();
  if (typeof value === "number" || typeof value === "boolean" || typeof value === "string") return value;
  if (value instanceof Date) return value.toISOString();
  return String(value);
}

export async function prepareLocalViews(
  connection: DuckDBConnection,
  options: LocalQueryOptions,
): Promise<string[]> {
  const catalog = await loadCatalog(options.catalogDir);
  const tables = Object.values(catalog.tables).filter((table) => Object.keys(table.partitions).length > 0);
  if (tables.length === 0)
    throw new ConfigError("the local catalog has no tables yet: run `tickstream crawl` first");
  for (const table of tables) {
    const { objects: inLake } = await mirrorPrefix(
      options.s3,
      options.bucket,
      table.location,
      options.cacheDir,
    );
    // Like Athena over Glue: the objects the crawler registered (and that are still there).
    const crawled = inLake.flatMap((object) => {
      const entry = catalog.objects[object.key];
      return entry && entry.table === table.name
        ? [{ key: object.key, schema: entry.schema, dt: entry.dt }]
        : [];
    });
    if (crawled.length > 0) await connection.run(viewSql(table, crawled, options.cacheDir));
  }
  return tables.map((table) => table.name);
}

export async function runLocalQuery(sql: string, options: LocalQueryOptions): Promise<QueryResult> {
  return withDuckDB(async (connection) => {
    if (options.iceberg) await prepareIcebergViews(connection, { ...options, ...options.iceberg });
    else await prepareLocalViews(connection, options);
    const reader = await connection.runAndReadAll(sql);
    const columns = reader.columnNames();
    const rows = reader.getRowsJS().map((row) => row.map(toCell));
    return { columns, rows, engine: "duckdb" as const };
  });
}
