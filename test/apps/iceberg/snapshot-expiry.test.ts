import { expect } from "chai";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import {
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type S3Client,
} from "@aws-sdk/client-s3";
import { FileCatalog, type IcebergCatalog } from "../../../apps/iceberg/catalog.ts";
import { compactTable } from "../../../apps/iceberg/compaction.ts";
import { migrateHiveTable } from "../../../apps/iceberg/hive-migration.ts";
import { IcebergTable, s3Key, type FlushAppend } from "../../../apps/iceberg/iceberg-table.ts";
import { expireSnapshots, removeOrphanFiles } from "../../../apps/iceberg/snapshot-expiry.ts";
import { offsetProperty, publishedOffsets } from "../../../apps/iceberg/table-metadata.ts";
import { ICEBERG_TABLES } from "../../../apps/iceberg/table-schema.ts";
import { ParquetEncoder } from "../../../apps/lake/parquet-encoder.ts";
import { createS3Client } from "../../../apps/lake/s3-client.ts";
import { runLocalQuery } from "../../../apps/query/duckdb-engine.ts";
import type { LocalEnvironment } from "../../../ops/local/environment.ts";
import { lastJsonLine, runCli } from "../../helpers/cli.ts";
import { writeTickFlush } from "../../helpers/iceberg-flushes.ts";
import {
  cliEnvironment,
  createTestEnvironment,
  destroyTestEnvironment,
} from "../../helpers/local-environment.ts";
import { pyicebergScan } from "../../helpers/pyiceberg.ts";

const DAY = 86_400_000;

