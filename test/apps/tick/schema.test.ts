import { expect } from "chai";
import { decodeTick, encodeTick, eventDate, timestampMicros, type Tick } from "../../../apps/tick/schema.ts";

const tick: Tick = {
  symbol: "AAPL",
  ts: "2026-11-25T14:30:00.123Z",
  price: 189.12,
  volume: 120,
  source: "synthetic",
  producerId: "p1",
  seq: 42,
};

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

  it("keeps microseconds and partitions by the UTC event date", function () {
    expect(timestampMicros("2026-11-25T14:30:00.123Z")).to.equal(1_795_617_000_123_000n);
    expect(timestampMicros("2026-11-25T14:30:00.123456Z")).to.equal(1_795_617_000_123_456n);
    expect(timestampMicros("2026-11-25T14:30:00Z")).to.equal(1_795_617_000_000_000n);
    expect(eventDate("2026-11-25T23:59:59.999Z")).to.equal("2026-11-25");
  });
});
