/**
 * Where the lake's Iceberg catalog is, as one string (TICKSTREAM_ICEBERG_CATALOG, a CLI option):
 * `file:<absolute folder>` is a FileCatalog (the local pointer files), `glue:<database>` the tables of that Glue
 * database (GlueCatalog). Anything else is one line naming the accepted forms. Parsing only, with no catalog
 * code, so that every service can check its environment without bundling Glue or the table code
 * (open-catalog.ts opens one).
 */
import path from "node:path";
import { ConfigError } from "../shared/errors.ts";

export type CatalogLocation =
  { readonly kind: "file"; readonly folder: string } | { readonly kind: "glue"; readonly database: string };

export interface OpenCatalogOptions {
  readonly region: string;
  /** A Glue-compatible endpoint instead of AWS (tests: moto). */
  readonly endpoint?: string;
  /** Absent for AWS, where the default credential chain applies (instance profile, env, profile). */
  readonly credentials?: { readonly accessKeyId: string; readonly secretAccessKey: string };
}

export const CATALOG_FORMS = "file:<absolute folder> or glue:<Glue database>";

/**
 * Glue database names: lowercase letters, digits and underscores, at most 255 characters (Glue Developer Guide,
 * "Database, table, and column names": Athena and Hive-compatible tools need lowercase; the API allows more).
 */
const GLUE_DATABASE = /^[a-z0-9_]{1,255}$/;

/** Parses a catalog location; a ConfigError of one line (starting with `what`) when it is none. */
export function parseCatalogLocation(location: string, what = "iceberg catalog"): CatalogLocation {
  const fail = (reason: string): never => {
    throw new ConfigError(`${what} "${location}" ${reason}; expected ${CATALOG_FORMS}`);
  };
  const colon = location.indexOf(":");
  const scheme = colon < 0 ? "" : location.slice(0, colon);
  const rest = location.slice(colon + 1);
  if (scheme === "file") {
    if (!path.isAbsolute(rest)) fail("is not an absolute folder");
    return { kind: "file", folder: path.normalize(rest) };
  }
  if (scheme === "glue") {
    if (!GLUE_DATABASE.test(rest))
      fail("names no Glue database (1-255 lowercase letters, digits, underscores)");
    return { kind: "glue", database: rest };
  }
  return fail(colon < 0 ? "has no scheme" : `has an unknown scheme "${scheme}"`);
}

/** The catalog for a log line: `glue:tickstream_dev (us-east-1)`, `glue:db at http://…`, `file:/path`. */
export function describeCatalog(location: string, options?: Partial<OpenCatalogOptions>): string {
  const parsed = parseCatalogLocation(location);
  if (parsed.kind === "file") return `file:${parsed.folder}`;
  const where = options?.endpoint ? ` at ${options.endpoint}` : options?.region ? ` (${options.region})` : "";
  return `glue:${parsed.database}${where}`;
}
