/**
 * The lake's tables as the lake sink writes them: which topic records become which rows, their Parquet columns
 * and their `dt` (the event date). `ticks` from the tick topic; `bars_1m` from the rollup's bar topic (one row
 * per bar revision: queries take the latest revision of each symbol and minute).
 */
import { DuckDBTimestampValue, type DuckDBAppender } from "@duckdb/node-api";
import { decodeBar } from "../rollup/bar.ts";
import { decodeTick, eventDate, lakeTimestampMicros, meetsContract, type Tick } from "../tick/schema.ts";
import { LAKE_COLUMNS, type LakeRow } from "./lake-row.ts";

function parseJson(value: Buffer | null): unknown {
  if (value === null) return undefined;
  try {
    return JSON.parse(value.toString("utf8"));
  } catch {
    return undefined;
  }
}

export type LakeTableName = "ticks" | "bars_1m";

export interface LakeTable<Row extends { readonly kafkaOffset: bigint }> {
  readonly name: LakeTableName;
  /** Object prefix of the table: `<name>/`. */
  readonly prefix: string;
  /** Parquet columns in order, `ingested_at` last (stamped when the object is written). */
  readonly columns: readonly (readonly [string, string])[];
  decode(
    value: Buffer | null,
    partition: number,
    offset: bigint,
  ): { ok: true; row: Row; dt: string } | { ok: false; reason: string };
  /** Appends the row's columns but `ingested_at`. */
  append(appender: DuckDBAppender, row: Row): void;
}

function appendOptional(appender: DuckDBAppender, value: number | null): void {
  if (value === null) appender.appendNull();
  else appender.appendDouble(value);
}

export const TICKS_TABLE: LakeTable<LakeRow> = {
  name: "ticks",
  prefix: "ticks/",
  columns: LAKE_COLUMNS,
  decode(value, partition, offset) {
    // The hot path reads the parsed JSON when it meets the contract; decodeTick decides the rest, with a reason.
    let tick: Tick;
    const parsed = parseJson(value);
    if (meetsContract(parsed)) tick = parsed;
    else {
      const decoded = decodeTick(value);
      if (!decoded.ok) return decoded;
      tick = decoded.tick;
    }
    return {
      ok: true,
      dt: eventDate(tick.ts),
      row: {
        symbol: tick.symbol,
        tsMicros: lakeTimestampMicros(tick.ts),
        price: tick.price,
        volume: BigInt(tick.volume),
        open: tick.open ?? null,
        high: tick.high ?? null,
        low: tick.low ?? null,
        close: tick.close ?? null,
        source: tick.source,
        producerId: tick.producerId,
        seq: BigInt(tick.seq),
        kafkaPartition: partition,
        kafkaOffset: offset,
      },
    };
  },
  append(appender, row) {
    appender.appendVarchar(row.symbol);
    appender.appendTimestamp(new DuckDBTimestampValue(row.tsMicros));
    appender.appendDouble(row.price);
    appender.appendBigInt(row.volume);
    appendOptional(appender, row.open);
    appendOptional(appender, row.high);
    appendOptional(appender, row.low);
    appendOptional(appender, row.close);
    appender.appendVarchar(row.source);
    appender.appendVarchar(row.producerId);
    appender.appendBigInt(row.seq);
    appender.appendInteger(row.kafkaPartition);
    appender.appendBigInt(row.kafkaOffset);
  },
};

export interface BarRow {
  readonly symbol: string;
  readonly minuteMicros: bigint;
  readonly open: number;
  readonly high: number;
  readonly low: number;
  readonly close: number;
  readonly volume: bigint;
  readonly vwap: number | null;
  readonly ticks: number;
  readonly revision: number;
  readonly firstTsMicros: bigint;
  readonly lastTsMicros: bigint;
  readonly kafkaPartition: number;
  readonly kafkaOffset: bigint;
}

export const BAR_COLUMNS = [
  ["symbol", "VARCHAR NOT NULL"],
  ["minute", "TIMESTAMPTZ NOT NULL"],
  ["open", "DOUBLE NOT NULL"],
  ["high", "DOUBLE NOT NULL"],
  ["low", "DOUBLE NOT NULL"],
  ["close", "DOUBLE NOT NULL"],
  ["volume", "BIGINT NOT NULL"],
  ["vwap", "DOUBLE"],
  ["ticks", "INTEGER NOT NULL"],
  ["revision", "INTEGER NOT NULL"],
  ["first_ts", "TIMESTAMPTZ NOT NULL"],
  ["last_ts", "TIMESTAMPTZ NOT NULL"],
  ["kafka_partition", "INTEGER NOT NULL"],
  ["kafka_offset", "BIGINT NOT NULL"],
  ["ingested_at", "TIMESTAMPTZ NOT NULL"],
] as const;

export const BARS_TABLE: LakeTable<BarRow> = {
  name: "bars_1m",
  prefix: "bars_1m/",
  columns: BAR_COLUMNS,
  decode(value, partition, offset) {
    const decoded = decodeBar(value);
    if (!decoded.ok) return decoded;
    const bar = decoded.bar;
    return {
      ok: true,
      dt: eventDate(bar.minute),
      row: {
        symbol: bar.symbol,
        minuteMicros: lakeTimestampMicros(bar.minute),
        open: bar.open,
        high: bar.high,
        low: bar.low,
        close: bar.close,
        volume: BigInt(bar.volume),
        vwap: bar.vwap,
        ticks: bar.ticks,
        revision: bar.revision,
        firstTsMicros: lakeTimestampMicros(bar.firstTs),
        lastTsMicros: lakeTimestampMicros(bar.lastTs),
        kafkaPartition: partition,
        kafkaOffset: offset,
      },
    };
  },
  append(appender, row) {
    appender.appendVarchar(row.symbol);
    appender.appendTimestamp(new DuckDBTimestampValue(row.minuteMicros));
    appender.appendDouble(row.open);
    appender.appendDouble(row.high);
    appender.appendDouble(row.low);
    appender.appendDouble(row.close);
    appender.appendBigInt(row.volume);
    appendOptional(appender, row.vwap);
    appender.appendInteger(row.ticks);
    appender.appendInteger(row.revision);
    appender.appendTimestamp(new DuckDBTimestampValue(row.firstTsMicros));
    appender.appendTimestamp(new DuckDBTimestampValue(row.lastTsMicros));
    appender.appendInteger(row.kafkaPartition);
    appender.appendBigInt(row.kafkaOffset);
  },
};

export const LAKE_TABLES = { ticks: TICKS_TABLE, bars_1m: BARS_TABLE } as const;
