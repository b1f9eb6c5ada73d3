/**
 * Encodes a lake table's rows as Parquet (zstd) with DuckDB. Rows are staged in a table of their own (one per
 * flush being built), a data chunk (2,048 rows) at a time, each column one typed array (staged-rows.ts), and
 * written out by COPY, one file per group (the lake sink's event dates); the table is dropped after.
 *
 * Measured, and why it is built so:
 *  - A row at a time, every cell was a native call: 2.3 s of appending per million ticks. A cell at a time into
 *    a data chunk's vectors, 1.5 s (strings and validity masks still cost a call or a BigInt operation per
 *    cell). As typed arrays, text as dictionary codes and nulls as NaN (staged-rows.ts): see `npm run bench`.
 *  - A dropped table frees its memory; rows DELETEd from a reused table do not (an in-memory database kept about
 *    160 bytes of every row it ever held: 173, 216, 263, 308 MB after 30, 60, 90, 120 flushes of 25,000 rows,
 *    against a flat 131 MB with a table per flush dropped after it).
 *  - Staged rows cost memory as JS objects would: callers stage a flush just before writing it, not while it
 *    fills (apps/consumer/encode-worker.ts).
 * Timestamps are TIMESTAMPTZ, i.e. Parquet TIMESTAMP(MICROS, UTC), which Athena reads (it cannot read nanoseconds).
 * They are staged as BIGINT microseconds (UTC) and made timestamps in the COPY, which also stamps `ingested_at`:
 * the appender's TIMESTAMPTZ path allocates a native value per cell that only the JS garbage collector frees
 * (measured: a sink's RSS grew by about 170 MB over 30 batches of 10,000 rows).
 */
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { DuckDBInstance, type DuckDBAppender, type DuckDBConnection } from "@duckdb/node-api";
import { icebergSchema, parquetFieldIds } from "../iceberg/table-schema.ts";
import type { LakeRow } from "./lake-row.ts";
import { TICKS_TABLE, type LakeTable } from "./lake-tables.ts";
import { StagedRows, stagedKind, stagedType, type StagedKind } from "./staged-rows.ts";

/** The staging column that says which file a row goes to. */
const GROUP_COLUMN = "tickstream_group";

/** A staged table's name, and its text columns' dictionaries' (column, code, value). */
const stagedTable = (id: number) => `staged_${id < 0 ? `x${-id}` : id}`;
const dictionaryTable = (id: number) => `${stagedTable(id)}_dictionary`;

interface Staging {
  readonly rows: StagedRows;
  readonly appender: DuckDBAppender;
  /** Whether every row is appended and the dictionaries are written (before the first file is). */
  complete: boolean;
}

export class ParquetEncoder<Row extends { readonly kafkaOffset: bigint } = LakeRow> {
  private readonly columnsSql: string;
  private readonly selectSql: (id: number, ingestedAtMicros: bigint) => string;
  private readonly fieldIds: string;
  /** How each column but `ingested_at` (the COPY stamps it) is staged, in order. */
  readonly kinds: readonly StagedKind[];
  private readonly staging = new Map<number, Staging>();
  private nextFile = 0;
  private nextEncodeId = -1;

  private constructor(
    private readonly table: LakeTable<Row>,
    private readonly workDir: string,
    private readonly instance: DuckDBInstance,
    private readonly connection: DuckDBConnection,
  ) {
    const staged = table.columns.filter(([name]) => name !== "ingested_at");
    this.kinds = staged.map(([name, type]) => {
      const kind = stagedKind(type);
      if (kind !== "double" && !/\bNOT NULL\b/.test(type))
        throw new Error(`column ${name}: the Parquet encoder stages only DOUBLE columns as nullable`);
      return kind;
    });
    this.columnsSql = [
      ...staged.map(([name], column) => `"${name}" ${stagedType(this.kinds[column]!).toString()}`),
      `${GROUP_COLUMN} INTEGER NOT NULL`,
    ].join(", ");
    // Each column carries its Iceberg field id, by which Iceberg readers resolve columns (apps/iceberg).
    this.fieldIds = parquetFieldIds(icebergSchema(table.columns));
    this.selectSql = (id, ingestedAtMicros) =>
      table.columns
        .map(([name, type]) => {
          if (name === "ingested_at")
            return `make_timestamp(${ingestedAtMicros}::BIGINT)::TIMESTAMPTZ AS "${name}"`;
          const column = staged.findIndex(([each]) => each === name);
          switch (this.kinds[column]) {
            case "text":
              return `(SELECT list(value ORDER BY code) FROM ${dictionaryTable(id)} WHERE "column" = ${column})["${name}" + 1] AS "${name}"`;
            case "timestamp":
              return `make_timestamp("${name}")::TIMESTAMPTZ AS "${name}"`;
            case "double":
              return /\bNOT NULL\b/.test(type)
                ? `"${name}"`
                : `CASE WHEN isnan("${name}") THEN NULL ELSE "${name}" END AS "${name}"`;
            default:
              return `"${name}"`;
          }
        })
        .join(", ");
  }

