import { expect } from "chai";
import fc from "fast-check";
import { TICKS_TABLE } from "../../../apps/lake/lake-tables.ts";
import { LAKE_COLUMNS } from "../../../apps/lake/lake-row.ts";
import { StagedRows, stagedKind } from "../../../apps/lake/staged-rows.ts";
import { encodeTick, type Tick } from "../../../apps/tick/schema.ts";
import { scanTick } from "../../../apps/tick/tick-scanner.ts";
import { ParquetEncoder } from "../../../apps/lake/parquet-encoder.ts";
import { anyValue, fields, sampleTick as tick } from "../../helpers/tick-arbitraries.ts";

const KINDS = LAKE_COLUMNS.filter(([name]) => name !== "ingested_at").map(([, type]) => stagedKind(type));
const newRows = () => new StagedRows(KINDS, () => {});

/** Row 0's cells of `rows`, text as its value (codes differ between dictionaries). */
function cellsOf(rows: StagedRows): unknown[] {
  return KINDS.map((kind, column) => {
    if (kind === "text") return rows.dictionaries[column]!.values[rows.ints[column]![0]!];
    const cell = (rows.doubles[column] ?? rows.bigints[column] ?? rows.ints[column]!)[0];
    return typeof cell === "number" && Number.isNaN(cell) ? null : cell;
  });
}

/** Ticks as producers send them: the contract's form, prices mostly in cents. */
const producerTick = fc.record({
  symbol: fc.stringMatching(/^[A-Za-z0-9.^=_-]{1,32}$/),
  ts: fc
    .date({
      min: new Date("0000-01-01T00:00:00Z"),
      max: new Date("9999-12-31T23:59:59.999Z"),
      noInvalidDate: true,
    })
    .map((date) => date.toISOString()),
  price: fc.oneof(
    { arbitrary: fc.integer({ min: 0, max: 1e8 }).map((cents) => cents / 100), weight: 4 },
    { arbitrary: fc.double({ min: 0, max: 1e6, noNaN: true }), weight: 1 },
  ),
  volume: fc.oneof({ arbitrary: fc.nat(), weight: 4 }, { arbitrary: fc.maxSafeNat(), weight: 1 }),
  source: fc.constantFrom("synthetic", "csv:ticks.csv", "quotes"),
  producerId: fc.oneof(
    { arbitrary: fc.stringMatching(/^[a-z0-9-]{1,100}$/), weight: 4 },
    { arbitrary: fc.string({ minLength: 1, maxLength: 100 }), weight: 1 },
  ),
  seq: fc.oneof({ arbitrary: fc.nat(), weight: 4 }, { arbitrary: fc.maxSafeNat(), weight: 1 }),
});

