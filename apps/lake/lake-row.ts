/** A row of the `ticks` table, as the lake sink writes it to Parquet. */
export interface LakeRow {
  readonly symbol: string;
  readonly tsMicros: bigint;
  readonly price: number;
  readonly volume: bigint;
  readonly open: number | null;
  readonly high: number | null;
  readonly low: number | null;
  readonly close: number | null;
  readonly source: string;
  readonly producerId: string;
  readonly seq: bigint;
  readonly kafkaPartition: number;
  readonly kafkaOffset: bigint;
}

/** The Parquet columns, in order; `ingested_at` is stamped when the object is written. */
export const LAKE_COLUMNS = [
  ["symbol", "VARCHAR NOT NULL"],
  ["ts", "TIMESTAMPTZ NOT NULL"],
  ["price", "DOUBLE NOT NULL"],
  ["volume", "BIGINT NOT NULL"],
  ["open", "DOUBLE"],
  ["high", "DOUBLE"],
  ["low", "DOUBLE"],
  ["close", "DOUBLE"],
  ["source", "VARCHAR NOT NULL"],
  ["producer_id", "VARCHAR NOT NULL"],
  ["seq", "BIGINT NOT NULL"],
  ["kafka_partition", "INTEGER NOT NULL"],
  ["kafka_offset", "BIGINT NOT NULL"],
  ["ingested_at", "TIMESTAMPTZ NOT NULL"],
] as const;
