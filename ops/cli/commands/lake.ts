/**
 * `tickstream lake …`: the lake's Iceberg tables. `migrate` adds a Hive-layout lake's objects to them, `compact`
 * merges a day's small files, `expire` expires old snapshots and deletes the files only they reached.
 */
import { InvalidArgumentError, type Command } from "commander";
import {
  DEFAULT_EXPIRE_OLDER_THAN_MS,
  DEFAULT_ORPHAN_GRACE_MS,
  DEFAULT_RETAIN_LAST,
  DEFAULT_TARGET_FILE_BYTES,
} from "../../../apps/iceberg/maintenance-defaults.ts";
import type { LakeTableName } from "../../../apps/lake/lake-tables.ts";
import { commandAction, withCommonOptions } from "../command.ts";
import { positiveInteger } from "../options.ts";
import type { Output } from "../output.ts";

export interface CompactOptions {
  table: LakeTableName[];
  day?: string;
  targetFileMb: number;
}

export interface MigrateOptions {
  table: LakeTableName[];
}

export interface ExpireOptions {
  table: LakeTableName[];
  olderThan: number;
  retainLast: number;
  dryRun?: boolean;
  orphans?: boolean;
  orphanGrace: number;
}

/** What the subcommands do, loaded when one runs. */
const actions = () => import("../actions/lake.ts");

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

/** The `--table` option the subcommands take. */
function withTableOption(command: Command): Command {
  return command.option("--table <name>", "ticks, bars_1m or all", parseTables, [
    "ticks",
    "bars_1m",
  ] as LakeTableName[]);
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
    commandAction(async (output: Output, options: CompactOptions) =>
      (await actions()).compact(output, options),
    ),
  );
  withCommonOptions(
    withTableOption(lake.command("migrate")).description(
      "add the Parquet objects of the Hive-layout lake (<table>/dt=…/) to the Iceberg tables, in place; a second run adds nothing",
    ),
  ).action(
    commandAction(async (output: Output, options: MigrateOptions) =>
      (await actions()).migrate(output, options),
    ),
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
    commandAction(async (output: Output, options: ExpireOptions) =>
      (await actions()).expire(output, options),
    ),
  );
}
