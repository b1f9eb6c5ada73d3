/**
 * The named analyses computed directly from the ticks that were produced, in plain TypeScript, as the
 * independent reference the SQL results are checked against.
 */
import type { Tick } from "../../apps/tick/schema.ts";

function groupBy<T>(items: readonly T[], key: (item: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const k = key(item);
    groups.set(k, [...(groups.get(k) ?? []), item]);
  }
  return groups;
}

/** Ticks in time order, ties broken as the SQL does: ts, then producerId, then seq. */
function chronological(ticks: readonly Tick[]): Tick[] {
  return [...ticks].sort(
    (a, b) => a.ts.localeCompare(b.ts) || a.producerId.localeCompare(b.producerId) || a.seq - b.seq,
  );
}

export function latestPrice(ticks: readonly Tick[]) {
  return [...groupBy(ticks, (tick) => tick.symbol)]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([symbol, group]) => {
      const last = chronological(group).at(-1)!;
      return [symbol, last.price, last.ts];
    });
}

export function ohlcv(ticks: readonly Tick[], bucketOf: (tick: Tick) => string) {
  return [...groupBy(ticks, (tick) => `${tick.symbol}|${bucketOf(tick)}`)]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([key, group]) => {
      const ordered = chronological(group);
      const [symbol, bucket] = key.split("|");
      const prices = group.map((tick) => tick.price);
      return [
        symbol,
        bucket,
        ordered[0]!.price,
        Math.max(...prices),
        Math.min(...prices),
        ordered.at(-1)!.price,
        group.reduce((sum, tick) => sum + tick.volume, 0),
        group.length,
      ];
    });
}

export const minuteOf = (tick: Tick) => `${tick.ts.slice(0, 16)}:00.000Z`;
export const dayOf = (tick: Tick) => tick.ts.slice(0, 10);

export function vwapDaily(ticks: readonly Tick[]) {
  return [
    ...groupBy(
      ticks.filter((tick) => tick.volume > 0),
      (tick) => `${tick.symbol}|${dayOf(tick)}`,
    ),
  ]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([key, group]) => {
      const [symbol, day] = key.split("|");
      const volume = group.reduce((sum, tick) => sum + tick.volume, 0);
      const notional = group.reduce((sum, tick) => sum + tick.price * tick.volume, 0);
      return [symbol, day, notional / volume, volume, group.length];
    });
}

export function topMovers(ticks: readonly Tick[]) {
  return [...groupBy(ticks, (tick) => tick.symbol)]
    .map(([symbol, group]) => {
      const ordered = chronological(group);
      const first = ordered[0]!.price;
      const last = ordered.at(-1)!.price;
      return [symbol, first, last, (100 * (last - first)) / first] as [string, number, number, number];
    })
    .sort((a, b) => b[3] - a[3] || a[0].localeCompare(b[0]));
}

export function freshness(ticks: readonly Tick[]) {
  return [...groupBy(ticks, (tick) => tick.symbol)]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([symbol, group]) => [symbol, group.length, chronological(group).at(-1)!.ts]);
}
