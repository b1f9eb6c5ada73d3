import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { expect } from "chai";
import { withDuckDB } from "../../../apps/lake/duckdb.ts";
import type { LakeRow } from "../../../apps/lake/lake-row.ts";
import { BARS_TABLE, type BarRow } from "../../../apps/lake/lake-tables.ts";
import { ParquetEncoder } from "../../../apps/lake/parquet-encoder.ts";

/** Every column of every row of a Parquet file, as DuckDB reads them (timestamps as epoch microseconds). */
async function readBack(dir: string, body: Buffer): Promise<Record<string, unknown>[]> {
  const file = path.join(dir, `${Math.random().toString(36).slice(2)}.parquet`);
  await writeFile(file, body);
  return withDuckDB(async (connection) => {
    const reader = await connection.runAndReadAll(`SELECT * FROM read_parquet('${file}')`);
    return reader
      .getRowObjectsJS()
      .map((row) =>
        Object.fromEntries(
          Object.entries(row).map(([name, value]) => [
            name,
            value instanceof Date ? BigInt(value.getTime()) * 1000n : value,
          ]),
        ),
      );
  });
}

const row = (index: number, overrides: Partial<LakeRow> = {}): LakeRow => ({
  symbol: `S${index % 7}`,
  tsMicros: 1_764_000_000_000_000n + BigInt(index) * 1000n,
  price: index / 100,
  volume: BigInt(index),
  open: index % 3 === 0 ? null : index + 0.5,
  high: null,
  low: index % 2 === 0 ? 0 : null,
  close: index + 0.25,
  source: "synthetic",
  producerId: `p-${index % 3}`,
  seq: BigInt(index),
  kafkaPartition: 2,
  kafkaOffset: 10_000n + BigInt(index),
  ...overrides,
});

const asRead = (each: LakeRow) => ({
  symbol: each.symbol,
  ts: each.tsMicros,
  price: each.price,
  volume: each.volume,
  open: each.open,
  high: each.high,
  low: each.low,
  close: each.close,
  source: each.source,
  producer_id: each.producerId,
  seq: each.seq,
  kafka_partition: each.kafkaPartition,
  kafka_offset: each.kafkaOffset,
});

describe("the Parquet encoder (text as dictionary codes, nulls as NaN, a data chunk at a time)", function () {
  let encoder: ParquetEncoder;
  let dir: string;
  before(async function () {
    encoder = await ParquetEncoder.create();
    dir = await mkdtemp(path.join(tmpdir(), "tickstream-encoder-"));
  });
  after(async function () {
    await encoder.close();
    await rm(dir, { recursive: true, force: true });
  });

  it("writes every cell as given: text of any character, nulls beside zeros, 64-bit integers and far timestamps exactly", async function () {
    const rows = [
      row(0, { symbol: "O'Brien", source: 'say "hi"', producerId: "naïve ✓ \u0000 \\ ;--" }),
      row(1, { volume: 2n ** 63n - 1n, seq: 2n ** 53n + 1n, kafkaOffset: 2n ** 62n + 3n }),
      row(2, { tsMicros: 253_402_300_799_999_000n, open: 0, high: 1e300, low: 5e-324 }),
      row(3, { tsMicros: -62_167_219_200_000_000n, close: null, price: 0 }),
    ];
    const body = await encoder.encode(rows, 1_764_000_000_123);
    const read = await readBack(dir, body);
    expect(read.map(({ ingested_at, ...rest }) => rest)).to.deep.equal(rows.map(asRead));
    expect(read.map((each) => each.ingested_at)).to.deep.equal(rows.map(() => 1_764_000_000_123_000n));
  });

  it("keeps the order rows were staged in across data chunks, and writes each group's rows to its own file", async function () {
    const rows = Array.from({ length: 5_000 }, (_, index) => row(index));
    const groups = rows.map((_, index) => (index % 5 === 0 ? 1 : 0));
    await encoder.stage(7, rows.slice(0, 3_000), groups.slice(0, 3_000));
    await encoder.stage(7, rows.slice(3_000), groups.slice(3_000));
    const files = [await encoder.write(7, 0, 0), await encoder.write(7, 1, 0)];
    await encoder.drop(7);
    const [zero, one] = await Promise.all(files.map((body) => readBack(dir, body)));
    expect(zero!.map(({ ingested_at, ...rest }) => rest)).to.deep.equal(
      rows.filter((_, index) => groups[index] === 0).map(asRead),
    );
    expect(one!.map(({ ingested_at, ...rest }) => rest)).to.deep.equal(
      rows.filter((_, index) => groups[index] === 1).map(asRead),
    );
  });

  it("refuses rows added once a file is written, and frees a dropped table's name for reuse", async function () {
    await encoder.stage(8, [row(1)], [0]);
    await encoder.write(8, 0, 0);
    let refused: unknown;
    await encoder.stage(8, [row(2)], [0]).catch((error: unknown) => (refused = error));
    expect(String(refused)).to.match(/rows cannot be added once a file is written/);
    await encoder.drop(8);
    await encoder.stage(8, [row(3)], [0]);
    const read = await readBack(dir, await encoder.write(8, 0, 0));
    await encoder.drop(8);
    expect(read.map((each) => each.seq)).to.deep.equal([3n]);
  });

  it("writes the bars table too (nullable vwap, INTEGER columns)", async function () {
    const bars = await ParquetEncoder.create(BARS_TABLE);
    try {
      const bar = (index: number, vwap: number | null): BarRow => ({
        symbol: "AAPL",
        minuteMicros: 1_764_000_000_000_000n + BigInt(index) * 60_000_000n,
        open: 1,
        high: 2,
        low: 0.5,
        close: 1.5,
        volume: 100n,
        vwap,
        ticks: 3 + index,
        revision: index,
        firstTsMicros: 1_764_000_000_001_000n,
        lastTsMicros: 1_764_000_000_059_000n,
        kafkaPartition: 1,
        kafkaOffset: BigInt(index),
      });
      const read = await readBack(dir, await bars.encode([bar(0, null), bar(1, 1.25)], 0));
      expect(read.map((each) => [each.vwap, each.ticks, each.revision, each.minute])).to.deep.equal([
        [null, 3, 0, 1_764_000_000_000_000n],
        [1.25, 4, 1, 1_764_000_060_000_000n],
      ]);
    } finally {
      await bars.close();
    }
  });
});
