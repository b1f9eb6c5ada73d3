/**
 * The analyses a stock-data user runs, each one SQL text that runs unchanged on Athena (Trino) and DuckDB.
 * Shared-dialect rules kept here: only functions both engines have (date_trunc, date_diff, count, sum, max,
 * min, row_number), no engine-specific literals; first/last price by row_number() with a full tie-break
 * (ts, producer_id, seq), since min_by/max_by pick an arbitrary row among equal timestamps.
 * Filters go on `dt`, the partition column, so both engines skip the partitions outside the range.
 */
import { ConfigError } from "../shared/errors.ts";

export interface NamedQueryParameters {
  readonly symbol?: string;
  /** Inclusive UTC dates, YYYY-MM-DD. */
  readonly from?: string;
  readonly to?: string;
}

export interface NamedQuery {
  readonly name: string;
  readonly description: string;
  /** `{{where}}` becomes the filter on symbol and dt ("1 = 1" without one). */
  readonly template: string;
  /** The text used instead when the catalog has the rollup's `bars_1m` table. */
  readonly withBars?: string;
  /** Tables it cannot run without. */
  readonly requires?: readonly string[];
}

/** The latest revision of each (symbol, minute) of the rollup's bars. */
const LATEST_BARS = `
  SELECT symbol, minute, open, high, low, close, volume, vwap, ticks, revision,
         row_number() OVER (PARTITION BY symbol, minute ORDER BY revision DESC) AS revision_rank
  FROM bars_1m
  WHERE {{where}}`;

const FIRST_LAST = (bucket: string) => `
  SELECT symbol, ${bucket} AS bucket, price, volume,
         row_number() OVER (PARTITION BY symbol, ${bucket} ORDER BY ts, producer_id, seq) AS first_rank,
         row_number() OVER (PARTITION BY symbol, ${bucket} ORDER BY ts DESC, producer_id DESC, seq DESC) AS last_rank
  FROM ticks
  WHERE {{where}}`;

const OHLCV = (bucket: string, label: string) => `
WITH ranked AS (${FIRST_LAST(bucket)})
SELECT symbol,
       bucket AS ${label},
       max(CASE WHEN first_rank = 1 THEN price END) AS open,
       max(price) AS high,
       min(price) AS low,
       max(CASE WHEN last_rank = 1 THEN price END) AS close,
       sum(volume) AS volume,
       count(*) AS ticks
FROM ranked
GROUP BY symbol, bucket
ORDER BY symbol, bucket`;

export const NAMED_QUERIES: readonly NamedQuery[] = [
  {
    name: "latest-price",
    description: "the last traded price of each symbol, with its time",
    template: `
WITH ranked AS (${FIRST_LAST("symbol")})
SELECT r.symbol, r.price, t.ts
FROM ranked r
JOIN (SELECT symbol, max(ts) AS ts FROM ticks WHERE {{where}} GROUP BY symbol) t ON t.symbol = r.symbol
WHERE r.last_rank = 1
ORDER BY r.symbol`,
  },
  {
    name: "ohlcv-1m",
    description:
      "open, high, low, close and volume per symbol per minute (from the rollup's bars where they cover a minute, else from ticks)",
    template: OHLCV("date_trunc('minute', ts)", "minute"),
    // Minutes the rollup has a bar for come from bars_1m (latest revision: no scan of their ticks' ranks);
    // others (before the rollup ran, or past its revision window) from ticks.
    withBars: `
WITH bars AS (${LATEST_BARS}),
from_ticks AS (${OHLCV("date_trunc('minute', ts)", "minute").replace(/ORDER BY symbol, bucket\s*$/, "")})
SELECT symbol, minute, open, high, low, close, volume, ticks
FROM bars
WHERE revision_rank = 1
UNION ALL
SELECT t.symbol, t.minute, t.open, t.high, t.low, t.close, t.volume, t.ticks
FROM from_ticks t
WHERE NOT EXISTS (SELECT 1 FROM bars b WHERE b.revision_rank = 1 AND b.symbol = t.symbol AND b.minute = t.minute)
ORDER BY symbol, minute`,
  },
  {
    name: "bars-1m",
    description: "the rollup's one-minute bars (latest revision): OHLCV, VWAP and tick count",
    requires: ["bars_1m"],
    template: `
WITH latest AS (${LATEST_BARS})
SELECT symbol, minute, open, high, low, close, volume, vwap, ticks, revision
FROM latest
WHERE revision_rank = 1
ORDER BY symbol, minute`,
  },
  {
    name: "ohlcv-1d",
    description: "open, high, low, close and volume per symbol per day (UTC)",
    template: OHLCV("dt", "day"),
  },
  {
    name: "vwap-daily",
    description: "volume-weighted average price per symbol per day (UTC)",
    template: `
SELECT symbol, dt AS day, sum(price * volume) / sum(volume) AS vwap, sum(volume) AS volume, count(*) AS ticks
FROM ticks
WHERE {{where}} AND volume > 0
GROUP BY symbol, dt
ORDER BY symbol, dt`,
  },
  {
    name: "top-movers",
    description: "symbols by percentage change from their first to their last price in the range",
    template: `
WITH ranked AS (${FIRST_LAST("'range'")})
SELECT symbol,
       max(CASE WHEN first_rank = 1 THEN price END) AS first_price,
       max(CASE WHEN last_rank = 1 THEN price END) AS last_price,
       100 * (max(CASE WHEN last_rank = 1 THEN price END) - max(CASE WHEN first_rank = 1 THEN price END))
           / max(CASE WHEN first_rank = 1 THEN price END) AS change_pct
FROM ranked
GROUP BY symbol
ORDER BY change_pct DESC, symbol`,
  },
  {
    name: "freshness",
    description: "tick count, last tick time and lag behind now per symbol",
    template: `
SELECT symbol, count(*) AS ticks, max(ts) AS last_tick, date_diff('millisecond', max(ts), current_timestamp) AS lag_ms
FROM ticks
WHERE {{where}}
GROUP BY symbol
ORDER BY symbol`,
  },
];