describe("snapshot expiry of the lake's Iceberg tables on the local S3 server @integration", function () {
  this.timeout(240_000);
  let environment: LocalEnvironment;
  let s3: S3Client;
  let encoder: ParquetEncoder;
  let catalogFolder: string;
  let bucket: string;
  const table = (options: { catalog?: IcebergCatalog; now?: () => number } = {}) =>
    new IcebergTable({
      s3,
      bucket,
      catalog: options.catalog ?? new FileCatalog(catalogFolder),
      definition: ICEBERG_TABLES.ticks,
      ...(options.now ? { now: options.now } : {}),
    });
  const flush = (partition: number, firstOffset: number, count: number, producerId = `p${partition}`) =>
    writeTickFlush(s3, bucket, encoder, {
      topic: "stock-ticks",
      partition,
      firstOffset: BigInt(firstOffset),
      count,
      producerId,
      firstSeq: firstOffset,
    });
  const exists = (uri: string) =>
    s3.send(new HeadObjectCommand({ Bucket: bucket, Key: s3Key(uri, bucket) })).then(
      () => true,
      () => false,
    );
  const keys = async (prefix: string) =>
    ((await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix }))).Contents ?? []).map(
      (object) => object.Key!,
    );
  const scan = async () =>
    pyicebergScan((await new FileCatalog(catalogFolder).load("ticks"))!.metadataLocation, environment.lake);
  /** Counts the rows of the snapshot current at `asOfMs` through the project's own Iceberg reader. */
  const countAsOf = async (asOfMs: number) => {
    const cacheDir = await mkdtemp(path.join(tmpdir(), "tickstream-asof-"));
    try {
      const result = await runLocalQuery("SELECT count(*) AS n FROM ticks", {
        s3,
        bucket,
        cacheDir,
        catalogDir: cacheDir,
        iceberg: { catalog: new FileCatalog(catalogFolder), asOfMs },
      });
      return Number(result.rows[0]![0]);
    } finally {
      await rm(cacheDir, { recursive: true, force: true });
    }
  };

  beforeEach(async function () {
    environment = await createTestEnvironment();
    await environment.s3.start();
    s3 = createS3Client(environment.lake);
    bucket = environment.lake.bucket;
    encoder = await ParquetEncoder.create();
    catalogFolder = await mkdtemp(path.join(tmpdir(), "tickstream-catalog-"));
  });
  afterEach(async function () {
    await encoder?.close();
    s3?.destroy();
    await destroyTestEnvironment(environment);
    await rm(catalogFolder, { recursive: true, force: true });
  });

  // Appends, a compaction, then expiry of everything but the current snapshot: the compaction's replaced small
  // files are reachable only from expired snapshots and go; the rows are each still there once; the offset record
  // is the same, so a flush published before is still recognised as in the table.
  it("after appends and a compaction, expiry deletes the replaced small files, keeps every tick once and keeps the offset record", async function () {
    const ticks = table();
    const flushes: FlushAppend[] = [];
    for (let index = 0; index < 4; index++) flushes.push(await flush(0, index * 1_500, 1_500, "compact"));
    flushes.push(await flush(1, 0, 300));
    for (const each of flushes) expect((await ticks.append([each])).added).to.equal(1);
    const small = flushes.flatMap((each) => each.files.map((file) => file.filePath));
    await compactTable({ s3, bucket, table: ticks, definition: ICEBERG_TABLES.ticks });
    const before = await ticks.ensure();
    const offsetsBefore = publishedOffsets(before.metadata);
    expect(offsetsBefore.get(offsetProperty("stock-ticks", 0))).to.equal(6_000n);
    expect(offsetsBefore.get(offsetProperty("stock-ticks", 1))).to.equal(300n);
    const oldLists = before.metadata.snapshots
      .filter((snapshot) => snapshot["snapshot-id"] !== before.metadata["current-snapshot-id"])
      .map((snapshot) => snapshot["manifest-list"]);
    expect(oldLists).to.have.length(5);

    const dry = await expireSnapshots({
      s3,
      bucket,
      table: ticks,
      olderThanMs: 0,
      retainLast: 1,
      dryRun: true,
    });
    expect(dry).to.deep.include({ dryRun: true, snapshotsExpired: 5, snapshotsRetained: 1 });
    expect(dry.deleted.dataFiles).to.equal(small.length);
    for (const uri of small) expect(await exists(uri), `dry run kept ${uri}`).to.equal(true);
    expect(await new FileCatalog(catalogFolder).load("ticks"), "dry run commits nothing").to.deep.equal(
      before.pointer,
    );

    const report = await expireSnapshots({ s3, bucket, table: ticks, olderThanMs: 0, retainLast: 1 });
    expect(report).to.deep.include({ snapshotsBefore: 6, snapshotsExpired: 5, snapshotsRetained: 1 });
    expect(report.deleted).to.deep.include({ dataFiles: small.length, manifestLists: 5 });
    expect(report.deleted.manifests).to.be.at.least(5);
    expect(report.deleted.bytes).to.be.greaterThan(0);
    for (const uri of [...small, ...oldLists]) expect(await exists(uri), `${uri} deleted`).to.equal(false);
    const after = await ticks.ensure();
    expect(after.metadata.snapshots).to.have.length(1);
    for (const file of await ticks.dataFiles(after)) expect(await exists(file.filePath)).to.equal(true);

    // The offset record is what it was: every partition's, from the current snapshot alone.
    expect(publishedOffsets(after.metadata)).to.deep.equal(offsetsBefore);
    expect(await scan()).to.deep.include({ rows: 6_300, distinct: 6_300, duplicates: [], dataFiles: 2 });
    const pointer = await new FileCatalog(catalogFolder).load("ticks");
    expect(await ticks.append([flushes[1]!]), "a committed flush republished after expiry").to.deep.equal({
      added: 0,
    });
    expect(await ticks.append([flushes[4]!]), "the other partition's").to.deep.equal({ added: 0 });
    expect(await new FileCatalog(catalogFolder).load("ticks"), "no commit").to.deep.equal(pointer);
    expect((await ticks.append([await flush(0, 6_000, 100, "compact")])).added).to.equal(1);
    expect(await scan()).to.deep.include({ rows: 6_400, distinct: 6_400, duplicates: [] });

    // Nothing more to expire: a second run commits and deletes nothing.
    const again = await expireSnapshots({ s3, bucket, table: ticks, olderThanMs: 0, retainLast: 2 });
    expect(again).to.deep.include({ snapshotsExpired: 0 });
    expect(again.deleted).to.deep.include({ dataFiles: 0, manifests: 0, manifestLists: 0 });
  });

  // Iceberg's retention: a snapshot older than the cutoff expires unless it is among the newest `retainLast`
  // ancestors of the current one; what a retained snapshot reads stays, even the small files a later compaction
  // replaced, and a reader can travel back to it.
  it("keeps what retained snapshots reference (time travel to one reads every row) and expires only what is older than the cutoff", async function () {
    let clock = Date.UTC(2026, 11, 1);
    const now = () => clock;
    const ticks = table({ now });
    const times: number[] = [];
    const flushes: FlushAppend[] = [];
    for (let index = 0; index < 4; index++) {
      clock += DAY;
      flushes.push(await flush(0, index * 500, 500));
      await ticks.append([flushes[index]!]);
      times.push(clock);
    }
    clock += DAY;
    await compactTable({ s3, bucket, table: ticks, definition: ICEBERG_TABLES.ticks });
    const compactedAt = clock;
    clock += DAY;
    await ticks.append([await flush(0, 2_000, 100)]);
    // Snapshots at days 1, 2, 3, 4 (appends), 5 (compaction), 6 (append); now is day 6 + 12 h.
    clock += DAY / 2;
    const small = flushes.flatMap((each) => each.files.map((file) => file.filePath));

    // Older than 3 days: days 1, 2 and 3 qualify; retainLast 4 keeps the append of day 3.
    const report = await expireSnapshots({
      s3,
      bucket,
      table: ticks,
      olderThanMs: 3 * DAY,
      retainLast: 4,
      now,
    });
    expect(report).to.deep.include({ snapshotsExpired: 2, snapshotsRetained: 4 });
    expect(report.deleted.dataFiles, "every small file is still read by a retained snapshot").to.equal(0);
    for (const uri of small) expect(await exists(uri), `${uri} kept`).to.equal(true);
    expect(await countAsOf(times[2]!), "time travel to the retained snapshot of day 3").to.equal(1_500);
    expect(await countAsOf(times[3]!), "day 4").to.equal(2_000);
    expect(await countAsOf(compactedAt), "the compaction").to.equal(2_000);
    const early = await countAsOf(times[1]!).then(
      () => "read",
      (error: Error) => error.message,
    );
    expect(early).to.match(/^table ticks has no snapshot at or before /);

    // Now retain the compaction and what followed: the small files were read by expired snapshots only.
    const second = await expireSnapshots({ s3, bucket, table: ticks, olderThanMs: 0, retainLast: 2, now });
    expect(second).to.deep.include({ snapshotsExpired: 2, snapshotsRetained: 2 });
    expect(second.deleted.dataFiles).to.equal(small.length);
    for (const uri of small) expect(await exists(uri), `${uri} deleted`).to.equal(false);
    expect(await countAsOf(compactedAt)).to.equal(2_000);
    expect(await scan()).to.deep.include({ rows: 2_100, distinct: 2_100, duplicates: [] });
  });

  // A sink's append lands between expiry's read of the table and its swap: the swap loses, expiry derives its
  // metadata again from the new table, and the append is in the table afterwards.
  it("keeps a sink's append that commits while expiry is committing (the lost swap is derived again from the new base)", async function () {
    const ticks = table();
    for (let index = 0; index < 3; index++) await ticks.append([await flush(0, index * 100, 100)]);
    const late = await flush(7, 0, 250, "late");
    const real = new FileCatalog(catalogFolder);
    let raced = 0;
    const racing: IcebergCatalog = {
      load: (name) => real.load(name),
      async swap(name, expected, location) {
        if (raced++ === 0) expect((await table().append([late])).added).to.equal(1);
        return real.swap(name, expected, location);
      },
    };
    const report = await expireSnapshots({
      s3,
      bucket,
      table: table({ catalog: racing }),
      olderThanMs: 0,
      retainLast: 1,
    });
    expect(raced, "expiry swapped twice: lost once, then won").to.equal(2);
    expect(await scan(), "the late append is in the table").to.deep.include({
      rows: 550,
      distinct: 550,
      duplicates: [],
    });
    const after = await ticks.ensure();
    expect(publishedOffsets(after.metadata).get(offsetProperty("stock-ticks", 7))).to.equal(250n);
    expect(publishedOffsets(after.metadata).get(offsetProperty("stock-ticks", 0))).to.equal(300n);
    for (const file of late.files) expect(await exists(file.filePath)).to.equal(true);
    expect(report.snapshotsExpired, "the three before the late append").to.equal(3);
    expect(after.metadata.snapshots).to.have.length(1);
  });

  // A commit that lands after expiry's swap and before its deletions, referencing a file only expired snapshots
  // reached (as lake migrate re-adding a Hive object a compaction replaced would): the file stays.
  it("does not delete a file that a commit after its swap references again", async function () {
    const ticks = table();
    const flushes = [await flush(0, 0, 100), await flush(0, 100, 100)];
    for (const each of flushes) await ticks.append([each]);
    await compactTable({ s3, bucket, table: ticks, definition: ICEBERG_TABLES.ticks });
    const again = flushes[0]!.files;
    const real = new FileCatalog(catalogFolder);
    let swapped = false;
    let readded = 0;
    const racing: IcebergCatalog = {
      async load(name) {
        if (swapped && readded === 0) readded = (await table().appendNewFiles(again)).added;
        return real.load(name);
      },
      async swap(name, expected, location) {
        swapped = await real.swap(name, expected, location);
        return swapped;
      },
    };
    const report = await expireSnapshots({
      s3,
      bucket,
      table: table({ catalog: racing }),
      olderThanMs: 0,
      retainLast: 1,
    });
    expect(readded).to.equal(again.length);
    expect(report.snapshotsExpired).to.equal(2);
    for (const file of again) expect(await exists(file.filePath), `${file.filePath} kept`).to.equal(true);
    for (const file of flushes[1]!.files) expect(await exists(file.filePath)).to.equal(false);
    expect(await scan()).to.deep.include({ rows: 300 });
  });

  // Objects no snapshot ever referenced are never expiry's: Hive-layout objects not migrated yet and a flush
  // published to `dt=…/` whose append is pending. Migrated ones that a compaction replaced are.
  it("never deletes objects no snapshot referenced (unmigrated Hive objects, a pending flush), even as orphans", async function () {
    const source = await flush(0, 0, 40, "hive");
    const body = Buffer.from(
      await (
        await s3.send(new GetObjectCommand({ Bucket: bucket, Key: s3Key(source.files[0]!.filePath, bucket) }))
      ).Body!.transformToByteArray(),
    );
    const put = (key: string, content: Buffer | string = body) =>
      s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: content }));
    const migrated = [
      "ticks/dt=2026-12-05/stock-ticks+0+00000000000000000000.parquet",
      "ticks/dt=2026-12-05/stock-ticks+0+00000000000000000040.parquet",
    ];
    for (const key of migrated) await put(key);
    const catalog = new FileCatalog(catalogFolder);
    expect(
      (await migrateHiveTable({ s3, bucket, catalog, definition: ICEBERG_TABLES.ticks })).added,
    ).to.equal(2);
    await compactTable({ s3, bucket, table: table(), definition: ICEBERG_TABLES.ticks });
    // Written after the migration: a Hive object not migrated yet, and a flush published but not yet appended.
    const unmigrated = "ticks/dt=2026-12-05/stock-ticks+1+00000000000000000000.parquet";
    const pending = "ticks/dt=2026-12-06/stock-ticks+2+00000000000000000000.parquet";
    await put(unmigrated);
    await put(pending);
    // And true orphans: a lost commit's manifest, a compaction output never committed.
    await put("ticks/metadata/lost-commit-m0.avro", "not referenced");
    await put("ticks/data/ts_day=20792/compacted-never-committed.parquet", body);

    const report = await expireSnapshots({ s3, bucket, table: table(), olderThanMs: 0, retainLast: 1 });
    expect(report.deleted.dataFiles).to.equal(2);
    for (const key of migrated) expect(await exists(`s3://${bucket}/${key}`), key).to.equal(false);
    for (const key of [unmigrated, pending, "ticks/metadata/lost-commit-m0.avro"])
      expect(await exists(`s3://${bucket}/${key}`), `${key} kept`).to.equal(true);

    // Orphans: within the grace period nothing goes; past it, metadata/ and data/ only.
    const young = await removeOrphanFiles({ s3, bucket, table: table() });
    expect(young.manifests + young.dataFiles).to.equal(0);
    const later = () => Date.now() + 4 * DAY;
    const orphans = await removeOrphanFiles({ s3, bucket, table: table(), now: later });
    expect(orphans).to.deep.include({ manifests: 1, dataFiles: 2 });
    expect(await keys("ticks/dt=")).to.have.members([unmigrated, pending]);
    expect(await exists(`s3://${bucket}/ticks/metadata/lost-commit-m0.avro`)).to.equal(false);
    expect(await scan()).to.deep.include({ rows: 80, dataFiles: 1 });
    expect(await removeOrphanFiles({ s3, bucket, table: table(), now: later })).to.deep.include({
      dataFiles: 0,
      manifests: 0,
      manifestLists: 0,
      metadataFiles: 0,
    });
  });

  // The metadata keeps the newest 100 snapshots (withSnapshot) and a log of the last 50 metadata files; the files
  // of snapshots it dropped are found through the logged metadata files, and metadata files older than the log go.
  it("deletes the files of snapshots the metadata already dropped, and the metadata files older than the log", async function () {
    const ticks = table();
    const first = [await flush(0, 0, 100), await flush(0, 100, 100)];
    for (const each of first) await ticks.append([each]);
    await compactTable({ s3, bucket, table: ticks, definition: ICEBERG_TABLES.ticks });
    for (let index = 0; index < 55; index++) await ticks.append([await flush(0, 200 + index, 1)]);
    // As withSnapshot's cap would: the first two snapshots leave the metadata in a commit of their own.
    const loaded = await ticks.ensure();
    const dropped = loaded.metadata.snapshots.slice(0, 2).map((snapshot) => snapshot["snapshot-id"]);
    expect(
      await ticks.commitMetadata(loaded, {
        ...loaded.metadata,
        snapshots: loaded.metadata.snapshots.slice(2),
        "snapshot-log": loaded.metadata["snapshot-log"].filter(
          (entry) => !dropped.includes(entry["snapshot-id"]),
        ),
        "metadata-log": [
          ...loaded.metadata["metadata-log"],
          { "timestamp-ms": 0, "metadata-file": loaded.pointer.metadataLocation },
        ].slice(-50),
      }),
    ).to.be.a("string");
    // A commit in flight has written its metadata file (numbered above the table's sequence) but not swapped yet.
    const inFlight = `ticks/metadata/${String(loaded.metadata["last-sequence-number"] + 1).padStart(5, "0")}-in-flight.metadata.json`;
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: inFlight, Body: "{}" }));
    const metadataBefore = (await keys("ticks/metadata/")).filter((key) => key.endsWith(".metadata.json"));
    expect(metadataBefore, "the creation, 58 commits, the drop, one in flight").to.have.length(
      1 + 58 + 1 + 1,
    );

    // Defaults: nothing in the metadata is 5 days old, yet the dropped snapshots' files are garbage.
    const report = await expireSnapshots({ s3, bucket, table: ticks });
    expect(report.snapshotsExpired).to.equal(0);
    const replaced = first.flatMap((each) => each.files);
    expect(report.deleted.dataFiles, "the first flushes' files, replaced by the compaction").to.equal(
      replaced.length,
    );
    for (const file of replaced) expect(await exists(file.filePath)).to.equal(false);
    expect(report.deleted).to.deep.include({ manifestLists: 2, manifests: 2, metadataFiles: 9 });
    const after = await ticks.ensure();
    const metadataAfter = (await keys("ticks/metadata/")).filter((key) => key.endsWith(".metadata.json"));
    expect(report.deleted.metadataFiles).to.equal(metadataBefore.length - metadataAfter.length);
    expect(metadataAfter).to.include(inFlight);
    expect(metadataAfter).to.have.length(after.metadata["metadata-log"].length + 1 + 1);
    for (const entry of after.metadata["metadata-log"])
      expect(await exists(entry["metadata-file"])).to.equal(true);
    expect(await scan()).to.deep.include({ rows: 255, distinct: 255, duplicates: [] });
  });

  // A sink committing every few seconds makes 100 snapshots in minutes, and the metadata keeps the newest 100:
  // a compaction's snapshot, the only record of the files it replaced, stays past that cap until expiry reads it.
  it("deletes the files a compaction replaced even after more than 100 appends followed it (the replace snapshot outlives the cap)", async function () {
    this.timeout(300_000);
    const ticks = table();
    for (let index = 0; index < 4; index++) await ticks.append([await flush(0, index * 10, 10)]);
    const small = (await ticks.dataFiles()).map((file) => file.filePath);
    await compactTable({ s3, bucket, table: ticks, definition: ICEBERG_TABLES.ticks });
    for (let index = 0; index < 101; index++) await ticks.append([await flush(1, index, 1)]);
    const { metadata } = await ticks.ensure();
    expect(
      metadata.snapshots.filter((snapshot) => snapshot.summary.operation === "replace"),
      "the compaction's snapshot is still in the metadata",
    ).to.have.length(1);
    expect(metadata.snapshots.length).to.equal(101);
    const report = await expireSnapshots({ s3, bucket, table: ticks, olderThanMs: 0, retainLast: 1 });
    expect(report.deleted.dataFiles).to.be.at.least(small.length);
    for (const uri of small) expect(await exists(uri), `${uri} deleted`).to.equal(false);
    expect(await scan()).to.deep.include({ rows: 141, distinct: 141, duplicates: [] });
  });

  it("tickstream lake expire: a result table, --json, and one line for a bad option", async function () {
    const home = environment.home;
    const catalog = new FileCatalog(path.join(home, "catalog", "iceberg"));
    await mkdir(path.join(home, "catalog", "iceberg"), { recursive: true });
    const ticks = table({ catalog });
    const flushes = [await flush(0, 0, 200), await flush(0, 200, 200)];
    for (const each of flushes) await ticks.append([each]);
    await compactTable({ s3, bucket, table: ticks, definition: ICEBERG_TABLES.ticks });
    const env = cliEnvironment(environment);

    const bad = await runCli(["lake", "expire", "--older-than", "5x"], env);
    expect(bad.exitCode).to.not.equal(0);
    // One line, and commander's usual hint after it.
    expect(bad.stderr.trim().split("\n")).to.deep.equal([
      `error: option '--older-than <age>' argument '5x' is invalid. expected an age like 5d, 12h, 30m or 0s, got "5x"`,
      "(run with --help for usage)",
    ]);

    const dry = await runCli(
      ["lake", "expire", "--table", "ticks", "--older-than", "0s", "--retain-last", "1", "--dry-run"],
      env,
    );
    expect(dry.exitCode, dry.stderr).to.equal(0);
    expect(dry.stdout).to.match(/snapshots would be expired/);
    expect(dry.stdout).to.match(/ticks\s+2\s+1\s+/);
    expect(dry.stderr).to.include("ticks: 2 of 3 snapshots expire");

    const run = await runCli(
      ["lake", "expire", "--table", "ticks", "--older-than", "0s", "--retain-last", "1", "--json"],
      env,
    );
    expect(run.exitCode, run.stderr).to.equal(0);
    const [report] = lastJsonLine<{
      tables: { table: string; snapshotsExpired: number; deleted: { dataFiles: number; bytes: number } }[];
    }>(run.stdout).tables;
    expect(report).to.deep.include({ table: "ticks", snapshotsExpired: 2 });
    expect(report!.deleted.dataFiles).to.equal(2);
    expect(report!.deleted.bytes).to.be.greaterThan(0);
    for (const file of flushes.flatMap((each) => each.files))
      expect(await exists(file.filePath)).to.equal(false);
    expect(
      await pyicebergScan((await catalog.load("ticks"))!.metadataLocation, environment.lake),
    ).to.deep.include({ rows: 400, distinct: 400, duplicates: [] });
  });
});
