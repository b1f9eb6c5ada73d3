/**
 * Reads a tick's JSON bytes straight into the lake's columns (apps/lake/staged-rows.ts): the lake sink's hot
 * path. JSON.parse, the contract check and a row object cost about 1.4 us per tick and most of the encode
 * worker's garbage; this reads the bytes once and makes no string but a text's first sight.
 *
 * It decides only what it certainly decides as the contract does (decodeTick and the lake's row): a flat object
 * of the contract's fields, each once, strings of printable ASCII without escapes, numbers without sign or
 * exponent of at most 15 digits, and timestamps in the contract's own form (YYYY-MM-DDTHH:MM:SS.sssZ). For
 * anything else (whitespace, escapes, other fields, other forms, or a tick the contract rejects) it writes
 * nothing and returns undefined, and the caller decodes the value the slow way, which decides and names the
 * reason. A test compares the two on generated and mangled ticks (test/apps/tick/tick-scanner.test.ts).
 */
import type { StagedRows } from "../lake/staged-rows.ts";

/** The `ticks` table's staged columns (LAKE_COLUMNS' order). */
const SYMBOL = 0;
const TS = 1;
const PRICE = 2;
const VOLUME = 3;
const OPEN = 4;
const HIGH = 5;
const LOW = 6;
const CLOSE = 7;
const SOURCE = 8;
const PRODUCER_ID = 9;
const SEQ = 10;
const KAFKA_PARTITION = 11;
const KAFKA_OFFSET = 12;

const REQUIRED =
  (1 << SYMBOL) | (1 << TS) | (1 << PRICE) | (1 << VOLUME) | (1 << SOURCE) | (1 << PRODUCER_ID) | (1 << SEQ);

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COLON = 0x3a;
const COMMA = 0x2c;
const DOT = 0x2e;
const ZERO = 0x30;
const NINE = 0x39;

/** 10^k for k <= 22: exactly representable, so a 15-digit mantissa divided by one is correctly rounded. */
const POWERS_OF_TEN = Array.from({ length: 23 }, (_, k) => 10 ** k);

/** A date's start in ms since the epoch and its `dt`, by YYYYMMDD; null: not a calendar date. */
const days = new Map<number, { readonly startMs: number; readonly dt: string } | null>();

function day(year: number, month: number, dayOfMonth: number): { startMs: number; dt: string } | null {
  const key = year * 10_000 + month * 100 + dayOfMonth;
  let known = days.get(key);
  if (known === undefined) {
    const date = new Date(0);
    date.setUTCFullYear(year, month - 1, dayOfMonth);
    known =
      date.getUTCMonth() === month - 1 && date.getUTCDate() === dayOfMonth
        ? { startMs: date.getTime(), dt: date.toISOString().slice(0, 10) }
        : null;
    if (days.size > 10_000) days.clear();
    days.set(key, known);
  }
  return known;
}

const digit = (bytes: Uint8Array, at: number) => {
  const value = bytes[at]! - ZERO;
  return value >= 0 && value <= 9 ? value : -1;
};

/** Two digits at `at`, or -1. */
function twoDigits(bytes: Uint8Array, at: number): number {
  const high = digit(bytes, at);
  const low = digit(bytes, at + 1);
  return high < 0 || low < 0 ? -1 : high * 10 + low;
}

/** A symbol's byte: letters, digits and . ^ = _ - (the contract's /^[A-Za-z0-9.^=_-]{1,32}$/). */
function isSymbolByte(byte: number): boolean {
  return (
    (byte >= 0x41 && byte <= 0x5a) ||
    (byte >= 0x61 && byte <= 0x7a) ||
    (byte >= ZERO && byte <= NINE) ||
    byte === DOT ||
    byte === 0x5e ||
    byte === 0x3d ||
    byte === 0x5f ||
    byte === 0x2d
  );
}

