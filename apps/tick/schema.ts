/**
 * The tick message contract (DESIGN.md): topic `stock-ticks`, key = symbol, value = UTF-8 JSON.
 * Validated by the producer before sending and by the lake sink on receipt.
 */
import { z } from "zod";

const price = z.number().finite().nonnegative();

export const tickSchema = z.object({
  symbol: z.string().regex(/^[A-Za-z0-9.^=_-]{1,32}$/, "must be 1-32 letters, digits or . ^ = _ -"),
  ts: z.iso.datetime({ offset: false }),
  price,
  volume: z.number().int().nonnegative(),
  open: price.optional(),
  high: price.optional(),
  low: price.optional(),
  close: price.optional(),
  source: z.string().min(1).max(200),
  producerId: z.string().min(1).max(100),
  seq: z.number().int().nonnegative(),
});
// Not .strict(): a field added by a newer producer must not send every tick to quarantine.

export type Tick = z.infer<typeof tickSchema>;

export type DecodeResult = { ok: true; tick: Tick } | { ok: false; reason: string };

const SYMBOL = /^[A-Za-z0-9.^=_-]{1,32}$/;
// A subset of what z.iso.datetime({ offset: false }) accepts: seconds present, UTC, days up to 28 (later days are
// checked against their month below).
const UTC_TIMESTAMP =
  /^\d{4}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12]\d|3[01])T(?:[01]\d|2[0-3]):[0-5]\d:[0-5]\d(?:\.\d{1,9})?Z$/;

function isPrice(value: unknown): boolean {
  return typeof value === "number" && Number.isFinite(value) && value >= 0;
}

function isCount(value: unknown): value is number {
  return typeof value === "number" && Number.isSafeInteger(value) && value >= 0;
}

function isText(value: unknown, max: number): value is string {
  return typeof value === "string" && value.length >= 1 && value.length <= max;
}

function isUtcTimestamp(value: unknown): value is string {
  if (typeof value !== "string" || !UTC_TIMESTAMP.test(value)) return false;
  // YYYY-MM-DD...: the day's digits are at 8 and 9 (no captures: this runs for every tick).
  const day = (value.charCodeAt(8) - 48) * 10 + (value.charCodeAt(9) - 48);
  if (day <= 28) return true;
  const daysInMonth = new Date(
    Date.UTC(Number(value.slice(0, 4)), Number(value.slice(5, 7)), 0),
  ).getUTCDate();
  return day <= daysInMonth;
}

/**
 * True when `value` certainly meets tickSchema. The hot path of the producer and every consumer: checked by hand (zod costs about a tenth of the producer's CPU), and never laxer than the schema (a
 * test compares the two on valid and broken ticks). Anything it does not accept goes through zod, which decides
 * and names the reason.
 */
export function meetsContract(value: unknown): value is Record<string, unknown> & Tick {
  if (typeof value !== "object" || value === null) return false;
  const tick = value as Record<string, unknown>;
  if (
    !(typeof tick.symbol === "string" && SYMBOL.test(tick.symbol)) ||
    !isUtcTimestamp(tick.ts) ||
    !isPrice(tick.price) ||
    !isCount(tick.volume) ||
    !isText(tick.source, 200) ||
    !isText(tick.producerId, 100) ||
    !isCount(tick.seq)
  )
    return false;
  for (const field of ["open", "high", "low", "close"] as const)
    if (tick[field] !== undefined && !isPrice(tick[field])) return false;
  return true;
}

/** The contract's fields of `value` when it certainly meets tickSchema (meetsContract), else undefined. */
export function fastTick(value: unknown): Tick | undefined {
  if (!meetsContract(value)) return undefined;
  const tick = value;
  // Only the contract's fields, in its order (as zod's output would be).
  const out: Partial<Tick> = {
    symbol: tick.symbol,
    ts: tick.ts,
    price: tick.price as number,
    volume: tick.volume,
  };
  if (tick.open !== undefined) out.open = tick.open as number;
  if (tick.high !== undefined) out.high = tick.high as number;
  if (tick.low !== undefined) out.low = tick.low as number;
  if (tick.close !== undefined) out.close = tick.close as number;
  out.source = tick.source;
  out.producerId = tick.producerId;
  out.seq = tick.seq;
  return out as Tick;
}

/** Parses and validates a message value; never throws, so one bad record cannot stop a consumer. */
export function decodeTick(value: Buffer | string | null): DecodeResult {
  if (value !== null) {
    try {
      const fast = fastTick(JSON.parse(typeof value === "string" ? value : value.toString("utf8")));
      if (fast) return { ok: true, tick: fast };
    } catch {
      // Not JSON: decodeJsonMessage says so.
    }
  }
  const decoded = decodeJsonMessage(value, tickSchema, "tick");
  return decoded.ok ? { ok: true, tick: decoded.value } : decoded;
}

/** A JSON message value validated by `schema`, or the one-line reason it is not one (`invalid <what>: …`). */
export function decodeJsonMessage<T>(
  value: Buffer | string | null,
  schema: z.ZodType<T>,
  what: string,
): { ok: true; value: T } | { ok: false; reason: string } {
  if (value === null) return { ok: false, reason: "empty message value" };
  let parsed: unknown;
  try {
    parsed = JSON.parse(typeof value === "string" ? value : value.toString("utf8"));
  } catch (error) {
    return { ok: false, reason: `not JSON: ${(error as Error).message}` };
  }
  const result = schema.safeParse(parsed);
  if (result.success) return { ok: true, value: result.data };
  const issue = result.error.issues[0]!;
  const field = issue.path.length > 0 ? issue.path.join(".") : "value";
  return { ok: false, reason: `invalid ${what}: ${field}: ${issue.message}` };
}

/** Validates and serialises a tick; throws on an invalid one (a bug in the producer, not bad input). */
export function encodeTick(tick: Tick): string {
  // The producer builds its ticks with the contract's fields only: checked, they are written as they are.
  return JSON.stringify(meetsContract(tick) ? tick : tickSchema.parse(tick));
}

/** The UTC event date of a tick, the lake's partition value: "2026-11-25". */
export function eventDate(ts: string): string {
  return ts.slice(0, 10);
}

/**
 * The lake's timestamp of a tick: microseconds since the epoch (Parquet TIMESTAMP(MICROS)), truncated to the
 * millisecond. Athena's Hive connector reads Parquet timestamps at millisecond precision and rounds half up, so
 * a tick at 23:59:59.9996 would land in the next day's minute there, in the previous day's on DuckDB, with
 * `dt` saying the previous day. Truncating here makes every engine read the same instant, minute and day.
 * Ticks carry milliseconds (the contract); finer digits are accepted and dropped.
 */
export function lakeTimestampMicros(ts: string): bigint {
  // The contract's own form, YYYY-MM-DDTHH:MM:SS.sssZ, is exactly what Date.parse reads to the millisecond.
  if (ts.length === 24 && ts.charCodeAt(19) === 46 /* . */ && ts.charCodeAt(23) === 90 /* Z */) {
    const ms = Date.parse(ts);
    if (Number.isFinite(ms)) return BigInt(ms) * 1_000n;
  }
  const match = /^(.*T\d{2}:\d{2}:\d{2})(?:\.(\d+))?Z$/.exec(ts);
  if (!match) throw new RangeError(`not an ISO-8601 UTC timestamp: ${ts}`);
  const seconds = BigInt(Date.parse(`${match[1]}Z`)) / 1000n;
  const millis = (match[2] ?? "").padEnd(3, "0").slice(0, 3);
  return seconds * 1_000_000n + BigInt(millis) * 1_000n;
}
