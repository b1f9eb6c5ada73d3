/** What a producer source yields: market data without the producer's identity and sequence number. */
export interface SourceTick {
  readonly symbol: string;
  /** ISO-8601 UTC with milliseconds. */
  readonly ts: string;
  readonly price: number;
  readonly volume: number;
  readonly open?: number;
  readonly high?: number;
  readonly low?: number;
  readonly close?: number;
}

/** A row a source could not turn into a tick; the run goes on without it. */
export interface SourceRowError {
  readonly line: number;
  readonly reason: string;
}

export interface TickSource {
  /** Written into each tick's `source` field: "synthetic", "csv:stocks.csv". */
  readonly name: string;
  /** True when timestamps are historical, so `--speed` can replay their spacing. */
  readonly historical: boolean;
  /** Synchronous when the ticks need no I/O (synthetic), so the producer reads them without a promise each. */
  ticks(onRowError: (error: SourceRowError) => void): AsyncIterable<SourceTick> | Iterable<SourceTick>;
}
