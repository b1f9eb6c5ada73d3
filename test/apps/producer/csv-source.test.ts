import { expect } from "chai";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { CsvSource, parseTimestamp } from "../../../apps/producer/sources/csv.ts";
import type { SourceRowError } from "../../../apps/producer/sources/source.ts";
import { SourceError } from "../../../apps/shared/errors.ts";

describe("CSV source", function () {
  let dir: string;
  before(async () => (dir = await mkdtemp(path.join(tmpdir(), "tickstream-csv-"))));
  after(() => rm(dir, { recursive: true, force: true }));

  /** The error a load of `file` fails with. */
  function loadError(file: string): Promise<Error & { message: string }> {
    return new CsvSource(file)
      .load(() => {})
      .then(
        () => {
          throw new Error(`${file} loaded, but should not have`);
        },
        (caught) => caught,
      );
  }

  async function load(name: string, text: string) {
    const file = path.join(dir, name);
    await writeFile(file, text);
    const errors: SourceRowError[] = [];
    const ticks = await new CsvSource(file).load((error) => errors.push(error));
    return { ticks, errors };
  }

  it("reads the tutorials' Kaggle layout: Index is the symbol, Close the price, OHLC kept", async function () {
    const { ticks, errors } = await load(
      "kaggle.csv",
      "Index,Date,Open,High,Low,Close,Adj Close,Volume,CloseUSD\nNYA,1965-12-31,528.69,529.1,527.9,528.5,528.5,1200.0,528.5\n",
    );
    expect(errors).to.deep.equal([]);
    expect(ticks).to.deep.equal([
      {
        symbol: "NYA",
        ts: "1965-12-31T00:00:00.000Z",
        price: 528.5,
        volume: 1200,
        open: 528.69,
        high: 529.1,
        low: 527.9,
        close: 528.5,
      },
    ]);
  });

  it("reads vega-datasets' stocks.csv (symbol,date,price with dates like 'Jan 1 2000') in timestamp order", async function () {
    const ticks = await new CsvSource(path.resolve("node_modules/vega-datasets/data/stocks.csv")).load(() => {
      throw new Error("no bad rows expected");
    });
    expect(ticks).to.have.length(560);
    expect(ticks.slice(0, 3).map((tick) => [tick.symbol, tick.ts])).to.deep.equal([
      ["MSFT", "2000-01-01T00:00:00.000Z"],
      ["AMZN", "2000-01-01T00:00:00.000Z"],
      ["IBM", "2000-01-01T00:00:00.000Z"],
    ]);
    const times = ticks.map((tick) => Date.parse(tick.ts));
    expect(times).to.deep.equal([...times].sort((a, b) => a - b));
  });

  it("reports each bad row with its line number, skips it, and keeps the rest", async function () {
    const { ticks, errors } = await load(
      "bad-rows.csv",
      [
        "symbol,date,price,volume",
        "AAPL,2026-01-02,190.5,100",
        "AAPL,not-a-date,191,100",
        "AAPL,2026-01-03,abc,100",
        "AAPL,2026-01-04,192",
        "",
        "bad symbol!,2026-01-05,1,1",
        "AAPL,2026-01-06,-3,1",
        "MSFT,2026-01-01T09:30:00.250Z,410,7",
      ].join("\n"),
    );
    expect(ticks.map((tick) => `${tick.symbol}@${tick.ts}`)).to.deep.equal([
      "MSFT@2026-01-01T09:30:00.250Z",
      "AAPL@2026-01-02T00:00:00.000Z",
    ]);
    expect(errors).to.deep.equal([
      { line: 3, reason: 'date "not-a-date" is not a date' },
      { line: 4, reason: 'price "abc" is not a non-negative number' },
      { line: 5, reason: "expected 4 fields, found 3" },
      { line: 7, reason: 'symbol "bad symbol!" is not a ticker symbol' },
      { line: 8, reason: 'price "-3" is not a non-negative number' },
    ]);
  });

  it("refuses an empty file with a clear error", async function () {
    const file = path.join(dir, "empty.csv");
    await writeFile(file, "");
    const error = await loadError(file);
    expect(error).to.be.instanceOf(SourceError);
    expect(error.message).to.equal(`${file}: the file is empty; expected a header such as symbol,date,price`);
  });

  it("gives no ticks and no error for a header-only file", async function () {
    const { ticks, errors } = await load("header-only.csv", "symbol,date,price\n");
    expect(ticks).to.deep.equal([]);
    expect(errors).to.deep.equal([]);
  });

  it("names the missing columns and shows the header it found", async function () {
    const file = path.join(dir, "missing.csv");
    await writeFile(file, "ticker,when,amount\nAAPL,2026-01-01,1\n");
    const error = await loadError(file);
    expect(error).to.be.instanceOf(SourceError);
    expect(error.message).to.equal(
      `${file}: missing column date (ts|timestamp|datetime|date|time), price (price|close|last); the header is: ticker,when,amount`,
    );
  });

  it("refuses a file that does not exist", async function () {
    const error = await loadError(path.join(dir, "nope.csv"));
    expect(error.message).to.match(/nope\.csv: no such file$/);
  });

  it("parses dates as UTC whatever the machine's time zone", function () {
    expect(parseTimestamp("2020-02-29")).to.equal(Date.UTC(2020, 1, 29));
    expect(parseTimestamp("2020-02-29 10:15")).to.equal(Date.UTC(2020, 1, 29, 10, 15));
    expect(parseTimestamp("2020-02-29T10:15:30+02:00")).to.equal(Date.UTC(2020, 1, 29, 8, 15, 30));
    expect(parseTimestamp("Mar 1 2010")).to.equal(Date.UTC(2010, 2, 1));
    expect(parseTimestamp("2020-13-01")).to.equal(undefined);
    expect(parseTimestamp("yesterday")).to.equal(undefined);
  });
});
