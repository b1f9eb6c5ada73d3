/** `tickstream query`: SQL or a named analysis, on Athena for a stack or DuckDB locally. */
import { InvalidArgumentError, type Command } from "commander";
import { commandAction, withCommonOptions } from "../command.ts";
import type { Output } from "../output.ts";

export interface QueryOptions {
  named?: string;
  symbol?: string;
  from?: string;
  to?: string;
  list?: boolean;
  csv?: boolean;
  json?: boolean;
  outputs?: string;
  stack?: string;
  iceberg?: boolean;
  asOf?: number;
}

function instant(value: string): number {
  const ms = Date.parse(value);
  if (!/^\d{4}-\d{2}-\d{2}T/.test(value) || Number.isNaN(ms))
    throw new InvalidArgumentError(`expected a time like 2026-12-06T00:30:00Z, got "${value}"`);
  return ms;
}

function date(value: string): string {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(value))
    throw new InvalidArgumentError(`expected a date like 2026-11-25, got "${value}"`);
  return value;
}

export function registerQueryCommand(program: Command): void {
  withCommonOptions(
    program
      .command("query")
      .description("run SQL or a named analysis over the lake: Athena for a stack, DuckDB locally")
      .argument("[sql]", "the SQL text (tables: ticks, quarantine)")
      .option("--named <name>", "run a named analysis (see --list)")
      .option("--symbol <symbol>", "named analyses: only this symbol")
      .option("--from <date>", "named analyses: from this UTC date (inclusive)", date)
      .option("--to <date>", "named analyses: to this UTC date (inclusive)", date)
      .option("--list", "list the named analyses")
      .option("--csv", "print CSV")
      .option(
        "--stack <name>",
        "query with Athena for this Pulumi stack (reads its outputs; needs the Pulumi CLI)",
      )
      .option("--outputs <file>", "a stack's outputs (pulumi stack output --json): query with Athena")
      .option(
        "--no-iceberg",
        "locally: read the crawled Hive layout (every published object) instead of the Iceberg tables' current snapshots",
      )
      .option(
        "--as-of <time>",
        "read the Iceberg tables as they were at this time (ISO-8601, e.g. 2026-12-06T00:30:00Z)",
        instant,
      ),
  ).action(
    commandAction(async (output: Output, options: QueryOptions, sqlArgument?: string) =>
      (await import("../actions/query.ts")).run(output, options, sqlArgument),
    ),
  );
}
