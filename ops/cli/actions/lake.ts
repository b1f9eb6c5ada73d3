/** What `tickstream lake compact|migrate|expire` does (commands/lake.ts registers it), on the local lake. */
import type { S3Client } from "@aws-sdk/client-s3";
import type { FileCatalog } from "../../../apps/iceberg/catalog.ts";
import { compactTable } from "../../../apps/iceberg/compaction.ts";
import { migrateHiveTable } from "../../../apps/iceberg/hive-migration.ts";
import { IcebergTable } from "../../../apps/iceberg/iceberg-table.ts";
import {
  expireSnapshots,
  removeOrphanFiles,
  type DeletedFiles,
} from "../../../apps/iceberg/snapshot-expiry.ts";
import { ICEBERG_TABLES, type IcebergTableDefinition } from "../../../apps/iceberg/table-schema.ts";
import type { LakeTableName } from "../../../apps/lake/lake-tables.ts";
import { LocalEnvironment } from "../../local/environment.ts";
import { localIcebergCatalog } from "../../local/iceberg-catalog.ts";
import type { CompactOptions, ExpireOptions, MigrateOptions } from "../commands/lake.ts";
import { formatBytes, formatTable } from "../format-table.ts";
import { formatCount, type Output } from "../output.ts";

const filesIn = (deleted: DeletedFiles) =>
  deleted.dataFiles + deleted.manifests + deleted.manifestLists + deleted.metadataFiles;

interface TableTask {
  readonly s3: S3Client;
  readonly bucket: string;
  readonly catalog: FileCatalog;
  readonly definition: IcebergTableDefinition;
}

/** Runs `task` for each named table against the local lake, with one S3 client for all of them. */
async function forEachTable<T>(tables: readonly LakeTableName[], task: (context: TableTask) => Promise<T>) {
  const environment = LocalEnvironment.fromEnvironment();
  const s3 = await environment.lakeClient();
  const results: T[] = [];
  try {
    for (const name of tables)
      results.push(
        await task({
          s3,
          bucket: environment.lake.bucket,
          catalog: localIcebergCatalog(environment),
          definition: ICEBERG_TABLES[name],
        }),
      );
  } finally {
    s3.destroy();
  }
  return results;
}

export async function compact(output: Output, options: CompactOptions): Promise<void> {
  const reports = await forEachTable(options.table, ({ s3, bucket, catalog, definition }) =>
    compactTable({
      s3,
      bucket,
      table: new IcebergTable({ s3, bucket, catalog, definition }),
      definition,
      day: options.day,
      targetFileBytes: options.targetFileMb * 1024 * 1024,
      onProgress: (message) => output.progress(message),
    }),
  );
  output.result(
    { tables: reports },
    formatTable({
      columns: ["table", "day partitions rewritten", "data files before", "data files after"],
      rows: reports.map((report) => [
        report.table,
        report.partitions.length,
        report.filesBefore,
        report.filesAfter,
      ]),
    }),
  );
}

export async function migrate(output: Output, options: MigrateOptions): Promise<void> {
  const reports = await forEachTable(options.table, (context) =>
    migrateHiveTable({ ...context, onProgress: (message) => output.progress(message) }),
  );
  output.result(
    { tables: reports },
    formatTable({
      columns: ["table", "objects", "added", "already in the table", "rows added"],
      rows: reports.map((report) => [
        report.table,
        report.objects,
        report.added,
        report.alreadyInTable,
        report.rowsAdded,
      ]),
    }),
  );
}

export async function expire(output: Output, options: ExpireOptions): Promise<void> {
  const reports = await forEachTable(options.table, async ({ s3, bucket, catalog, definition }) => {
    const table = new IcebergTable({ s3, bucket, catalog, definition });
    const onProgress = (message: string) => output.progress(message);
    const report = await expireSnapshots({
      s3,
      bucket,
      table,
      olderThanMs: options.olderThan,
      retainLast: options.retainLast,
      dryRun: options.dryRun === true,
      onProgress,
    });
    if (!options.orphans) return report;
    const orphans = await removeOrphanFiles({
      s3,
      bucket,
      table,
      graceMs: options.orphanGrace,
      dryRun: options.dryRun === true,
      onProgress,
    });
    return { ...report, orphans };
  });
  const verb = options.dryRun ? "would be " : "";
  output.result(
    { tables: reports },
    formatTable({
      columns: [
        "table",
        `snapshots ${verb}expired`,
        "snapshots kept",
        `files ${verb}deleted`,
        `bytes ${verb}deleted`,
        ...(options.orphans ? [`orphans ${verb}deleted`] : []),
      ],
      rows: reports.map((report) => [
        report.table,
        report.snapshotsExpired,
        report.snapshotsRetained,
        `${formatCount(filesIn(report.deleted))} (${report.deleted.dataFiles} data, ${report.deleted.manifests} manifests, ${report.deleted.manifestLists} manifest lists, ${report.deleted.metadataFiles} metadata)`,
        formatBytes(report.deleted.bytes + (report.orphans?.bytes ?? 0)),
        ...(report.orphans ? [formatCount(filesIn(report.orphans))] : []),
      ]),
    }),
  );
}
