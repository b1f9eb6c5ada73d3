import { expect } from "chai";
import fc from "fast-check";
import {
  decodeTick,
  encodeTick,
  eventDate,
  fastTick,
  tickSchema,
  lakeTimestampMicros,
  type Tick,
} from "../../../apps/tick/schema.ts";
import { anyValue, candidateTick, fields, sampleTick as tick } from "../../helpers/tick-arbitraries.ts";

describe("tick message contract", function () {
  it("round-trips a valid tick through JSON", function () {
    expect(decodeTick(Buffer.from(encodeTick(tick)))).to.deep.equal({ ok: true, tick });
  });

  it("rejects what is not JSON, with the reason", function () {
    const result = decodeTick(Buffer.from("{oops"));
    expect(result.ok).to.equal(false);
    expect(result.ok === false && result.reason).to.match(/^not JSON: /);
  });

  it("rejects a tick with a negative price, naming the field", function () {
    expect(decodeTick(JSON.stringify({ ...tick, price: -1 }))).to.deep.equal({
      ok: false,
      reason: "invalid tick: price: Too small: expected number to be >=0",
    });
  });

  it("rejects a timestamp with a zone offset: ticks are UTC", function () {
    const result = decodeTick(JSON.stringify({ ...tick, ts: "2026-11-25T14:30:00.123+01:00" }));
    expect(result.ok === false && result.reason).to.equal("invalid tick: ts: Invalid ISO datetime");
  });

  it("rejects a missing producerId and an empty value", function () {
    const { producerId: _dropped, ...withoutProducer } = tick;
    expect(decodeTick(JSON.stringify(withoutProducer)).ok).to.equal(false);
    expect(decodeTick(null)).to.deep.equal({ ok: false, reason: "empty message value" });
  });

  it("stores milliseconds (finer digits truncated) and partitions by the UTC event date", function () {
    expect(lakeTimestampMicros("2026-11-25T14:30:00.123Z")).to.equal(1_795_617_000_123_000n);
    expect(lakeTimestampMicros("2026-11-25T14:30:00.123456Z")).to.equal(1_795_617_000_123_000n);
    expect(lakeTimestampMicros("2026-11-25T14:30:00Z")).to.equal(1_795_617_000_000_000n);
    expect(eventDate("2026-11-25T23:59:59.999Z")).to.equal("2026-11-25");
  });

  // Trino's Hive connector (Athena v3) reads Parquet timestamps at millisecond precision by default
  // (hive.timestamp-precision=MILLISECONDS) and rounds half up; DuckDB reads the microseconds as written.
  it("gives every engine the same minute and day: a stored time is a whole millisecond, so rounding to ms changes nothing", function () {
    const roundHalfUpToMs = (micros: bigint) => ((micros + 500n) / 1_000n) * 1_000n;
    const dayOf = (micros: bigint) => new Date(Number(micros / 1_000n)).toISOString().slice(0, 10);
    for (const fraction of ["9996", "999999", "9995", "0004", "5", "123456"]) {
      const ts = `2026-11-25T23:59:59.${fraction}Z`;
      const stored = lakeTimestampMicros(ts);
      expect(roundHalfUpToMs(stored), ts).to.equal(stored);
      expect(dayOf(stored), ts).to.equal(eventDate(ts));
    }
    // Without the truncation, the regression: 23:59:59.9996 read at ms is the next day.
    expect(dayOf(roundHalfUpToMs(1_795_651_199_999_600n))).to.equal("2026-11-26");
  });
});

describe("the tick contract's fast check", function () {
  const RUNS = 5_000;
  // A key present with the value undefined: zod's output keeps it, the fast check's leaves it out. The same tick
  // once serialised (JSON has no undefined), and a message value, the only input decoded, cannot hold one.
  const withoutUndefined = (value: object) =>
    Object.fromEntries(Object.entries(value).filter(([, each]) => each !== undefined));

  it("accepts nothing the schema rejects, and gives what the schema gives (generated ticks, every field valid, missing or wrong)", function () {
    // Per field, how often a candidate broken only there was refused by the schema: each field must be tried.
    const refusedForOnly = new Map<string, number>();
    fc.assert(
      fc.property(anyValue, (candidate) => {
        const schema = tickSchema.safeParse(candidate);
        const fast = fastTick(candidate);
        if (!schema.success && typeof candidate === "object" && candidate !== null) {
          const fieldsRefused = new Set(schema.error.issues.map((issue) => String(issue.path[0])));
          if (fieldsRefused.size === 1) {
            const [field] = fieldsRefused;
            refusedForOnly.set(field!, (refusedForOnly.get(field!) ?? 0) + 1);
          }
        }
        if (fast === undefined) return;
        expect(
          schema.success,
          `the schema rejects what the fast check accepts: ${String(schema.error)}`,
        ).to.equal(true);
        expect(fast).to.deep.equal(withoutUndefined(schema.data!));
      }),
      { numRuns: RUNS },
    );
    for (const field of Object.keys(fields))
      expect(
        refusedForOnly.get(field) ?? 0,
        `candidates refused by the schema for ${field} alone`,
      ).to.be.at.least(20);
  });

  it("rejects nothing the schema accepts, but for timestamps with more than 9 fractional digits (its documented subset)", function () {
    let accepted = 0;
    fc.assert(
      fc.property(candidateTick, (candidate) => {
        const schema = tickSchema.safeParse(candidate);
        if (!schema.success) return;
        accepted++;
        const beyondSubset = /\.\d{10,}Z$/.test(String(candidate.ts));
        expect(fastTick(candidate) !== undefined, JSON.stringify(candidate)).to.equal(!beyondSubset);
      }),
      { numRuns: RUNS },
    );
    expect(accepted, "generated ticks the schema accepts").to.be.at.least(RUNS / 20);
  });

  it("decodes a message value exactly as the schema does: the same verdict and the same tick", function () {
    fc.assert(
      fc.property(anyValue, (candidate) => {
        const json = JSON.stringify(candidate);
        if (json === undefined) return;
        const schema = tickSchema.safeParse(JSON.parse(json));
        const decoded = decodeTick(Buffer.from(json));
        expect(decoded.ok, json).to.equal(schema.success);
        if (decoded.ok) expect(decoded.tick).to.deep.equal(schema.data);
        else expect(decoded.reason, json).to.match(/^invalid tick: /);
      }),
      { numRuns: RUNS },
    );
  });

  it("accepts the contract's own ticks as they are", function () {
    const valid: Tick[] = [
      tick,
      { ...tick, open: 1, high: 2, low: 0, close: 1.5 },
      { ...tick, ts: "2028-02-29T23:59:59Z", price: 0, volume: 0, seq: 0 },
      { ...tick, ts: "2026-12-31T00:00:00.123456789Z", symbol: "BRK.B" },
    ];
    for (const candidate of valid)
      expect(fastTick(candidate), JSON.stringify(candidate)).to.deep.equal(candidate);
  });

  it("names the schema's reason for a tick it does not accept", function () {
    expect(decodeTick(JSON.stringify({ ...tick, ts: "2026-02-29T10:00:00Z" }))).to.deep.equal({
      ok: false,
      reason: "invalid tick: ts: Invalid ISO datetime",
    });
    expect(() => encodeTick({ ...tick, volume: -1 })).to.throw(/volume/);
  });
});
