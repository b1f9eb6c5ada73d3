/** pyiceberg (PyPI), a reader not written here, scanning a table of the lake: what it read, counted. */
import { execa } from "execa";
import { fileURLToPath } from "node:url";
import type { LakeLocation } from "../../apps/lake/s3-client.ts";

const SCANNER = fileURLToPath(new URL("./pyiceberg-scan.py", import.meta.url));

export interface PyIcebergScan {
  readonly snapshotId: number | null;
  readonly dataFiles: number;
  readonly rows: number;
  readonly distinct: number;
  readonly duplicates: unknown[][];
  /** [field id, name, type, required] */
  readonly schema: [number, string, string, boolean][];
  /** [field id, name, transform, source id] */
  readonly partitionSpec: [number, string, string, number][];
}

/**
 * `source`: a metadata file (s3://…), or a table in a Glue catalog, loaded by pyiceberg's Glue catalog at
 * `glue.endpoint` (moto) with the lake's keys.
 */
export async function pyicebergScan(
  source: string | { readonly glueEndpoint: string; readonly database: string; readonly table: string },
  lake: LakeLocation,
  keyColumns: readonly string[] = ["producer_id", "seq"],
): Promise<PyIcebergScan> {
  const result = await execa(
    "python3",
    [
      SCANNER,
      typeof source === "string" ? source : `glue:${source.database}.${source.table}`,
      lake.endpoint!,
      lake.credentials!.accessKeyId,
      lake.credentials!.secretAccessKey,
      lake.region,
      keyColumns.join(","),
      ...(typeof source === "string" ? [] : [source.glueEndpoint]),
    ],
    { timeout: 120_000 },
  );
  return JSON.parse(result.stdout.trim().split("\n").at(-1)!) as PyIcebergScan;
}
