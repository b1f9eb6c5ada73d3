/**
 * The local crawler: what a Glue crawler does for the cloud lake, for the local one. It lists the lake
 * through the S3 API, reads the schema of each object it has not seen (Parquet footers, JSON lines by
 * inference) from a local copy, discovers `dt=` partitions, and records tables in the local catalog.
 * A new column widens the table; a column whose type changes is an error naming the object.
 */
import type { S3Client } from "@aws-sdk/client-s3";
import { TickstreamError } from "../shared/errors.ts";
import { queryObjects, withDuckDB } from "../lake/duckdb.ts";
import { BARS_PREFIX, QUARANTINE_PREFIX, TICKS_PREFIX, partitionDateOf } from "../lake/layout.ts";
import { mirrorPrefix } from "../lake/lake-mirror.ts";
import {
  loadCatalog,
  saveCatalog,
  type CatalogColumn,
  type CatalogState,
  type CatalogTable,
} from "./local-catalog.ts";

export class CatalogError extends TickstreamError {
  constructor(message: string) {
    super("CATALOG", message);
  }
}

interface TableSource {
  readonly name: string;
  readonly prefix: string;
  readonly format: "parquet" | "jsonl";
}

export const LAKE_TABLES: readonly TableSource[] = [
  { name: "ticks", prefix: TICKS_PREFIX, format: "parquet" },
  { name: "quarantine", prefix: QUARANTINE_PREFIX, format: "jsonl" },
  { name: "bars_1m", prefix: BARS_PREFIX, format: "parquet" },
];

/** What a crawl changed, in the terms of Glue's crawler metrics. */
export interface CrawlReport {
  readonly tablesCreated: string[];
  readonly tablesUpdated: string[];
  readonly partitionsAdded: string[];
  /** Objects read for the first time (local crawls only: Glue does not say). */
  newObjects?: number;
  objectsSeen?: number;
}

// JSON inference gives NULL (or JSON) for a field that is null in every line of a file: it fits any type.
const UNTYPED = new Set(["NULL", "JSON"]);

async function readSchema(file: string, format: "parquet" | "jsonl"): Promise<CatalogColumn[]> {
  const reader =
    format === "parquet"
      ? `read_parquet('${file.replaceAll("'", "''")}', hive_partitioning = false)`
      : `read_json('${file.replaceAll("'", "''")}', format = 'newline_delimited', hive_partitioning = false)`;
  // The partition column comes from the object's path, not its content.
  const rows = await withDuckDB((connection) => queryObjects(connection, `DESCRIBE SELECT * FROM ${reader}`));
  return rows.map((row) => ({ name: String(row.column_name), type: String(row.column_type) }));
}

/** Adds new columns to `table`; throws when a known column arrives with another type. Returns true on change. */
export function mergeColumns(
  table: CatalogTable,
  columns: readonly CatalogColumn[],
  objectKey: string,
): boolean {
  let changed = false;
  for (const column of columns) {
    const index = table.columns.findIndex((known) => known.name === column.name);
    if (index < 0) {
      table.columns.push(column);
      changed = true;
      continue;
    }
    const known = table.columns[index]!;
    if (known.type === column.type || UNTYPED.has(column.type)) continue;
    if (UNTYPED.has(known.type)) {
      table.columns[index] = column;
      changed = true;
      continue;
    }
    throw new CatalogError(
      `table ${table.name}: column "${column.name}" is ${known.type} in the catalog but ${column.type} in ${objectKey}; ` +
        `rewrite that object or drop the table from the catalog`,
    );
  }
  return changed;
}

/** The id of `columns` among the table's schemas, adding it when new. */
function schemaId(table: CatalogTable, columns: readonly CatalogColumn[]): string {
  const signature = JSON.stringify(columns);
  const existing = Object.entries(table.schemas).find(([, known]) => JSON.stringify(known) === signature);
  if (existing) return existing[0];
  const id = `s${Object.keys(table.schemas).length + 1}`;
  table.schemas[id] = [...columns];
  return id;
}

export interface CrawlOptions {
  readonly s3: S3Client;
  readonly bucket: string;
  /** Local copies of the lake objects (shared with the query engine). */
  readonly cacheDir: string;
  readonly catalogDir: string;
  readonly onProgress?: (message: string) => void;
}

export async function crawlLocalLake(
  options: CrawlOptions,
): Promise<{ report: CrawlReport; catalog: CatalogState }> {
  const catalog = await loadCatalog(options.catalogDir);
  const report = {
    tablesCreated: [] as string[],
    tablesUpdated: [] as string[],
    partitionsAdded: [] as string[],
    newObjects: 0,
    objectsSeen: 0,
  };
  const now = new Date().toISOString();
  for (const source of LAKE_TABLES) {
    const { objects } = await mirrorPrefix(options.s3, options.bucket, source.prefix, options.cacheDir);
    const suffix = source.format === "parquet" ? ".parquet" : ".jsonl";
    const lakeObjects = objects.filter(
      (object) => object.key.endsWith(suffix) && partitionDateOf(object.key),
    );
    report.objectsSeen += lakeObjects.length;
    const fresh = lakeObjects.filter((object) => catalog.objects[object.key]?.etag !== object.etag);
    if (fresh.length === 0) continue;
    options.onProgress?.(`${source.name}: reading the schema of ${fresh.length} new object(s)`);
    let table = catalog.tables[source.name];
    const created = table === undefined;
    table ??= {
      name: source.name,
      location: source.prefix,
      format: source.format,
      columns: [],
      partitionKeys: [{ name: "dt", type: "VARCHAR" }],
      partitions: {},
      schemas: {},
      createdAt: now,
      updatedAt: now,
    };
    let changed = false;
    for (const object of fresh) {
      const columns = await readSchema(object.file, source.format);
      if (mergeColumns(table, columns, object.key)) changed = true;
      const dt = partitionDateOf(object.key)!;
      if (table.partitions[dt] === undefined) {
        table.partitions[dt] = 0;
        report.partitionsAdded.push(`${source.name}/dt=${dt}`);
      }
      if (catalog.objects[object.key] === undefined) table.partitions[dt]! += 1;
      catalog.objects[object.key] = {
        etag: object.etag,
        table: source.name,
        dt,
        schema: schemaId(table, columns),
      };
      report.newObjects++;
    }
    table.updatedAt = now;
    catalog.tables[source.name] = table;
    if (created) report.tablesCreated.push(source.name);
    else if (changed) report.tablesUpdated.push(source.name);
  }
  catalog.lastCrawl = now;
  await saveCatalog(options.catalogDir, catalog);
  return { report, catalog };
}
