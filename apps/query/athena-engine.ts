/**
 * Cloud SQL: Athena in the stack's workgroup. Starts the query, polls with backoff until it ends, pages
 * through GetQueryResults, and types each cell by the result's column metadata. An abort (Ctrl-C) stops
 * the query in Athena (StopQueryExecution) rather than leaving it to run and bill.
 */
import {
  GetQueryExecutionCommand,
  StartQueryExecutionCommand,
  StopQueryExecutionCommand,
  paginateGetQueryResults,
  type AthenaClient,
  type ColumnInfo,
} from "@aws-sdk/client-athena";
import { TickstreamError } from "../shared/errors.ts";
import { backoffDelayMs, sleep } from "../shared/retry.ts";
import type { CellValue, QueryResult } from "./query-result.ts";

export class QueryFailedError extends TickstreamError {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super("QUERY_FAILED", message, options);
  }
}

export interface AthenaQueryOptions {
  readonly athena: AthenaClient;
  readonly workgroup: string;
  readonly database: string;
  readonly catalog?: string;
  readonly signal?: AbortSignal;
  readonly onProgress?: (message: string) => void;
  /** Rows per GetQueryResults page (Athena's maximum is 1000). */
  readonly pageSize?: number;
}

const INTEGER_TYPES = new Set(["tinyint", "smallint", "integer", "int", "bigint"]);
const DECIMAL_TYPES = new Set(["double", "float", "real", "decimal"]);

/** Athena returns every cell as text; the column's type says what it was. */
export function typedCell(text: string | undefined, column: ColumnInfo): CellValue {
  if (text === undefined) return null;
  const type = (column.Type ?? "varchar").toLowerCase().replace(/\(.*$/, "");
  if (INTEGER_TYPES.has(type)) {
    const value = BigInt(text);
    return Number.isSafeInteger(Number(value)) ? Number(value) : text;
  }
  if (DECIMAL_TYPES.has(type)) return Number(text);
  if (type === "boolean") return text === "true";
  if (type.startsWith("timestamp")) {
    // "2026-11-25 14:30:00.123" or "... UTC" -> ISO-8601 UTC, as the DuckDB engine prints.
    const match = /^(\d{4}-\d{2}-\d{2}) (\d{2}:\d{2}:\d{2}(?:\.\d+)?)(?: UTC)?$/.exec(text);
    return match ? new Date(`${match[1]}T${match[2]}Z`).toISOString() : text;
  }
  return text;
}

async function stopQuery(athena: AthenaClient, id: string): Promise<void> {
  await athena.send(new StopQueryExecutionCommand({ QueryExecutionId: id }));
}

export async function runAthenaQuery(sql: string, options: AthenaQueryOptions): Promise<QueryResult> {
  const { athena } = options;
  const started = await athena.send(
    new StartQueryExecutionCommand({
      QueryString: sql,
      WorkGroup: options.workgroup,
      QueryExecutionContext: { Database: options.database, Catalog: options.catalog ?? "AwsDataCatalog" },
    }),
  );
  const id = started.QueryExecutionId!;
  options.onProgress?.(`athena query ${id} started in workgroup ${options.workgroup}`);
  let bytesScanned = 0;
  for (let attempt = 0; ; attempt++) {
    if (options.signal?.aborted) {
      await stopQuery(athena, id);
      throw new QueryFailedError(`query ${id} cancelled: StopQueryExecution sent`);
    }
    const { QueryExecution: execution } = await athena.send(
      new GetQueryExecutionCommand({ QueryExecutionId: id }),
    );
    const state = execution?.Status?.State;
    bytesScanned = execution?.Statistics?.DataScannedInBytes ?? bytesScanned;
    if (state === "SUCCEEDED") break;
    if (state === "FAILED") {
      throw new QueryFailedError(
        `query ${id} failed: ${execution?.Status?.StateChangeReason ?? execution?.Status?.AthenaError?.ErrorMessage ?? "no reason given"}`,
      );
    }
    if (state === "CANCELLED") throw new QueryFailedError(`query ${id} was cancelled`);
    await sleep(
      backoffDelayMs(attempt, { initialDelayMs: 200, maxDelayMs: 2_000, multiplier: 1.5 }),
      options.signal,
    );
  }

  let columnInfo: ColumnInfo[] | undefined;
  const rows: CellValue[][] = [];
  let firstPage = true;
  for await (const page of paginateGetQueryResults(
    { client: athena, pageSize: options.pageSize ?? 1_000 },
    { QueryExecutionId: id },
  )) {
    columnInfo ??= page.ResultSet?.ResultSetMetadata?.ColumnInfo ?? [];
    let pageRows = page.ResultSet?.Rows ?? [];
    // A SELECT's first row holds the column names.
    if (
      firstPage &&
      pageRows.length > 0 &&
      pageRows[0]!.Data?.every((datum, index) => datum.VarCharValue === columnInfo![index]?.Name)
    ) {
      pageRows = pageRows.slice(1);
    }
    firstPage = false;
    for (const row of pageRows)
      rows.push(
        (row.Data ?? []).map((datum, index) => typedCell(datum.VarCharValue, columnInfo![index] ?? {})),
      );
  }
  return {
    columns: (columnInfo ?? []).map((column) => column.Name ?? ""),
    rows,
    engine: "athena",
    bytesScanned,
  };
}
