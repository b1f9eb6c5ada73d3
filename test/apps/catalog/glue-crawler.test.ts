import { expect } from "chai";
import {
  CreateCrawlerCommand,
  CreateDatabaseCommand,
  CreatePartitionCommand,
  CreateTableCommand,
  GlueClient,
  ListCrawlsCommand,
  StartCrawlerCommand,
} from "@aws-sdk/client-glue";
import { runGlueCrawler } from "../../../apps/catalog/glue-crawler.ts";
import { startMoto, type MotoServer } from "../../helpers/moto.ts";

describe("Glue crawl against a local AWS API emulator (moto) @integration", function () {
  let moto: MotoServer;
  let glue: GlueClient;

  before(async () => {
    moto = await startMoto();
    glue = new GlueClient(moto.clientConfig);
  });
  after(async () => {
    glue?.destroy();
    await moto?.stop();
  });
  beforeEach(async () => {
    await moto.reset();
    await glue.send(new CreateDatabaseCommand({ DatabaseInput: { Name: "tickstream" } }));
    await glue.send(
      new CreateCrawlerCommand({
        Name: "tickstream-dev-crawler",
        Role: "arn:aws:iam::123456789012:role/crawler",
        DatabaseName: "tickstream",
        Targets: { S3Targets: [{ Path: "s3://lake/ticks/" }] },
      }),
    );
  });

  /** What Glue's crawler does while it runs: write the table and its partition into the database. */
  async function crawlerWritesTable() {
    await glue.send(
      new CreateTableCommand({
        DatabaseName: "tickstream",
        TableInput: {
          Name: "ticks",
          PartitionKeys: [{ Name: "dt", Type: "string" }],
          StorageDescriptor: {
            Columns: [
              { Name: "symbol", Type: "string" },
              { Name: "price", Type: "double" },
            ],
            Location: "s3://lake/ticks/",
          },
        },
      }),
    );
    await glue.send(
      new CreatePartitionCommand({
        DatabaseName: "tickstream",
        TableName: "ticks",
        PartitionInput: {
          Values: ["2026-11-25"],
          StorageDescriptor: { Location: "s3://lake/ticks/dt=2026-11-25/" },
        },
      }),
    );
    // moto completes a crawl when its crawls are listed.
    await glue.send(new ListCrawlsCommand({ CrawlerName: "tickstream-dev-crawler" }));
  }

  /** Runs the crawler as the CLI would, letting the test act on each progress message; returns them. */
  async function crawl(onProgress: (message: string) => void) {
    const progress: string[] = [];
    const report = await runGlueCrawler({
      glue,
      crawlerName: "tickstream-dev-crawler",
      database: "tickstream",
      pollIntervalMs: 50,
      onProgress: (message) => {
        progress.push(message);
        onProgress(message);
      },
    });
    return { report, progress };
  }

  it("starts the crawler, waits while it runs, and reports the tables and partitions it added", async function () {
    let crawlerRan = false;
    const { report, progress } = await crawl((message) => {
      if (message.endsWith("running") && !crawlerRan) {
        crawlerRan = true;
        void crawlerWritesTable();
      }
    });
    expect(progress).to.include.members([
      "crawler tickstream-dev-crawler started",
      "crawler tickstream-dev-crawler: running",
    ]);
    expect(report).to.deep.equal({
      tablesCreated: ["ticks"],
      tablesUpdated: [],
      partitionsAdded: ["ticks/dt=2026-11-25"],
    });
  });

  it("waits for a crawler that is already running instead of failing, then runs it", async function () {
    await glue.send(new StartCrawlerCommand({ Name: "tickstream-dev-crawler" }));
    let finishedOthers = false;
    const { report, progress } = await crawl((message) => {
      if (!finishedOthers && message.includes("already running")) {
        finishedOthers = true;
        void glue.send(new ListCrawlsCommand({ CrawlerName: "tickstream-dev-crawler" }));
      } else if (message === "crawler tickstream-dev-crawler started") {
        void crawlerWritesTable();
      }
    });
    expect(progress[0]).to.equal(
      "crawler tickstream-dev-crawler is already running; waiting for it to finish first",
    );
    expect(report.tablesCreated).to.deep.equal(["ticks"]);
  });

  it("says which crawler does not exist", async function () {
    const error = await runGlueCrawler({
      glue,
      crawlerName: "nope",
      database: "tickstream",
      pollIntervalMs: 50,
    }).catch((caught) => caught);
    expect(error.name).to.equal("EntityNotFoundException");
  });
});
