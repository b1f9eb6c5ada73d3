/**
 * What the dashboard draws: per symbol, one candle a UTC minute. A candle is either the rollup's bar (its latest
 * revision: what the lake's `bars_1m` holds) or, for minutes with no bar yet (the minute still open, or no rollup
 * running), an aggregate of the ticks themselves, shown as provisional. Three inputs, folded without
 * double counting:
 *  - history from the lake: bars, tick aggregates (with their first and last tick times) and, per Kafka
 *    partition, the newest offset those aggregates counted (read in the same query, so the same lake);
 *  - live ticks from the tick topic, starting per partition right after that offset (lakeOffset: the live feed
 *    reads it here), where the history's ticks end, not at the lake sink's committed offset, which runs ahead of
 *    the lake while a committed flush is being published; a tick at or below its partition's lake offset is
 *    already in a history aggregate and is skipped;
 *  - live bars from the bar topic (read committed), which replace whatever the minute had, newest revision wins.
 */
import { addTick, newAccumulator, tickMicros, type Bar, type BarAccumulator } from "../rollup/bar.ts";
import type { Tick } from "../tick/schema.ts";

export type CandleKind = "bar" | "ticks";

/** A candle as the page gets it: `time` is the minute's start in seconds since the epoch (UTC). */
export interface Candle {
  readonly symbol: string;
  readonly time: number;
  readonly open: number;
  readonly high: number;
  readonly low: number;
  readonly close: number;
  readonly volume: number;
  readonly ticks: number;
  readonly vwap: number | null;
  /** "bar": the rollup's bar (final but for revisions); "ticks": computed here from ticks. */
  readonly kind: CandleKind;
  readonly revision: number | null;
}

/** A minute aggregated from the lake's ticks (the dashboard's history query returns these). */
export interface TickAggregate {
  readonly symbol: string;
  readonly minute: string;
  readonly open: number;
  readonly high: number;
  readonly low: number;
  readonly close: number;
  readonly volume: number;
  readonly priceVolume: number;
  readonly ticks: number;
  readonly firstTs: string;
  readonly lastTs: string;
}

/** Per symbol: the last price, the change since the first candle of its UTC day, and that day's volume. */
export interface Quote {
  readonly symbol: string;
  readonly price: number;
  readonly time: number;
  readonly dayOpen: number;
  readonly change: number;
  readonly changePercent: number;
  readonly dayVolume: number;
}

type Entry = { kind: "bar"; bar: Bar } | { kind: "ticks"; accumulator: BarAccumulator };

const MINUTE_SECONDS = 60;
const DAY_SECONDS = 86_400;

function minuteSeconds(iso: string): number {
  return Math.floor(Date.parse(iso) / 1000 / MINUTE_SECONDS) * MINUTE_SECONDS;
}

function micros(iso: string): number {
  return Date.parse(iso) * 1000;
}

export class CandleBook {
  private readonly symbols = new Map<string, Map<number, Entry>>();
  /** Per Kafka partition of the tick topic, the newest offset whose tick the history already counted. */
  private readonly lakeOffsets = new Map<number, number>();
  private readonly changed = new Map<string, Set<number>>();

  /** Keeps this many minutes per symbol, counted back from its newest candle. */
  constructor(private readonly keepMinutes = 3 * 24 * 60) {}

  /** History: a minute from the lake's ticks (replaced by a bar of the same minute, now or later). */
  addTickAggregate(row: TickAggregate): void {
    const time = minuteSeconds(row.minute);
    const minutes = this.minutesOf(row.symbol);
    if (minutes.get(time)?.kind === "bar") return;
    // Offsets -1 and +inf: live ticks (later offsets) win ties of event time for the close, lose them for the open.
    minutes.set(time, {
      kind: "ticks",
      accumulator: {
        symbol: row.symbol,
        minuteMicros: time * 1_000_000,
        openMicros: micros(row.firstTs),
        openOffset: -1,
        open: row.open,
        closeMicros: micros(row.lastTs),
        closeOffset: -1,
        close: row.close,
        high: row.high,
        low: row.low,
        volume: row.volume,
        priceVolume: row.priceVolume,
        ticks: row.ticks,
        nextRevision: 0,
      },
    });
    this.markChanged(row.symbol, time);
  }

  /** History: the newest offset of the partition's ticks that the history counted. */
  setLakeOffset(partition: number, offset: number): void {
    this.lakeOffsets.set(partition, Math.max(offset, this.lakeOffsets.get(partition) ?? -1));
  }

  /** The newest offset of the partition that the history counted (live reading starts after it), if any. */
  lakeOffset(partition: number): number | undefined {
    return this.lakeOffsets.get(partition);
  }

