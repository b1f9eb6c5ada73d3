/**
 * The local catalog: what the local crawler learnt about the lake, as Glue would hold it.
 * One JSON file under `<home>/catalog/`; tables `ticks` and `quarantine` in database `tickstream`.
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
  columns: CatalogColumn[];
  readonly partitionKeys: readonly CatalogColumn[];
  /** Partition value (dt) -> number of objects. */
  partitions: Record<string, number>;
  createdAt: string;
  updatedAt: string;
}

export interface CatalogState {
  readonly database: string;
  tables: Record<string, CatalogTable>;
  /** Every object crawled: key -> ETag, so that a re-crawl reads only what is new or changed. */
  objects: Record<string, string>;
  lastCrawl?: string;
}

export const CATALOG_DATABASE = "tickstream";

export function emptyCatalog(): CatalogState {
  return { database: CATALOG_DATABASE, tables: {}, objects: {} };
}

export function catalogFile(catalogDir: string): string {
  return path.join(catalogDir, "catalog.json");
}

export async function loadCatalog(catalogDir: string): Promise<CatalogState> {
  const text = await readFile(catalogFile(catalogDir), "utf8").catch(() => undefined);
  return text ? (JSON.parse(text) as CatalogState) : emptyCatalog();
}

/** Writes atomically (temp file, then rename), so a crash never leaves half a catalog. */
export async function saveCatalog(catalogDir: string, catalog: CatalogState): Promise<void> {
  await mkdir(catalogDir, { recursive: true });
  const temporary = `${catalogFile(catalogDir)}.${process.pid}.tmp`;
  await writeFile(temporary, JSON.stringify(catalog, null, 2));
  await rename(temporary, catalogFile(catalogDir));
}
