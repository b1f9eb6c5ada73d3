import { expect } from "chai";
import {
  AthenaClient,
  CreateWorkGroupCommand,
  GetQueryExecutionCommand,
  ListQueryExecutionsCommand,
} from "@aws-sdk/client-athena";
import { CreateDatabaseCommand, CreateTableCommand, GlueClient } from "@aws-sdk/client-glue";
import { CreateBucketCommand, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { writeFile } from "node:fs/promises";
import path from "node:path";
import type { DashboardState } from "../../../apps/dashboard/dashboard-server.ts";
import { ParquetEncoder } from "../../../apps/lake/parquet-encoder.ts";
import { tickObjectKey } from "../../../apps/lake/layout.ts";
import { createKafka } from "../../../apps/shared/kafka-client.ts";
import { waitFor } from "../../../apps/shared/retry.ts";
import type { Tick } from "../../../apps/tick/schema.ts";
import { printedUrl, spawnCli } from "../../helpers/cli.ts";
import { createTestTopic } from "../../helpers/kafka.ts";
import { produceTicks } from "../../helpers/bars.ts";
import { useLocalEnvironment } from "../../helpers/local-environment.ts";
import { startMoto, type MotoServer } from "../../helpers/moto.ts";

describe("the dashboard against a stack's outputs (Athena, Glue and S3 on moto, the brokers' Kafka local) @integration", function () {
  const environment = useLocalEnvironment();
  let moto: MotoServer;
  let outputsFile: string;
  const lakeTick = "2026-12-01T15:04:05.678Z";
  const tick = (symbol: string, ts: string, price: number, volume: number, seq: number): Tick => ({
    symbol,
    ts,
    price,
    volume,
    source: "synthetic",
    producerId: "stack",
    seq,
  });
  /** The partition of the tick topic that holds the lake's one tick, at offset 0. */
  let lakePartition: number;

  before(async function () {
    this.timeout(120_000);
    moto = await startMoto();
    // The lake's one tick went through the stack's tick topic (offset 0 of its partition) before the sink wrote it.
    await createTestTopic(environment().bootstrapServers, environment().settings.topic);
    await produceTicks(environment().bootstrapServers, environment().settings.topic, [
      tick("AAPL", lakeTick, 190.5, 10, 0),
    ]);
    const admin = createKafka(environment().bootstrapServers, "dashboard-stack-test").admin();
    await admin.connect();
    const ends = await admin.fetchTopicOffsets(environment().settings.topic);
    await admin.disconnect();
    lakePartition = ends.find((end) => end.high === "1")!.partition;
    const outputs = {
      brokerPublicIps: ["127.0.0.1"],
      bootstrapServers: environment().bootstrapServers.join(","),
      lakeBucket: "tickstream-dev-lake",
      glueDatabase: "tickstream_dev",
      crawlerName: "tickstream-dev-crawler",
      athenaWorkgroup: "tickstream-dev",
      region: "us-east-1",
    };
    outputsFile = path.join(environment().home, "outputs.json");
    await writeFile(outputsFile, JSON.stringify(outputs));
    // The stack's lake holds one published object, the catalog its two tables, Athena its workgroup.
    const s3 = new S3Client({ ...moto.clientConfig, forcePathStyle: true });
    await s3.send(new CreateBucketCommand({ Bucket: outputs.lakeBucket }));
    const encoder = await ParquetEncoder.create();
    const body = await encoder.encode(
      [
        {
          symbol: "AAPL",
          tsMicros: BigInt(Date.parse(lakeTick)) * 1000n,
          price: 190.5,
          volume: 10n,
          open: null,
          high: null,
          low: null,
          close: null,
          source: "synthetic",
          producerId: "stack",
          seq: 0n,
          kafkaPartition: lakePartition,
          kafkaOffset: 0n,
        },
      ],
      Date.now(),
    );
    await encoder.close();
    await s3.send(
      new PutObjectCommand({
        Bucket: outputs.lakeBucket,
        Key: tickObjectKey("2026-12-01", environment().settings.topic, lakePartition, 0n),
        Body: body,
      }),
    );
    s3.destroy();
    const glue = new GlueClient(moto.clientConfig);
    await glue.send(new CreateDatabaseCommand({ DatabaseInput: { Name: outputs.glueDatabase } }));
    for (const table of ["ticks", "bars_1m"])
      await glue.send(
        new CreateTableCommand({
          DatabaseName: outputs.glueDatabase,
          TableInput: {
            Name: table,
            StorageDescriptor: { Location: `s3://${outputs.lakeBucket}/${table}/` },
          },
        }),
      );
    glue.destroy();
    const athena = new AthenaClient(moto.clientConfig);
    await athena.send(new CreateWorkGroupCommand({ Name: outputs.athenaWorkgroup }));
    athena.destroy();
  });

  after(async function () {
    await moto?.stop();
  });

  /** Athena's answer as moto serves it: a header row, then the rows; null is a cell without a value. */
  function athenaResult(columns: readonly [string, string][], rows: readonly (string | null)[][]) {
    const row = (cells: readonly (string | null)[]) => ({
      Data: cells.map((cell) => (cell === null ? {} : { VarCharValue: cell })),
    });
    return {
      rows: [row(columns.map(([name]) => name)), ...rows.map(row)],
      column_info: columns.map(([name, type]) => ({
        CatalogName: "hive",
        SchemaName: "",
        TableName: "",
        Name: name,
        Label: name,
        Type: type,
        Precision: 0,
        Scale: 0,
        Nullable: "UNKNOWN",
        CaseSensitive: type === "varchar",
      })),
    };
  }

  it("reads history with Athena: the candles are the rows Athena answered, over the dates the stack's lake holds, with what it cost; freshness from the stack's lake; live ticks from its brokers after the history's offsets", async function () {
    this.timeout(90_000);
    // moto runs no SQL: it answers each query with the next result queued here, in the order the queries run
    // (the rollup's bars, then the tick minutes with each partition's newest offset counted).
    const bars = athenaResult(
      [
        ["symbol", "varchar"],
        ["minute", "timestamp(3)"],
        ["open", "double"],
        ["high", "double"],
        ["low", "double"],
        ["close", "double"],
        ["volume", "bigint"],
        ["vwap", "double"],
        ["ticks", "bigint"],
        ["revision", "integer"],
      ],
      [
        ["AAPL", "2026-12-01 15:03:00.000", "189.5", "190.75", "189.25", "190", "1200", "190.125", "42", "2"],
        ["MSFT", "2026-12-01 15:03:00.000", "410", "411.5", "409.5", "411", "0", null, "3", "0"],
      ],
    );
    const tickMinutes = athenaResult(
      [
        ["symbol", "varchar"],
        ["minute", "timestamp(3)"],
        ["kafka_partition", "integer"],
        ["open", "double"],
        ["high", "double"],
        ["low", "double"],
        ["close", "double"],
        ["volume", "bigint"],
        ["price_volume", "double"],
        ["ticks", "bigint"],
        ["first_ts", "timestamp(3)"],
        ["last_ts", "timestamp(3)"],
        ["last_offset", "bigint"],
      ],
      [
        [
          "AAPL",
          "2026-12-01 15:04:00.000",
          null,
          "190.5",
          "190.5",
          "190.5",
          "190.5",
          "10",
          "1905",
          "1",
          "2026-12-01 15:04:05.678",
          "2026-12-01 15:04:05.678",
          "0",
        ],
        [null, null, String(lakePartition), null, null, null, null, null, null, null, null, null, "0"],
      ],
    );
    const queued = await fetch(`${moto.endpoint}/moto-api/static/athena/query-results`, {
      method: "POST",
      body: JSON.stringify({ region: "us-east-1", results: [bars, tickMinutes] }),
    });
    expect(queued.status).to.equal(201);

    const dashboard = spawnCli(["dashboard", "--outputs", outputsFile, "--port", "0", "--json"], {
      ...process.env,
      ...moto.env,
      TICKSTREAM_HOME: environment().home,
    });
    const url = await printedUrl(dashboard);
    const state = async () => (await (await fetch(`${url}api/state`)).json()) as DashboardState;
    const { info, pipeline, candles } = await state();
    expect(info.engine).to.equal("athena");
    // The lake's newest date is the one S3 object's (2026-12-01): the history reads it and the day before.
    expect(info.history.fromDate).to.equal("2026-11-30");
    expect(pipeline?.newestTick, "freshness is read from the stack's lake").to.equal(lakeTick);

    // What Athena ran: both queries in the stack's workgroup and database, over those dates.
    const athena = new AthenaClient(moto.clientConfig);
    const { QueryExecutionIds: ids = [] } = await athena.send(
      new ListQueryExecutionsCommand({ WorkGroup: "tickstream-dev" }),
    );
    const executions = await Promise.all(
      ids.map(
        async (id) =>
          (await athena.send(new GetQueryExecutionCommand({ QueryExecutionId: id }))).QueryExecution!,
      ),
    );
    athena.destroy();
    expect(executions).to.have.length(2);
    const sql = executions.map((execution) => execution.Query ?? "");
    expect(
      sql.filter((text) => /\bFROM bars_1m\b/.test(text)),
      "a query of bars_1m",
    ).to.have.length(1);
    expect(
      sql.filter((text) => /\bFROM ticks\b/.test(text)),
      "a query of ticks",
    ).to.have.length(1);
    for (const execution of executions) {
      // The stack's tables are Iceberg tables (hidden day() partitions, no dt): bounded on the event time.
      expect(execution.Query).to.match(/\b(ts|minute) >= TIMESTAMP '2026-11-30 00:00:00 UTC'/);
      expect(execution.QueryExecutionContext?.Database).to.equal("tickstream_dev");
      expect(execution.WorkGroup).to.equal("tickstream-dev");
    }
    // Athena's price, $5 per TB (2^40 bytes) scanned, each query billed at least 10 MB (2^20 bytes each).
    const billed = executions.map((execution) =>
      Math.max(execution.Statistics?.DataScannedInBytes ?? 0, 10 * 2 ** 20),
    );
    expect(info.history.queries).to.equal(2);
    expect(info.history.costUsd).to.be.closeTo((billed.reduce((a, b) => a + b, 0) * 5) / 2 ** 40, 1e-15);

    // The candles are exactly what Athena answered: the bars as bars (latest revision), the tick minute as such.
    const minute = (iso: string) => Date.parse(iso) / 1000;
    expect(candles).to.deep.equal({
      AAPL: [
        {
          symbol: "AAPL",
          time: minute("2026-12-01T15:03:00Z"),
          open: 189.5,
          high: 190.75,
          low: 189.25,
          close: 190,
          volume: 1200,
          ticks: 42,
          vwap: 190.125,
          kind: "bar",
          revision: 2,
        },
        {
          symbol: "AAPL",
          time: minute("2026-12-01T15:04:00Z"),
          open: 190.5,
          high: 190.5,
          low: 190.5,
          close: 190.5,
          volume: 10,
          ticks: 1,
          vwap: 190.5,
          kind: "ticks",
          revision: null,
        },
      ],
      MSFT: [
        {
          symbol: "MSFT",
          time: minute("2026-12-01T15:03:00Z"),
          open: 410,
          high: 411.5,
          low: 409.5,
          close: 411,
          volume: 0,
          ticks: 3,
          vwap: null,
          kind: "bar",
          revision: 0,
        },
      ],
    });

    // Live: a tick for each symbol. AAPL's follows the lake's tick in its partition, which the history counted
    // (offset 0): once the new one is on the page, the feed is past offset 0 and must not have counted it again.
    const now = new Date().toISOString();
    await produceTicks(environment().bootstrapServers, environment().settings.topic, [
      tick("AAPL", now, 191.25, 4, 1),
      tick("MSFT", now, 410.25, 5, 2),
    ]);
    const liveMinute = Math.floor(Date.parse(now) / 60_000) * 60;
    await waitFor(
      async () => {
        const live = (await state()).candles;
        return live.AAPL?.at(-1)?.close === 191.25 && live.MSFT?.at(-1)?.close === 410.25;
      },
      {
        timeoutMs: 20_000,
        describe: () => "the ticks produced to the stack's brokers never reached the page",
      },
    );
    const after = await state();
    expect(after.candles.AAPL!.map((candle) => [candle.time, candle.ticks])).to.deep.equal([
      [minute("2026-12-01T15:03:00Z"), 42],
      [minute("2026-12-01T15:04:00Z"), 1],
      [liveMinute, 1],
    ]);
    expect(after.candles.MSFT!.map((candle) => [candle.time, candle.ticks])).to.deep.equal([
      [minute("2026-12-01T15:03:00Z"), 3],
      [liveMinute, 1],
    ]);
    dashboard.kill("SIGTERM");
    const result = await dashboard;
    expect(result.exitCode, result.all).to.equal(0);
    expect(result.all).to.include("athena query");
  });
});
