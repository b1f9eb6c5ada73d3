/**
 * Synthetic ticks: a geometric random walk per symbol, driven by a seeded PRNG so that a seed always gives
 * the same sequence of symbols, prices and volumes. Timestamps are the wall clock, unless a fixed clock is set.
 */
import seedrandom from "seedrandom";
import type { SourceTick, TickSource } from "./source.ts";

export const DEFAULT_SYMBOLS: Readonly<Record<string, number>> = {
  AAPL: 189.12,
  MSFT: 415.5,
  AMZN: 178.25,
  GOOGL: 165.8,
  NVDA: 120.4,
  META: 495.3,
  TSLA: 242.1,
  JPM: 198.75,
};

export interface SyntheticOptions {
  readonly seed?: string;
  /** Symbol -> starting price. */
  readonly symbols?: Readonly<Record<string, number>>;
  /** Standard deviation of one tick's log return. */
  readonly volatility?: number;
  /** Deterministic timestamps: the first tick at `startMs`, then `stepMs` apart. Default: the wall clock. */
  readonly clock?: { readonly startMs: number; readonly stepMs: number };
}

export class SyntheticSource implements TickSource {
  readonly name = "synthetic";
  readonly historical = false;

  constructor(private readonly options: SyntheticOptions = {}) {}

  *ticks(): Iterable<SourceTick> {
    const random = seedrandom(this.options.seed ?? "tickstream");
    const prices = new Map(Object.entries(this.options.symbols ?? DEFAULT_SYMBOLS));
    const symbols = [...prices.keys()];
    const volatility = this.options.volatility ?? 0.0008;
    const gaussian = () => {
      // Box-Muller; 1 - random() keeps the logarithm finite.
      const u = 1 - random();
      return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * random());
    };
    for (let index = 0; ; index++) {
      const symbol = symbols[Math.floor(random() * symbols.length)]!;
      const next = prices.get(symbol)! * Math.exp(volatility * gaussian());
      prices.set(symbol, next);
      const volume = 1 + Math.floor(-Math.log(1 - random()) * 200);
      const clock = this.options.clock;
      const ms = clock ? clock.startMs + index * clock.stepMs : Date.now();
      yield { symbol, ts: new Date(ms).toISOString(), price: Math.round(next * 100) / 100, volume };
    }
  }
}