  static async create<Row extends { readonly kafkaOffset: bigint } = LakeRow>(
    table: LakeTable<Row> = TICKS_TABLE as unknown as LakeTable<Row>,
  ): Promise<ParquetEncoder<Row>> {
    const workDir = await mkdtemp(path.join(tmpdir(), "tickstream-parquet-"));
    const instance = await DuckDBInstance.create(":memory:", { threads: "1" });
    const connection = await instance.connect();
    await connection.run("SET TimeZone = 'UTC'");
    return new ParquetEncoder(table, workDir, instance, connection);
  }

  /**
   * Staged table `id`'s rows, to write cells into (created by the first call): a full chunk is appended as it
   * fills, the last by `write`. Rows keep the order they are written in. Not re-entrant: callers serialise every
   * call.
   */
  async rows(id: number): Promise<StagedRows> {
    const existing = this.staging.get(id);
    if (existing?.complete)
      throw new Error(`staged table ${id}: rows cannot be added once a file is written`);
    if (existing) return existing.rows;
    await this.connection.run(`CREATE TABLE ${stagedTable(id)} (${this.columnsSql})`);
    const appender = await this.connection.createAppender(stagedTable(id));
    const rows = new StagedRows(this.kinds, (chunk) => appender.appendDataChunk(chunk));
    this.staging.set(id, { rows, appender, complete: false });
    return rows;
  }

  /** Appends `rows` to staged table `id` (as `rows(id)` does a cell at a time), each in the file `groups[i]`. */
  async stage(id: number, rows: readonly Row[], groups: ArrayLike<number>): Promise<void> {
    const staged = await this.rows(id);
    rows.forEach((row, index) => {
      this.writeRow(staged, row);
      staged.endRow(groups[index]!);
    });
  }

  /** Writes `row`'s cells into `staged` (the row is not ended). */
  writeRow(staged: StagedRows, row: Row): void {
    const { cells } = this.table;
    const { kinds } = this;
    for (let column = 0; column < kinds.length; column++) {
      const cell = cells[column]!(row);
      const kind = kinds[column]!;
      if (kind === "text") staged.text(column, cell as string);
      else if (kind === "bigint" || kind === "timestamp") staged.bigint(column, cell as bigint);
      else if (kind === "integer") staged.integer(column, cell as number);
      else staged.double(column, cell as number | null);
    }
  }

  /** One Parquet file of staged table `id`: its rows of `group`, in order, stamped with `ingestedAtMs`. */
  async write(id: number, group: number, ingestedAtMs: number): Promise<Buffer> {
    const staging = this.staging.get(id);
    if (!staging) throw new Error(`staged table ${id}: nothing was staged`);
    if (!staging.complete) {
      staging.complete = true;
      staging.rows.finish();
      staging.appender.closeSync();
      await this.writeDictionaries(id, staging.rows);
    }
    const file = path.join(this.workDir, `${this.nextFile++}.parquet`);
    const select = this.selectSql(id, BigInt(ingestedAtMs) * 1000n);
    // A plain scan keeps the order rows were appended in (DuckDB preserves insertion order).
    await this.connection.run(
      `COPY (SELECT ${select} FROM ${stagedTable(id)} WHERE ${GROUP_COLUMN} = ${group}) TO '${file}' (FORMAT parquet, COMPRESSION zstd, FIELD_IDS ${this.fieldIds})`,
    );
    try {
      return await readFile(file);
    } finally {
      await rm(file, { force: true });
    }
  }

  private async writeDictionaries(id: number, rows: StagedRows): Promise<void> {
    await this.connection.run(
      `CREATE TABLE ${dictionaryTable(id)} ("column" INTEGER, code INTEGER, value VARCHAR)`,
    );
    const appender = await this.connection.createAppender(dictionaryTable(id));
    try {
      rows.dictionaries.forEach((dictionary, column) =>
        dictionary?.values.forEach((value, code) => {
          appender.appendInteger(column);
          appender.appendInteger(code);
          appender.appendVarchar(value);
          appender.endRow();
        }),
      );
    } finally {
      appender.closeSync();
    }
  }

  /** Drops staged table `id`, which frees its rows. */
  async drop(id: number): Promise<void> {
    const staging = this.staging.get(id);
    if (!staging) return;
    this.staging.delete(id);
    if (!staging.complete) staging.appender.closeSync();
    await this.connection.run(`DROP TABLE IF EXISTS ${stagedTable(id)}`);
    await this.connection.run(`DROP TABLE IF EXISTS ${dictionaryTable(id)}`);
  }

  /** One Parquet file holding `rows`, every row stamped with `ingestedAtMs`. */
  async encode(rows: readonly Row[], ingestedAtMs: number): Promise<Buffer> {
    const id = this.nextEncodeId--;
    try {
      await this.stage(id, rows, new Uint8Array(rows.length));
      return await this.write(id, 0, ingestedAtMs);
    } finally {
      await this.drop(id);
    }
  }

  async close(): Promise<void> {
    this.connection.closeSync();
    this.instance.closeSync();
    await rm(this.workDir, { recursive: true, force: true });
  }
}
