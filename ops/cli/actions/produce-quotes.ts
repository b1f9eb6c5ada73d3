/**
 * `tickstream produce --source quotes:PROVIDER --symbols A,B --every 60s`: poll the quote API until Ctrl-C (or
 * until --count ticks), each poll produced through the same producer as the other sources.
 */
import { ConfigError } from "../../../apps/shared/errors.ts";
import { sleep } from "../../../apps/shared/retry.ts";
import { defaultProducerId } from "../../../apps/producer/producer.ts";
import { produceQuotes } from "../../../apps/quotes/produce-quotes.ts";
import { QUOTE_PROVIDERS } from "../../../apps/quotes/providers.ts";
import type { LocalEnvironment } from "../../local/environment.ts";
import { formatCount, formatPairs, type Output } from "../output.ts";
import type { UntilStopped } from "../signals.ts";

/** The API key's variable: a key is a secret, so never an argument. */
export const QUOTES_API_KEY_ENV = "TICKSTREAM_QUOTES_API_KEY";

export interface QuotePollingOptions {
  readonly provider: string;
  readonly symbols?: string[];
  readonly everyMs: number;
  readonly count?: number;
  readonly topic?: string;
  readonly producerId?: string;
}

export async function runQuotePolling(
  output: Output,
  environment: LocalEnvironment,
  options: QuotePollingOptions,
  lifecycle: UntilStopped,
): Promise<void> {
  const stop = lifecycle.stop;
  const provider = QUOTE_PROVIDERS[options.provider];
  if (!provider)
    throw new ConfigError(
      `--source quotes:${options.provider}: unknown provider; known: ${Object.keys(QUOTE_PROVIDERS).join(", ")}`,
    );
  if (!options.symbols || options.symbols.length === 0)
    throw new ConfigError("--source quotes:… needs --symbols, e.g. --symbols AAPL,MSFT");
  const apiKey = process.env[QUOTES_API_KEY_ENV];
  if (!apiKey) throw new ConfigError(`set ${QUOTES_API_KEY_ENV} to your ${provider.name} API key`);
  const baseUrl = environment.settings.quotesBaseUrl || undefined;
  const producerId = options.producerId ?? defaultProducerId();
  lifecycle.doing("connecting to the lake");
  const s3 = await environment.lakeClient();
  lifecycle.running("polling");
  const totals = { polls: 0, produced: 0, unchanged: 0, errors: 0 };
  try {
    while (!stop.aborted) {
      const startedAt = Date.now();
      lifecycle.doing(
        `poll ${totals.polls + 1} (its quotes are sent again by the next poll: the state in _state/quotes is written ` +
          "only after the broker acknowledged them)",
      );
      const result = await produceQuotes({
        provider,
        baseUrl,
        apiKey,
        symbols: options.symbols,
        signal: stop,
        bootstrapServers: environment.bootstrapServers,
        topic: options.topic ?? environment.settings.topic,
        s3,
        bucket: environment.lake.bucket,
        producerId,
        firstSeq: totals.produced,
      });
      totals.polls++;
      totals.produced += result.produced;
      totals.unchanged += result.unchanged;
      totals.errors += result.errors.length;
      for (const error of result.errors)
        output.warn(`${provider.name} ${error.symbol}: ${error.kind}: ${error.reason}`);
      output.progress(
        `poll ${totals.polls}: ${result.produced} new, ${result.unchanged} unchanged, ${result.errors.length} failed`,
      );
      if (options.count !== undefined && totals.produced >= options.count) break;
      lifecycle.doing("nothing (waiting for the next poll)");
      await sleep(Math.max(0, startedAt + options.everyMs - Date.now()), stop);
    }
  } finally {
    s3.destroy();
  }
  output.result(
    { source: `quotes:${provider.name}`, producerId, ...totals },
    formatPairs([
      ["polls", formatCount(totals.polls)],
      ["produced", formatCount(totals.produced)],
      ["unchanged", formatCount(totals.unchanged)],
      ["failed", formatCount(totals.errors)],
      ["producerId", producerId],
    ]),
  );
}
