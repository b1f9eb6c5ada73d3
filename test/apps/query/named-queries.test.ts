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

  // A stack's ticks and bars_1m are Iceberg tables in Glue with hidden day() partitions and no dt column: each
  // table becomes a subquery deriving dt, bounded on the event time (which Iceberg prunes by), as of a time.
  it("renders for Athena over the Iceberg tables: dt derived, the date range on the event time, FOR TIMESTAMP AS OF", function () {
    const asOfMs = Date.parse("2026-12-06T00:30:00Z");
    for (const query of NAMED_QUERIES) {
      const sql = renderNamedQuery(
        query.name,
        { from: "2026-11-29", to: "2026-11-30" },
        new Set(["ticks", "bars_1m"]),
        { athenaIceberg: { asOfMs } },
      );
      expect(sql, query.name).to.not.match(/\bFROM (ticks|bars_1m)\b(?! FOR)/);
      for (const [table, time] of [
        ["ticks", "ts"],
        ["bars_1m", "minute"],
      ] as const)
        if (sql.includes(`FROM ${table} `))
          expect(sql, `${query.name} reads ${table}`).to.include(
            `(SELECT *, date_format(${time}, '%Y-%m-%d') AS dt FROM ${table} FOR TIMESTAMP AS OF TIMESTAMP '2026-12-06 00:30:00.000 UTC' WHERE ${time} >= TIMESTAMP '2026-11-29 00:00:00 UTC' AND ${time} < TIMESTAMP '2026-12-01 00:00:00 UTC') AS ${table}`,
          );
    }
    const now = renderNamedQuery("vwap-daily", {}, new Set(["ticks"]), { athenaIceberg: {} });
    expect(now).to.include("FROM (SELECT *, date_format(ts, '%Y-%m-%d') AS dt FROM ticks) AS ticks");
  });
});
