/**
 * A lake table's rows on their way into DuckDB (parquet-encoder.ts), a column at a time: each column of a data
 * chunk (2,048 rows, DuckDB's vector size) is a typed array copied into DuckDB's vector in one native call.
 *
 * How each column type is staged, and why (measured with @duckdb/node-api 1.5, per million rows):
 *  - VARCHAR as an INTEGER code into the column's dictionary (the COPY maps codes back to strings). A string
 *    crosses into DuckDB one native call at a time (0.18 us per cell); a tick's three text columns hold a few
 *    distinct values (symbols, its source, its producer), so only the dictionary crosses. Mapping codes back in
 *    the COPY costs nothing measurable (0.17 us per row either way).
 *  - DOUBLE as a Float64Array, null as NaN (a JSON number is never NaN; the COPY makes NaN null where the column
 *    is nullable): DuckDB's validity mask, set a cell at a time, costs 0.09 us per nullable cell.
 *  - BIGINT, and TIMESTAMPTZ as microseconds since the epoch (UTC), as a BigInt64Array; INTEGER as an Int32Array.
 *
 * Callers write a row's cells with the setters, then `endRow` with the row's group (the file it goes to); a
 * full chunk is handed to `onChunk`, and `finish` hands the last one.
 */
import duckdb from "@duckdb/node-bindings";
import {
  DuckDBBigIntType,
  DuckDBDataChunk,
  DuckDBDoubleType,
  DuckDBIntegerType,
  type DuckDBType,
} from "@duckdb/node-api";

/** Rows per data chunk: DuckDB's vector size. */
export const CHUNK_ROWS = 2_048;

export type StagedKind = "text" | "double" | "bigint" | "integer" | "timestamp";

/** How a column of SQL type `type` is staged. */
export function stagedKind(type: string): StagedKind {
  const base = type.split(" ")[0]!;
  switch (base) {
    case "VARCHAR":
      return "text";
    case "DOUBLE":
      return "double";
    case "BIGINT":
      return "bigint";
    case "INTEGER":
      return "integer";
    case "TIMESTAMPTZ":
      return "timestamp";
    default:
      throw new Error(`the Parquet encoder cannot stage ${type}`);
  }
}

/** The DuckDB type a column of `kind` is staged as. */
export function stagedType(kind: StagedKind): DuckDBType {
  return kind === "double"
    ? DuckDBDoubleType.instance
    : kind === "bigint" || kind === "timestamp"
      ? DuckDBBigIntType.instance
      : DuckDBIntegerType.instance;
}

/** A text column's distinct values, each with its code (its index). */
export class Dictionary {
  readonly values: string[] = [];
  private readonly byValue = new Map<string, number>();
  /** Codes by a hash of their value's bytes (ASCII values only: see codeOfAscii). */
  private readonly byBytes = new Map<number, number[]>();
  private readonly bytesOf: (Uint8Array | undefined)[] = [];

  code(value: string): number {
    let code = this.byValue.get(value);
    if (code === undefined) {
      code = this.values.length;
      this.values.push(value);
      this.byValue.set(value, code);
    }
    return code;
  }

  /**
   * The code of the ASCII text in `bytes[start, end)`, without making a string of it but the first time it is
   * seen: a tick's text repeats.
   */
  codeOfAscii(bytes: Uint8Array, start: number, end: number): number {
    let hash = 0x811c9dc5;
    for (let index = start; index < end; index++) hash = Math.imul(hash ^ bytes[index]!, 0x01000193);
    const candidates = this.byBytes.get(hash);
    if (candidates)
      for (const code of candidates) {
        const known = this.bytesOf[code]!;
        if (known.length !== end - start) continue;
        let same = true;
        for (let index = 0; index < known.length && same; index++)
          same = known[index] === bytes[start + index];
        if (same) return code;
      }
    const code = this.code(
      String.fromCharCode.apply(null, bytes.subarray(start, end) as unknown as number[]),
    );
    if (this.bytesOf[code] === undefined) {
      this.bytesOf[code] = bytes.slice(start, end);
      if (candidates) candidates.push(code);
      else this.byBytes.set(hash, [code]);
    }
    return code;
  }
}

export class StagedRows {
  /** Rows in the chunk being filled. */
  rows = 0;
  /** Rows handed on in full chunks. */
  stagedRows = 0;
  /**
   * By column, the chunk's cells, in the array of the column's kind (undefined in the others): DOUBLE; BIGINT and
   * TIMESTAMPTZ (microseconds); INTEGER and text (dictionary codes). Apart, so that each write is to one kind of
   * typed array (a write site that sees several is several times slower).
   */
  readonly doubles: (Float64Array | undefined)[];
  readonly bigints: (BigInt64Array | undefined)[];
  readonly ints: (Int32Array | undefined)[];
  /** By column: a text column's dictionary. */
  readonly dictionaries: (Dictionary | undefined)[];
  readonly groups = new Int32Array(CHUNK_ROWS);
  private readonly types: readonly DuckDBType[];

  constructor(
    readonly kinds: readonly StagedKind[],
    private readonly onChunk: (chunk: DuckDBDataChunk) => void,
  ) {
    this.doubles = kinds.map((kind) => (kind === "double" ? new Float64Array(CHUNK_ROWS) : undefined));
    this.bigints = kinds.map((kind) =>
      kind === "bigint" || kind === "timestamp" ? new BigInt64Array(CHUNK_ROWS) : undefined,
    );
    this.ints = kinds.map((kind) =>
      kind === "integer" || kind === "text" ? new Int32Array(CHUNK_ROWS) : undefined,
    );
    this.dictionaries = kinds.map((kind) => (kind === "text" ? new Dictionary() : undefined));
    this.types = [...kinds.map(stagedType), DuckDBIntegerType.instance];
  }

  text(column: number, value: string): void {
    this.ints[column]![this.rows] = this.dictionaries[column]!.code(value);
  }

  /** A DOUBLE cell (null: NaN). */
  double(column: number, value: number | null): void {
    this.doubles[column]![this.rows] = value ?? Number.NaN;
  }

  integer(column: number, value: number): void {
    this.ints[column]![this.rows] = value;
  }

  /** A BIGINT cell, or a TIMESTAMPTZ one in microseconds. */
  bigint(column: number, value: bigint): void {
    this.bigints[column]![this.rows] = value;
  }

  /** Ends the row being written: it goes to file `group`. */
  endRow(group: number): void {
    this.groups[this.rows] = group;
    if (++this.rows === CHUNK_ROWS) this.handOn();
  }

  /** Hands on the last, partly filled chunk. */
  finish(): void {
    if (this.rows > 0) this.handOn();
  }

  private handOn(): void {
    const count = this.rows;
    const chunk = DuckDBDataChunk.create(this.types, count);
    const columns = [
      ...this.kinds.map((_, column) => this.doubles[column] ?? this.bigints[column] ?? this.ints[column]!),
      this.groups,
    ];
    for (let column = 0; column < columns.length; column++) {
      const array = columns[column]!;
      duckdb.copy_data_to_vector(
        duckdb.data_chunk_get_vector(chunk.chunk, column),
        0,
        array.buffer as ArrayBuffer,
        array.byteOffset,
        count * array.BYTES_PER_ELEMENT,
      );
    }
    this.onChunk(chunk);
    this.stagedRows += count;
    this.rows = 0;
  }
}
