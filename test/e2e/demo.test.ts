import { expect } from "chai";
import { rm } from "node:fs/promises";
import { loadLocalSettings } from "../../ops/config/settings.ts";
import { LocalEnvironment } from "../../ops/local/environment.ts";
import { lastJsonLine, runCli } from "../helpers/cli.ts";
import { readLakeSeqs } from "../helpers/lake-count.ts";
import { pyicebergScan } from "../helpers/pyiceberg.ts";
import { FileCatalog } from "../../apps/iceberg/catalog.ts";
import path from "node:path";
import { createS3Client } from "../../apps/lake/s3-client.ts";
import { runLocalQuery } from "../../apps/query/duckdb-engine.ts";
import { NAMED_QUERIES, renderNamedQuery } from "../../apps/query/named-queries.ts";
import { createTestHome } from "../helpers/local-environment.ts";

/** Per producer id, the seqs found in the lake and how many rows they make, read independently of the demo. */
async function lakeByProducer(home: string) {
  const { counts } = await readLakeSeqs(new LocalEnvironment(loadLocalSettings(home), home).lake);
  const producers = new Map<string, { rows: number; seqs: Set<number> }>();
  for (const [id, n] of counts) {
    const [producerId, seq] = [id.slice(0, id.lastIndexOf("#")), Number(id.slice(id.lastIndexOf("#") + 1))];
    const entry = producers.get(producerId) ?? { rows: 0, seqs: new Set<number>() };
    entry.rows += n;
    entry.seqs.add(seq);
    producers.set(producerId, entry);
  }
  return producers;
}

/** Whether seqs are exactly 0..count-1. */
function isComplete(seqs: Set<number>, count: number): boolean {
  if (seqs.size !== count) return false;
  for (let seq = 0; seq < count; seq++) if (!seqs.has(seq)) return false;
  return true;
}

