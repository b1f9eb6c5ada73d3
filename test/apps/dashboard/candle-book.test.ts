import { expect } from "chai";
import { CandleBook, type TickAggregate } from "../../../apps/dashboard/candle-book.ts";
import type { Bar } from "../../../apps/rollup/bar.ts";
import type { Tick } from "../../../apps/tick/schema.ts";

const tick = (ts: string, price: number, volume = 10, symbol = "AAPL"): Tick => ({
  symbol,
  ts,
  price,
  volume,
  source: "synthetic",
  producerId: "book-test",
  seq: 0,
});

const bar = (minute: string, revision: number, close: number): Bar => ({
  symbol: "AAPL",
  minute,
  open: 100,
  high: Math.max(100, close),
  low: Math.min(100, close),
  close,
  volume: 50,
  vwap: 100,
  ticks: 5,
  revision,
  firstTs: minute,
  lastTs: minute,
});

const aggregate: TickAggregate = {
  symbol: "AAPL",
  minute: "2026-12-01T14:30:00.000Z",
  open: 100,
  high: 105,
  low: 99,
  close: 104,
  volume: 30,
  priceVolume: 3_090,
  ticks: 3,
  firstTs: "2026-12-01T14:30:05.000Z",
  lastTs: "2026-12-01T14:30:40.000Z",
};

describe("the dashboard's candle book", function () {
  it("folds live ticks after their partition's lake offset into the history's minute, and skips those the history counted", function () {
    const book = new CandleBook();
    book.addTickAggregate(aggregate);
    book.setLakeOffset(0, 41);
    expect(book.addTick(tick("2026-12-01T14:30:50.000Z", 999), 0, 41), "offset 41 is in the lake").to.equal(
      false,
    );
    expect(book.addTick(tick("2026-12-01T14:30:50.000Z", 103), 0, 42)).to.equal(true);
    // Offsets are per partition: offset 7 of partition 1 is not one the history counted in partition 0.
    expect(book.lakeOffset(0)).to.equal(41);
    expect(book.lakeOffset(1)).to.equal(undefined);
    expect(book.addTick(tick("2026-12-01T14:31:00.000Z", 50, 1, "MSFT"), 1, 7)).to.equal(true);
    // Earlier in event time than the history's first tick: it becomes the open.
    expect(book.addTick(tick("2026-12-01T14:30:01.000Z", 98), 0, 43)).to.equal(true);
    const [candle] = book.candles("AAPL");
    expect(candle).to.deep.include({
      time: Date.parse(aggregate.minute) / 1000,
      open: 98,
      high: 105,
      low: 98,
      close: 103,
      volume: 50,
      ticks: 5,
      kind: "ticks",
    });
  });

  it("replaces a minute's tick candle by the rollup's bar, keeps the newest revision, and ignores ticks of a minute with a bar", function () {
    const book = new CandleBook();
    book.addTickAggregate(aggregate);
    expect(book.addBar(bar(aggregate.minute, 1, 110))).to.equal(true);
    expect(book.addBar(bar(aggregate.minute, 0, 90)), "an older revision").to.equal(false);
    expect(book.addTick(tick("2026-12-01T14:30:59.000Z", 500), 0, 100)).to.equal(false);
    book.addTickAggregate(aggregate);
    expect(book.candles("AAPL")).to.have.length(1);
    expect(book.candles("AAPL")[0]).to.deep.include({ close: 110, kind: "bar", revision: 1 });
  });

  it("reports each changed candle once, and quotes the last close against the first open of its UTC day", function () {
    const book = new CandleBook();
    book.addTick(tick("2026-11-30T23:59:30.000Z", 90, 5), 0, 1);
    book.addTick(tick("2026-12-01T00:00:10.000Z", 100, 7), 0, 2);
    book.addTick(tick("2026-12-01T00:01:10.000Z", 110, 3), 0, 3);
    expect(book.takeChanged().map((candle) => candle.time)).to.deep.equal([
      Date.parse("2026-11-30T23:59:00Z") / 1000,
      Date.parse("2026-12-01T00:00:00Z") / 1000,
      Date.parse("2026-12-01T00:01:00Z") / 1000,
    ]);
    expect(book.takeChanged()).to.deep.equal([]);
    expect(book.quotes()).to.deep.equal([
      {
        symbol: "AAPL",
        price: 110,
        time: Date.parse("2026-12-01T00:01:00Z") / 1000,
        dayOpen: 100,
        change: 10,
        changePercent: 10,
        dayVolume: 10,
      },
    ]);
  });

  it("keeps a bounded number of minutes per symbol, dropping the oldest", function () {
    const book = new CandleBook(3);
    for (let minute = 0; minute < 5; minute++)
      book.addTick(tick(new Date(Date.UTC(2026, 11, 1, 10, minute)).toISOString(), 100 + minute), 0, minute);
    expect(book.candles("AAPL").map((candle) => candle.close)).to.deep.equal([102, 103, 104]);
  });
});
