import { expect } from "chai";
import {
  AthenaClient,
  CreateWorkGroupCommand,
  GetQueryExecutionCommand,
  ListQueryExecutionsCommand,
} from "@aws-sdk/client-athena";
import {
  CreateCrawlerCommand,
  CreateDatabaseCommand,
  GlueClient,
  ListCrawlsCommand,
} from "@aws-sdk/client-glue";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { waitFor } from "../../../apps/shared/retry.ts";
import { runCli, spawnCli } from "../../helpers/cli.ts";
import { startMoto, type MotoServer } from "../../helpers/moto.ts";

const OUTPUTS = {
  brokerPublicIps: ["203.0.113.10"],
  brokerPrivateIps: ["10.0.1.10"],
  bootstrapServers: "203.0.113.10:9092",
  sshUser: "ubuntu",
  brokerHostKeys: ["SHA256:s7Qd250N8F6L9YeX2PX/FB1hx9nnJVSKTumWxebO7Zs"],
  lakeBucket: "tickstream-dev-lake",
  glueDatabase: "tickstream",
  crawlerName: "tickstream-dev-crawler",
  athenaWorkgroup: "tickstream-dev",
  region: "us-east-1",
};

describe("crawl and query against a stack's outputs, through the CLI @integration", function () {
  let moto: MotoServer;
  let dir: string;
  let outputsFile: string;
  let env: NodeJS.ProcessEnv;

  before(async () => {
    moto = await startMoto();
    dir = await mkdtemp(path.join(tmpdir(), "tickstream-cloud-"));
    outputsFile = path.join(dir, "outputs.json");
    await writeFile(outputsFile, JSON.stringify(OUTPUTS));
    env = { ...process.env, ...moto.env, TICKSTREAM_HOME: dir };
    const glue = new GlueClient(moto.clientConfig);
    await glue.send(new CreateDatabaseCommand({ DatabaseInput: { Name: "tickstream" } }));
    await glue.send(
      new CreateCrawlerCommand({
        Name: OUTPUTS.crawlerName,
        Role: "arn:aws:iam::123456789012:role/crawler",
        DatabaseName: "tickstream",
        Targets: { S3Targets: [{ Path: "s3://tickstream-dev-lake/ticks/" }] },
      }),
    );
    glue.destroy();
    const athena = new AthenaClient(moto.clientConfig);
    await athena.send(new CreateWorkGroupCommand({ Name: OUTPUTS.athenaWorkgroup }));
    athena.destroy();
  });
  after(async () => {
    await moto?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it("crawl --outputs runs the stack's Glue crawler and waits for it", async function () {
    // The emulator's crawl stays RUNNING, however often it is read, until the test lets it finish.
    await moto.setTransition("glue::crawl", { progression: "manual", times: 1_000_000 });
    const crawling = spawnCli(["crawl", "--outputs", outputsFile, "--json"], env);
    const glue = new GlueClient(moto.clientConfig);
    try {
      await waitFor(
        async () => {
          const crawls = await glue
            .send(new ListCrawlsCommand({ CrawlerName: OUTPUTS.crawlerName }))
            .catch(() => undefined);
          return (crawls?.Crawls ?? []).some((crawl) => crawl.State === "RUNNING");
        },
        { timeoutMs: 30_000, describe: () => "the crawl never started" },
      );
      // A CLI that returned right after StartCrawler would have exited by now.
      await new Promise((resolve) => setTimeout(resolve, 3_000));
      expect(crawling.exitCode, "the CLI is still waiting for the running crawl").to.equal(null);
    } finally {
      await moto.setTransition("glue::crawl", { progression: "immediate" });
      glue.destroy();
    }
    const result = await crawling;
    expect(result.exitCode, result.all).to.equal(0);
    expect(result.all).to.include("crawler tickstream-dev-crawler started");
    expect(JSON.parse(result.stdout.trim().split("\n").at(-1)!)).to.deep.equal({
      tablesCreated: [],
      tablesUpdated: [],
      partitionsAdded: [],
    });
  });

  it("query --outputs runs in the stack's Athena workgroup and prints what it scanned and cost", async function () {
    const result = await runCli(["query", "--outputs", outputsFile, "SELECT 1"], env);
    expect(result.exitCode, result.stderr).to.equal(0);
    expect(result.stderr).to.match(/athena query .* started in workgroup tickstream-dev/);
    expect(result.stderr).to.include("data scanned: 0 B, cost $0.000048 at $5/TB (10 MB minimum)");
    expect(result.stdout.trim().split("\n").at(-1)).to.equal("(0 rows, athena)");
  });

  it("Ctrl-C on a running Athena query stops it in Athena", async function () {
    await moto.setTransition("athena::execution", { progression: "manual", times: 1_000_000 });
    const querying = spawnCli(["query", "--outputs", outputsFile, "SELECT count(*) FROM ticks"], env);
    const athena = new AthenaClient(moto.clientConfig);
    try {
      // The query of the test before is in the list already: wait for this one.
      await waitFor(
        async () => {
          const { QueryExecutionIds } = await athena.send(
            new ListQueryExecutionsCommand({ WorkGroup: OUTPUTS.athenaWorkgroup }),
          );
          return (QueryExecutionIds?.length ?? 0) >= 2;
        },
        { timeoutMs: 30_000, describe: () => "the query never started" },
      );
      querying.kill("SIGINT");
      const result = await querying;
      expect(result.exitCode).to.equal(1);
      expect(result.all).to.match(/tickstream: query .* cancelled: StopQueryExecution sent/);
      const { QueryExecutionIds } = await athena.send(
        new ListQueryExecutionsCommand({ WorkGroup: OUTPUTS.athenaWorkgroup }),
      );
      const states = await Promise.all(
        QueryExecutionIds!.map(
          async (queryId) =>
            (await athena.send(new GetQueryExecutionCommand({ QueryExecutionId: queryId }))).QueryExecution
              ?.Status?.State,
        ),
      );
      expect(states).to.include("CANCELLED");
    } finally {
      athena.destroy();
      await moto.setTransition("athena::execution", { progression: "immediate" });
    }
  });

  it("names a missing stack output", async function () {
    const broken = path.join(dir, "broken.json");
    const { crawlerName: _dropped, ...rest } = OUTPUTS;
    await writeFile(broken, JSON.stringify(rest));
    const result = await runCli(["crawl", "--outputs", broken], env);
    expect(result.exitCode).to.equal(1);
    expect(result.stderr.trim()).to.equal(
      `tickstream: ${broken}: stack output "crawlerName": Invalid input: expected string, received undefined`,
    );
  });
});
