import { expect } from "chai";
import { PartitionRollup } from "../../../apps/rollup/partition-rollup.ts";
import type { Tick } from "../../../apps/tick/schema.ts";

const tick = (ts: string, price: number, volume = 10, symbol = "AAPL"): Tick => ({
  symbol,
  ts,
  price,
  volume,
  source: "test",
  producerId: "p",
  seq: 0,
});

describe("one partition's rollup: watermark, revisions and its committed snapshot", function () {
  const timing = { latenessMs: 5_000, revisionWindowMs: 10 * 60_000 };

  it("emits a minute once the watermark (newest event time minus 5 s) passes its end, not before", function () {
    const rollup = new PartitionRollup(timing);
    rollup.add(tick("2026-11-30T23:59:10.000Z", 10), 0);
    rollup.add(tick("2026-11-30T23:59:50.000Z", 12, 5), 1);
    rollup.add(tick("2026-12-01T00:00:04.999Z", 11), 2);
    expect(rollup.due(), "00:00:04.999 - 5 s is before 00:00").to.deep.equal([]);
    rollup.add(tick("2026-12-01T00:00:05.000Z", 13), 3);
    expect(rollup.due()).to.deep.equal([
      {
        symbol: "AAPL",
        minute: "2026-11-30T23:59:00.000Z",
        open: 10,
        high: 12,
        low: 10,
        close: 12,
        volume: 15,
        vwap: (10 * 10 + 12 * 5) / 15,
        ticks: 2,
        revision: 0,
        firstTs: "2026-11-30T23:59:10.000Z",
        lastTs: "2026-11-30T23:59:50.000Z",
      },
    ]);
    expect(rollup.due(), "emitted once").to.deep.equal([]);
  });

  it("orders open and close by event time, then by offset, whatever the arrival order", function () {
    const rollup = new PartitionRollup(timing);
    rollup.add(tick("2026-12-01T10:00:30.000Z", 20), 0);
    rollup.add(tick("2026-12-01T10:00:10.000Z", 19), 1); // earlier event, later arrival: the open
    rollup.add(tick("2026-12-01T10:00:30.000Z", 21), 2); // same time as the first, later offset: the close
    const [bar] = rollup.due(true);
    expect(bar).to.include({ open: 19, close: 21, high: 21, low: 19, ticks: 3, revision: 0 });
  });

  it("revises an emitted bar for a late tick (next revision, full aggregate), and counts one past the window", function () {
    const rollup = new PartitionRollup(timing);
    rollup.add(tick("2026-12-01T10:00:10.000Z", 10), 0);
    rollup.add(tick("2026-12-01T10:01:06.000Z", 11), 1);
    expect(rollup.due().map((bar) => [bar.minute, bar.revision])).to.deep.equal([
      ["2026-12-01T10:00:00.000Z", 0],
    ]);
    rollup.add(tick("2026-12-01T10:00:59.000Z", 9, 30), 2); // 7 s late: within the window
    const [revised] = rollup.due();
    expect(revised).to.include({
      minute: "2026-12-01T10:00:00.000Z",
      revision: 1,
      ticks: 2,
      close: 9,
      low: 9,
      volume: 40,
    });
    rollup.add(tick("2026-12-01T10:20:00.000Z", 12), 3); // stream time moves 19 minutes on
    rollup.due();
    expect(rollup.add(tick("2026-12-01T10:00:30.000Z", 8), 4), "older than the 10-minute window").to.equal(
      false,
    );
    expect(rollup.tooLate).to.equal(1);
    expect(rollup.due().map((bar) => bar.minute)).to.not.include("2026-12-01T10:00:00.000Z");
  });

  it("gives no VWAP when the minute traded no volume (quote APIs without volume)", function () {
    const rollup = new PartitionRollup(timing);
    rollup.add(tick("2026-12-01T10:00:10.000Z", 10, 0), 0);
    expect(rollup.due(true)[0]).to.include({ vwap: null, volume: 0 });
  });

  it("restores from its snapshot exactly: the same bars and revisions follow, prices bit for bit", function () {
    const original = new PartitionRollup(timing);
    const ticks = Array.from({ length: 400 }, (_, index) =>
      tick(
        new Date(Date.UTC(2026, 11, 1, 9, 58) + index * 937).toISOString(),
        100 + Math.sin(index) / 3,
        index % 7,
        index % 2 ? "MSFT" : "AAPL",
      ),
    );
    ticks.slice(0, 250).forEach((t, index) => original.add(t, index));
    const emittedBefore = original.due();
    const snapshot = original.snapshot();
    const restored = PartitionRollup.restore(snapshot, timing);
    expect(restored.snapshot()).to.equal(snapshot);
    const rest = ticks.slice(250);
    rest.forEach((t, index) => {
      original.add(t, 250 + index);
      restored.add(t, 250 + index);
    });
    rest.push(tick("2026-12-01T09:58:30.000Z", 1, 1)); // a late one for an emitted bar
    original.add(rest.at(-1)!, 999);
    restored.add(rest.at(-1)!, 999);
    expect(restored.due(true)).to.deep.equal(original.due(true));
    expect(emittedBefore.length).to.be.greaterThan(0);
    expect(PartitionRollup.restore(null, timing).snapshot()).to.equal(new PartitionRollup(timing).snapshot());
  });
});
