import { expect } from "chai";
import { readdir, unlink, writeFile } from "node:fs/promises";
import path from "node:path";
import { CsvSource } from "../../apps/producer/sources/csv.ts";
import { SyntheticSource } from "../../apps/producer/sources/synthetic.ts";
import type { Tick } from "../../apps/tick/schema.ts";
import { lastJsonLine, runCli } from "../helpers/cli.ts";
import { cliEnvironment, useLocalEnvironment } from "../helpers/local-environment.ts";
import { sinkThroughPipeline } from "../helpers/pipeline.ts";
import {
  dayOf,
  freshness,
  latestPrice,
  minuteOf,
  ohlcv,
  topMovers,
  vwapDaily,
} from "../helpers/reference-analyses.ts";

type QueryJson = { columns: string[]; rows: (string | number | null)[][]; engine: string };

/** Compares rows cell by cell, numbers to 1e-9 relative; a row with a cell too few or too many fails. */
function expectRowsClose(actual: unknown[][], expected: unknown[][]): void {
  expect(actual.length, "row count").to.equal(expected.length);
  actual.forEach((row, r) =>
    expect(row.length, `row ${r} has ${row.length} cells, want ${expected[r]!.length}`).to.equal(
      expected[r]!.length,
    ),
  );
  actual.forEach((row, r) =>
    row.forEach((cell, c) => {
      const want = expected[r]![c];
      if (typeof want === "number" && typeof cell === "number") {
        expect(cell, `row ${r} column ${c}`).to.be.closeTo(want, Math.abs(want) * 1e-9 + 1e-9);
      } else expect(cell, `row ${r} column ${c}`).to.equal(want);
    }),
  );
}

