import { expect } from "chai";
import { execa } from "execa";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { DeleteObjectCommand, GetObjectCommand, PutObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import { FileCatalog } from "../../../apps/iceberg/catalog.ts";
import { IcebergTable, s3Key } from "../../../apps/iceberg/iceberg-table.ts";
import {
  newSnapshotId,
  offsetProperty,
  withSnapshot,
  type TableMetadata,
} from "../../../apps/iceberg/table-metadata.ts";
import { ICEBERG_TABLES } from "../../../apps/iceberg/table-schema.ts";
import { ParquetEncoder } from "../../../apps/lake/parquet-encoder.ts";
import { withDuckDB } from "../../../apps/lake/duckdb.ts";
import { migrateHiveTable } from "../../../apps/iceberg/hive-migration.ts";
import { compactTable } from "../../../apps/iceberg/compaction.ts";
import { runLocalQuery } from "../../../apps/query/duckdb-engine.ts";
import { createS3Client } from "../../../apps/lake/s3-client.ts";
import type { LocalEnvironment } from "../../../ops/local/environment.ts";
import { writeTickFlush } from "../../helpers/iceberg-flushes.ts";
import { createTestEnvironment, destroyTestEnvironment } from "../../helpers/local-environment.ts";
import { pyicebergScan } from "../../helpers/pyiceberg.ts";

describe("the lake's Iceberg tables on the local S3 server @integration", function () {
  this.timeout(180_000);
  let environment: LocalEnvironment;
  let s3: S3Client;
  let encoder: ParquetEncoder;
  let catalogFolder: string;
  const table = (options: { maxManifests?: number } = {}) =>
    new IcebergTable({
      s3,
      bucket: environment.lake.bucket,
      catalog: new FileCatalog(catalogFolder),
      definition: ICEBERG_TABLES.ticks,
      ...options,
    });
  const metadataOf = async (location: string): Promise<TableMetadata> => {
    const response = await s3.send(
      new GetObjectCommand({
        Bucket: environment.lake.bucket,
        Key: s3Key(location, environment.lake.bucket),
      }),
    );
    return JSON.parse(await response.Body!.transformToString()) as TableMetadata;
  };

  beforeEach(async function () {
    environment = await createTestEnvironment();
    await environment.s3.start();
    s3 = createS3Client(environment.lake);
    encoder = await ParquetEncoder.create();
    catalogFolder = await mkdtemp(path.join(tmpdir(), "tickstream-catalog-"));
  });
  afterEach(async function () {
    await encoder?.close();
    s3?.destroy();
    await destroyTestEnvironment(environment);
    await rm(catalogFolder, { recursive: true, force: true });
  });

  // Iceberg spec: schemas carry field ids, a day(ts) partition field from id 1000; readers resolve Parquet
  // columns by field id. pyiceberg is the reader here, not code of this project.
  it("appends the encoder's Parquet files, and pyiceberg reads every tick exactly once with the contract's field ids and day(ts) partitions", async function () {
    const ticks = table();
    const flushes = [];
    for (const [partition, firstOffset] of [
      [0, 0n],
      [0, 2_000n],
      [1, 0n],
    ] as const)
      flushes.push(
        await writeTickFlush(s3, environment.lake.bucket, encoder, {
          topic: "stock-ticks",
          partition,
          firstOffset,
          count: 2_000,
          producerId: `p${partition}`,
          firstSeq: Number(firstOffset),
        }),
      );
    for (const flush of flushes) expect((await ticks.append([flush])).added).to.equal(1);
    const pointer = await new FileCatalog(catalogFolder).load("ticks");
    const scan = await pyicebergScan(pointer!.metadataLocation, environment.lake);
    expect(scan).to.deep.include({ rows: 6_000, distinct: 6_000, duplicates: [] });
    // Each flush crosses midnight UTC: two day partitions, a file each.
    expect(scan.dataFiles).to.equal(6);
    expect(scan.schema.slice(0, 3)).to.deep.equal([
      [1, "symbol", "string", true],
      [2, "ts", "timestamptz", true],
      [3, "price", "double", true],
    ]);
    expect(scan.schema.map((field) => field[1])).to.deep.equal(
      ICEBERG_TABLES.ticks.schema.fields.map((field) => field.name),
    );
    expect(scan.partitionSpec).to.deep.equal([[1000, "ts_day", "day", 2]]);
  });

  it("adds nothing when a flush already in the table is published again (its partition's offset is in the current snapshot)", async function () {
    const ticks = table();
    const flush = await writeTickFlush(s3, environment.lake.bucket, encoder, {
      topic: "stock-ticks",
      partition: 2,
      firstOffset: 500n,
      count: 100,
      producerId: "again",
      firstSeq: 0,
    });
    expect(await ticks.append([flush])).to.deep.include({ added: 1 });
    const before = await new FileCatalog(catalogFolder).load("ticks");
    expect(await ticks.append([flush])).to.deep.equal({ added: 0 });
    const after = await new FileCatalog(catalogFolder).load("ticks");
    expect(after, "no new commit").to.deep.equal(before);
    const metadata = await metadataOf(after!.metadataLocation);
    const current = metadata.snapshots.find(
      (snapshot) => snapshot["snapshot-id"] === metadata["current-snapshot-id"],
    )!;
    expect(current.summary[offsetProperty("stock-ticks", 2)]).to.equal("600");
    const scan = await pyicebergScan(after!.metadataLocation, environment.lake);
    expect(scan).to.deep.include({ rows: 100, distinct: 100 });
  });

  // Glue's compaction and Athena's OPTIMIZE commit with Iceberg's Java library, whose snapshot summary keeps none
  // of ours: the offsets also live in the table's properties, which every writer carries forward.
  it("adds nothing when a flush is published again after another engine committed a snapshot without the offset summary", async function () {
    const ticks = table();
    const flush = await writeTickFlush(s3, environment.lake.bucket, encoder, {
      topic: "stock-ticks",
      partition: 1,
      firstOffset: 7_000n,
      count: 50,
      producerId: "foreign-commit",
      firstSeq: 0,
    });
    expect(await ticks.append([flush])).to.deep.include({ added: 1 });
    // What such an engine writes: a new current snapshot (same files) whose summary is its own.
    const base = await ticks.ensure();
    const current = base.metadata.snapshots.find(
      (snapshot) => snapshot["snapshot-id"] === base.metadata["current-snapshot-id"],
    )!;
    const foreign = withSnapshot(
      base.metadata,
      {
        "snapshot-id": newSnapshotId(),
        "timestamp-ms": Date.now(),
        "manifest-list": current["manifest-list"],
        summary: { operation: "replace", "total-records": current.summary["total-records"]! },
      },
      base.pointer.metadataLocation,
    );
    expect(await ticks.commitMetadata(base, foreign)).to.be.a("string");
    expect(await ticks.append([flush]), "the flush is known to be in the table").to.deep.equal({ added: 0 });
    const scan = await pyicebergScan(
      (await new FileCatalog(catalogFolder).load("ticks"))!.metadataLocation,
      environment.lake,
    );
    expect(scan.duplicates).to.deep.equal([]);
  });

  // Each append adds a manifest; unbounded, a day of commits every few seconds would make every commit read and
  // rewrite a manifest list of thousands. Past maxManifests the small ones are merged into the new one.
  it("keeps the manifest list bounded: an append past maxManifests merges the small manifests, and every tick is still read once", async function () {
    const ticks = table({ maxManifests: 4 });
    const counts: number[] = [];
    let dataFiles = 0;
    const before = (await ticks.load()) ? (await ticks.dataFiles()).length : 0;
    for (let index = 0; index < 10; index++) {
      const flush = await writeTickFlush(s3, environment.lake.bucket, encoder, {
        topic: "merge-manifests",
        partition: 0,
        firstOffset: BigInt(index * 20),
        count: 20,
        producerId: "merge-manifests",
        firstSeq: index * 20,
      });
      expect(await ticks.append([flush])).to.deep.include({ added: 1 });
      dataFiles++;
      counts.push((await ticks.manifests((await ticks.ensure()).metadata)).length);
    }
    expect(Math.max(...counts), `manifests after each append: ${counts.join(",")}`).to.be.at.most(4);
    expect(counts, "a merge happened").to.include(1);
    expect((await ticks.dataFiles()).length, "every data file still live, once").to.equal(before + dataFiles);
    const scan = await pyicebergScan(
      (await new FileCatalog(catalogFolder).load("ticks"))!.metadataLocation,
      environment.lake,
    );
    expect(scan.duplicates).to.deep.equal([]);
    expect(scan.rows).to.equal(scan.distinct);
  });

  // migrate adds what was written before the sinks appended (below the partition's first append) and marks the
  // partition migrated: a sink's published flush whose append is pending is left to the sink, and a run after a
  // compaction (which replaced what the first run added) adds nothing.
  it("migrates only the objects below a partition's first sink append, once: not a pending flush, and nothing again after a compaction", async function () {
    const ticks = table();
    const flushOf = (firstOffset: number, firstSeq: number) =>
      writeTickFlush(s3, environment.lake.bucket, encoder, {
        topic: "stock-ticks",
        partition: 0,
        firstOffset: BigInt(firstOffset),
        count: 50,
        producerId: "migrate-once",
        firstSeq,
        hive: true,
      });
    await flushOf(0, 0); // written by a sink without Iceberg
    await flushOf(50, 50);
    expect(await ticks.append([await flushOf(100, 100)])).to.deep.include({ added: 1 }); // a sink's append
    const pending = await flushOf(150, 150); // published, its append not made yet
    const migrate = () =>
      migrateHiveTable({
        s3,
        bucket: environment.lake.bucket,
        catalog: new FileCatalog(catalogFolder),
        definition: ICEBERG_TABLES.ticks,
      });
    expect(await migrate()).to.deep.include({ added: 2, rowsAdded: 100 });
    await compactTable({
      s3,
      bucket: environment.lake.bucket,
      table: ticks,
      definition: ICEBERG_TABLES.ticks,
    });
    expect(await migrate(), "a second run, after a compaction").to.deep.include({ added: 0 });
    expect(await ticks.append([pending]), "the pending flush is the sink's to append").to.deep.include({
      added: 1,
    });
    const scan = await pyicebergScan(
      (await new FileCatalog(catalogFolder).load("ticks"))!.metadataLocation,
      environment.lake,
    );
    expect(scan).to.deep.include({ rows: 200, distinct: 200, duplicates: [] });
  });

  // Iceberg's bin-pack: files under 75 % of the target are small; they become files near the target, not one
  // file whatever its size; --day limits it to one partition.
  it("compacts the small files of one day into files near the target size, leaving other days and every tick once", async function () {
    const ticks = table();
    const flushOf = (firstOffset: number, startMs: number) =>
      writeTickFlush(s3, environment.lake.bucket, encoder, {
        topic: "stock-ticks",
        partition: 0,
        firstOffset: BigInt(firstOffset),
        count: 400,
        producerId: "bin-pack",
        firstSeq: firstOffset,
        startMs,
      });
    const day = Date.UTC(2026, 11, 6, 12, 0, 0);
    const otherDay = Date.UTC(2026, 11, 7, 12, 0, 0);
    for (let index = 0; index < 8; index++)
      await ticks.append([await flushOf(index * 400, day + index * 60_000)]);
    for (let index = 8; index < 10; index++) await ticks.append([await flushOf(index * 400, otherDay)]);
    const smallBytes = (await ticks.dataFiles()).reduce((sum, file) => sum + file.fileSizeInBytes, 0) / 10;
    const target = Math.round(smallBytes * 3);
    const report = await compactTable({
      s3,
      bucket: environment.lake.bucket,
      table: ticks,
      definition: ICEBERG_TABLES.ticks,
      day: "2026-12-06",
      targetFileBytes: target,
    });
    expect(report.partitions.map((partition) => partition.filesBefore)).to.deep.equal([8]);
    const files = await ticks.dataFiles();
    const compacted = files.filter((file) => file.filePath.includes("/compacted-"));
    expect(compacted.length, "several files near the target, not one").to.be.within(2, 6);
    expect(new Set(compacted.map((file) => file.partition.ts_day))).to.deep.equal(
      new Set([day / 86_400_000 - 0.5]),
    );
    expect(files.length - compacted.length, "the other day's two files are untouched").to.equal(2);
    const scan = await pyicebergScan(
      (await new FileCatalog(catalogFolder).load("ticks"))!.metadataLocation,
      environment.lake,
    );
    expect(scan).to.deep.include({ rows: 4_000, distinct: 4_000, duplicates: [] });
  });

  // The catalog's compare-and-swap: of two commits on one base one wins, the other re-reads and retries; no
  // append overwrites another's.
  it("keeps every append of two processes committing to one table at once (the catalog is safe between processes)", async function () {
    const worker = path.resolve("test/helpers/iceberg-append-worker.ts");
    const run = (partition: number) =>
      execa(
        "node",
        [
          "--import",
          "tsx",
          worker,
          JSON.stringify(environment.lake),
          catalogFolder,
          String(partition),
          "12",
          "50",
        ],
        {
          timeout: 150_000,
        },
      );
    const results = await Promise.all([run(0), run(1)]);
    for (const result of results)
      expect(result.stdout.split("\n").filter((line) => line === "appended 1")).to.have.length(12);
    const pointer = await new FileCatalog(catalogFolder).load("ticks");
    const scan = await pyicebergScan(pointer!.metadataLocation, environment.lake);
    expect(scan).to.deep.include({ rows: 2 * 12 * 50, distinct: 2 * 12 * 50, duplicates: [] });
    // 24 appends and the creation: 25 pointers, each one commit.
    expect(Number(pointer!.version)).to.equal(25);
  });

  // Two committers read the same base, then both swap: the catalog lets one through, the other re-reads the
  // winner's table and commits on it. The barrier only orders the two; catalog, S3 and tables are the real ones.
  it("keeps both appends when two committers swap on the same base (the loser retries on the winner's table)", async function () {
    const real = new FileCatalog(catalogFolder);
    let arrived = 0;
    let release!: () => void;
    const bothRead = new Promise<void>((resolve) => (release = resolve));
    const swaps: boolean[] = [];
    const racing = {
      load: (name: string) => real.load(name),
      async swap(name: string, expected: Parameters<FileCatalog["swap"]>[1], location: string) {
        if (expected !== undefined && ++arrived <= 2) {
          if (arrived === 2) release();
          await bothRead;
        }
        const swapped = await real.swap(name, expected, location);
        if (expected !== undefined) swaps.push(swapped);
        return swapped;
      },
    };
    const committer = () =>
      new IcebergTable({
        s3,
        bucket: environment.lake.bucket,
        catalog: racing,
        definition: ICEBERG_TABLES.ticks,
      });
    await committer().ensure();
    const flushes = [];
    for (const partition of [3, 4])
      flushes.push(
        await writeTickFlush(s3, environment.lake.bucket, encoder, {
          topic: "stock-ticks",
          partition,
          firstOffset: 0n,
          count: 50,
          producerId: `racer-${partition}`,
          firstSeq: 0,
        }),
      );
    const results = await Promise.all(flushes.map((flush) => committer().append([flush])));
    expect(results.map((result) => result.added)).to.deep.equal([1, 1]);
    expect(swaps.slice(0, 2).sort(), "one of the two swaps on the same base lost").to.deep.equal([
      false,
      true,
    ]);
    const pointer = await real.load("ticks");
    const scan = await pyicebergScan(pointer!.metadataLocation, environment.lake);
    expect(scan).to.deep.include({ rows: 100, distinct: 100, duplicates: [] });
  });

  it("refuses a stale swap: the catalog moves only from the pointer the committer read", async function () {
    const catalog = new FileCatalog(catalogFolder);
    expect(await catalog.swap("ticks", undefined, "s3://lake/ticks/metadata/a.json")).to.equal(true);
    const first = await catalog.load("ticks");
    expect(await catalog.swap("ticks", undefined, "s3://lake/ticks/metadata/b.json")).to.equal(false);
    expect(await catalog.swap("ticks", first, "s3://lake/ticks/metadata/c.json")).to.equal(true);
    expect(await catalog.swap("ticks", first, "s3://lake/ticks/metadata/d.json")).to.equal(false);
    expect((await catalog.load("ticks"))!.metadataLocation).to.equal("s3://lake/ticks/metadata/c.json");
  });

  it("says in one line that a table's metadata is missing, and commits nothing over it", async function () {
    const catalog = new FileCatalog(catalogFolder);
    await catalog.swap(
      "ticks",
      undefined,
      `s3://${environment.lake.bucket}/ticks/metadata/00000-gone.metadata.json`,
    );
    const error = await table()
      .append([])
      .then(
        () => undefined,
        (caught: Error) => caught,
      );
    expect(error?.message).to.match(
      /^table ticks: its metadata s3:\/\/.+\/ticks\/metadata\/00000-gone\.metadata\.json cannot be read \(NoSuchKey: /,
    );
    expect((await catalog.load("ticks"))!.version).to.equal("1");
  });

  it("refuses to migrate a Hive-layout object whose columns are not the table's, in one line, committing nothing", async function () {
    const good = await writeTickFlush(s3, environment.lake.bucket, encoder, {
      topic: "stock-ticks",
      partition: 0,
      firstOffset: 0n,
      count: 10,
      producerId: "hive",
      firstSeq: 0,
    });
    // The good object in the Hive layout, and a stranger beside it.
    const body = await s3.send(
      new GetObjectCommand({
        Bucket: environment.lake.bucket,
        Key: s3Key(good.files[0]!.filePath, environment.lake.bucket),
      }),
    );
    await s3.send(
      new PutObjectCommand({
        Bucket: environment.lake.bucket,
        Key: "ticks/dt=2026-12-05/stock-ticks+0+00000000000000000000.parquet",
        Body: Buffer.from(await body.Body!.transformToByteArray()),
      }),
    );
    const stranger = await withDuckDB(async (connection) => {
      const file = path.join(catalogFolder, "stranger.parquet");
      await connection.run(`COPY (SELECT 'AAPL' AS ticker, 1.5 AS last) TO '${file}' (FORMAT parquet)`);
      return readFile(file);
    });
    await s3.send(
      new PutObjectCommand({
        Bucket: environment.lake.bucket,
        Key: "ticks/dt=2026-12-05/zz-stranger.parquet",
        Body: stranger,
      }),
    );
    const catalog = new FileCatalog(catalogFolder);
    const error = await migrateHiveTable({
      s3,
      bucket: environment.lake.bucket,
      catalog,
      definition: ICEBERG_TABLES.ticks,
    }).then(
      () => undefined,
      (caught: Error) => caught,
    );
    expect(error?.message).to.match(
      /^s3:\/\/[^/]+\/ticks\/dt=2026-12-05\/zz-stranger\.parquet has the columns ticker, last, not the ticks table's \(symbol, ts, .*\): nothing was migrated$/,
    );
    expect(await table().dataFiles()).to.deep.equal([]);
  });

  // A day's small files become one per day partition in one "replace" snapshot: the rows are the same, each
  // once, the offsets the snapshots carry survive it (a flush published before is still refused), and an
  // append after it lands beside the compacted files.
  it("compacts each day partition into one file, keeping every tick once and the published offsets", async function () {
    const ticks = table();
    const flushes = [];
    for (let index = 0; index < 4; index++)
      flushes.push(
        await writeTickFlush(s3, environment.lake.bucket, encoder, {
          topic: "stock-ticks",
          partition: 0,
          firstOffset: BigInt(index * 1_500),
          count: 1_500,
          producerId: "compact",
          firstSeq: index * 1_500,
        }),
      );
    for (const flush of flushes) await ticks.append([flush]);
    const before = await ticks.dataFiles();
    expect(before).to.have.length(8);
    const report = await compactTable({
      s3,
      bucket: environment.lake.bucket,
      table: ticks,
      definition: ICEBERG_TABLES.ticks,
    });
    expect(report).to.deep.include({ filesBefore: 8, filesAfter: 2 });
    const catalog = new FileCatalog(catalogFolder);
    const scan = await pyicebergScan((await catalog.load("ticks"))!.metadataLocation, environment.lake);
    expect(scan).to.deep.include({ rows: 6_000, distinct: 6_000, duplicates: [], dataFiles: 2 });
    expect(await ticks.append([flushes[1]!]), "published before the compaction").to.deep.equal({ added: 0 });
    const later = await writeTickFlush(s3, environment.lake.bucket, encoder, {
      topic: "stock-ticks",
      partition: 0,
      firstOffset: 6_000n,
      count: 100,
      producerId: "compact",
      firstSeq: 6_000,
    });
    expect((await ticks.append([later])).added).to.equal(1);
    const after = await pyicebergScan((await catalog.load("ticks"))!.metadataLocation, environment.lake);
    expect(after).to.deep.include({ rows: 6_100, distinct: 6_100, duplicates: [] });
  });

  // Bad input, each one line and nothing committed over it: a corrupt metadata file, a schema that is not the
  // contract's, the catalog moved to another table behind a writer's back, a data file deleted outside the table.
  it("refuses, in one line each, corrupt metadata, a foreign schema, a pointer moved to another table and a missing data file", async function () {
    const catalog = new FileCatalog(catalogFolder);
    const put = (key: string, body: string) =>
      s3.send(new PutObjectCommand({ Bucket: environment.lake.bucket, Key: key, Body: body }));
    const failure = (promise: Promise<unknown>) =>
      promise.then(
        () => undefined,
        (caught: Error) => caught.message,
      );

    await put("ticks/metadata/corrupt.metadata.json", "{ not json");
    await catalog.swap(
      "ticks",
      undefined,
      `s3://${environment.lake.bucket}/ticks/metadata/corrupt.metadata.json`,
    );
    expect(await failure(table().append([]))).to.match(
      /^table ticks: its metadata s3:\/\/.+\/ticks\/metadata\/corrupt\.metadata\.json cannot be read \(SyntaxError: /,
    );

    const writer = table();
    const foreign = {
      ...JSON.parse(
        JSON.stringify(
          await metadataOf(
            (
              await new IcebergTable({
                s3,
                bucket: environment.lake.bucket,
                catalog: new FileCatalog(`${catalogFolder}-other`),
                definition: ICEBERG_TABLES.ticks,
              }).ensure()
            ).pointer.metadataLocation,
          ),
        ),
      ),
    };
    foreign.schemas[0].fields[2].type = "float";
    await put("ticks/metadata/foreign.metadata.json", JSON.stringify(foreign));
    await catalog.swap(
      "ticks",
      await catalog.load("ticks"),
      `s3://${environment.lake.bucket}/ticks/metadata/foreign.metadata.json`,
    );
    expect(await failure(writer.append([]))).to.match(
      /^table ticks: the schema in s3:\/\/.+foreign\.metadata\.json is not the contract's \(has 1:symbol:string, 2:ts:timestamptz, 3:price:float, .*; the contract: 1:symbol:string, 2:ts:timestamptz, 3:price:double, /,
    );

    // A writer that loaded one table, then finds the pointer at another table's metadata.
    const fresh = new FileCatalog(`${catalogFolder}-moved`);
    const moving = new IcebergTable({
      s3,
      bucket: environment.lake.bucket,
      catalog: fresh,
      definition: ICEBERG_TABLES.ticks,
    });
    await moving.ensure();
    const other = await new IcebergTable({
      s3,
      bucket: environment.lake.bucket,
      catalog: new FileCatalog(`${catalogFolder}-another`),
      definition: ICEBERG_TABLES.ticks,
    }).ensure();
    await fresh.swap("ticks", await fresh.load("ticks"), other.pointer.metadataLocation);
    expect(await failure(moving.append([]))).to.match(
      /^table ticks: the catalog now points at another table \(uuid /,
    );
    const before = await fresh.load("ticks");

    // A data file the snapshot lists, deleted behind the table's back.
    const flush = await writeTickFlush(s3, environment.lake.bucket, encoder, {
      topic: "stock-ticks",
      partition: 0,
      firstOffset: 0n,
      count: 10,
      producerId: "gone",
      firstSeq: 0,
    });
    const readers = new FileCatalog(`${catalogFolder}-readers`);
    await new IcebergTable({
      s3,
      bucket: environment.lake.bucket,
      catalog: readers,
      definition: ICEBERG_TABLES.ticks,
    }).append([flush]);
    await s3.send(
      new DeleteObjectCommand({
        Bucket: environment.lake.bucket,
        Key: s3Key(flush.files[0]!.filePath, environment.lake.bucket),
      }),
    );
    const cacheDir = path.join(catalogFolder, "cache");
    expect(
      await failure(
        runLocalQuery("SELECT count(*) FROM ticks", {
          s3,
          bucket: environment.lake.bucket,
          cacheDir,
          catalogDir: cacheDir,
          iceberg: { catalog: readers },
        }),
      ),
    ).to.match(
      /^data file s3:\/\/.+\.parquet, which the table's snapshot lists, cannot be read \(NoSuchKey\): was it deleted outside the table\?$/,
    );
    expect(await fresh.load("ticks"), "nothing committed by the refused writer").to.deep.equal(before);
    for (const suffix of ["-other", "-moved", "-another", "-readers"])
      await rm(`${catalogFolder}${suffix}`, { recursive: true, force: true });
  });
});
