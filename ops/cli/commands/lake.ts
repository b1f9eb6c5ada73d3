/** `tickstream lake …`: the lake's Iceberg tables. `migrate` adds a Hive-layout lake's objects to them. */
import { InvalidArgumentError, type Command } from "commander";
import path from "node:path";
import { FileCatalog } from "../../../apps/iceberg/catalog.ts";
import { compactTable } from "../../../apps/iceberg/compaction.ts";
import { IcebergTable } from "../../../apps/iceberg/iceberg-table.ts";
import { migrateHiveTable } from "../../../apps/iceberg/hive-migration.ts";
import { ICEBERG_TABLES, type IcebergTableDefinition } from "../../../apps/iceberg/table-schema.ts";
import type { S3Client } from "@aws-sdk/client-s3";
import type { LakeTableName } from "../../../apps/lake/lake-tables.ts";
import { LocalEnvironment } from "../../local/environment.ts";
import { commandAction, withCommonOptions } from "../command.ts";
import { formatTable } from "../format-table.ts";
import type { Output } from "../output.ts";

/** Where the local catalog keeps the Iceberg tables' pointers. */
export function localIcebergCatalog(environment: LocalEnvironment): FileCatalog {
  return new FileCatalog(path.join(environment.paths.catalogDir, "iceberg"));
}

function parseTables(value: string): LakeTableName[] {
  if (value === "all") return ["ticks", "bars_1m"];
  if (value === "ticks" || value === "bars_1m") return [value];
  throw new InvalidArgumentError(`--table must be ticks, bars_1m or all, got "${value}"`);
}

/** The `--table` option both subcommands take. */
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
    withTableOption(lake.command("compact")).description(
      "rewrite each day partition of the Iceberg tables that holds several data files into one, in one snapshot",
    ),
  ).action(
    commandAction(async (output: Output, options: { table: LakeTableName[] }) => {
      const reports = await forEachTable(options.table, ({ s3, bucket, catalog, definition }) =>
        compactTable({
          s3,
          bucket,
          table: new IcebergTable({ s3, bucket, catalog, definition }),
          definition,
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
    }),
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
}
