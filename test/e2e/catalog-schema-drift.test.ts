import { expect } from "chai";
import { PutObjectCommand } from "@aws-sdk/client-s3";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { withDuckDB } from "../../apps/lake/duckdb.ts";
import { createS3Client } from "../../apps/lake/s3-client.ts";
import { lastJsonLine, runCli } from "../helpers/cli.ts";
import { cliEnvironment, useLocalEnvironment } from "../helpers/local-environment.ts";

describe("local crawler on a drifting schema @integration", function () {
  const environment = useLocalEnvironment();
  const cli = (...args: string[]) => runCli(args, cliEnvironment(environment()));

  /** Writes a Parquet object made by `selectSql` into the lake through the S3 API. */
  async function putParquet(key: string, selectSql: string): Promise<void> {
    const dir = await mkdtemp(path.join(tmpdir(), "tickstream-drift-"));
    const file = path.join(dir, "object.parquet");
    try {
      await withDuckDB((connection) =>
        connection.run(`COPY (${selectSql}) TO '${file}' (FORMAT parquet, COMPRESSION zstd)`),
      );
      await put(key, await readFile(file));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }

  async function put(key: string, body: Buffer | string): Promise<void> {
    const s3 = createS3Client(environment().lake);
    try {
      await s3.send(new PutObjectCommand({ Bucket: environment().lake.bucket, Key: key, Body: body }));
    } finally {
      s3.destroy();
    }
  }

  const TICK = `'AAPL' AS symbol, TIMESTAMPTZ '2026-01-01 10:00:00+00' AS ts, 190.5::DOUBLE AS price, 10::BIGINT AS volume`;

  it("creates the table from the first objects", async function () {
    await putParquet("ticks/dt=2026-01-01/t+0+00000000000000000000.parquet", `SELECT ${TICK}`);
    const report = lastJsonLine((await cli("crawl", "--json")).stdout);
    expect(report).to.deep.include({
      tablesCreated: ["ticks"],
      tablesUpdated: [],
      partitionsAdded: ["ticks/dt=2026-01-01"],
      newObjects: 1,
    });
  });

  it("adds a new nullable column to the table, and old objects read it as NULL", async function () {
    await putParquet(
      "ticks/dt=2026-01-02/t+0+00000000000000000001.parquet",
      `SELECT ${TICK}, 'XNAS' AS exchange`,
    );
    const report = lastJsonLine((await cli("crawl", "--json")).stdout);
    expect(report).to.deep.include({
      tablesCreated: [],
      tablesUpdated: ["ticks"],
      partitionsAdded: ["ticks/dt=2026-01-02"],
      newObjects: 1,
    });
    const result = await cli("query", "SELECT dt, exchange FROM ticks ORDER BY dt", "--json");
    expect(lastJsonLine(result.stdout).rows).to.deep.equal([
      ["2026-01-01", null],
      ["2026-01-02", "XNAS"],
    ]);
  });

  it("refuses an object whose column changed type, naming the object, and records nothing of that crawl", async function () {
    const key = "ticks/dt=2026-01-03/t+0+00000000000000000002.parquet";
    await putParquet(
      key,
      `SELECT 'AAPL' AS symbol, TIMESTAMPTZ '2026-01-03 10:00:00+00' AS ts, 'n/a' AS price, 10::BIGINT AS volume`,
    );
    const result = await cli("crawl");
    expect(result.exitCode).to.equal(1);
    expect(result.stderr.trim().split("\n").at(-1)).to.equal(
      `tickstream: table ticks: column "price" is DOUBLE in the catalog but VARCHAR in ${key}; rewrite that object or drop the table from the catalog`,
    );
    const partitions = lastJsonLine<{ rows: unknown[][] }>(
      (await cli("query", "SELECT DISTINCT dt FROM ticks ORDER BY dt", "--json")).stdout,
    );
    expect(partitions.rows).to.deep.equal([["2026-01-01"], ["2026-01-02"]]);
  });

  it("catalogs quarantined records as table quarantine", async function () {
    await putParquet("ticks/dt=2026-01-03/t+0+00000000000000000002.parquet", `SELECT ${TICK}`);
    await put(
      "quarantine/dt=2026-01-03/t+0+00000000000000000007.jsonl",
      JSON.stringify({
        reason: "not JSON: oops",
        topic: "t",
        partition: 0,
        offset: "7",
        key: null,
        value: "{oops",
        kafkaTimestamp: "2026-01-03T10:00:00.000Z",
      }) + "\n",
    );
    const report = lastJsonLine<{ tablesCreated: string[] }>((await cli("crawl", "--json")).stdout);
    expect(report.tablesCreated).to.deep.equal(["quarantine"]);
    const result = await cli("query", 'SELECT dt, reason, "offset", value FROM quarantine', "--json");
    expect(lastJsonLine(result.stdout).rows).to.deep.equal([["2026-01-03", "not JSON: oops", "7", "{oops"]]);
  });
});
