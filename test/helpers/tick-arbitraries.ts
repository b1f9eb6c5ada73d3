/**
 * Generated tick candidates for property tests of the tick contract's readers (schema.test.ts,
 * tick-scanner.test.ts): each field valid, missing, or wrong.
 */
import fc from "fast-check";
import type { Tick } from "../../apps/tick/schema.ts";

/** A valid tick of the contract's own form. */
export const sampleTick: Tick = {
  symbol: "AAPL",
  ts: "2026-11-25T14:30:00.123Z",
  price: 189.12,
  volume: 120,
  source: "synthetic",
  producerId: "p1",
  seq: 42,
};

// Generated ticks: each field valid, missing, or wrong (wrong type, out of range, NaN, infinite, too long...).
// Valid values are weighted up so that most candidates are valid but for one or two fields: then the fast
// check's verdict on each field decides the outcome.
const pad = (value: number, width: number) => String(value).padStart(width, "0");
const notANumber = fc.oneof(
  fc.string(),
  fc.boolean(),
  fc.constant(null),
  fc.constant([]),
  fc.constant({}),
  fc.integer().map(String),
);
const price = {
  valid: fc.oneof(fc.double({ min: 0, noNaN: true, noDefaultInfinity: true }), fc.nat()),
  wrong: fc.oneof(
    fc.double({ max: -Number.MIN_VALUE, noNaN: true }),
    fc.constantFrom(Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY),
    notANumber,
  ),
};
const count = {
  valid: fc.oneof(fc.nat(), fc.maxSafeNat()),
  wrong: fc.oneof(
    fc.integer({ max: -1 }),
    fc.double({ noInteger: true }),
    fc.constantFrom(2 ** 53, 2 ** 60, Number.NaN, Number.POSITIVE_INFINITY),
    notANumber,
  ),
};
const text = (max: number) => ({
  // Lengths at the limits (1, max, max + 1) as often as anywhere between.
  valid: fc.oneof(
    fc.string({ minLength: 1, maxLength: max, unit: "grapheme-composite" }),
    fc.string({ minLength: max - 1, maxLength: max }),
    fc.string({ minLength: 1, maxLength: 1 }),
  ),
  wrong: fc.oneof(
    fc.constant(""),
    fc.string({ minLength: max + 1, maxLength: max + 2 }),
    fc.integer(),
    fc.constant(null),
    fc.boolean(),
  ),
});
// Timestamps built from parts that may each be out of range (month 13, day 31 of a short month, hour 24, a
// zone offset, ten fractional digits...), besides the contract's own form and what is not a timestamp at all.
const timestampFromParts = fc
  .record({
    year: fc.integer({ min: 0, max: 9999 }),
    month: fc.integer({ min: 0, max: 13 }),
    day: fc.integer({ min: 0, max: 32 }),
    hour: fc.integer({ min: 0, max: 24 }),
    minute: fc.integer({ min: 0, max: 60 }),
    second: fc.option(fc.integer({ min: 0, max: 60 }), { freq: 8 }),
    fraction: fc.option(fc.stringMatching(/^\d{0,12}$/), { freq: 2 }),
    separator: fc.constantFrom("T", "T", "T", " ", "t"),
    zone: fc.constantFrom("Z", "Z", "Z", "z", "", "+01:00", "-00:00"),
  })
  .map(
    (t) =>
      `${pad(t.year, 4)}-${pad(t.month, 2)}-${pad(t.day, 2)}${t.separator}${pad(t.hour, 2)}:${pad(t.minute, 2)}` +
      (t.second === null ? "" : `:${pad(t.second, 2)}${t.fraction === null ? "" : `.${t.fraction}`}`) +
      t.zone,
  );
const contractTimestamp = fc
  .date({
    min: new Date("0000-01-01T00:00:00Z"),
    max: new Date("9999-12-31T23:59:59.999Z"),
    noInvalidDate: true,
  })
  .map((date) => date.toISOString());
export const fields = {
  symbol: {
    valid: fc.oneof(
      fc.stringMatching(/^[A-Za-z0-9.^=_-]{1,32}$/),
      fc.stringMatching(/^[A-Za-z0-9.^=_-]{31,32}$/),
    ),
    wrong: fc.oneof(
      fc.string(),
      fc.constant(""),
      fc.stringMatching(/^[A-Za-z0-9.^=_-]{33,34}$/),
      fc.integer(),
      fc.constant(null),
    ),
  },
  ts: {
    valid: fc.oneof(
      { arbitrary: contractTimestamp, weight: 4 },
      { arbitrary: timestampFromParts, weight: 1 },
    ),
    wrong: fc.oneof(timestampFromParts, fc.string(), fc.integer(), fc.constant(null)),
  },
  price,
  volume: count,
  open: price,
  high: price,
  low: price,
  close: price,
  source: text(200),
  producerId: text(100),
  seq: count,
};
const MISSING = Symbol("missing");
export const candidateTick = fc
  .record(
    Object.fromEntries(
      Object.entries(fields).map(([name, field]) => [
        name,
        fc.oneof(
          { arbitrary: field.valid, weight: 12 },
          { arbitrary: fc.constant(MISSING), weight: 1 },
          { arbitrary: fc.constant(undefined), weight: 1 },
          { arbitrary: field.wrong, weight: 2 },
        ),
      ]),
    ) as Record<keyof typeof fields, fc.Arbitrary<unknown>>,
  )
  .chain((values) =>
    fc
      .option(
        fc.dictionary(
          fc.string().filter((key) => !(key in fields)),
          fc.jsonValue(),
          { maxKeys: 2 },
        ),
        {
          freq: 4,
        },
      )
      .map((extra) => {
        const candidate: Record<string, unknown> = { ...(extra ?? {}) };
        for (const [name, value] of Object.entries(values)) if (value !== MISSING) candidate[name] = value;
        return candidate;
      }),
  );
export const anyValue = fc.oneof(
  { arbitrary: candidateTick, weight: 20 },
  { arbitrary: fc.anything(), weight: 1 },
);
