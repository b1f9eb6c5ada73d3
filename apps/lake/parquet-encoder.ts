/**
 * Encodes lake rows as Parquet (zstd) with DuckDB: rows go in through an appender, out through COPY.
 * Timestamps are TIMESTAMPTZ, i.e. Parquet TIMESTAMP(MICROS, UTC), which Athena reads (it cannot read nanoseconds).
 */
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { DuckDBInstance, DuckDBTimestampTZValue, type DuckDBConnection } from "@duckdb/node-api";
import { LAKE_COLUMNS, type LakeRow } from "./lake-row.ts";

export class ParquetEncoder {
  private constructor(
    private readonly instance: DuckDBInstance,
    private readonly connection: DuckDBConnection,
    private readonly workDir: string,
  ) {}

  static async create(): Promise<ParquetEncoder> {
    const instance = await DuckDBInstance.create(":memory:", { threads: "1" });
    const connection = await instance.connect();
    const columns = LAKE_COLUMNS.map(([name, type]) => `"${name}" ${type}`).join(", ");
    await connection.run(`CREATE TEMP TABLE lake_batch (${columns})`);
    const workDir = await mkdtemp(path.join(tmpdir(), "tickstream-parquet-"));
    return new ParquetEncoder(instance, connection, workDir);
  }

  /** One Parquet file holding `rows`, every row stamped with `ingestedAtMs`. Not re-entrant: callers serialise. */
  async encode(rows: readonly LakeRow[], ingestedAtMs: number): Promise<Buffer> {
    await this.connection.run("DELETE FROM lake_batch");
    const appender = await this.connection.createAppender("lake_batch", "main", "temp");
    const ingestedAt = new DuckDBTimestampTZValue(BigInt(ingestedAtMs) * 1000n);
    const appendOptional = (value: number | null) =>
      value === null ? appender.appendNull() : appender.appendDouble(value);
    for (const row of rows) {
      appender.appendVarchar(row.symbol);
      appender.appendTimestampTZ(new DuckDBTimestampTZValue(row.tsMicros));
      appender.appendDouble(row.price);
      appender.appendBigInt(row.volume);
      appendOptional(row.open);
      appendOptional(row.high);
      appendOptional(row.low);
      appendOptional(row.close);
      appender.appendVarchar(row.source);
      appender.appendVarchar(row.producerId);
      appender.appendBigInt(row.seq);
      appender.appendInteger(row.kafkaPartition);
      appender.appendBigInt(row.kafkaOffset);
      appender.appendTimestampTZ(ingestedAt);
      appender.endRow();
    }
    appender.closeSync();
    const file = path.join(this.workDir, "batch.parquet");
    await this.connection.run(
      `COPY (SELECT * FROM lake_batch ORDER BY kafka_offset) TO '${file}' (FORMAT parquet, COMPRESSION zstd)`,
    );
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