describe("local catalog and SQL over a lake written by the pipeline @integration", function () {
  const environment = useLocalEnvironment();
  let vega: Tick[];
  let synthetic: Tick[];
  const cli = (...args: string[]) => runCli(args, cliEnvironment(environment()));
  async function query(...args: string[]): Promise<QueryJson> {
    // This suite is about the crawled Hive layout (its catalog, partitions, pruning): not the Iceberg tables.
    const result = await cli("query", ...args, "--no-iceberg", "--json");
    expect(result.exitCode, result.stderr).to.equal(0);
    return lastJsonLine<QueryJson>(result.stdout);
  }

  before(async function () {
    this.timeout(180_000);
    vega = (
      await sinkThroughPipeline(
        environment(),
        new CsvSource(path.resolve("node_modules/vega-datasets/data/stocks.csv")),
      )
    ).sent;
    const source = new SyntheticSource({
      seed: "catalog",
      symbols: { SYNA: 100, SYNB: 50, SYNC: 20 },
      clock: { startMs: Date.UTC(2026, 10, 24, 23, 57, 30), stepMs: 61 },
    });
    synthetic = (await sinkThroughPipeline(environment(), source, { count: 6_000 })).sent;
  });

  it("crawls the lake into table ticks with one dt partition per event date", async function () {
    const result = await cli("crawl", "--json");
    expect(result.exitCode, result.stderr).to.equal(0);
    const report = lastJsonLine<{ tablesCreated: string[]; partitionsAdded: string[]; newObjects: number }>(
      result.stdout,
    );
    expect(report.tablesCreated).to.deep.equal(["ticks"]);
    const dates = new Set([...vega, ...synthetic].map(dayOf));
    expect(new Set(report.partitionsAdded)).to.deep.equal(new Set([...dates].map((dt) => `ticks/dt=${dt}`)));
    expect(report.newObjects).to.be.at.least(dates.size);
  });

  it("does nothing on a second crawl when nothing is new", async function () {
    const report = lastJsonLine<{ newObjects: number; partitionsAdded: string[] }>(
      (await cli("crawl", "--json")).stdout,
    );
    expect(report).to.deep.include({ newObjects: 0, partitionsAdded: [] });
  });

  it("latest-price matches the last tick of each symbol", async function () {
    const result = await query("--named", "latest-price");
    expect(result.columns).to.deep.equal(["symbol", "price", "ts"]);
    expectRowsClose(result.rows, latestPrice([...vega, ...synthetic]));
  });

  it("ohlcv-1d matches the source data per symbol and day", async function () {
    const result = await query("--named", "ohlcv-1d", "--symbol", "IBM");
    expect(result.columns).to.deep.equal([
      "symbol",
      "day",
      "open",
      "high",
      "low",
      "close",
      "volume",
      "ticks",
    ]);
    expectRowsClose(
      result.rows,
      ohlcv(
        vega.filter((tick) => tick.symbol === "IBM"),
        dayOf,
      ),
    );
  });

  it("ohlcv-1m matches per symbol and minute, across midnight", async function () {
    const result = await query("--named", "ohlcv-1m", "--symbol", "SYNA");
    expect(result.columns).to.deep.equal([
      "symbol",
      "minute",
      "open",
      "high",
      "low",
      "close",
      "volume",
      "ticks",
    ]);
    const expected = ohlcv(
      synthetic.filter((tick) => tick.symbol === "SYNA"),
      minuteOf,
    );
    expect(new Set(expected.map((row) => String(row[1]).slice(0, 10))).size).to.equal(2);
    expectRowsClose(result.rows, expected);
  });

  it("vwap-daily matches sum(price x volume) / sum(volume) per symbol and day", async function () {
    const result = await query("--named", "vwap-daily");
    expect(result.columns).to.deep.equal(["symbol", "day", "vwap", "volume", "ticks"]);
    // vega's stocks.csv has no volume, so only the synthetic ticks count.
    expectRowsClose(result.rows, vwapDaily(synthetic));
  });

  it("top-movers ranks by percentage change within --from/--to", async function () {
    const result = await query("--named", "top-movers", "--from", "2005-01-01", "--to", "2008-12-31");
    const inRange = vega.filter((tick) => dayOf(tick) >= "2005-01-01" && dayOf(tick) <= "2008-12-31");
    expect(result.columns).to.deep.equal(["symbol", "first_price", "last_price", "change_pct"]);
    expectRowsClose(result.rows, topMovers(inRange));
  });

  it("freshness gives tick count, last tick and a lag per symbol", async function () {
    const result = await query("--named", "freshness");
    expect(result.columns).to.deep.equal(["symbol", "ticks", "last_tick", "lag_ms"]);
    for (const row of result.rows) expect(row, "four cells a row").to.have.length(4);
    expectRowsClose(
      result.rows.map((row) => row.slice(0, 3)),
      freshness([...vega, ...synthetic]),
    );
    for (const row of result.rows) expect(row[3]).to.be.a("number").and.greaterThan(0);
  });

  it("runs free SQL over the ticks table, with dt as a string column", async function () {
    const result = await query(
      "SELECT dt, count(*) AS n FROM ticks WHERE symbol LIKE 'SYN%' GROUP BY dt ORDER BY dt",
    );
    expect(result).to.deep.equal({
      columns: ["dt", "n"],
      rows: [
        ["2026-11-24", synthetic.filter((tick) => dayOf(tick) === "2026-11-24").length],
        ["2026-11-25", synthetic.filter((tick) => dayOf(tick) === "2026-11-25").length],
      ],
      engine: "duckdb",
    });
  });

  it("prints an aligned table by default and CSV with --csv", async function () {
    const [symbol, price, ts] = latestPrice(vega.filter((tick) => tick.symbol === "IBM"))[0]!;
    const table = await cli("query", "--named", "latest-price", "--symbol", "IBM");
    expect(table.stdout.split("\n")).to.deep.equal([
      "symbol  price   ts",
      "------  ------  ------------------------",
      `${symbol}     ${price}  ${ts}`,
      "(1 row, duckdb)",
    ]);
    const csv = await cli("query", "--named", "latest-price", "--symbol", "IBM", "--csv");
    expect(csv.stdout.trim().split("\n")).to.deep.equal(["symbol,price,ts", `${symbol},${price},${ts}`]);
  });

  it("prunes partitions: a dt-bounded query never opens the objects of other dates", async function () {
    // Make every cached object outside 2026-11-25 unreadable; only pruning lets a query succeed now.
    const cacheTicks = path.join(environment().paths.lakeCacheDir, "ticks");
    for (const partition of await readdir(cacheTicks)) {
      if (partition === "dt=2026-11-25") continue;
      for (const file of await readdir(path.join(cacheTicks, partition)))
        await writeFile(path.join(cacheTicks, partition, file), "not parquet");
    }
    const bounded = await query(
      "--named",
      "ohlcv-1d",
      "--symbol",
      "SYNB",
      "--from",
      "2026-11-25",
      "--to",
      "2026-11-25",
    );
    expectRowsClose(
      bounded.rows,
      ohlcv(
        synthetic.filter((tick) => tick.symbol === "SYNB" && dayOf(tick) === "2026-11-25"),
        dayOf,
      ),
    );
    const unbounded = await cli("query", "--no-iceberg", "SELECT count(*) FROM ticks");
    expect(unbounded.exitCode).to.equal(1);
    expect(unbounded.stderr).to.match(/^tickstream: .*not parquet|^tickstream: .*(magic|Parquet)/i);
    // Forget the cache so that the next query downloads clean copies.
    await unlink(path.join(environment().paths.lakeCacheDir, ".etags.json"));
    expect((await query("SELECT count(*) AS n FROM ticks")).rows).to.deep.equal([
      [vega.length + synthetic.length],
    ]);
  });

  it("re-crawls incrementally: only the new objects, and the new partition", async function () {
    const more = await sinkThroughPipeline(
      environment(),
      new SyntheticSource({
        seed: "more",
        symbols: { SYND: 10 },
        clock: { startMs: Date.UTC(2026, 10, 26, 9), stepMs: 1_000 },
      }),
      { count: 50 },
    );
    const report = lastJsonLine<{ newObjects: number; partitionsAdded: string[]; tablesCreated: string[] }>(
      (await cli("crawl", "--json")).stdout,
    );
    expect(report.tablesCreated).to.deep.equal([]);
    expect(report.partitionsAdded).to.deep.equal(["ticks/dt=2026-11-26"]);
    const objects = (
      await query(
        "SELECT count(DISTINCT filename) AS n FROM read_parquet(" +
          "'" +
          path.join(environment().paths.lakeCacheDir, "ticks", "dt=2026-11-26", "*.parquet") +
          "', filename = true)",
      )
    ).rows;
    expect(report.newObjects).to.equal(objects[0]![0]);
    expect((await query("SELECT count(*) FROM ticks WHERE symbol = 'SYND'")).rows).to.deep.equal([
      [more.sent.length],
    ]);
  });
});
