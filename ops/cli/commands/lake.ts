/**
 * `tickstream lake …`: the lake's Iceberg tables. `migrate` adds a Hive-layout lake's objects to them, `compact`
 * merges a day's small files, `expire` expires old snapshots and deletes the files only they reached.
 */
import { InvalidArgumentError, type Command } from "commander";
import { FileCatalog } from "../../../apps/iceberg/catalog.ts";
import { compactTable, DEFAULT_TARGET_FILE_BYTES } from "../../../apps/iceberg/compaction.ts";
import { IcebergTable } from "../../../apps/iceberg/iceberg-table.ts";
import { migrateHiveTable } from "../../../apps/iceberg/hive-migration.ts";
import {
  DEFAULT_EXPIRE_OLDER_THAN_MS,
  DEFAULT_ORPHAN_GRACE_MS,
  DEFAULT_RETAIN_LAST,
  expireSnapshots,
  removeOrphanFiles,
  type DeletedFiles,
} from "../../../apps/iceberg/snapshot-expiry.ts";
import { ICEBERG_TABLES, type IcebergTableDefinition } from "../../../apps/iceberg/table-schema.ts";
import type { S3Client } from "@aws-sdk/client-s3";
import type { LakeTableName } from "../../../apps/lake/lake-tables.ts";
import { LocalEnvironment } from "../../local/environment.ts";
import { localIcebergCatalog } from "../../local/iceberg-catalog.ts";
import { commandAction, withCommonOptions } from "../command.ts";
import { formatBytes, formatTable } from "../format-table.ts";
import { positiveInteger } from "../options.ts";
import { formatCount, type Output } from "../output.ts";

function dayOption(value: string): string {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(value) || Number.isNaN(Date.parse(`${value}T00:00:00Z`)))
    throw new InvalidArgumentError(`expected a date like 2026-12-06, got "${value}"`);
  return value;
}

function parseTables(value: string): LakeTableName[] {
  if (value === "all") return ["ticks", "bars_1m"];
  if (value === "ticks" || value === "bars_1m") return [value];
  throw new InvalidArgumentError(`--table must be ticks, bars_1m or all, got "${value}"`);
}

/** An age: "5d", "36h", "90m", "30s", "500ms" (0 too); in milliseconds. */
function age(value: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/.exec(value.trim());
  if (!match) throw new InvalidArgumentError(`expected an age like 5d, 12h, 30m or 0s, got "${value}"`);
  const unitMs = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;
  return Number(match[1]) * unitMs[match[2] as keyof typeof unitMs];
}

const filesIn = (deleted: DeletedFiles) =>
  deleted.dataFiles + deleted.manifests + deleted.manifestLists + deleted.metadataFiles;

/** The `--table` option the subcommands take. */
function withTableOption(command: Command): Command {
  return command.option("--table <name>", "ticks, bars_1m or all", parseTables, [
    "ticks",
    "bars_1m",
  ] as LakeTableName[]);
}

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

export function registerLakeCommands(program: Command): void {
  const lake = program.command("lake").description("the lake's Apache Iceberg tables");
  withCommonOptions(
    withTableOption(lake.command("compact"))
      .description(
        "rewrite the small data files of each day partition of the Iceberg tables into files near the target size, in one snapshot",
      )
      .option("--day <date>", "only this day partition (YYYY-MM-DD, UTC)", dayOption)
      .option(
        "--target-file-mb <n>",
        "the size of the files written; smaller files (under 75 %) are rewritten",
        positiveInteger,
        DEFAULT_TARGET_FILE_BYTES / (1024 * 1024),
      ),
  ).action(
    commandAction(
      async (output: Output, options: { table: LakeTableName[]; day?: string; targetFileMb: number }) => {
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
      },
    ),
  );
  withCommonOptions(
    withTableOption(lake.command("migrate")).description(
      "add the Parquet objects of the Hive-layout lake (<table>/dt=…/) to the Iceberg tables, in place; a second run adds nothing",
    ),
  ).action(
    commandAction(async (output: Output, options: { table: LakeTableName[] }) => {
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
    }),
  );
  withCommonOptions(
    withTableOption(lake.command("expire"))
      .description(
        "expire the Iceberg tables' old snapshots (never the current one or its newest --retain-last ancestors) and delete the files only they reached",
      )
      .option(
        "--older-than <age>",
        "expire snapshots older than this (5d, 12h, 30m, 0s)",
        age,
        DEFAULT_EXPIRE_OLDER_THAN_MS,
      )
      .option(
        "--retain-last <n>",
        "keep the current snapshot and its newest ancestors up to n, whatever their age",
        positiveInteger,
        DEFAULT_RETAIN_LAST,
      )
      .option("--dry-run", "say what would expire and be deleted; commit and delete nothing")
      .option(
        "--orphans",
        "also delete files under <table>/metadata/ and <table>/data/ that no snapshot references, older than --orphan-grace (never <table>/dt=…/)",
      )
      .option("--orphan-grace <age>", "an orphan must be older than this", age, DEFAULT_ORPHAN_GRACE_MS),
  ).action(
    commandAction(
      async (
        output: Output,
        options: {
          table: LakeTableName[];
          olderThan: number;
          retainLast: number;
          dryRun?: boolean;
          orphans?: boolean;
          orphanGrace: number;
        },
      ) => {
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
      },
    ),
  );
}