const DATE = /^\d{4}-\d{2}-\d{2}$/;
const SYMBOL = /^[A-Za-z0-9.^=_-]{1,32}$/;

export function findNamedQuery(name: string): NamedQuery {
  const query = NAMED_QUERIES.find((candidate) => candidate.name === name);
  if (!query) {
    throw new ConfigError(
      `no named query "${name}"; known: ${NAMED_QUERIES.map((candidate) => candidate.name).join(", ")}`,
    );
  }
  return query;
}

/** Each table's event time, which its Iceberg table is partitioned by (day) and a `dt` is derived from. */
const EVENT_TIME: Readonly<Record<string, string>> = { ticks: "ts", bars_1m: "minute" };

/**
 * Athena over the stack's Iceberg tables: they have no `dt` column (their partitioning is hidden, `day(ts)`), so
 * each table becomes a subquery that derives it, filtered on the event time (which Iceberg prunes partitions
 * by), and read as of a time when asked (`FOR TIMESTAMP AS OF`, Athena's time travel).
 */
function athenaIcebergSource(table: string, parameters: NamedQueryParameters, asOfMs?: number): string {
  const time = EVENT_TIME[table]!;
  const bounds: string[] = [];
  if (parameters.from) bounds.push(`${time} >= TIMESTAMP '${parameters.from} 00:00:00 UTC'`);
  if (parameters.to) {
    const next = new Date(Date.parse(`${parameters.to}T00:00:00Z`) + 86_400_000).toISOString().slice(0, 10);
    bounds.push(`${time} < TIMESTAMP '${next} 00:00:00 UTC'`);
  }
  const asOf =
    asOfMs === undefined
      ? ""
      : ` FOR TIMESTAMP AS OF TIMESTAMP '${new Date(asOfMs).toISOString().replace("T", " ").replace("Z", "")} UTC'`;
  return (
    `(SELECT *, date_format(${time}, '%Y-%m-%d') AS dt FROM ${table}${asOf}` +
    `${bounds.length > 0 ? ` WHERE ${bounds.join(" AND ")}` : ""}) AS ${table}`
  );
}

export interface RenderOptions {
  /** Render for Athena over the stack's Iceberg tables, as of this time when given. */
  readonly athenaIceberg?: { readonly asOfMs?: number };
}

/** The query's SQL with its filter; every value is validated before it is placed in the text. */
export function renderNamedQuery(
  name: string,
  parameters: NamedQueryParameters = {},
  /** The catalogued tables; undefined = only ticks and quarantine. */
  tables?: ReadonlySet<string>,
  options: RenderOptions = {},
): string {
  const query = findNamedQuery(name);
  const missing = (query.requires ?? []).filter((table) => !tables?.has(table));
  if (missing.length > 0)
    throw new ConfigError(
      `--named ${name} needs table ${missing.join(", ")}, which the catalog does not have yet: run the rollup (tickstream rollup), its lake sink (tickstream consume --table bars_1m), then tickstream crawl`,
    );
  const template = query.withBars && tables?.has("bars_1m") ? query.withBars : query.template;
  const conditions: string[] = [];
  if (parameters.symbol !== undefined) {
    if (!SYMBOL.test(parameters.symbol))
      throw new ConfigError(`--symbol "${parameters.symbol}" is not a ticker symbol`);
    conditions.push(`symbol = '${parameters.symbol}'`);
  }
  for (const [option, value, operator] of [
    ["--from", parameters.from, ">="],
    ["--to", parameters.to, "<="],
  ] as const) {
    if (value === undefined) continue;
    if (!DATE.test(value) || Number.isNaN(Date.parse(`${value}T00:00:00Z`))) {
      throw new ConfigError(`${option} "${value}" is not a date like 2026-11-25`);
    }
    conditions.push(`dt ${operator} '${value}'`);
  }
  if (parameters.from && parameters.to && parameters.from > parameters.to) {
    throw new ConfigError(`--from ${parameters.from} is after --to ${parameters.to}`);
  }
  const sql = template
    .replaceAll("{{where}}", conditions.length > 0 ? conditions.join(" AND ") : "1 = 1")
    .trim();
  const { athenaIceberg } = options;
  if (!athenaIceberg) return sql;
  return sql.replace(
    /\bFROM (ticks|bars_1m)\b/g,
    (_, table: string) => `FROM ${athenaIcebergSource(table, parameters, athenaIceberg.asOfMs)}`,
  );
}
