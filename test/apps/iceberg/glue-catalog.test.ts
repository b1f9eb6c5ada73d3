/**
 * The Glue catalog (apps/iceberg/glue-catalog.ts) against moto's Glue, with the lake in the local S3 server.
 *
 * moto (5.2.x, and moto-ext 5.1.54) ignores UpdateTable's VersionId: it accepts a stale version and moves the table
 * on, so a commit race run against plain moto would pass with a broken guard. These tests run moto through
 * test/helpers/moto-glue-versions.py, which makes UpdateTable refuse a stale VersionId with
 * ConcurrentModificationException as AWS does (the launcher says why and cites the AWS behaviour); the first test
 * checks that the launcher does so, so a moto that changes underneath fails loudly here instead of passing.
 */
import { expect } from "chai";
import { execa } from "execa";
import { randomUUID } from "node:crypto";
import path from "node:path";
import type { S3Client } from "@aws-sdk/client-s3";
import {
  CreateDatabaseCommand,
  CreateTableCommand,
  GetTableCommand,
  GlueClient,
  UpdateTableCommand,
} from "@aws-sdk/client-glue";
import { FileCatalog } from "../../../apps/iceberg/catalog.ts";
import { describeCatalog, parseCatalogLocation } from "../../../apps/iceberg/catalog-location.ts";
import { icebergCatalogFromEnvironment, openCatalog } from "../../../apps/iceberg/open-catalog.ts";
import { GlueCatalog, tableLocation } from "../../../apps/iceberg/glue-catalog.ts";
import { IcebergTable } from "../../../apps/iceberg/iceberg-table.ts";
import { ICEBERG_TABLES } from "../../../apps/iceberg/table-schema.ts";
import { ParquetEncoder } from "../../../apps/lake/parquet-encoder.ts";
import { createS3Client } from "../../../apps/lake/s3-client.ts";
import { ConfigError } from "../../../apps/shared/errors.ts";
import { readServiceEnvironment } from "../../../apps/shared/service-environment.ts";
import type { LocalEnvironment } from "../../../ops/local/environment.ts";
import { writeTickFlush } from "../../helpers/iceberg-flushes.ts";
import { createTestEnvironment, destroyTestEnvironment } from "../../helpers/local-environment.ts";
import { startMoto, type MotoServer } from "../../helpers/moto.ts";
import { pyicebergScan } from "../../helpers/pyiceberg.ts";

const caught = (promise: Promise<unknown>) =>
  promise.then(
    () => undefined,
    (error: Error) => error,
  );

