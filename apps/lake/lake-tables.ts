/**
 * The lake's tables as the lake sink writes them: which topic records become which rows, their Parquet columns
 * and their `dt` (the event date). `ticks` from the tick topic; `bars_1m` from the rollup's bar topic (one row
 * per bar revision: queries take the latest revision of each symbol and minute).
 */
import { decodeBar } from "../rollup/bar.ts";
import { decodeTick, eventDate, lakeTimestampMicros, meetsContract, type Tick } from "../tick/schema.ts";
import { scanTick } from "../tick/tick-scanner.ts";
import { LAKE_COLUMNS, type LakeRow } from "./lake-row.ts";
import type { StagedRows } from "./staged-rows.ts";

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
  /**
   * The row's value of each column but `ingested_at`, in order; a timestamp as microseconds since the epoch
   * (UTC). The encoder writes them a column at a time (parquet-encoder.ts).
   */
  readonly cells: readonly ((row: Row) => LakeCell)[];
  /**
   * The hot path, where a table has one: writes the record's cells straight into `into` (the row not ended) and
   * returns its `dt`, or returns undefined where it does not decide, and `decode` does.
   */
  readonly scan?: (
    value: Uint8Array,
    partition: number,
    offset: bigint,
    into: StagedRows,
  ) => string | undefined;
}

/** A column's value as the Parquet encoder takes it. */
export type LakeCell = string | number | bigint | null;

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
  cells: [
    (row) => row.symbol,
    (row) => row.tsMicros,
    (row) => row.price,
    (row) => row.volume,
    (row) => row.open,
    (row) => row.high,
    (row) => row.low,
    (row) => row.close,
    (row) => row.source,
    (row) => row.producerId,
    (row) => row.seq,
    (row) => row.kafkaPartition,
    (row) => row.kafkaOffset,
  ],
  scan: scanTick,
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
  cells: [
    (row) => row.symbol,
    (row) => row.minuteMicros,
    (row) => row.open,
    (row) => row.high,
    (row) => row.low,
    (row) => row.close,
    (row) => row.volume,
    (row) => row.vwap,
    (row) => row.ticks,
    (row) => row.revision,
    (row) => row.firstTsMicros,
    (row) => row.lastTsMicros,
    (row) => row.kafkaPartition,
    (row) => row.kafkaOffset,
  ],
};

export const LAKE_TABLES = { ticks: TICKS_TABLE, bars_1m: BARS_TABLE } as const;
