/**
 * A quote API on loopback answering in each provider's documented shapes (Finnhub `/quote`, Alpha Vantage
 * `/query?function=GLOBAL_QUOTE`), with a behaviour per symbol: a quote, or one of the failures the poller
 * must survive. It stands in for the providers' servers, which cannot be reached from here.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";

export type SymbolBehaviour =
  | { readonly quote: Record<string, unknown> }
  | { readonly status: number; readonly body?: string; readonly times?: number }
  | { readonly body: string };

export interface QuoteApi {
  readonly url: string;
  /** Behaviour per symbol; a `times` failure answers that many times, then the symbol's `after` quote. */
  readonly symbols: Map<string, SymbolBehaviour & { after?: Record<string, unknown> }>;
  /** Every request: path, symbol and the key it carried. */
  readonly requests: { path: string; symbol: string; key: string }[];
  close(): Promise<void>;
}

export async function startQuoteApi(): Promise<QuoteApi> {
  const symbols: QuoteApi["symbols"] = new Map();
  const requests: QuoteApi["requests"] = [];
  const served = new Map<string, number>();
  const server = http.createServer((request, response) => {
    const url = new URL(request.url ?? "/", "http://localhost");
    const symbol = url.searchParams.get("symbol") ?? "";
    const key = url.searchParams.get("token") ?? url.searchParams.get("apikey") ?? "";
    requests.push({ path: url.pathname, symbol, key });
    const behaviour = symbols.get(symbol);
    const json = (status: number, body: unknown) =>
      response.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body));
    if (!behaviour) {
      // Each provider's documented answer for a symbol it does not know.
      return url.pathname === "/quote"
        ? json(200, { c: 0, d: null, dp: null, h: 0, l: 0, o: 0, pc: 0, t: 0 })
        : json(200, { "Global Quote": {} });
    }
    if ("quote" in behaviour) return json(200, behaviour.quote);
    if ("status" in behaviour) {
      const count = (served.get(symbol) ?? 0) + 1;
      served.set(symbol, count);
      if (behaviour.times !== undefined && count > behaviour.times && behaviour.after)
        return json(200, behaviour.after);
      response.writeHead(behaviour.status, { "content-type": "application/json", "retry-after": "0" });
      return response.end(behaviour.body ?? "{}");
    }
    return response.writeHead(200, { "content-type": "application/json" }).end(behaviour.body);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    symbols,
    requests,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** Finnhub's `/quote` answer (numbers; `t` in epoch seconds). */
export function finnhubQuote(price: number, epochSeconds: number) {
  return {
    c: price,
    d: 1.2,
    dp: 0.6,
    h: price + 2,
    l: price - 3,
    o: price - 1,
    pc: price - 1.2,
    t: epochSeconds,
  };
}

/** Alpha Vantage's GLOBAL_QUOTE answer (every value a string). */
export function alphaVantageQuote(symbol: string, price: number, volume: number, day: string) {
  return {
    "Global Quote": {
      "01. symbol": symbol,
      "02. open": (price - 1).toFixed(4),
      "03. high": (price + 2).toFixed(4),
      "04. low": (price - 3).toFixed(4),
      "05. price": price.toFixed(4),
      "06. volume": String(volume),
      "07. latest trading day": day,
      "08. previous close": (price - 1.5).toFixed(4),
      "09. change": "1.5000",
      "10. change percent": "0.8000%",
    },
  };
}
