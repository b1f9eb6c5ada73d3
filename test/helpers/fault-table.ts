/** The fault suite's summary: one row per case, printed once after every test has run (test/setup.ts). */
export interface FaultRow {
  readonly name: string;
  readonly produced: number;
  readonly landed: number;
  readonly lost: number;
  readonly duplicated: number;
  /** From the end of the last fault (or of production, if later) until the group's lag was 0. */
  readonly recoveryMs: number;
  /** The same count through the `ticks` Iceberg table's current snapshot (pyiceberg). */
  readonly table: { readonly landed: number; readonly lost: number; readonly duplicated: number };
}

const rows: FaultRow[] = [];

export function recordFaultCase(row: FaultRow): void {
  rows.push(row);
}

export function printFaultTable(): void {
  if (rows.length === 0) return;
  const header = [
    "case",
    "produced",
    "landed",
    "lost",
    "duplicated",
    "table: landed/lost/dup",
    "recovery (ms)",
  ];
  const cells = rows.map((row) => [
    row.name,
    String(row.produced),
    String(row.landed),
    String(row.lost),
    String(row.duplicated),
    `${row.table.landed}/${row.table.lost}/${row.table.duplicated}`,
    String(Math.round(row.recoveryMs)),
  ]);
  const widths = header.map((title, column) =>
    Math.max(title.length, ...cells.map((line) => line[column]!.length)),
  );
  const format = (line: string[]) =>
    line
      .map((cell, column) => (column === 0 ? cell.padEnd(widths[0]!) : cell.padStart(widths[column]!)))
      .join("  ");
  console.log(
    `\nFault suite (lake counted by (producerId, seq) with an independent Parquet reader; table: through the ticks Iceberg table's current snapshot, by pyiceberg)`,
  );
  console.log(format(header));
  for (const line of cells) console.log(format(line));
}
