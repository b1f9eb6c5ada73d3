import { expect } from "chai";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { CsvSource } from "../../apps/producer/sources/csv.ts";
import { SyntheticSource } from "../../apps/producer/sources/synthetic.ts";
import type { TickSource } from "../../apps/producer/sources/source.ts";
import { lakeTimestampMicros, type Tick } from "../../apps/tick/schema.ts";
import { readLakeTicks } from "../helpers/lake.ts";
import { readLakeSeqs } from "../helpers/lake-count.ts";
import { useLocalEnvironment } from "../helpers/local-environment.ts";
import { sinkThroughPipeline } from "../helpers/pipeline.ts";

const VEGA_STOCKS = path.resolve("node_modules/vega-datasets/data/stocks.csv");
const KAGGLE_SAMPLE = path.resolve("test/fixtures/index-processed-sample.csv");

describe("produce -> broker -> lake round trip @integration", function () {
  const environment = useLocalEnvironment();

  const roundTrip = (source: TickSource, count?: number) =>
    sinkThroughPipeline(environment(), source, { count, topicPrefix: "round-trip" });

  function expectLakeToEqual(rows: Awaited<ReturnType<typeof readLakeTicks>>, sent: readonly Tick[]): void {
    expect(rows).to.have.length(sent.length);
    rows.forEach((row, index) => {
      const tick = sent[index]!;
      expect(row.seq, "seq").to.equal(BigInt(tick.seq));
      expect(row.symbol, `symbol of seq ${tick.seq}`).to.equal(tick.symbol);
      expect(row.tsMicros, `ts of seq ${tick.seq}`).to.equal(lakeTimestampMicros(tick.ts));
      expect(row.price, `price of seq ${tick.seq}`).to.equal(tick.price);
      expect(row.volume, `volume of seq ${tick.seq}`).to.equal(BigInt(tick.volume));
      expect(row.open).to.equal(tick.open ?? null);
      expect(row.high).to.equal(tick.high ?? null);
      expect(row.low).to.equal(tick.low ?? null);
      expect(row.close).to.equal(tick.close ?? null);
      expect(row.source).to.equal(tick.source);
      expect(row.producerId).to.equal(tick.producerId);
      expect(row.dt, "partitioned by the tick's event date").to.equal(tick.ts.slice(0, 10));
      expect(row.key).to.match(/^ticks\/dt=\d{4}-\d{2}-\d{2}\/round-trip-[0-9a-f]{8}\+\d\+\d{20}\.parquet$/);
    });
  }

  /** The lake read with a second Parquet reader: exactly seq 0..count-1 of the producer, once each. */
  async function expectIndependentCount(producerId: string, count: number): Promise<void> {
    const { counts } = await readLakeSeqs(environment().lake);
    for (let seq = 0; seq < count; seq++) {
      expect(counts.get(`${producerId}#${seq}`) ?? 0, `rows with seq ${seq}`).to.equal(1);
    }
    expect([...counts.keys()].filter((id) => id.startsWith(`${producerId}#`))).to.have.length(count);
  }

  it("stores sub-millisecond tick times truncated to the millisecond, in their own day's partition (so Athena and DuckDB agree)", async function () {
    const times = ["2026-11-25T23:59:59.9996Z", "2026-11-25T23:59:59.123456Z", "2026-11-26T00:00:00.0004Z"];
    const source: TickSource = {
      name: "sub-millisecond",
      historical: true,
      async *ticks() {
        for (const ts of times) yield { symbol: "SUBMS", ts, price: 1, volume: 1 };
      },
    };
    const { producerId } = await roundTrip(source);
    const rows = await readLakeTicks(environment().lake, producerId);
    expect(rows.map((row) => [row.tsMicros % 1_000n, row.dt])).to.deep.equal([
      [0n, "2026-11-25"],
      [0n, "2026-11-25"],
      [0n, "2026-11-26"],
    ]);
    expect(rows.map((row) => new Date(Number(row.tsMicros / 1_000n)).toISOString())).to.deep.equal([
      "2026-11-25T23:59:59.999Z",
      "2026-11-25T23:59:59.123Z",
      "2026-11-26T00:00:00.000Z",
    ]);
  });

  it("lands every synthetic tick, field by field", async function () {
    const source = new SyntheticSource({
      seed: "round-trip",
      clock: { startMs: Date.UTC(2026, 10, 24, 23, 59, 0), stepMs: 37 },
    });
    const { sent, producerId } = await roundTrip(source, 3_000);
    expect(sent, "the producer sent what was asked").to.have.length(3_000);
    await expectIndependentCount(producerId, 3_000);
    expect(new Set(sent.map((tick) => tick.ts.slice(0, 10))).size, "the stream crosses midnight").to.equal(2);
    expectLakeToEqual(await readLakeTicks(environment().lake, producerId), sent);
  });

  it("lands every row of vega-datasets' stocks.csv, in timestamp order", async function () {
    const { sent, producerId } = await roundTrip(new CsvSource(VEGA_STOCKS));
    expect(sent).to.have.length(560);
    await expectIndependentCount(producerId, 560);
    const times = sent.map((tick) => Date.parse(tick.ts));
    expect(times).to.deep.equal([...times].sort((a, b) => a - b));
    expect(sent[0]).to.include({
      symbol: "MSFT",
      ts: "2000-01-01T00:00:00.000Z",
      price: 39.81,
      source: "csv:stocks.csv",
    });
    expectLakeToEqual(await readLakeTicks(environment().lake, producerId), sent);
  });

  it("lands the Kaggle 'Stock Exchange Data' layout with open, high, low and close", async function () {
    const { sent, producerId } = await roundTrip(new CsvSource(KAGGLE_SAMPLE));
    // Every data line of the fixture (its header aside) is a tick.
    const dataLines = (await readFile(KAGGLE_SAMPLE, "utf8")).trim().split("\n").length - 1;
    expect(sent).to.have.length(dataLines);
    await expectIndependentCount(producerId, dataLines);
    expect(sent.every((tick) => tick.open !== undefined && tick.close !== undefined)).to.equal(true);
    expectLakeToEqual(await readLakeTicks(environment().lake, producerId), sent);
  });
});
