/**
 * Reading the bar topic back (read committed, as any reader) and an independent reference: one-minute bars
 * computed from the ticks alone, with the rollup's documented rules (open/close by event time, then by order in
 * the symbol's partition; VWAP = Σ price·volume / Σ volume).
 */
import { randomUUID } from "node:crypto";
import { decodeBar, type Bar } from "../../apps/rollup/bar.ts";
import { createKafka } from "../../apps/shared/kafka-client.ts";
import { sleep } from "../../apps/shared/retry.ts";
import type { Tick } from "../../apps/tick/schema.ts";

export interface ReadBars {
  readonly all: Bar[];
  /** (symbol, minute, revision) seen more than once. */
  readonly duplicates: string[];
  /** The latest revision of each (symbol, minute), by `symbol|minute`. */
  readonly latest: Map<string, Bar>;
}

/** Every committed bar of the topic, read until nothing new has come for `quietMs`. */
export async function readBars(
  bootstrapServers: readonly string[],
  topic: string,
  quietMs = 3_000,
): Promise<ReadBars> {
  const kafka = createKafka(bootstrapServers, "tickstream-test-bars");
  const consumer = kafka.consumer({ groupId: `bars-reader-${randomUUID()}`, readUncommitted: false });
  const all: Bar[] = [];
  let last = Date.now();
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ message }) => {
      const decoded = decodeBar(message.value);
      if (!decoded.ok) throw new Error(`bad bar message: ${decoded.reason}`);
      all.push(decoded.bar);
      last = Date.now();
    },
  });
  const started = Date.now();
  while (Date.now() - last < quietMs || (all.length === 0 && Date.now() - started < 15_000)) await sleep(200);
  await consumer.disconnect();
  const seen = new Set<string>();
  const duplicates: string[] = [];
  const latest = new Map<string, Bar>();
  for (const bar of all) {
    const id = `${bar.symbol}|${bar.minute}|${bar.revision}`;
    if (seen.has(id)) duplicates.push(id);
    seen.add(id);
    const key = `${bar.symbol}|${bar.minute}`;
    if ((latest.get(key)?.revision ?? -1) < bar.revision) latest.set(key, bar);
  }
  return { all, duplicates, latest };
}

/** Reference bars from ticks in their partition order (`order`: the Kafka offset, or the send order per symbol). */
export function referenceBars(
  ticks: readonly { tick: Tick; order: number }[],
): Map<string, Omit<Bar, "revision">> {
  const groups = new Map<string, { tick: Tick; order: number; ms: number }[]>();
  for (const entry of ticks) {
    const ms = Date.parse(entry.tick.ts);
    const minute = new Date(Math.floor(ms / 60_000) * 60_000).toISOString();
    const key = `${entry.tick.symbol}|${minute}`;
    (groups.get(key) ?? groups.set(key, []).get(key)!).push({ ...entry, ms });
  }
  const result = new Map<string, Omit<Bar, "revision">>();
  for (const [key, entries] of groups) {
    // Σ price·volume in partition order, as the stream folds it (floating point sums depend on the order).
    const byOrder = [...entries].sort((a, b) => a.order - b.order);
    const byTime = [...entries].sort((a, b) => a.ms - b.ms || a.order - b.order);
    const volume = byOrder.reduce((sum, entry) => sum + entry.tick.volume, 0);
    const priceVolume = byOrder.reduce((sum, entry) => sum + entry.tick.price * entry.tick.volume, 0);
    const prices = entries.map((entry) => entry.tick.price);
    result.set(key, {
      symbol: entries[0]!.tick.symbol,
      minute: key.split("|")[1]!,
      open: byTime[0]!.tick.price,
      high: Math.max(...prices),
      low: Math.min(...prices),
      close: byTime.at(-1)!.tick.price,
      volume,
      vwap: volume > 0 ? priceVolume / volume : null,
      ticks: entries.length,
      firstTs: new Date(byTime[0]!.ms).toISOString(),
      lastTs: new Date(byTime.at(-1)!.ms).toISOString(),
    });
  }
  return result;
}

/** The latest revisions without their revision numbers, to compare with the reference. */
export function withoutRevisions(latest: Map<string, Bar>): Map<string, Omit<Bar, "revision">> {
  return new Map(
    [...latest].map(([key, bar]) => {
      const { revision: _revision, ...rest } = bar;
      return [key, rest];
    }),
  );
}

/** Every tick of the topic with its offset (the order the rollup folds a symbol's ticks in). */
export async function readTicks(
  bootstrapServers: readonly string[],
  topic: string,
  expected: number,
): Promise<{ tick: Tick; order: number }[]> {
  const { decodeTick } = await import("../../apps/tick/schema.ts");
  const kafka = createKafka(bootstrapServers, "tickstream-test-ticks");
  const consumer = kafka.consumer({ groupId: `ticks-reader-${randomUUID()}` });
  const ticks: { tick: Tick; order: number }[] = [];
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ message }) => {
      const decoded = decodeTick(message.value);
      if (decoded.ok) ticks.push({ tick: decoded.tick, order: Number(message.offset) });
    },
  });
  const deadline = Date.now() + 60_000;
  while (ticks.length < expected && Date.now() < deadline) await sleep(200);
  await consumer.disconnect();
  if (ticks.length < expected) throw new Error(`read ${ticks.length} of ${expected} ticks from ${topic}`);
  return ticks;
}

/** Produces ticks in order, keyed by symbol, from an idempotent producer; `pauseMs` between chunks. */
export async function produceTicks(
  bootstrapServers: readonly string[],
  topic: string,
  ticks: readonly Tick[],
  options: { chunk?: number; pauseMs?: number } = {},
): Promise<void> {
  const { encodeTick } = await import("../../apps/tick/schema.ts");
  const producer = createKafka(bootstrapServers, "tickstream-producer-test").producer({ idempotent: true });
  await producer.connect();
  try {
    const chunk = options.chunk ?? 500;
    for (let start = 0; start < ticks.length; start += chunk) {
      await producer.send({
        topic,
        acks: -1,
        messages: ticks
          .slice(start, start + chunk)
          .map((tick) => ({ key: tick.symbol, value: encodeTick(tick) })),
      });
      if (options.pauseMs) await sleep(options.pauseMs);
    }
  } finally {
    await producer.disconnect();
  }
}

/** Ticks of several symbols over a span of event time, in order but for a jitter below `jitterMs`. */
export function syntheticTicks(options: {
  startMs: number;
  count: number;
  stepMs: number;
  symbols: readonly string[];
  jitterMs?: number;
  producerId?: string;
  seed?: number;
}): Tick[] {
  let state = options.seed ?? 7;
  const random = () => (state = (state * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31;
  const prices = new Map(options.symbols.map((symbol, index) => [symbol, 100 + index * 50]));
  return Array.from({ length: options.count }, (_, seq) => {
    const symbol = options.symbols[seq % options.symbols.length]!;
    const price = Math.round(prices.get(symbol)! * (1 + (random() - 0.5) / 500) * 100) / 100;
    prices.set(symbol, price);
    const ms = options.startMs + seq * options.stepMs - Math.floor(random() * (options.jitterMs ?? 0));
    return {
      symbol,
      ts: new Date(ms).toISOString(),
      price,
      volume: 1 + Math.floor(random() * 500),
      source: "synthetic",
      producerId: options.producerId ?? "rollup-test",
      seq,
    };
  });
}
