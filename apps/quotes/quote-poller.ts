/**
 * One poll of a quote API: the latest quote of each symbol, as ticks of the contract, and a one-line error per
 * symbol that failed. A symbol's failure never stops the others. Rate limits (429, or Alpha Vantage's 200 with
 * a throttling note) and server errors are retried a few times with backoff (Retry-After when given, capped);
 * a refused key, a malformed answer and an unknown symbol are not retried.
 */
import { errorMessage } from "../shared/errors.ts";
import { backoffDelayMs, sleep } from "../shared/retry.ts";
import type { SourceTick } from "../producer/sources/index.ts";
import type { QuoteFailure, QuoteProvider, QuoteResult } from "./providers.ts";

export interface QuotePollOptions {
  readonly provider: QuoteProvider;
  /** Default: the provider's documented base URL. */
  readonly baseUrl?: string;
  readonly apiKey: string;
  readonly symbols: readonly string[];
  /** Retries of a rate-limited or failing request (default 2). */
  readonly retries?: number;
  readonly timeoutMs?: number;
  readonly signal?: AbortSignal;
  /** Longest wait before a retry, whatever Retry-After says (default 10 s). */
  readonly maxRetryDelayMs?: number;
}

export interface SymbolError {
  readonly symbol: string;
  readonly kind: QuoteFailure | "unreachable";
  readonly reason: string;
}

export interface QuotePoll {
  readonly ticks: readonly SourceTick[];
  readonly errors: readonly SymbolError[];
}

const RETRIED = new Set<SymbolError["kind"]>(["rate-limited", "server-error", "unreachable"]);

async function requestOnce(
  options: QuotePollOptions,
  symbol: string,
): Promise<{
  result: QuoteResult | { ok: false; kind: "unreachable"; reason: string };
  retryAfterMs?: number;
}> {
  const url = options.provider.url(
    options.baseUrl ?? options.provider.defaultBaseUrl,
    symbol,
    options.apiKey,
  );
  const timeout = AbortSignal.timeout(options.timeoutMs ?? 10_000);
  try {
    const response = await fetch(url, {
      signal: options.signal ? AbortSignal.any([options.signal, timeout]) : timeout,
      headers: { accept: "application/json" },
    });
    const body = await response.text();
    const retryAfter = Number(response.headers.get("retry-after"));
    return {
      result: options.provider.parse(symbol, response.status, body),
      retryAfterMs: Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter * 1000 : undefined,
    };
  } catch (error) {
    // Never the URL: it carries the API key.
    const cause = (error as { cause?: { code?: string } }).cause?.code;
    return { result: { ok: false, kind: "unreachable", reason: cause ?? errorMessage(error) } };
  }
}

export async function pollQuotes(options: QuotePollOptions): Promise<QuotePoll> {
  const ticks: SourceTick[] = [];
  const errors: SymbolError[] = [];
  const retries = options.retries ?? 2;
  for (const symbol of options.symbols) {
    for (let attempt = 0; ; attempt++) {
      const { result, retryAfterMs } = await requestOnce(options, symbol);
      if (result.ok) {
        ticks.push(result.tick);
        break;
      }
      if (!RETRIED.has(result.kind) || attempt >= retries || options.signal?.aborted) {
        errors.push({ symbol, kind: result.kind, reason: result.reason });
        break;
      }
      const delay = Math.min(retryAfterMs ?? backoffDelayMs(attempt), options.maxRetryDelayMs ?? 10_000);
      await sleep(delay, options.signal);
    }
  }
  return { ticks, errors };
}