describe("catalog locations", function () {
  it("opens file:<absolute folder> as the file catalog and glue:<database> as the Glue catalog", function () {
    expect(openCatalog("file:/tmp/catalog", { region: "us-east-1" })).to.be.instanceOf(FileCatalog);
    const glue = openCatalog("glue:tickstream_dev", { region: "eu-west-1" });
    expect(glue).to.be.instanceOf(GlueCatalog);
    expect((glue as GlueCatalog).database).to.equal("tickstream_dev");
    expect(parseCatalogLocation("file:/a/b/../c")).to.deep.equal({ kind: "file", folder: "/a/c" });
    expect(describeCatalog("glue:tickstream_dev", { region: "eu-west-1" })).to.equal(
      "glue:tickstream_dev (eu-west-1)",
    );
    expect(describeCatalog("glue:db", { region: "us-east-1", endpoint: "http://127.0.0.1:5000" })).to.equal(
      "glue:db at http://127.0.0.1:5000",
    );
  });

  it("refuses anything else in one line naming the accepted forms", function () {
    for (const [location, reason] of [
      ["s3://bucket/catalog", 'has an unknown scheme "s3"'],
      ["tickstream_dev", "has no scheme"],
      ["file:relative/folder", "is not an absolute folder"],
      ["glue:Tickstream-Dev", "names no Glue database"],
      ["glue:", "names no Glue database"],
    ] as const) {
      let error: unknown;
      try {
        openCatalog(location, { region: "us-east-1" });
      } catch (thrown) {
        error = thrown;
      }
      expect(error, location).to.be.instanceOf(ConfigError);
      const message = (error as Error).message;
      expect(message, location).to.include(reason);
      expect(message, location).to.include("expected file:<absolute folder> or glue:<Glue database>");
      expect(message, location).not.to.include("\n");
    }
  });

  it("reads TICKSTREAM_ICEBERG_CATALOG from a service's environment, a bad value in one line naming the variable", function () {
    const base = {
      TICKSTREAM_BOOTSTRAP_SERVERS: "10.0.0.1:9092",
      TICKSTREAM_BUCKET: "lake",
      AWS_REGION: "us-east-1",
    };
    expect(icebergCatalogFromEnvironment(readServiceEnvironment(base))).to.equal(undefined);
    const env = readServiceEnvironment({
      ...base,
      TICKSTREAM_ICEBERG_CATALOG: "glue:tickstream_dev",
      TICKSTREAM_GLUE_ENDPOINT: "http://127.0.0.1:5000",
    });
    const opened = icebergCatalogFromEnvironment(env);
    expect(opened).to.be.instanceOf(GlueCatalog);
    expect((opened as GlueCatalog).describe()).to.equal("glue:tickstream_dev");
    const bad = (value: Record<string, string>) => {
      try {
        readServiceEnvironment({ ...base, ...value });
      } catch (error) {
        return error as Error;
      }
      return undefined;
    };
    expect(bad({ TICKSTREAM_ICEBERG_CATALOG: "s3://lake/catalog" })?.message).to.equal(
      'environment variable TICKSTREAM_ICEBERG_CATALOG: the catalog "s3://lake/catalog" has an unknown scheme "s3"; expected file:<absolute folder> or glue:<Glue database>',
    );
    expect(bad({ TICKSTREAM_GLUE_ENDPOINT: "moto" })?.message).to.match(
      /^environment variable TICKSTREAM_GLUE_ENDPOINT: /,
    );
  });

  it("finds the table location above its metadata folder, as Iceberg lays it out", function () {
    expect(tableLocation("s3://lake/ticks/metadata/00003-ab.metadata.json")).to.equal("s3://lake/ticks");
  });
});

