/**
 * Encodes a lake table's rows as Parquet (zstd) with DuckDB. Rows are staged in a table of their own (one per
 * flush being built), a data chunk (2,048 rows) at a time written a column at a time, and written out by COPY,
 * one file per group (the lake sink's event dates); the table is dropped after.
 *
 * Measured, and why it is built so:
 *  - A row at a time, every cell was a native call: 2.3 s of appending per million ticks. In chunks, numeric
 *    columns fill a typed array copied once per chunk; only strings cross one value at a time.
 *  - A dropped table frees its memory; rows DELETEd from a reused table do not (an in-memory database kept about
 *    160 bytes of every row it ever held: 173, 216, 263, 308 MB after 30, 60, 90, 120 flushes of 25,000 rows,
 *    against a flat 131 MB with a table per flush dropped after it).
 *  - Staged rows cost about 400 bytes each in memory (300,000 rows: +126 MB), as much as JS objects: callers
 *    stage a flush just before writing it, not while it fills (apps/consumer/encode-worker.ts).
 * Timestamps are TIMESTAMPTZ, i.e. Parquet TIMESTAMP(MICROS, UTC), which Athena reads (it cannot read nanoseconds).
 * They are staged as BIGINT microseconds (UTC) and made timestamps in the COPY, which also stamps `ingested_at`:
 * the appender's TIMESTAMPTZ path allocates a native value per cell that only the JS garbage collector frees
 * (measured: a sink's RSS grew by about 170 MB over 30 batches of 10,000 rows).
 */
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import {
  DuckDBBigIntType,
  DuckDBDataChunk,
  DuckDBDoubleType,
  DuckDBInstance,
  DuckDBIntegerType,
  DuckDBVarCharType,
  type DuckDBConnection,
  type DuckDBType,
} from "@duckdb/node-api";
import { icebergSchema, parquetFieldIds } from "../iceberg/table-schema.ts";
import type { LakeRow } from "./lake-row.ts";
import { TICKS_TABLE, type LakeTable } from "./lake-tables.ts";

/** Rows per data chunk: DuckDB's vector size. */
const CHUNK_ROWS = 2_048;

/** The DuckDB types a staged column may have, by its SQL type's first word. */
const STAGED_TYPES: Record<string, DuckDBType> = {
  VARCHAR: DuckDBVarCharType.instance,
  DOUBLE: DuckDBDoubleType.instance,
  BIGINT: DuckDBBigIntType.instance,
  INTEGER: DuckDBIntegerType.instance,
};

/** The staging column that says which file a row goes to. */
const GROUP_COLUMN = "tickstream_group";

const isTimestamp = (type: string) => /^TIMESTAMPTZ\b/.test(type);

/** A staged table's name. */
const stagedTable = (id: number) => `staged_${id < 0 ? `x${-id}` : id}`;

export class ParquetEncoder<Row extends { readonly kafkaOffset: bigint } = LakeRow> {
  private readonly columnsSql: string;
  private readonly selectSql: (ingestedAtMicros: bigint) => string;
  private readonly fieldIds: string;
  /** The staged column types, `ingested_at` excluded (the COPY stamps it), the group column last. */
  private readonly types: readonly DuckDBType[];
  private readonly created = new Set<number>();
  private nextFile = 0;
  private nextEncodeId = -1;

  private constructor(
    private readonly table: LakeTable<Row>,
    private readonly workDir: string,
    private readonly instance: DuckDBInstance,
    private readonly connection: DuckDBConnection,
  ) {
    const staged = table.columns.filter(([name]) => name !== "ingested_at");
    this.types = [
      ...staged.map(([name, type]) => {
        const stagedType = STAGED_TYPES[isTimestamp(type) ? "BIGINT" : type.split(" ")[0]!];
        if (!stagedType) throw new Error(`column ${name}: the Parquet encoder cannot stage ${type}`);
        return stagedType;
      }),
      DuckDBIntegerType.instance,
    ];
    this.columnsSql = [
      ...staged.map(
        ([name, type]) => `"${name}" ${isTimestamp(type) ? type.replace(/^TIMESTAMPTZ\b/, "BIGINT") : type}`,
      ),
      `${GROUP_COLUMN} INTEGER NOT NULL`,
    ].join(", ");
    // Each column carries its Iceberg field id, by which Iceberg readers resolve columns (apps/iceberg).
    this.fieldIds = parquetFieldIds(icebergSchema(table.columns));
    this.selectSql = (ingestedAtMicros) =>
      table.columns
        .map(([name, type]) =>
          name === "ingested_at"
            ? `make_timestamp(${ingestedAtMicros}::BIGINT)::TIMESTAMPTZ AS "${name}"`
            : isTimestamp(type)
              ? `make_timestamp("${name}")::TIMESTAMPTZ AS "${name}"`
              : `"${name}"`,
        )
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
   * Appends `rows` to staged table `id` (created by its first append), each in the file `groups[i]` of the
   * table. Rows keep the order they are appended in. Not re-entrant: callers serialise every call.
   */
  async stage(id: number, rows: readonly Row[], groups: ArrayLike<number>): Promise<void> {
    if (!this.created.has(id)) {
      await this.connection.run(`CREATE TABLE ${stagedTable(id)} (${this.columnsSql})`);
      this.created.add(id);
    }
    const appender = await this.connection.createAppender(stagedTable(id));
    try {
      const { cells } = this.table;
      for (let start = 0; start < rows.length; start += CHUNK_ROWS) {
        const count = Math.min(CHUNK_ROWS, rows.length - start);
        const chunk = DuckDBDataChunk.create(this.types, count);
        for (let column = 0; column < cells.length; column++) {
          const vector = chunk.getColumnVector(column);
          const cell = cells[column]!;
          for (let index = 0; index < count; index++)
            vector.setItem(index, cell(rows[start + index]!) as never);
          vector.flush();
        }
        const groupVector = chunk.getColumnVector(cells.length);
        for (let index = 0; index < count; index++)
          groupVector.setItem(index, groups[start + index]! as never);
        groupVector.flush();
        appender.appendDataChunk(chunk);
      }
    } finally {
      appender.closeSync();
    }
  }

  /** One Parquet file of staged table `id`: its rows of `group`, in order, stamped with `ingestedAtMs`. */
  async write(id: number, group: number, ingestedAtMs: number): Promise<Buffer> {
    const file = path.join(this.workDir, `${this.nextFile++}.parquet`);
    const select = this.selectSql(BigInt(ingestedAtMs) * 1000n);
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

  /** Drops staged table `id`, which frees its rows. */
  async drop(id: number): Promise<void> {
    if (!this.created.delete(id)) return;
    await this.connection.run(`DROP TABLE IF EXISTS ${stagedTable(id)}`);
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
