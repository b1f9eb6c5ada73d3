/**
 * The object keys of an Iceberg table's current data files, for the dashboard's freshness: read again only when
 * the catalog's pointer has moved (a commit), so a scan every few seconds costs one catalog read.
 */
import type { S3Client } from "@aws-sdk/client-s3";
import type { IcebergCatalog } from "../iceberg/catalog.ts";
import { IcebergTable, s3Key } from "../iceberg/iceberg-table.ts";
import { ICEBERG_TABLES } from "../iceberg/table-schema.ts";

export function currentTableKeys(
  s3: S3Client,
  bucket: string,
  catalog: IcebergCatalog,
): () => Promise<ReadonlySet<string> | undefined> {
  const table = new IcebergTable({ s3, bucket, catalog, definition: ICEBERG_TABLES.ticks });
  let seen: { location: string; keys: ReadonlySet<string> } | undefined;
  return async () => {
    // No table, or one this reader cannot load: freshness reads the published objects, as before tables.
    const loaded = await table.load().catch(() => undefined);
    if (!loaded) return undefined;
    if (seen?.location !== loaded.pointer.metadataLocation)
      seen = {
        location: loaded.pointer.metadataLocation,
        keys: new Set((await table.dataFiles(loaded)).map((file) => s3Key(file.filePath, bucket))),
      };
    return seen.keys;
  };
}
