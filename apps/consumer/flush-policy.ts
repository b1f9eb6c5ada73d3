/** When the lake sink flushes a partition: a module of its own so that the CLI shows the defaults without loading the sink. */
export interface FlushPolicy {
  /** Flush a partition once it buffers this many records. */
  readonly maxRecords: number;
  /** ... or this many bytes of message payload. */
  readonly maxBytes: number;
  /** ... or once its oldest buffered record has waited this long. */
  readonly intervalMs: number;
}

export const DEFAULT_FLUSH_POLICY: FlushPolicy = {
  maxRecords: 25_000,
  maxBytes: 32 * 1024 * 1024,
  intervalMs: 2_000,
};
