/** What every query engine returns (DESIGN.md: `tickstream query --json`). */
export type CellValue = string | number | boolean | null;

export interface QueryResult {
  readonly columns: string[];
  readonly rows: CellValue[][];
  readonly engine: "athena" | "duckdb";
  readonly bytesScanned?: number;
}

/** Athena's on-demand price: $5 per TB scanned, at least 10 MB per query. */
export const ATHENA_USD_PER_TB = 5;
export const ATHENA_MINIMUM_BYTES = 10 * 1024 * 1024;

export function athenaCostUsd(bytesScanned: number): number {
  const billed = Math.max(bytesScanned, ATHENA_MINIMUM_BYTES);
  return (billed / 1024 ** 4) * ATHENA_USD_PER_TB;
}