describe("the tick scanner (the lake sink's hot path)", function () {
  let encoder: ParquetEncoder;
  before(async function () {
    encoder = await ParquetEncoder.create();
  });
  after(async function () {
    await encoder.close();
  });

  /**
   * What the scanner decides of `bytes` must be what the slow way (JSON.parse, the contract, the lake's row)
   * decides: when it stages a row, the slow way accepts the tick with the same cells and date. Returns whether
   * the scanner decided.
   */
  function agrees(bytes: Buffer): boolean {
    const scanned = newRows();
    const dt = scanTick(bytes, 3, 1234567890123n, scanned);
    if (dt === undefined) return false;
    const decoded = TICKS_TABLE.decode(bytes, 3, 1234567890123n);
    expect(decoded.ok, `the slow way refuses what the scanner takes: ${bytes.toString()}`).to.equal(true);
    if (!decoded.ok) return true;
    const slow = newRows();
    encoder.writeRow(slow, decoded.row);
    expect(dt, bytes.toString()).to.equal(decoded.dt);
    expect(cellsOf(scanned), bytes.toString()).to.deep.equal(cellsOf(slow));
    return true;
  }

  it("stages the cells the slow way stages, and nothing the contract refuses (the producer's ticks with fields wrong, missing or added)", function () {
    const broken = fc
      .tuple(
        producerTick,
        fc.array(
          fc.oneof(
            ...Object.entries(fields).map(([name, field]) =>
              fc.option(field.wrong, { nil: undefined }).map((value) => [name, value] as const),
            ),
            fc.tuple(fc.string(), fc.jsonValue()),
          ),
          { maxLength: 2 },
        ),
      )
      .map(([candidate, edits]) => {
        const out: Record<string, unknown> = { ...candidate };
        for (const [name, value] of edits)
          if (value === undefined) delete out[name];
          else out[name] = value;
        return out;
      });
    let scanned = 0;
    let refused = 0;
    fc.assert(
      fc.property(fc.oneof(broken, anyValue), (candidate) => {
        const json = JSON.stringify(candidate);
        if (json === undefined) return;
        if (agrees(Buffer.from(json))) scanned++;
        if (!TICKS_TABLE.decode(Buffer.from(json), 0, 0n).ok) refused++;
      }),
      { numRuns: 5_000 },
    );
    expect(scanned, "candidates the scanner decided").to.be.at.least(300);
    expect(refused, "candidates the contract refuses").to.be.at.least(1_000);
  });

  it("stages the cells the slow way stages, and nothing the contract refuses (the producer's ticks with a byte inserted, deleted or changed)", function () {
    const JSON_BYTES = ' \t\n"\\{}[]:,.-+eE0123456789nulltruefalseZT\u00e9';
    const mangled = fc
      .tuple(
        producerTick,
        fc.array(
          fc.record({
            at: fc.nat(),
            action: fc.constantFrom("insert", "delete", "replace"),
            byte: fc.constantFrom(...JSON_BYTES),
          }),
          { minLength: 0, maxLength: 2 },
        ),
      )
      .map(([candidate, edits]) => {
        let text = JSON.stringify(candidate);
        for (const { at, action, byte } of edits) {
          const index = at % (text.length + 1);
          text =
            action === "insert"
              ? text.slice(0, index) + byte + text.slice(index)
              : action === "delete"
                ? text.slice(0, index) + text.slice(index + 1)
                : text.slice(0, index) + byte + text.slice(index + 1);
        }
        return Buffer.from(text);
      });
    let scanned = 0;
    let refusedBySlowWay = 0;
    fc.assert(
      fc.property(mangled, (bytes) => {
        if (agrees(bytes)) scanned++;
        if (!TICKS_TABLE.decode(bytes, 0, 0n).ok) refusedBySlowWay++;
      }),
      { numRuns: 10_000 },
    );
    expect(scanned, "mangled ticks the scanner decided").to.be.at.least(1_000);
    expect(refusedBySlowWay, "mangled ticks the contract refuses").to.be.at.least(1_000);
  });

  it("decides timestamps as the contract does at and past each field's range (every combination)", function () {
    let decided = 0;
    let refused = 0;
    for (const year of ["0000", "0099", "1900", "1969", "2024", "2100", "9999"])
      for (const month of ["00", "01", "02", "04", "12", "13"])
        for (const day of ["00", "01", "28", "29", "30", "31", "32"])
          for (const time of ["00:00:00", "23:59:59", "24:00:00", "23:60:00", "23:59:60", "9:00:00"]) {
            const json = encodeTick(tick).replace(tick.ts, `${year}-${month}-${day}T${time}.999Z`);
            if (agrees(Buffer.from(json))) decided++;
            if (!TICKS_TABLE.decode(Buffer.from(json), 0, 0n).ok) refused++;
          }
    expect(decided, "timestamps decided").to.be.at.least(100);
    expect(refused, "timestamps the contract refuses").to.be.at.least(1_000);
  });

  it("decides the ticks producers send: the contract's own form, with and without open, high, low and close", function () {
    const ticks: Tick[] = [
      tick,
      { ...tick, open: 1, high: 2.5, low: 0, close: 1.25, volume: 0, seq: 0 },
      { ...tick, symbol: "BRK.B", ts: "2028-02-29T23:59:59.999Z", price: 0.0001 },
      { ...tick, price: 123456789.123456, seq: 999_999_999_999_999 },
    ];
    for (const each of ticks) {
      const bytes = Buffer.from(encodeTick(each));
      expect(agrees(bytes), `not decided: ${bytes.toString()}`).to.equal(true);
    }
  });

  it("leaves to the slow way what it cannot decide exactly: other forms of numbers and timestamps, escapes, whitespace, other fields", function () {
    const json = encodeTick(tick);
    const undecided = [
      json.replace('"price":189.12', '"price":1.8912e2'),
      json.replace('"price":189.12', '"price":-189.12'),
      json.replace('"price":189.12', '"price":0.30000000000000004'),
      json.replace('"volume":120', '"volume":120.0'),
      json.replace('"volume":120', '"volume":1234567890123456'),
      json.replace(".123Z", "Z"),
      json.replace(".123Z", ".123456Z"),
      json.replace("2026-11-25", "2026-02-29"),
      json.replace('"p1"', '"p\\u0031"'),
      json.replace('"p1"', '"p\u00e91"'),
      json.replace('{"symbol"', '{ "symbol"'),
      json.replace('{"symbol"', '{"extra":1,"symbol"'),
      json.replace('"seq":42', '"seq":42,"seq":43'),
    ];
    for (const text of undecided) {
      expect(text, "the case changes the tick").to.not.equal(json);
      expect(scanTick(Buffer.from(text), 0, 0n, newRows()), text).to.equal(undefined);
    }
  });
});
