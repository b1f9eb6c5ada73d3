/** Exponential backoff with full jitter; the defaults for every retry loop in the project live here. */
export interface BackoffOptions {
  readonly initialDelayMs: number;
  readonly maxDelayMs: number;
  readonly multiplier: number;
}

export const DEFAULT_BACKOFF: BackoffOptions = { initialDelayMs: 200, maxDelayMs: 5_000, multiplier: 2 };

/** Delay before retry number `attempt` (0-based): uniformly random in [0, min(max, initial * multiplier^attempt)]. */
export function backoffDelayMs(attempt: number, options: BackoffOptions = DEFAULT_BACKOFF): number {
  const ceiling = Math.min(options.maxDelayMs, options.initialDelayMs * options.multiplier ** attempt);
  return Math.round(ceiling * (0.5 + Math.random() * 0.5));
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    }
    signal?.addEventListener("abort", done, { once: true });
  });
}

export interface RetryOptions {
  /** Attempts after the first; Infinity retries until `signal` aborts. */
  readonly retries: number;
  readonly backoff?: BackoffOptions;
  readonly isRetriable?: (error: unknown) => boolean;
  readonly onRetry?: (error: unknown, attempt: number, delayMs: number) => void;
  readonly signal?: AbortSignal;
}

/** Runs `operation` until it succeeds, a non-retriable error is thrown, retries run out or `signal` aborts. */
export async function retry<T>(
  operation: (attempt: number) => Promise<T>,
  options: RetryOptions,
): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await operation(attempt);
    } catch (error) {
      const retriable = options.isRetriable?.(error) ?? true;
      if (!retriable || attempt >= options.retries || options.signal?.aborted) throw error;
      const delayMs = backoffDelayMs(attempt, options.backoff);
      options.onRetry?.(error, attempt + 1, delayMs);
      await sleep(delayMs, options.signal);
      if (options.signal?.aborted) throw error;
    }
  }
}

/** Resolves when `predicate` returns true, polling every `intervalMs`; rejects with `describe()` after `timeoutMs`. */
export async function waitFor(
  predicate: () => Promise<boolean> | boolean,
  options: { timeoutMs: number; intervalMs?: number; describe: () => string },
): Promise<void> {
  const deadline = Date.now() + options.timeoutMs;
  for (;;) {
    if (await predicate()) return;
    if (Date.now() > deadline) throw new Error(options.describe());
    await sleep(options.intervalMs ?? 250);
  }
}
