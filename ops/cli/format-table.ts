/** Query results as an aligned text table or CSV (RFC 4180 quoting). */
import type { CellValue, QueryResult } from "../../apps/query/query-result.ts";

function cellText(value: CellValue): string {
  if (value === null) return "NULL";
  if (typeof value === "number" && !Number.isInteger(value)) return String(Math.round(value * 1e6) / 1e6);
  return String(value);
}

export function formatTable(result: Pick<QueryResult, "columns" | "rows">): string {
  const cells = result.rows.map((row) => row.map(cellText));
  const widths = result.columns.map((column, index) =>
    Math.max(column.length, ...cells.map((row) => row[index]!.length)),
  );
  const numeric = result.columns.map(
    (_, index) =>
      result.rows.length > 0 &&
      result.rows.every((row) => typeof row[index] === "number" || row[index] === null),
  );
  const line = (values: string[], header = false) =>
    values
      .map((value, index) =>
        numeric[index] && !header ? value.padStart(widths[index]!) : value.padEnd(widths[index]!),
      )
      .join("  ")
      .trimEnd();
  return [
    line(result.columns, true),
    widths.map((width) => "-".repeat(width)).join("  "),
    ...cells.map((row) => line(row)),
  ].join("\n");
}

function csvField(value: CellValue): string {
  if (value === null) return "";
  const text = String(value);
  return /[",\n\r]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

export function formatCsv(result: Pick<QueryResult, "columns" | "rows">): string {
  return [
    result.columns.map(csvField).join(","),
    ...result.rows.map((row) => row.map(csvField).join(",")),
  ].join("\n");
}

/** Bytes for people: `512 B`, `1.5 KB`, `3.2 GB` (powers of 1,024). */
export function formatBytes(bytes: number): string {
  const units = ["B", "KB", "MB", "GB", "TB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${unit === 0 ? value : value.toFixed(1)} ${units[unit]}`;
}
