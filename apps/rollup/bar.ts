/**
 * One-minute bars: the aggregate of a symbol's ticks whose event time falls in one UTC minute, and the bar
 * message of topic `stock-bars-1m` (key `SYMBOL|minute`, value UTF-8 JSON):
 *   { symbol, minute, open, high, low, close, volume, vwap, ticks, revision, firstTs, lastTs }
 * `minute` is the minute's start (ISO, UTC). open/close are the prices of the minute's first and last tick in
 * event time, ties broken by Kafka offset (a symbol's ticks share one partition, so the offset orders them);
 * vwap is Σ price·volume / Σ volume (null when the volume is 0, as for quote APIs that report none). A bar is
 * emitted once its minute has closed (revision 0) and again, with the next revision, whenever a late tick
 * changes it: the latest revision of a (symbol, minute) is the bar over every tick seen.
 */
import { z } from "zod";
import { decodeJsonMessage, lakeTimestampMicros, type Tick } from "../tick/schema.ts";

export const MINUTE_MICROS = 60_000_000;
export const DEFAULT_BARS_TOPIC = "stock-bars-1m";

/** The running aggregate of one bar (what the rollup keeps and snapshots). */
export interface BarAccumulator {
  readonly symbol: string;
  readonly minuteMicros: number;
  openMicros: number;
  openOffset: number;
  open: number;
  closeMicros: number;
  closeOffset: number;
  close: number;
  high: number;
  low: number;
  volume: number;
  /** Σ price × volume, in tick order. */
  priceVolume: number;
  ticks: number;
  /** The revision the next emission of this bar carries (0 until it is first emitted). */
  nextRevision: number;
}

export function minuteOf(micros: number): number {
  return Math.floor(micros / MINUTE_MICROS) * MINUTE_MICROS;
}

export function barKey(symbol: string, minuteMicros: number): string {
  return `${symbol}|${new Date(minuteMicros / 1000).toISOString()}`;
}

export function newAccumulator(symbol: string, micros: number, offset: number, tick: Tick): BarAccumulator {
  return {
    symbol,
    minuteMicros: minuteOf(micros),
    openMicros: micros,
    openOffset: offset,
    open: tick.price,
    closeMicros: micros,
    closeOffset: offset,
    close: tick.price,
    high: tick.price,
    low: tick.price,
    volume: tick.volume,
    priceVolume: tick.price * tick.volume,
    ticks: 1,
    nextRevision: 0,
  };
}

/** Adds a tick (at event time `micros`, Kafka offset `offset`) to the bar of its minute. */
export function addTick(bar: BarAccumulator, micros: number, offset: number, tick: Tick): void {
  if (micros < bar.openMicros || (micros === bar.openMicros && offset < bar.openOffset)) {
    bar.openMicros = micros;
    bar.openOffset = offset;
    bar.open = tick.price;
  }
  if (micros > bar.closeMicros || (micros === bar.closeMicros && offset > bar.closeOffset)) {
    bar.closeMicros = micros;
    bar.closeOffset = offset;
    bar.close = tick.price;
  }
  if (tick.price > bar.high) bar.high = tick.price;
  if (tick.price < bar.low) bar.low = tick.price;
  bar.volume += tick.volume;
  bar.priceVolume += tick.price * tick.volume;
  bar.ticks++;
}

export function tickMicros(tick: Tick): number {
  return Number(lakeTimestampMicros(tick.ts));
}

export const barSchema = z.object({
  symbol: z.string().min(1),
  minute: z.iso.datetime({ offset: false }),
  open: z.number(),
  high: z.number(),
  low: z.number(),
  close: z.number(),
  volume: z.number().int().nonnegative(),
  vwap: z.number().nullable(),
  ticks: z.number().int().positive(),
  revision: z.number().int().nonnegative(),
  firstTs: z.iso.datetime({ offset: false }),
  lastTs: z.iso.datetime({ offset: false }),
});

export type Bar = z.infer<typeof barSchema>;

function iso(micros: number): string {
  return new Date(micros / 1000).toISOString();
}

/** The bar message of an accumulator at revision `revision`. */
export function barOf(bar: BarAccumulator, revision: number): Bar {
  return {
    symbol: bar.symbol,
    minute: iso(bar.minuteMicros),
    open: bar.open,
    high: bar.high,
    low: bar.low,
    close: bar.close,
    volume: bar.volume,
    vwap: bar.volume > 0 ? bar.priceVolume / bar.volume : null,
    ticks: bar.ticks,
    revision,
    firstTs: iso(bar.openMicros),
    lastTs: iso(bar.closeMicros),
  };
}

export type DecodedBar = { ok: true; bar: Bar } | { ok: false; reason: string };

export function decodeBar(value: Buffer | string | null): DecodedBar {
  const decoded = decodeJsonMessage(value, barSchema, "bar");
  return decoded.ok ? { ok: true, bar: decoded.value } : decoded;
}
