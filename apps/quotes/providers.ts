/**
 * Quote API adapters: how to ask a provider for one symbol's latest quote, and how to read its answer into a
 * tick stamped with the quote's own time. Each documented failure becomes a kind the poller counts and, for
 * rate limits and server errors, backs off on.
 *  - Finnhub `/quote?symbol=S&token=K`: `{"c","d","dp","h","l","o","pc","t"}`, numbers, `t` in epoch seconds;
 *    an unknown symbol answers all zeros (`t: 0`); no volume in this endpoint (0 is written).
 *  - Alpha Vantage `/query?function=GLOBAL_QUOTE&symbol=S&apikey=K`: `{"Global Quote": {"01. symbol", "02. open",
 *    "03. high", "04. low", "05. price", "06. volume", "07. latest trading day", ...}}`, all strings; an unknown
 *    symbol answers `{"Global Quote": {}}`; throttling is a 200 whose body is `{"Note": …}` or
 *    `{"Information": …}`; a bad key is `{"Error Message": …}`. The quote's time is its trading day only, taken
 *    as that day's New York close (16:00 America/New_York), so a symbol yields one tick per trading day.
 */
import type { SourceTick } from "../producer/sources/index.ts";

export type QuoteFailure = "rate-limited" | "unauthorized" | "server-error" | "malformed" | "unknown-symbol";

export type QuoteResult =
  | { readonly ok: true; readonly tick: SourceTick }
  | { readonly ok: false; readonly kind: QuoteFailure; readonly reason: string };

export interface QuoteProvider {
  readonly name: "finnhub" | "alphavantage";
  /** The provider's documented base URL (a setting may point elsewhere, e.g. a test server). */
  readonly defaultBaseUrl: string;
  url(baseUrl: string, symbol: string, apiKey: string): URL;
  parse(symbol: string, status: number, body: string): QuoteResult;
}

const fail = (kind: QuoteFailure, reason: string): QuoteResult => ({ ok: false, kind, reason });

/** The failure an HTTP status means before the body is read, if any. */
function statusFailure(status: number): QuoteResult | undefined {
  if (status === 429) return fail("rate-limited", "HTTP 429 (rate limited)");
  if (status === 401 || status === 403)
    return fail("unauthorized", `HTTP ${status} (the API key was refused)`);
  if (status >= 500) return fail("server-error", `HTTP ${status}`);
  if (status !== 200) return fail("malformed", `HTTP ${status}`);
  return undefined;
}

function parseJson(body: string): { ok: true; value: unknown } | { ok: false; result: QuoteResult } {
  try {
    return { ok: true, value: JSON.parse(body) };
  } catch (error) {
    return { ok: false, result: fail("malformed", `not JSON (${(error as Error).message})`) };
  }
}

/** `<base>/<path>?<params>`, whatever slashes the base ends with. */
function endpoint(baseUrl: string, path: string, params: Record<string, string>): URL {
  const url = new URL(`${baseUrl.replace(/\/+$/, "")}/${path}`);
  for (const [name, value] of Object.entries(params)) url.searchParams.set(name, value);
  return url;
}

const isPrice = (value: unknown): value is number =>
  typeof value === "number" && Number.isFinite(value) && value >= 0;

export const finnhub: QuoteProvider = {
  name: "finnhub",
  defaultBaseUrl: "https://finnhub.io/api/v1",
  url: (baseUrl, symbol, apiKey) => endpoint(baseUrl, "quote", { symbol, token: apiKey }),
  parse(symbol, status, body) {
    const byStatus = statusFailure(status);
    if (byStatus) return byStatus;
    const parsed = parseJson(body);
    if (!parsed.ok) return parsed.result;
    const quote = parsed.value as Record<string, unknown>;
    if (typeof quote !== "object" || quote === null || !("c" in quote) || !("t" in quote))
      return fail("malformed", 'no "c" and "t" in the answer');
    if (quote.t === 0 && quote.c === 0) return fail("unknown-symbol", "the provider knows no such symbol");
    if (!isPrice(quote.c) || typeof quote.t !== "number" || !Number.isInteger(quote.t) || quote.t <= 0)
      return fail(
        "malformed",
        `price ${JSON.stringify(quote.c)} or time ${JSON.stringify(quote.t)} is not valid`,
      );
    return {
      ok: true,
      tick: {
        symbol,
        ts: new Date(quote.t * 1000).toISOString(),
        price: quote.c,
        volume: 0,
        ...(isPrice(quote.o) && quote.o > 0 ? { open: quote.o } : {}),
        ...(isPrice(quote.h) && quote.h > 0 ? { high: quote.h } : {}),
        ...(isPrice(quote.l) && quote.l > 0 ? { low: quote.l } : {}),
      },
    };
  },
};

/** 16:00 in New York on a trading day, as an ISO instant (EST or EDT, whichever holds that day). */
export function newYorkClose(day: string): string {
  const noonUtc = new Date(`${day}T12:00:00Z`);
  const newYorkHour = Number(
    new Intl.DateTimeFormat("en-US", { timeZone: "America/New_York", hour: "numeric", hour12: false }).format(
      noonUtc,
    ),
  );
  const offsetHours = 12 - newYorkHour; // 5 in winter, 4 in summer
  return new Date(Date.parse(`${day}T16:00:00Z`) + offsetHours * 3_600_000).toISOString();
}

export const alphaVantage: QuoteProvider = {
  name: "alphavantage",
  defaultBaseUrl: "https://www.alphavantage.co",
  url: (baseUrl, symbol, apiKey) =>
    endpoint(baseUrl, "query", { function: "GLOBAL_QUOTE", symbol, apikey: apiKey }),
  parse(symbol, status, body) {
    const byStatus = statusFailure(status);
    if (byStatus) return byStatus;
    const parsed = parseJson(body);
    if (!parsed.ok) return parsed.result;
    const answer = parsed.value as Record<string, unknown>;
    if (typeof answer !== "object" || answer === null) return fail("malformed", "not a JSON object");
    const note = answer.Note ?? answer.Information;
    if (typeof note === "string") return fail("rate-limited", `throttled: ${note.slice(0, 120)}`);
    if (typeof answer["Error Message"] === "string")
      return fail("unauthorized", `refused: ${String(answer["Error Message"]).slice(0, 120)}`);
    const quote = answer["Global Quote"] as Record<string, string> | undefined;
    if (typeof quote !== "object" || quote === null)
      return fail("malformed", 'no "Global Quote" in the answer');
    if (Object.keys(quote).length === 0) return fail("unknown-symbol", "the provider knows no such symbol");
    const number = (key: string) => Number(quote[key]);
    const day = quote["07. latest trading day"] ?? "";
    const price = number("05. price");
    const volume = number("06. volume");
    if (!/^\d{4}-\d{2}-\d{2}$/.test(day) || !isPrice(price) || !Number.isInteger(volume) || volume < 0)
      return fail(
        "malformed",
        `price "${quote["05. price"]}", volume "${quote["06. volume"]}" or day "${day}" is not valid`,
      );
    const optional = (key: string, field: "open" | "high" | "low") =>
      isPrice(number(key)) ? { [field]: number(key) } : {};
    return {
      ok: true,
      tick: {
        symbol,
        ts: newYorkClose(day),
        price,
        volume,
        ...optional("02. open", "open"),
        ...optional("03. high", "high"),
        ...optional("04. low", "low"),
      },
    };
  },
};

export const QUOTE_PROVIDERS: Readonly<Record<string, QuoteProvider>> = {
  finnhub,
  alphavantage: alphaVantage,
};