  /** A bar (from the lake or the bar topic): it replaces the minute's candle unless that has a newer revision. */
  addBar(bar: Bar): boolean {
    const time = minuteSeconds(bar.minute);
    const minutes = this.minutesOf(bar.symbol);
    const current = minutes.get(time);
    if (current?.kind === "bar" && current.bar.revision >= bar.revision) return false;
    minutes.set(time, { kind: "bar", bar });
    this.markChanged(bar.symbol, time);
    return true;
  }

  /** A live tick at `offset` of `partition`; false when the history counted it or the minute has its bar. */
  addTick(tick: Tick, partition: number, offset: number): boolean {
    if (offset <= (this.lakeOffsets.get(partition) ?? -1)) return false;
    const at = tickMicros(tick);
    const time = Math.floor(at / 1_000_000 / MINUTE_SECONDS) * MINUTE_SECONDS;
    const minutes = this.minutesOf(tick.symbol);
    const current = minutes.get(time);
    // A bar already out is revised by the rollup itself; the page waits for that revision.
    if (current?.kind === "bar") return false;
    if (current) addTick(current.accumulator, at, offset, tick);
    else minutes.set(time, { kind: "ticks", accumulator: newAccumulator(tick.symbol, at, offset, tick) });
    this.markChanged(tick.symbol, time);
    return true;
  }

  symbolNames(): string[] {
    return [...this.symbols.keys()].sort();
  }

  /** A symbol's candles, oldest first. */
  candles(symbol: string): Candle[] {
    const minutes = this.symbols.get(symbol);
    if (!minutes) return [];
    return [...minutes.entries()]
      .sort(([a], [b]) => a - b)
      .map(([time, entry]) => candleOf(symbol, time, entry));
  }

  /** The candles changed since the last call (for live updates), oldest first per symbol. */
  takeChanged(): Candle[] {
    const out: Candle[] = [];
    for (const [symbol, times] of this.changed) {
      const minutes = this.symbols.get(symbol)!;
      for (const time of [...times].sort((a, b) => a - b)) {
        const entry = minutes.get(time);
        if (entry) out.push(candleOf(symbol, time, entry));
      }
    }
    this.changed.clear();
    return out;
  }

  quotes(): Quote[] {
    return this.symbolNames().flatMap((symbol) => {
      const candles = this.candles(symbol);
      const last = candles.at(-1);
      if (!last) return [];
      const dayStart = Math.floor(last.time / DAY_SECONDS) * DAY_SECONDS;
      const day = candles.filter((candle) => candle.time >= dayStart);
      const dayOpen = day[0]!.open;
      const change = last.close - dayOpen;
      return [
        {
          symbol,
          price: last.close,
          time: last.time,
          dayOpen,
          change,
          changePercent: dayOpen === 0 ? 0 : (100 * change) / dayOpen,
          dayVolume: day.reduce((sum, candle) => sum + candle.volume, 0),
        },
      ];
    });
  }

  private minutesOf(symbol: string): Map<number, Entry> {
    let minutes = this.symbols.get(symbol);
    if (!minutes) {
      minutes = new Map();
      this.symbols.set(symbol, minutes);
    }
    return minutes;
  }

  private markChanged(symbol: string, time: number): void {
    let times = this.changed.get(symbol);
    if (!times) {
      times = new Set();
      this.changed.set(symbol, times);
    }
    times.add(time);
    this.prune(symbol);
  }

  private prune(symbol: string): void {
    const minutes = this.symbols.get(symbol)!;
    if (minutes.size <= this.keepMinutes) return;
    const times = [...minutes.keys()].sort((a, b) => a - b);
    for (const time of times.slice(0, times.length - this.keepMinutes)) {
      minutes.delete(time);
      this.changed.get(symbol)?.delete(time);
    }
  }
}

function candleOf(symbol: string, time: number, entry: Entry): Candle {
  if (entry.kind === "bar") {
    const { bar } = entry;
    return {
      symbol,
      time,
      open: bar.open,
      high: bar.high,
      low: bar.low,
      close: bar.close,
      volume: bar.volume,
      ticks: bar.ticks,
      vwap: bar.vwap,
      kind: "bar",
      revision: bar.revision,
    };
  }
  const { accumulator: a } = entry;
  return {
    symbol,
    time,
    open: a.open,
    high: a.high,
    low: a.low,
    close: a.close,
    volume: a.volume,
    ticks: a.ticks,
    vwap: a.volume > 0 ? a.priceVolume / a.volume : null,
    kind: "ticks",
    revision: null,
  };
}