describe("the Glue catalog against moto @integration", function () {
  this.timeout(240_000);
  let moto: MotoServer;
  let environment: LocalEnvironment;
  let s3: S3Client;
  let encoder: ParquetEncoder;
  let glue: GlueClient;
  let database: string;

  const catalog = () => new GlueCatalog({ database, ...moto.clientConfig });
  const table = (catalogOf = catalog()) =>
    new IcebergTable({
      s3,
      bucket: environment.lake.bucket,
      catalog: catalogOf,
      definition: ICEBERG_TABLES.ticks,
    });
  const glueTable = async (name = "ticks") =>
    (await glue.send(new GetTableCommand({ DatabaseName: database, Name: name }))).Table!;
  const flush = (partition: number, producerId = `glue-${partition}`) =>
    writeTickFlush(s3, environment.lake.bucket, encoder, {
      topic: "stock-ticks",
      partition,
      firstOffset: 0n,
      count: 50,
      producerId,
      firstSeq: 0,
    });
  const scanThroughGlue = () =>
    pyicebergScan({ glueEndpoint: moto.endpoint, database, table: "ticks" }, environment.lake);

  before(async function () {
    moto = await startMoto({ glueTableVersions: true });
    glue = new GlueClient(moto.clientConfig);
  });
  after(async function () {
    glue?.destroy();
    await moto?.stop();
  });
  beforeEach(async function () {
    environment = await createTestEnvironment();
    await environment.s3.start();
    s3 = createS3Client(environment.lake);
    encoder = await ParquetEncoder.create();
    database = `tickstream_${randomUUID().replaceAll("-", "").slice(0, 12)}`;
    await glue.send(new CreateDatabaseCommand({ DatabaseInput: { Name: database } }));
  });
  afterEach(async function () {
    await encoder?.close();
    s3?.destroy();
    await destroyTestEnvironment(environment);
  });

  it("runs moto with Glue's optimistic lock: a stale VersionId is refused with ConcurrentModificationException", async function () {
    const input = (location: string) => ({
      Name: "probe",
      TableType: "EXTERNAL_TABLE",
      Parameters: { table_type: "ICEBERG", metadata_location: location },
    });
    await glue.send(new CreateTableCommand({ DatabaseName: database, TableInput: input("a") }));
    const first = (await glueTable("probe")).VersionId!;
    await glue.send(
      new UpdateTableCommand({ DatabaseName: database, TableInput: input("b"), VersionId: first }),
    );
    const error = await caught(
      glue.send(new UpdateTableCommand({ DatabaseName: database, TableInput: input("c"), VersionId: first })),
    );
    expect(error?.name).to.equal("ConcurrentModificationException");
    expect((await glueTable("probe")).Parameters!.metadata_location).to.equal("b");
  });

  it("creates the table on the first commit as Iceberg's GlueCatalog does, then loads it; pyiceberg's Glue catalog reads it", async function () {
    const writer = table();
    const created = await writer.ensure();
    const first = await glueTable();
    // GlueTableOperations: EXTERNAL_TABLE, table_type ICEBERG, metadata_location; the location and the columns
    // with their Iceberg field ids (IcebergToGlueConverter).
    expect(first.TableType).to.equal("EXTERNAL_TABLE");
    expect(first.Parameters).to.deep.equal({
      table_type: "ICEBERG",
      metadata_location: created.pointer.metadataLocation,
    });
    expect(first.StorageDescriptor!.Location).to.equal(`s3://${environment.lake.bucket}/ticks`);
    const columns = first.StorageDescriptor!.Columns!;
    expect(columns.map((column) => column.Name)).to.deep.equal(
      ICEBERG_TABLES.ticks.schema.fields.map((field) => field.name),
    );
    expect(columns.find((column) => column.Name === "ts")).to.deep.include({
      Type: "timestamp",
      Parameters: {
        "iceberg.field.id": "2",
        "iceberg.field.optional": "false",
        "iceberg.field.current": "true",
      },
    });
    expect(columns.find((column) => column.Name === "open")!.Parameters!["iceberg.field.optional"]).to.equal(
      "true",
    );
    expect(await catalog().load("ticks")).to.deep.equal({
      metadataLocation: created.pointer.metadataLocation,
      version: first.VersionId,
    });

    expect((await writer.append([await flush(0)])).added).to.equal(1);
    const second = await glueTable();
    expect(second.Parameters!.previous_metadata_location).to.equal(created.pointer.metadataLocation);
    expect(second.Parameters!.metadata_location).not.to.equal(created.pointer.metadataLocation);
    expect(second.VersionId).not.to.equal(first.VersionId);
    expect(await catalog().load("ticks")).to.deep.equal({
      metadataLocation: second.Parameters!.metadata_location,
      version: second.VersionId,
    });

    const scan = await scanThroughGlue();
    expect(scan).to.deep.include({ rows: 50, distinct: 50, duplicates: [], dataFiles: 1 });
  });

  it("refuses a swap from a stale version, and the winner's pointer stands", async function () {
    const glueCatalog = catalog();
    const metadata = (name: string) => `s3://${environment.lake.bucket}/ticks/metadata/${name}.metadata.json`;
    expect(await glueCatalog.swap("ticks", undefined, metadata("a"))).to.equal(true);
    // Another creator's table is the table: AlreadyExistsException (or the table seen first) is a lost race.
    expect(await glueCatalog.swap("ticks", undefined, metadata("b"))).to.equal(false);
    const first = (await glueCatalog.load("ticks"))!;
    expect(await glueCatalog.swap("ticks", first, metadata("c"))).to.equal(true);
    expect(await glueCatalog.swap("ticks", first, metadata("d"))).to.equal(false);
    expect((await glueCatalog.load("ticks"))!.metadataLocation).to.equal(metadata("c"));

    // The pointer is still the one read, but the table moved on (someone edited it): only VersionId sees that,
    // and Glue refuses the update.
    const read = (await glueCatalog.load("ticks"))!;
    const current = await glueTable();
    await glue.send(
      new UpdateTableCommand({
        DatabaseName: database,
        TableInput: {
          Name: "ticks",
          TableType: current.TableType,
          Description: "edited by hand",
          Parameters: current.Parameters,
          StorageDescriptor: current.StorageDescriptor,
        },
      }),
    );
    expect(await glueCatalog.swap("ticks", read, metadata("e"))).to.equal(false);
    const after = (await glueCatalog.load("ticks"))!;
    expect(after.metadataLocation).to.equal(metadata("c"));
    expect(await glueCatalog.swap("ticks", after, metadata("f"))).to.equal(true);
    const last = await glueTable();
    expect(last.Parameters).to.deep.include({
      metadata_location: metadata("f"),
      previous_metadata_location: metadata("c"),
    });
    expect(last.Description, "the table's description is kept").to.equal("edited by hand");
  });

  // Both committers pass the pointer check before either updates: only Glue's VersionId can stop the second
  // UpdateTable. The middleware holds each UpdateTable until both have been sent; Glue and S3 are the real ones.
  it("lets one of two UpdateTables on the same version through; the loser retries on the winner's table", async function () {
    await table().ensure();
    let arrived = 0;
    let release!: () => void;
    const bothSent = new Promise<void>((resolve) => (release = resolve));
    const outcomes: string[] = [];
    const held = () => {
      const glueCatalog = catalog();
      glueCatalog.client.middlewareStack.add(
        (next, context) => async (args) => {
          if (context.commandName !== "UpdateTableCommand") return next(args);
          if (++arrived <= 2) {
            if (arrived === 2) release();
            await bothSent;
          }
          try {
            const result = await next(args);
            outcomes.push("updated");
            return result;
          } catch (error) {
            outcomes.push((error as Error).name);
            throw error;
          }
        },
        { step: "initialize", name: "holdUpdateTable" },
      );
      return table(glueCatalog);
    };
    const flushes = [await flush(3), await flush(4)];
    const results = await Promise.all([held().append([flushes[0]!]), held().append([flushes[1]!])]);
    expect(results.map((result) => result.added)).to.deep.equal([1, 1]);
    expect(outcomes.slice(0, 2).sort(), "one of the two updates on the same version lost").to.deep.equal([
      "ConcurrentModificationException",
      "updated",
    ]);
    expect(outcomes.slice(2), "the loser's retry on the winner's table").to.deep.equal(["updated"]);
    const scan = await scanThroughGlue();
    expect(scan).to.deep.include({ rows: 100, distinct: 100, duplicates: [] });
  });

  // The SDK retries a call whose answer was lost; Glue then refuses the retry (its version moved, by this very
  // update). A pointer at this swap's own metadata file means it won (Iceberg's checkCommitStatus).
  it("counts a swap as won when a retried UpdateTable is refused after its first attempt went through", async function () {
    const glueCatalog = catalog();
    const metadata = (name: string) => `s3://${environment.lake.bucket}/ticks/metadata/${name}.metadata.json`;
    expect(await glueCatalog.swap("ticks", undefined, metadata("a"))).to.equal(true);
    const refusals: string[] = [];
    glueCatalog.client.middlewareStack.add(
      (next, context) => async (args) => {
        if (context.commandName !== "UpdateTableCommand") return next(args);
        await next(args);
        return next(args).catch((error: Error) => {
          refusals.push(error.name);
          throw error;
        });
      },
      { step: "initialize", name: "sendTwice" },
    );
    const read = (await glueCatalog.load("ticks"))!;
    expect(await glueCatalog.swap("ticks", read, metadata("b"))).to.equal(true);
    expect(refusals).to.deep.equal(["ConcurrentModificationException"]);
    // A stale swap retried the same way is still a loss.
    expect(await glueCatalog.swap("ticks", read, metadata("c"))).to.equal(false);
    expect((await glueCatalog.load("ticks"))!.metadataLocation).to.equal(metadata("b"));
  });

  it("keeps every append of four processes committing to one table through Glue at once", async function () {
    const worker = path.resolve("test/helpers/iceberg-append-worker.ts");
    const [writers, flushes, ticks] = [4, 8, 25];
    const run = (partition: number) =>
      execa(
        "node",
        [
          "--import",
          "tsx",
          worker,
          JSON.stringify(environment.lake),
          `glue:${database}`,
          String(partition),
          String(flushes),
          String(ticks),
        ],
        {
          timeout: 200_000,
          env: {
            TICKSTREAM_GLUE_ENDPOINT: moto.endpoint,
            AWS_ACCESS_KEY_ID: "testing",
            AWS_SECRET_ACCESS_KEY: "testing",
          },
        },
      );
    const results = await Promise.all(Array.from({ length: writers }, (_, partition) => run(partition)));
    for (const result of results)
      expect(result.stdout.split("\n").filter((line) => line === "appended 1")).to.have.length(flushes);
    const scan = await scanThroughGlue();
    expect(scan).to.deep.include({
      rows: writers * flushes * ticks,
      distinct: writers * flushes * ticks,
      duplicates: [],
    });
    // One table version for the creation and one per append: no commit was lost or made twice (moto numbers a
    // new table's version 1; AWS starts at 0).
    expect(Number((await glueTable()).VersionId)).to.equal(1 + writers * flushes);
  });

  it("says in one line that the database is missing, that a Glue table is not Iceberg, and which action was refused", async function () {
    const missing = new GlueCatalog({ ...moto.clientConfig, database: "tickstream_gone" });
    const gone = await caught(missing.load("ticks"));
    expect(gone?.message).to.match(/^glue database tickstream_gone does not exist \(/);
    expect(gone?.message).not.to.include("\n");

    // The crawler's Hive table of the same name is not taken over.
    await glue.send(
      new CreateTableCommand({
        DatabaseName: database,
        TableInput: { Name: "ticks", TableType: "EXTERNAL_TABLE", Parameters: { classification: "parquet" } },
      }),
    );
    const hive = await caught(catalog().load("ticks"));
    expect(hive?.message).to.equal(
      `glue table ${database}.ticks is not an Iceberg table (table_type not set; a Hive table of the crawler?): drop or rename it, then commit again`,
    );
    expect(
      await caught(catalog().swap("ticks", undefined, "s3://x/ticks/metadata/a.metadata.json")),
    ).to.be.instanceOf(Error);
    expect((await glueTable()).Parameters).to.deep.equal({ classification: "parquet" });

    // moto allows every call; the refusal AWS would send (AccessDeniedException) is answered by middleware.
    const denied = catalog();
    denied.client.middlewareStack.add(
      (next, context) => async (args) => {
        if (context.commandName === "GetTableCommand")
          throw Object.assign(new Error("User: arn:aws:sts::1:assumed-role/broker is not authorized"), {
            name: "AccessDeniedException",
            $metadata: { httpStatusCode: 400 },
          });
        return next(args);
      },
      { step: "initialize", name: "deny" },
    );
    const refused = await caught(denied.load("bars_1m"));
    expect(refused?.message).to.equal(
      `glue:GetTable on ${database}.bars_1m was refused (AccessDeniedException): the sink's role needs glue:GetDatabase, glue:GetTable, glue:CreateTable and glue:UpdateTable on this database and its tables`,
    );
  });
});