/**
 * Writes the tick in `value` as a row's cells into `into` (the row is not ended) and returns its event date
 * (`dt`), or returns undefined having written nothing it decides (the caller decodes the value the slow way).
 */
export function scanTick(
  value: Uint8Array,
  partition: number,
  offset: bigint,
  into: StagedRows,
): string | undefined {
  const end = value.length;
  if (end < 2 || value[0] !== 0x7b || value[end - 1] !== 0x7d) return undefined;
  let at = 1;
  let seen = 0;
  let dt: string | undefined;
  // Cells are written as they are read; a row that is then refused is not ended, so the next overwrites them.
  const row = into.rows;
  for (;;) {
    // "key":
    if (value[at] !== QUOTE) return undefined;
    const keyStart = at + 1;
    let keyEnd = keyStart;
    while (keyEnd < end && value[keyEnd] !== QUOTE) keyEnd++;
    const column = fieldAt(value, keyStart, keyEnd);
    if (column < 0 || seen & (1 << column) || value[keyEnd + 1] !== COLON) return undefined;
    seen |= 1 << column;
    at = keyEnd + 2;
    if (column === SYMBOL || column === TS || column === SOURCE || column === PRODUCER_ID) {
      if (value[at] !== QUOTE) return undefined;
      const start = at + 1;
      let stop = start;
      for (; stop < end; stop++) {
        const byte = value[stop]!;
        if (byte === QUOTE) break;
        // Escapes, control characters (not JSON) and non-ASCII (where characters are not bytes): the slow way.
        if (byte === BACKSLASH || byte < 0x20 || byte > 0x7e) return undefined;
      }
      const length = stop - start;
      if (column === SYMBOL) {
        if (length < 1 || length > 32) return undefined;
        for (let index = start; index < stop; index++) if (!isSymbolByte(value[index]!)) return undefined;
        into.ints[SYMBOL]![row] = into.dictionaries[SYMBOL]!.codeOfAscii(value, start, stop);
      } else if (column === TS) {
        dt = timestamp(value, start, stop, into, row);
        if (dt === undefined) return undefined;
      } else {
        if (length < 1 || length > (column === SOURCE ? 200 : 100)) return undefined;
        into.ints[column]![row] = into.dictionaries[column]!.codeOfAscii(value, start, stop);
      }
      at = stop + 1;
    } else {
      // A number: digits, then optionally a fraction; no sign (a negative price or count is refused, so it is
      // the slow way's to name) and no exponent.
      let mantissa = 0;
      let digits = 0;
      let fraction = -1;
      const start = at;
      for (; at < end; at++) {
        const byte = value[at]!;
        if (byte >= ZERO && byte <= NINE) {
          mantissa = mantissa * 10 + (byte - ZERO);
          digits++;
        } else if (byte === DOT && fraction < 0 && digits > 0) fraction = digits;
        else break;
      }
      // JSON forbids a leading zero before digits, an empty fraction and a trailing dot.
      if (digits === 0 || digits > 15 || fraction === digits) return undefined;
      if (value[start] === ZERO && digits > 1 && fraction !== 1) return undefined;
      if (column === VOLUME || column === SEQ) {
        if (fraction >= 0) return undefined;
        into.bigints[column]![row] = BigInt(mantissa);
      } else {
        into.doubles[column]![row] = fraction < 0 ? mantissa : mantissa / POWERS_OF_TEN[digits - fraction]!;
      }
    }
    const next = value[at];
    if (next === COMMA) at++;
    else if (next === 0x7d && at === end - 1) break;
    else return undefined;
  }
  if ((seen & REQUIRED) !== REQUIRED) return undefined;
  if (!(seen & (1 << OPEN))) into.doubles[OPEN]![row] = Number.NaN;
  if (!(seen & (1 << HIGH))) into.doubles[HIGH]![row] = Number.NaN;
  if (!(seen & (1 << LOW))) into.doubles[LOW]![row] = Number.NaN;
  if (!(seen & (1 << CLOSE))) into.doubles[CLOSE]![row] = Number.NaN;
  into.ints[KAFKA_PARTITION]![row] = partition;
  into.bigints[KAFKA_OFFSET]![row] = offset;
  return dt;
}