describe("tickstream demo @integration", function () {
  let home: string;
  let env: NodeJS.ProcessEnv;
  before(async () => {
    home = await createTestHome();
    env = { ...process.env, TICKSTREAM_HOME: home };
  });
  after(async function () {
    await runCli(["local", "down"], env);
    await rm(home, { recursive: true, force: true });
  });

  it("runs the whole pipeline from nothing and prints the documented summary with 0 duplicates and 0 missing", async function () {
    const result = await runCli(["demo", "--count", "5000", "--json"], env, 180_000);
    expect(result.exitCode, result.stderr).to.equal(0);
    const summary = lastJsonLine<Record<string, number>>(result.stdout);
    expect(summary).to.have.all.keys(
      "produced",
      "inLake",
      "duplicates",
      "missing",
      "quarantined",
      "files",
      "bytes",
      "ticksPerSecond",
      "freshnessP50Ms",
      "freshnessP99Ms",
      "bars",
      "barRevisions",
      "barsInLake",
    );
    // The rollup ran too: its bars (first emissions plus revisions) are all in bars_1m.
    expect(summary.bars).to.be.greaterThan(0);
    expect(summary.barsInLake).to.equal(summary.bars! + summary.barRevisions!);
    expect(summary).to.include({ produced: 5000, inLake: 5000, duplicates: 0, missing: 0, quarantined: 0 });
    expect(summary.files).to.be.at.least(3);
    expect(summary.bytes).to.be.greaterThan(0);
    expect(summary.freshnessP99Ms).to.be.at.least(summary.freshnessP50Ms);
    expect(result.stderr).to.include("Created topic stock-ticks");
    // The summary's 0 and 0 come from the project's own audit: count again with another Parquet reader.
    const producers = [...(await lakeByProducer(home)).values()];
    expect(producers, "one producer in the lake").to.have.length(1);
    expect(producers[0]!.rows, "rows in the lake").to.equal(5000);
    expect(isComplete(producers[0]!.seqs, 5000), "seq 0..4999, each once").to.equal(true);
  });

  it("runs again on the same services, auditing only the new run", async function () {
    const result = await runCli(
      ["demo", "--count", "2000", "--json", "--source", "synthetic", "--seed", "second"],
      env,
      180_000,
    );
    expect(result.exitCode, result.stderr).to.equal(0);
    expect(lastJsonLine(result.stdout)).to.include({
      produced: 2000,
      inLake: 2000,
      duplicates: 0,
      missing: 0,
    });
    expect(result.stderr).to.include("Topic stock-ticks exists");
    const producers = [...(await lakeByProducer(home)).values()];
    expect(producers.map((producer) => producer.rows).sort((a, b) => a - b)).to.deep.equal([2000, 5000]);
    for (const producer of producers) expect(isComplete(producer.seqs, producer.rows)).to.equal(true);
  });

  // Issue 21: the demos' sinks append every flush to the Iceberg tables, so lake migrate finds every Hive-layout
  // object in them already; pyiceberg, a reader not written here, counts every tick once; compaction keeps that.
  it("puts every tick of the demos in the Iceberg tables, which pyiceberg reads exactly once, so lake migrate adds nothing", async function () {
    const first = await runCli(["lake", "migrate", "--json"], env, 180_000);
    expect(first.exitCode, first.stderr).to.equal(0);
    const { tables } = lastJsonLine<{
      tables: { table: string; objects: number; added: number; rowsAdded: number }[];
    }>(first.stdout);
    const ticks = tables.find((table) => table.table === "ticks")!;
    expect(ticks.objects).to.be.greaterThan(0);
    expect(ticks).to.include({ added: 0, rowsAdded: 0 });
    const bars = tables.find((table) => table.table === "bars_1m")!;
    expect(bars).to.include({ added: 0 });
    expect(bars.objects).to.be.greaterThan(0);

    const lake = new LocalEnvironment(loadLocalSettings(home), home).lake;
    const catalog = new FileCatalog(path.join(home, "catalog", "iceberg"));
    const scan = await pyicebergScan((await catalog.load("ticks"))!.metadataLocation, lake);
    expect(scan).to.deep.include({ rows: 7000, distinct: 7000, duplicates: [] });
    const barScan = await pyicebergScan((await catalog.load("bars_1m"))!.metadataLocation, lake, [
      "symbol",
      "minute",
      "revision",
    ]);
    expect(barScan.dataFiles, "every bars_1m object is in the table").to.equal(bars.objects);
    expect(barScan.rows).to.be.greaterThan(0);
    expect(barScan.duplicates).to.deep.equal([]);

    const pointer = await catalog.load("ticks");
    const second = await runCli(["lake", "migrate", "--json"], env, 180_000);
    expect(second.exitCode, second.stderr).to.equal(0);
    for (const table of lastJsonLine<{
      tables: { added: number; objects: number; alreadyInTable: number }[];
    }>(second.stdout).tables)
      expect(table).to.include({ added: 0, alreadyInTable: table.objects });
    expect(await catalog.load("ticks"), "no commit").to.deep.equal(pointer);

    // Compaction: the day's files become one, and pyiceberg still counts every tick once.
    const compacted = await runCli(["lake", "compact", "--table", "ticks", "--json"], env, 180_000);
    expect(compacted.exitCode, compacted.stderr).to.equal(0);
    const [report] = lastJsonLine<{
      tables: { filesBefore: number; filesAfter: number; partitions: unknown[] }[];
    }>(compacted.stdout).tables;
    expect(report!.filesBefore).to.equal(ticks.objects);
    expect(report!.partitions.length).to.be.at.least(1);
    expect(report!.filesAfter).to.be.lessThan(report!.filesBefore);
    const afterCompaction = await pyicebergScan((await catalog.load("ticks"))!.metadataLocation, lake);
    expect(afterCompaction).to.deep.include({ rows: 7000, distinct: 7000, duplicates: [] });
    expect(afterCompaction.dataFiles).to.equal(report!.filesAfter);
  });

  // Issue 21: local SQL reads the Iceberg tables' snapshots (the data files their metadata lists), and every
  // named analysis answers as it does over the crawled Hive layout of the same ticks; --as-of reads the past.
  it("answers every named analysis the same through the Iceberg tables as through the crawled lake, and reads an earlier snapshot with --as-of", async function () {
    const crawl = await runCli(["crawl"], env, 120_000);
    expect(crawl.exitCode, crawl.stderr).to.equal(0);
    const environment = new LocalEnvironment(loadLocalSettings(home), home);
    const s3 = createS3Client(environment.lake);
    try {
      const local = {
        s3,
        bucket: environment.lake.bucket,
        cacheDir: environment.paths.lakeCacheDir,
        catalogDir: environment.paths.catalogDir,
      };
      const catalog = new FileCatalog(path.join(home, "catalog", "iceberg"));
      const tables = new Set(["ticks", "bars_1m", "quarantine"]);
      for (const query of NAMED_QUERIES) {
        const sql = renderNamedQuery(query.name, {}, tables);
        const hive = await runLocalQuery(sql, local);
        const iceberg = await runLocalQuery(renderNamedQuery(query.name, {}, new Set(["ticks", "bars_1m"])), {
          ...local,
          iceberg: { catalog },
        });
        // Sums of doubles in another file order differ in the last bits: compare to 12 significant digits.
        // freshness's last column is its lag behind now(), which moves between the two runs.
        const kept = (row: unknown[]) => (query.name === "freshness" ? row.slice(0, -1) : row);
        const rounded = (rows: unknown[][]) =>
          rows.map((row) =>
            kept(row).map((cell) => (typeof cell === "number" ? Number(cell.toPrecision(12)) : cell)),
          );
        expect(rounded(iceberg.rows), query.name).to.deep.equal(rounded(hive.rows));
        expect(hive.rows.length, query.name).to.be.greaterThan(0);
      }
    } finally {
      s3.destroy();
    }
    const before = await runCli(
      ["query", "--as-of", "2000-01-01T00:00:00Z", "SELECT count(*) AS n FROM ticks"],
      env,
    );
    expect(before.exitCode).to.equal(1);
    expect(before.stderr.trim()).to.match(
      /^tickstream: table (ticks|bars_1m) has no snapshot at or before 2000-01-01T00:00:00\.000Z$/,
    );
    const now = await runCli(
      ["query", "--as-of", new Date().toISOString(), "--json", "SELECT count(*) AS n FROM ticks"],
      env,
    );
    expect(now.exitCode, now.stderr).to.equal(0);
    expect(lastJsonLine<{ rows: number[][] }>(now.stdout).rows).to.deep.equal([[7000]]);
  });
});
