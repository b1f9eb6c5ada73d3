/**
 * The commit point of an Iceberg table: a catalog holds each table's current metadata location and swaps it only
 * if it is still what the committer read (compare-and-swap), so of two commits on one base exactly one wins and
 * the other re-reads and retries. Glue does this with UpdateTable's VersionId (as Iceberg's GlueCatalog);
 * locally, `FileCatalog` does it with the file system.
 */
import { link, mkdir, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { randomUUID } from "node:crypto";
import path from "node:path";

export interface CatalogPointer {
  readonly metadataLocation: string;
  /** What a swap must name to replace this pointer (the catalog's own version). */
  readonly version: string;
}

export interface IcebergCatalog {
  /** The table's current pointer, or undefined when the table does not exist yet. */
  load(table: string): Promise<CatalogPointer | undefined>;
  /**
   * Points the table at `metadataLocation` if its pointer is still `expected` (undefined: the table does not
   * exist yet). False when another commit got there first; nothing changes then.
   */
  swap(table: string, expected: CatalogPointer | undefined, metadataLocation: string): Promise<boolean>;
}

const POINTER = /^v(\d{20})\.json$/;
const pointerName = (version: bigint) => `v${version.toString().padStart(20, "0")}.json`;

/**
 * A catalog in a folder, safe between processes: each table is a folder of numbered pointer files
 * (`v00000000000000000001.json`, …), the highest the current one. A swap writes a private file and hard-links
 * it to the next number, which fails with EEXIST when another commit took that number: the file system's atomic
 * create-if-absent is the compare-and-swap (the idea of Iceberg's file-system catalog, without its rename).
 * Old pointers stay, a history of the table's metadata files.
 */
export class FileCatalog implements IcebergCatalog {
  constructor(private readonly folder: string) {}

  private tableFolder(table: string): string {
    if (!/^[a-z0-9_]+$/.test(table)) throw new Error(`catalog: "${table}" is not a table name`);
    return path.join(this.folder, table);
  }

  async load(table: string): Promise<CatalogPointer | undefined> {
    const folder = this.tableFolder(table);
    const names = await readdir(folder).catch((error: NodeJS.ErrnoException) => {
      if (error.code === "ENOENT") return [] as string[];
      throw error;
    });
    const versions = names
      .map((name) => POINTER.exec(name)?.[1])
      .filter((version): version is string => version !== undefined)
      .map(BigInt)
      .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    const newest = versions.at(-1);
    if (newest === undefined) return undefined;
    const file = path.join(folder, pointerName(newest));
    const { metadataLocation } = JSON.parse(await readFile(file, "utf8")) as { metadataLocation: string };
    return { metadataLocation, version: newest.toString() };
  }

  async swap(
    table: string,
    expected: CatalogPointer | undefined,
    metadataLocation: string,
  ): Promise<boolean> {
    const folder = this.tableFolder(table);
    await mkdir(folder, { recursive: true });
    const next = expected === undefined ? 1n : BigInt(expected.version) + 1n;
    const draft = path.join(folder, `.draft-${randomUUID()}`);
    await writeFile(draft, JSON.stringify({ metadataLocation }));
    try {
      await link(draft, path.join(folder, pointerName(next)));
      return true;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "EEXIST") return false;
      throw error;
    } finally {
      await rm(draft, { force: true });
    }
  }
}
