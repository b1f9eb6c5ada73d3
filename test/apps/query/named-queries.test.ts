import { expect } from "chai";
import { NAMED_QUERIES, renderNamedQuery } from "../../../apps/query/named-queries.ts";

describe("named analyses and the rollup's bars_1m table", function () {
  it("answers ohlcv-1m from ticks alone until the catalog has bars_1m, then from bars where they cover a minute", function () {
    const ticksOnly = renderNamedQuery("ohlcv-1m", { symbol: "AAPL" }, new Set(["ticks", "quarantine"]));
    expect(ticksOnly).to.not.include("bars_1m");
    const withBars = renderNamedQuery("ohlcv-1m", { symbol: "AAPL" }, new Set(["ticks", "bars_1m"]));
    expect(withBars).to.include("FROM bars_1m");
    expect(withBars).to.include("NOT EXISTS");
    // The filter reaches both tables, on their partition column.
    expect(withBars.match(/symbol = 'AAPL'/g)).to.have.length(2);
    expect(withBars).to.not.include("{{where}}");
  });

  it("refuses bars-1m in one line, saying what to run, when the catalog has no bars_1m", function () {
    expect(() => renderNamedQuery("bars-1m", {}, new Set(["ticks"]))).to.throw(
      /--named bars-1m needs table bars_1m, which the catalog does not have yet: run the rollup/,
    );
    const sql = renderNamedQuery("bars-1m", { from: "2026-11-29", to: "2026-11-30" }, new Set(["bars_1m"]));
    expect(sql).to.include("ORDER BY revision DESC");
    expect(sql).to.include("dt >= '2026-11-29' AND dt <= '2026-11-30'");
    expect(NAMED_QUERIES.map((query) => query.name)).to.include.members(["bars-1m", "ohlcv-1m"]);
  });
});