/** The contract's field names, as bytes, by the column each fills. */
const FIELD_NAMES: readonly (readonly [number, Uint8Array])[] = (
  [
    [SYMBOL, "symbol"],
    [TS, "ts"],
    [PRICE, "price"],
    [VOLUME, "volume"],
    [OPEN, "open"],
    [HIGH, "high"],
    [LOW, "low"],
    [CLOSE, "close"],
    [SOURCE, "source"],
    [PRODUCER_ID, "producerId"],
    [SEQ, "seq"],
  ] as const
).map(([column, name]) => [column, Uint8Array.from(name, (char) => char.charCodeAt(0))] as const);

/** Candidate fields by a name's length and first byte (length * 128 + byte). */
const FIELDS_BY_SHAPE = new Map<number, (readonly [number, Uint8Array])[]>();
for (const field of FIELD_NAMES) {
  const shape = field[1].length * 128 + field[1][0]!;
  FIELDS_BY_SHAPE.set(shape, [...(FIELDS_BY_SHAPE.get(shape) ?? []), field]);
}

/** The column of the field named by `bytes[start, end)`, or -1 when it is not one of the contract's. */
function fieldAt(bytes: Uint8Array, start: number, end: number): number {
  const length = end - start;
  const candidates = FIELDS_BY_SHAPE.get(length * 128 + (bytes[start] ?? 0));
  if (candidates === undefined) return -1;
  for (const [column, name] of candidates) {
    let index = 1;
    while (index < length && name[index] === bytes[start + index]) index++;
    if (index === length) return column;
  }
  return -1;
}

/**
 * Writes the timestamp in `bytes[start, end)` (YYYY-MM-DDTHH:MM:SS.sssZ, a calendar date) as microseconds and
 * returns its `dt`; undefined for any other form, which the slow way decides.
 */
function timestamp(
  bytes: Uint8Array,
  start: number,
  end: number,
  into: StagedRows,
  row: number,
): string | undefined {
  if (end - start !== 24) return undefined;
  const b = start;
  if (
    bytes[b + 4] !== 0x2d ||
    bytes[b + 7] !== 0x2d ||
    bytes[b + 10] !== 0x54 /* T */ ||
    bytes[b + 13] !== COLON ||
    bytes[b + 16] !== COLON ||
    bytes[b + 19] !== DOT ||
    bytes[b + 23] !== 0x5a /* Z */
  )
    return undefined;
  const century = twoDigits(bytes, b);
  const yearOfCentury = twoDigits(bytes, b + 2);
  const month = twoDigits(bytes, b + 5);
  const dayOfMonth = twoDigits(bytes, b + 8);
  const hour = twoDigits(bytes, b + 11);
  const minute = twoDigits(bytes, b + 14);
  const second = twoDigits(bytes, b + 17);
  const centis = twoDigits(bytes, b + 20);
  const milli = digit(bytes, b + 22);
  if (
    century < 0 ||
    yearOfCentury < 0 ||
    month < 1 ||
    month > 12 ||
    dayOfMonth < 1 ||
    hour < 0 ||
    hour > 23 ||
    minute < 0 ||
    minute > 59 ||
    second < 0 ||
    second > 59 ||
    centis < 0 ||
    milli < 0
  )
    return undefined;
  const date = day(century * 100 + yearOfCentury, month, dayOfMonth);
  if (date === null) return undefined;
  const ms = date.startMs + ((hour * 60 + minute) * 60 + second) * 1000 + centis * 10 + milli;
  const micros = ms * 1000;
  into.bigints[TS]![row] = Number.isSafeInteger(micros) ? BigInt(micros) : BigInt(ms) * 1000n;
  return date.dt;
}
