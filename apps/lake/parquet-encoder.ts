/**
 * Encodes a lake table's rows as Parquet (zstd) with DuckDB: rows go in through an appender, out through COPY.
 * Timestamps are TIMESTAMPTZ, i.e. Parquet TIMESTAMP(MICROS, UTC), which Athena reads (it cannot read nanoseconds).
 * They are appended as plain TIMESTAMP microseconds (UTC) and cast in the COPY: the appender's TIMESTAMPTZ path
 * allocates a native value per cell that only the JS garbage collector frees (measured: a sink's RSS grew by
 * about 170 MB over 30 batches of 10,000 rows), its TIMESTAMP path writes the number directly.
 */
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { DuckDBInstance, DuckDBTimestampValue, type DuckDBConnection } from "@duckdb/node-api";
import type { LakeRow } from "./lake-row.ts";
import { TICKS_TABLE, type LakeTable } from "./lake-tables.ts";

export class ParquetEncoder<Row extends { readonly kafkaOffset: bigint } = LakeRow> {
  private constructor(
    private readonly table: LakeTable<Row>,
    private readonly instance: DuckDBInstance,
    private readonly connection: DuckDBConnection,
    private readonly workDir: string,
    private readonly copySql: (file: string) => string,
  ) {}

  static async create<Row extends { readonly kafkaOffset: bigint } = LakeRow>(
    table: LakeTable<Row> = TICKS_TABLE as unknown as LakeTable<Row>,
  ): Promise<ParquetEncoder<Row>> {
    const instance = await DuckDBInstance.create(":memory:", { threads: "1" });
    const connection = await instance.connect();
    await connection.run("SET TimeZone = 'UTC'");
    const staged = (type: string) => type.replace(/^TIMESTAMPTZ\b/, "TIMESTAMP");
    const columns = table.columns.map(([name, type]) => `"${name}" ${staged(type)}`).join(", ");
    await connection.run(`CREATE TEMP TABLE lake_batch (${columns})`);
    const selected = table.columns
      .map(([name, type]) => (staged(type) === type ? `"${name}"` : `"${name}"::TIMESTAMPTZ AS "${name}"`))
      .join(", ");
    const copySql = (file: string) =>
      `COPY (SELECT ${selected} FROM lake_batch ORDER BY kafka_offset) TO '${file}' (FORMAT parquet, COMPRESSION zstd)`;
    const workDir = await mkdtemp(path.join(tmpdir(), "tickstream-parquet-"));
    return new ParquetEncoder(table, instance, connection, workDir, copySql);
  }

  /** One Parquet file holding `rows`, every row stamped with `ingestedAtMs`. Not re-entrant: callers serialise. */
  async encode(rows: readonly Row[], ingestedAtMs: number): Promise<Buffer> {
    await this.connection.run("DELETE FROM lake_batch");
    const appender = await this.connection.createAppender("lake_batch", "main", "temp");
    const ingestedAt = new DuckDBTimestampValue(BigInt(ingestedAtMs) * 1000n);
    for (const row of rows) {
      this.table.append(appender, row);
      appender.appendTimestamp(ingestedAt);
      appender.endRow();
    }
    appender.closeSync();
    const file = path.join(this.workDir, "batch.parquet");
    await this.connection.run(this.copySql(file));
    try {
      return await readFile(file);
    } finally {
      await rm(file, { force: true });
    }
  }

  async close(): Promise<void> {
    this.connection.closeSync();
    this.instance.closeSync();
    await rm(this.workDir, { recursive: true, force: true });
  }
}
