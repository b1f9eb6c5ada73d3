/**
 * The dashboard's history, read from the lake with the project's SQL engines (DuckDB over the local catalog,
 * Athena for a stack): the rollup's bars (latest revision), the minutes of the ticks themselves, and per Kafka
 * partition the newest offset those counted, in the same query as the minutes: two queries could see two
 * states of the lake (a flush published in between), and then the live feed would skip ticks no minute
 * counted. The range is the newest event date in the lake and the day before, so a replay of old data shows as
 * well as today's stream. The SQL runs unchanged on both engines.
 */
import { ListObjectsV2Command, type S3Client } from "@aws-sdk/client-s3";
import { BARS_PREFIX, TICKS_PREFIX } from "../lake/layout.ts";
import { renderNamedQuery } from "../query/named-queries.ts";
import type { CellValue, QueryResult } from "../query/query-result.ts";
import type { Bar } from "../rollup/bar.ts";
import type { TickAggregate } from "./candle-book.ts";

/** Runs one SQL text on the environment's engine (its bytes scanned are reported when it is Athena). */
export type SqlRunner = (sql: string) => Promise<QueryResult>;

export interface LakeHistory {
  readonly bars: Bar[];
  readonly tickMinutes: TickAggregate[];
  /** Per Kafka partition, the newest offset of the ticks counted in `tickMinutes`. */
  readonly lakeOffsets: Map<number, number>;
  /** The first event date read (YYYY-MM-DD), or undefined for an empty lake. */
  readonly fromDate?: string;
  readonly queries: number;
  /** Per query, the bytes Athena scanned (empty for DuckDB): Athena bills each query at least 10 MB. */
  readonly bytesScanned: readonly number[];
}

/**
 * A minute's OHLCV from ticks (first and last by event time, ties by Kafka offset, as the rollup does), and in
 * the same scan, one row a Kafka partition (symbol and minute null) with the newest offset counted.
 */
function tickMinutesSql(fromDate: string, athenaIceberg: boolean): string {
  // A stack's ticks table is an Iceberg table with hidden day(ts) partitions and no dt: bound the event time.
  const since = athenaIceberg ? `ts >= TIMESTAMP '${fromDate} 00:00:00 UTC'` : `dt >= '${fromDate}'`;
  return `
WITH ranked AS (
  SELECT symbol, date_trunc('minute', ts) AS minute, ts, price, volume, kafka_partition, kafka_offset,
         row_number() OVER (PARTITION BY symbol, date_trunc('minute', ts) ORDER BY ts, kafka_partition, kafka_offset) AS first_rank,
         row_number() OVER (PARTITION BY symbol, date_trunc('minute', ts) ORDER BY ts DESC, kafka_partition DESC, kafka_offset DESC) AS last_rank
  FROM ticks
  WHERE ${since}
)
SELECT symbol, minute, kafka_partition,
       max(CASE WHEN first_rank = 1 THEN price END) AS open,
       max(price) AS high,
       min(price) AS low,
       max(CASE WHEN last_rank = 1 THEN price END) AS close,
       sum(volume) AS volume,
       sum(price * volume) AS price_volume,
       count(*) AS ticks,
       min(ts) AS first_ts,
       max(ts) AS last_ts,
       max(kafka_offset) AS last_offset
FROM ranked
GROUP BY GROUPING SETS ((symbol, minute), (kafka_partition))
ORDER BY kafka_partition, symbol, minute`.trim();
}

/** The event dates a table prefix holds (its `dt=` folders), newest last. */
export async function lakeDates(s3: S3Client, bucket: string, prefix: string): Promise<string[]> {
  const dates: string[] = [];
  let token: string | undefined;
  do {
    const page = await s3.send(
      new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, Delimiter: "/", ContinuationToken: token }),
    );
    for (const common of page.CommonPrefixes ?? []) {
      const match = /dt=(\d{4}-\d{2}-\d{2})\/$/.exec(common.Prefix ?? "");
      if (match) dates.push(match[1]!);
    }
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  return dates.sort();
}

function dayBefore(date: string): string {
  return new Date(Date.parse(`${date}T00:00:00Z`) - 86_400_000).toISOString().slice(0, 10);
}

function rowsOf(result: QueryResult): Record<string, CellValue>[] {
  return result.rows.map((row) =>
    Object.fromEntries(result.columns.map((name, i) => [name, row[i] ?? null])),
  );
}

const number = (value: CellValue): number => Number(value);
const iso = (value: CellValue): string => new Date(String(value)).toISOString();

/** The columns a bar row and a tick-minute row share. */
function minuteOf(row: Record<string, CellValue>) {
  return {
    symbol: String(row.symbol),
    minute: iso(row.minute),
    open: number(row.open),
    high: number(row.high),
    low: number(row.low),
    close: number(row.close),
    volume: number(row.volume),
    ticks: number(row.ticks),
  };
}

export async function loadLakeHistory(options: {
  readonly s3: S3Client;
  readonly bucket: string;
  readonly runSql: SqlRunner;
  /** The tables the catalog has (bars are read only when it has bars_1m). */
  readonly tables: ReadonlySet<string>;
  /** Athena over a stack's Iceberg tables (no dt column: named-queries.ts). */
  readonly athenaIceberg?: boolean;
}): Promise<LakeHistory> {
  const tickDates = await lakeDates(options.s3, options.bucket, TICKS_PREFIX);
  const barDates = options.tables.has("bars_1m")
    ? await lakeDates(options.s3, options.bucket, BARS_PREFIX)
    : [];
  const newest = [tickDates.at(-1), barDates.at(-1)].filter(Boolean).sort().at(-1);
  if (!newest || !options.tables.has("ticks"))
    return { bars: [], tickMinutes: [], lakeOffsets: new Map(), queries: 0, bytesScanned: [] };
  const fromDate = dayBefore(newest);
  let queries = 0;
  const bytesScanned: number[] = [];
  const run = async (sql: string) => {
    const result = await options.runSql(sql);
    queries++;
    if (result.bytesScanned !== undefined) bytesScanned.push(result.bytesScanned);
    return rowsOf(result);
  };
  const bars: Bar[] = options.tables.has("bars_1m")
    ? (
        await run(
          renderNamedQuery(
            "bars-1m",
            { from: fromDate },
            options.tables,
            options.athenaIceberg ? { athenaIceberg: {} } : {},
          ),
        )
      ).map((row) => ({
        ...minuteOf(row),
        vwap: row.vwap === null ? null : number(row.vwap),
        revision: number(row.revision),
        firstTs: iso(row.minute),
        lastTs: iso(row.minute),
      }))
    : [];
  const tickMinutes: TickAggregate[] = [];
  const lakeOffsets = new Map<number, number>();
  for (const row of await run(tickMinutesSql(fromDate, options.athenaIceberg ?? false))) {
    if (row.symbol === null) lakeOffsets.set(number(row.kafka_partition), number(row.last_offset));
    else
      tickMinutes.push({
        ...minuteOf(row),
        priceVolume: number(row.price_volume),
        firstTs: iso(row.first_ts),
        lastTs: iso(row.last_ts),
      });
  }
  return { bars, tickMinutes, lakeOffsets, fromDate, queries, bytesScanned };
}
