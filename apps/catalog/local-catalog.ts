/**
 * The local catalog: what the local crawler learnt about the lake, as Glue would hold it.
 * One JSON file under `<home>/catalog/`; tables `ticks`, `quarantine` and `bars_1m` in database `tickstream`.
 */
import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import path from "node:path";

export interface CatalogColumn {
  readonly name: string;
  /** DuckDB's type name: VARCHAR, DOUBLE, BIGINT, TIMESTAMP WITH TIME ZONE, ... */
  readonly type: string;
}

export interface CatalogTable {
  readonly name: string;
  /** Prefix in the lake bucket: "ticks/". */
  readonly location: string;
  readonly format: "parquet" | "jsonl";
  /** Every column any object of the table has (new columns are added, as Glue does). */
  columns: CatalogColumn[];
  readonly partitionKeys: readonly CatalogColumn[];
  /** The distinct object schemas, by id; objects point at theirs (Glue keeps one per partition). */
  schemas: Record<string, CatalogColumn[]>;
  /** Partition value (dt) -> number of objects. */
  partitions: Record<string, number>;
  createdAt: string;
  updatedAt: string;
}

export interface CatalogObject {
  readonly etag: string;
  readonly table: string;
  readonly dt: string;
  /** Key of the table's `schemas`. */
  readonly schema: string;
}

export interface CatalogState {
  readonly version: number;
  readonly database: string;
  tables: Record<string, CatalogTable>;
  /** Every object crawled, so that a re-crawl reads only what is new or changed. */
  objects: Record<string, CatalogObject>;
  lastCrawl?: string;
}

export const CATALOG_DATABASE = "tickstream";
/** Bumped when the file's shape changes; an older file is dropped and the next crawl rebuilds it. */
export const CATALOG_VERSION = 2;

export function emptyCatalog(): CatalogState {
  return { version: CATALOG_VERSION, database: CATALOG_DATABASE, tables: {}, objects: {} };
}

export function catalogFile(catalogDir: string): string {
  return path.join(catalogDir, "catalog.json");
}

export async function loadCatalog(catalogDir: string): Promise<CatalogState> {
  const text = await readFile(catalogFile(catalogDir), "utf8").catch(() => undefined);
  const catalog = text ? (JSON.parse(text) as CatalogState) : undefined;
  return catalog?.version === CATALOG_VERSION ? catalog : emptyCatalog();
}

/** Writes atomically (temp file, then rename), so a crash never leaves half a catalog. */
export async function saveCatalog(catalogDir: string, catalog: CatalogState): Promise<void> {
  await mkdir(catalogDir, { recursive: true });
  const temporary = `${catalogFile(catalogDir)}.${process.pid}.tmp`;
  await writeFile(temporary, JSON.stringify(catalog, null, 2));
  await rename(temporary, catalogFile(catalogDir));
}
