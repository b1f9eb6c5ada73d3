/** A short-lived in-memory DuckDB for reading local Parquet and JSON copies of the lake. */
import { DuckDBInstance, type DuckDBConnection, type DuckDBValue } from "@duckdb/node-api";

export async function withDuckDB<T>(task: (connection: DuckDBConnection) => Promise<T>): Promise<T> {
  const instance = await DuckDBInstance.create(":memory:");
  const connection = await instance.connect();
  try {
    // Timestamps print in UTC whatever the machine's zone.
    await connection.run("SET TimeZone = 'UTC'");
    return await task(connection);
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}

/** Rows as plain JS objects (BIGINT as bigint, TIMESTAMPTZ as ISO-like strings). */
export async function queryObjects(
  connection: DuckDBConnection,
  sql: string,
  values?: Record<string, DuckDBValue> | DuckDBValue[],
): Promise<Record<string, unknown>[]> {
  const reader = await connection.runAndReadAll(sql, values);
  return reader.getRowObjectsJS() as Record<string, unknown>[];
}

/** A SQL list literal of file paths, for read_parquet([...]). */
export function sqlFileList(files: readonly string[]): string {
  return `[${files.map((file) => `'${file.replaceAll("'", "''")}'`).join(", ")}]`;
}
