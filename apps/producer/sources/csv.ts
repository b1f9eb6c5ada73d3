/**
 * CSV replay. Reads the whole file, then yields ticks in timestamp order (stable for equal times), unlike the
 * tutorials' random sampling. Layouts are recognised by their header:
 *  - Kaggle "Stock Exchange Data": Index,Date,Open,High,Low,Close,Adj Close,Volume,CloseUSD
 *    (symbol = Index, price = Close, in the index's own currency like open/high/low);
 *  - plain: symbol,date,price (vega-datasets' stocks.csv), with optional volume/open/high/low/close.
 * A row that cannot become a tick is reported with its line number and skipped; a file without the needed
 * columns is refused as a whole.
 */
import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import path from "node:path";
import { parse } from "csv-parse";
import { SourceError } from "../../shared/errors.ts";
import type { SourceRowError, SourceTick, TickSource } from "./source.ts";

type Field = "symbol" | "date" | "price" | "volume" | "open" | "high" | "low" | "close";

/** Header names each field may have, most specific first (compared case-insensitively). */
const FIELD_NAMES: Record<Field, readonly string[]> = {
  symbol: ["symbol", "ticker", "index", "name"],
  date: ["ts", "timestamp", "datetime", "date", "time"],
  price: ["price", "close", "last"],
  volume: ["volume"],
  open: ["open"],
  high: ["high"],
  low: ["low"],
  close: ["close"],
};
const REQUIRED: readonly Field[] = ["symbol", "date", "price"];

export type ColumnMap = Partial<Record<Field, number>>;

export function mapColumns(header: readonly string[], file: string): ColumnMap {
  const lower = header.map((name) => name.trim().toLowerCase());
  const columns: ColumnMap = {};
  for (const field of Object.keys(FIELD_NAMES) as Field[]) {
    for (const name of FIELD_NAMES[field]) {
      const index = lower.indexOf(name);
      if (index >= 0) {
        columns[field] = index;
        break;
      }
    }
  }
  const missing = REQUIRED.filter((field) => columns[field] === undefined);
  if (missing.length > 0) {
    const wanted = missing.map((field) => `${field} (${FIELD_NAMES[field].join("|")})`).join(", ");
    throw new SourceError(`${file}: missing column ${wanted}; the header is: ${header.join(",")}`);
  }
  return columns;
}

const MONTHS = "jan feb mar apr may jun jul aug sep oct nov dec".split(" ");

/** Parses a date or timestamp as UTC: 2020-01-31, 2020-01-31T10:00:00[.123][Z|+01:00], 2020-01-31 10:00, Jan 1 2000. */
export function parseTimestamp(text: string): number | undefined {
  const value = text.trim();
  let match =
    /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(\.\d+)?)?)?(Z|[+-]\d{2}:?\d{2})?$/.exec(value);
  if (match) {
    const [, y, mo, d, h = "00", mi = "00", s = "00", fraction = "", zone = "Z"] = match;
    const ms = Date.parse(`${y}-${mo}-${d}T${h}:${mi}:${s}${fraction.slice(0, 4)}${zone}`);
    return Number.isNaN(ms) || Number(mo) > 12 || Number(d) > 31 ? undefined : ms;
  }
  match = /^([A-Za-z]{3})[a-z]* (\d{1,2}),? (\d{4})$/.exec(value);
  if (match) {
    const month = MONTHS.indexOf(match[1]!.toLowerCase());
    const day = Number(match[2]);
    if (month < 0 || day < 1 || day > 31) return undefined;
    return Date.UTC(Number(match[3]), month, day);
  }
  return undefined;
}

function parseNumber(text: string | undefined): number | undefined {
  if (text === undefined || text.trim() === "") return undefined;
  const value = Number(text.trim());
  return Number.isFinite(value) ? value : undefined;
}

/** Turns one data row into a tick, or the reason it cannot be one. */
export function rowToTick(row: readonly string[], columns: ColumnMap, width: number): SourceTick | string {
  if (row.length !== width) return `expected ${width} fields, found ${row.length}`;
  const cell = (field: Field) => (columns[field] === undefined ? undefined : row[columns[field]!]);
  const symbol = cell("symbol")?.trim() ?? "";
  if (!/^[A-Za-z0-9.^=_-]{1,32}$/.test(symbol)) return `symbol "${symbol}" is not a ticker symbol`;
  const ms = parseTimestamp(cell("date") ?? "");
  if (ms === undefined) return `date "${cell("date")}" is not a date`;
  const price = parseNumber(cell("price"));
  if (price === undefined || price < 0) return `price "${cell("price")}" is not a non-negative number`;
  const volumeText = cell("volume");
  const volume = volumeText === undefined || volumeText.trim() === "" ? 0 : parseNumber(volumeText);
  if (volume === undefined || volume < 0) return `volume "${volumeText}" is not a non-negative number`;
  const tick: { -readonly [K in keyof SourceTick]: SourceTick[K] } = {
    symbol,
    ts: new Date(ms).toISOString(),
    price,
    volume: Math.round(volume),
  };
  for (const field of ["open", "high", "low", "close"] as const) {
    const text = cell(field);
    if (text === undefined || text.trim() === "" || text.trim().toLowerCase() === "null") continue;
    const value = parseNumber(text);
    if (value === undefined || value < 0) return `${field} "${text}" is not a non-negative number`;
    tick[field] = value;
  }
  return tick;
}

export class CsvSource implements TickSource {
  readonly name: string;
  readonly historical = true;

  constructor(private readonly file: string) {
    this.name = `csv:${path.basename(file)}`;
  }

  /** Reads and validates every row, then returns the ticks sorted by time (stable). */
  async load(onRowError: (error: SourceRowError) => void): Promise<SourceTick[]> {
    const info = await stat(this.file).catch(() => undefined);
    if (!info?.isFile()) throw new SourceError(`${this.file}: no such file`);
    if (info.size === 0)
      throw new SourceError(`${this.file}: the file is empty; expected a header such as symbol,date,price`);
    const parser = createReadStream(this.file).pipe(
      parse({
        bom: true,
        info: true,
        relax_column_count: true,
        relax_quotes: true,
        skip_empty_lines: true,
        trim: true,
      }),
    );
    const ticks: SourceTick[] = [];
    let columns: ColumnMap | undefined;
    let width = 0;
    try {
      for await (const { record, info: rowInfo } of parser as AsyncIterable<{
        record: string[];
        info: { lines: number };
      }>) {
        if (!columns) {
          columns = mapColumns(record, this.file);
          width = record.length;
          continue;
        }
        const result = rowToTick(record, columns, width);
        if (typeof result === "string") onRowError({ line: rowInfo.lines, reason: result });
        else ticks.push(result);
      }
    } catch (error) {
      if (error instanceof SourceError) throw error;
      throw new SourceError(`${this.file}: cannot be read as CSV: ${(error as Error).message}`, {
        cause: error,
      });
    }
    if (!columns)
      throw new SourceError(`${this.file}: the file is empty; expected a header such as symbol,date,price`);
    const order = ticks.map((tick, index) => ({ ms: Date.parse(tick.ts), index }));
    order.sort((a, b) => a.ms - b.ms || a.index - b.index);
    return order.map(({ index }) => ticks[index]!);
  }

  async *ticks(onRowError: (error: SourceRowError) => void): AsyncIterable<SourceTick> {
    yield* await this.load(onRowError);
  }
}
