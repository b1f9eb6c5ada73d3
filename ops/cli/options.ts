/** Parsers for numeric CLI options, so every command rejects "--count abc" the same way. */
import { InvalidArgumentError } from "commander";

export function positiveInteger(value: string): number {
  const number = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(number) || number < 1) {
    throw new InvalidArgumentError(`expected a whole number >= 1, got "${value}"`);
  }
  return number;
}

export function positiveNumber(value: string): number {
  const number = Number(value);
  if (value.trim() === "" || !Number.isFinite(number) || number <= 0) {
    throw new InvalidArgumentError(`expected a number > 0, got "${value}"`);
  }
  return number;
}

/** A duration: "60s", "5m", "1h", "500ms", or a bare number of seconds; in milliseconds. */
export function duration(value: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(value.trim());
  const unitMs = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 } as const;
  const ms = match ? Number(match[1]) * unitMs[(match[2] ?? "s") as keyof typeof unitMs] : NaN;
  if (!(ms >= 1)) throw new InvalidArgumentError(`expected a duration like 60s, 5m or 500ms, got "${value}"`);
  return ms;
}

/** A comma-separated list of ticker symbols, upper-cased. */
export function symbolList(value: string): string[] {
  const symbols = value.split(",").map((symbol) => symbol.trim().toUpperCase());
  const bad = symbols.find((symbol) => !/^[A-Z0-9.^=_-]{1,32}$/.test(symbol));
  if (bad !== undefined) throw new InvalidArgumentError(`"${bad}" is not a ticker symbol (e.g. AAPL,MSFT)`);
  return symbols;
}
