/** What `tickstream query` does (commands/query.ts registers it): Athena for a stack, DuckDB locally. */
import { AthenaClient } from "@aws-sdk/client-athena";
import { GlueClient, paginateGetTables } from "@aws-sdk/client-glue";
import { loadCatalog } from "../../../apps/catalog/local-catalog.ts";
import { runAthenaQuery } from "../../../apps/query/athena-engine.ts";
import { runLocalQuery } from "../../../apps/query/duckdb-engine.ts";
import { NAMED_QUERIES, renderNamedQuery } from "../../../apps/query/named-queries.ts";
import { athenaCostUsd, type QueryResult } from "../../../apps/query/query-result.ts";
import { ConfigError } from "../../../apps/shared/errors.ts";
import { loadStackOutputs } from "../../environments/stack-outputs.ts";
import { LocalEnvironment } from "../../local/environment.ts";
import { localIcebergCatalog } from "../../local/iceberg-catalog.ts";
import type { QueryOptions } from "../commands/query.ts";
import { formatBytes, formatCsv, formatTable } from "../format-table.ts";
import type { Output } from "../output.ts";
import { onShutdownSignals } from "../signals.ts";

/** The local lake's Iceberg tables, by name (none before the first flush or `lake migrate`). */
async function localIcebergTables(environment: LocalEnvironment): Promise<Set<string>> {
  const catalog = localIcebergCatalog(environment);
  const names = new Set<string>();
  for (const name of ["ticks", "bars_1m"]) if (await catalog.load(name)) names.add(name);
  return names;
}

/**
 * Whether a local query reads the Iceberg tables (their current or `--as-of` snapshots): yes unless
 * `--no-iceberg`, or when the lake has no tables yet (a lake written before them, until `lake migrate`).
 */
async function readsIceberg(environment: LocalEnvironment, options: QueryOptions): Promise<boolean> {
  if (options.asOf !== undefined) return true;
  return options.iceberg !== false && (await localIcebergTables(environment)).has("ticks");
}

async function runQuery(sql: string, options: QueryOptions, output: Output): Promise<QueryResult> {
  if (options.asOf !== undefined && !options.named && (options.outputs || options.stack))
    throw new ConfigError(
      "--as-of reads the local lake's Iceberg tables; on a stack, Athena reads them too: add FOR TIMESTAMP AS OF TIMESTAMP '…' after a table in your SQL",
    );
  if (options.outputs || options.stack) {
    const outputs = await loadStackOutputs(options);
    const athena = new AthenaClient({ region: outputs.region });
    const signals = onShutdownSignals(() => output.progress("cancelling the query in Athena..."));
    try {
      const result = await runAthenaQuery(sql, {
        athena,
        workgroup: outputs.athenaWorkgroup,
        database: outputs.glueDatabase,
        signal: signals.stop,
        onProgress: (message) => output.progress(message),
      });
      const scanned = result.bytesScanned ?? 0;
      output.progress(
        `data scanned: ${formatBytes(scanned)}, cost $${athenaCostUsd(scanned).toFixed(6)} at $5/TB (10 MB minimum)`,
      );
      return result;
    } finally {
      signals.dispose();
      athena.destroy();
    }
  }
  const environment = LocalEnvironment.fromEnvironment();
  const iceberg = await readsIceberg(environment, options);
  if (!iceberg && options.iceberg !== false)
    output.progress(
      "this lake has no Iceberg tables yet: reading its Hive layout (tickstream lake migrate adds them)",
    );
  const s3 = await environment.lakeClient();
  try {
    return await runLocalQuery(sql, {
      s3,
      bucket: environment.lake.bucket,
      cacheDir: environment.paths.lakeCacheDir,
      catalogDir: environment.paths.catalogDir,
      ...(iceberg ? { iceberg: { catalog: localIcebergCatalog(environment), asOfMs: options.asOf } } : {}),
    });
  } finally {
    s3.destroy();
  }
}

/** The tables the catalog has: the stack's Glue database, or the local catalog. */
export async function catalogTables(options: {
  outputs?: string;
  stack?: string;
  iceberg?: boolean;
  asOf?: number;
}): Promise<Set<string>> {
  if (options.outputs || options.stack) {
    const outputs = await loadStackOutputs(options);
    const glue = new GlueClient({ region: outputs.region });
    // Without the list (no rights to read the catalog), the analyses run on the ticks alone.
    try {
      const names = new Set<string>();
      for await (const page of paginateGetTables({ client: glue }, { DatabaseName: outputs.glueDatabase }))
        for (const table of page.TableList ?? []) if (table.Name) names.add(table.Name);
      return names;
    } catch {
      return new Set();
    } finally {
      glue.destroy();
    }
  }
  const environment = LocalEnvironment.fromEnvironment();
  if (await readsIceberg(environment, options)) return localIcebergTables(environment);
  return new Set(Object.keys((await loadCatalog(environment.paths.catalogDir)).tables));
}

export async function run(output: Output, options: QueryOptions, sqlArgument?: string): Promise<void> {
  if (options.list) {
    const width = Math.max(...NAMED_QUERIES.map((query) => query.name.length));
    output.result(
      NAMED_QUERIES.map(({ name, description }) => ({ name, description })),
      NAMED_QUERIES.map((query) => `${query.name.padEnd(width)}  ${query.description}`).join("\n"),
    );
    return;
  }
  if (sqlArgument && options.named) throw new ConfigError("give either SQL or --named, not both");
  if (!sqlArgument && !options.named)
    throw new ConfigError("give the SQL to run, or --named NAME (see: tickstream query --list)");
  if (sqlArgument && (options.symbol || options.from || options.to)) {
    throw new ConfigError("--symbol, --from and --to go with --named; put filters in your SQL");
  }
  const sql = options.named
    ? renderNamedQuery(
        options.named,
        options,
        await catalogTables(options),
        // A stack's tables are Iceberg tables in Glue: Athena reads them directly, as of --as-of if given.
        options.outputs || options.stack ? { athenaIceberg: { asOfMs: options.asOf } } : {},
      )
    : sqlArgument!;
  const result = await runQuery(sql, options, output);
  if (options.csv && !options.json) {
    process.stdout.write(`${formatCsv(result)}\n`);
    return;
  }
  output.result(
    result,
    `${formatTable(result)}\n(${result.rows.length} row${result.rows.length === 1 ? "" : "s"}, ${result.engine})`,
  );
}
