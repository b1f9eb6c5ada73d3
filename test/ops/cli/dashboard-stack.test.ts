import { expect } from "chai";
import { AthenaClient, CreateWorkGroupCommand } from "@aws-sdk/client-athena";
import { CreateDatabaseCommand, CreateTableCommand, GlueClient } from "@aws-sdk/client-glue";
import { CreateBucketCommand, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { writeFile } from "node:fs/promises";
import path from "node:path";
import type { DashboardState } from "../../../apps/dashboard/dashboard-server.ts";
import { ParquetEncoder } from "../../../apps/lake/parquet-encoder.ts";
import { tickObjectKey } from "../../../apps/lake/layout.ts";
import { athenaCostUsd } from "../../../apps/query/query-result.ts";
import { waitFor } from "../../../apps/shared/retry.ts";
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

  before(async function () {
    this.timeout(120_000);
    moto = await startMoto();
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
          kafkaPartition: 0,
          kafkaOffset: 0n,
        },
      ],
      Date.now(),
    );
    await encoder.close();
    await s3.send(
      new PutObjectCommand({
        Bucket: outputs.lakeBucket,
        Key: tickObjectKey("2026-12-01", environment().settings.topic, 0, 0n),
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
    await createTestTopic(environment().bootstrapServers, environment().settings.topic);
  });

  after(async function () {
    await moto?.stop();
  });

  it("reads history with Athena and shows what it cost, reads the stack's lake for freshness, and streams from its brokers", async function () {
    this.timeout(90_000);
    const dashboard = spawnCli(["dashboard", "--outputs", outputsFile, "--port", "0", "--json"], {
      ...process.env,
      ...moto.env,
      TICKSTREAM_HOME: environment().home,
    });
    const url = await printedUrl(dashboard);
    const state = async () => (await (await fetch(`${url}api/state`)).json()) as DashboardState;
    const { info, pipeline } = await state();
    // Two queries (bars; tick minutes with each partition's newest offset), each billed at least Athena's 10 MB.
    expect(info.engine).to.equal("athena");
    expect(info.history.queries).to.equal(2);
    expect(info.history.costUsd).to.be.closeTo(2 * athenaCostUsd(0), 1e-12);
    expect(pipeline?.newestTick, "freshness is read from the stack's lake").to.equal(lakeTick);
    const now = new Date().toISOString();
    await produceTicks(environment().bootstrapServers, environment().settings.topic, [
      { symbol: "MSFT", ts: now, price: 410.25, volume: 5, source: "synthetic", producerId: "live", seq: 0 },
    ]);
    await waitFor(async () => (await state()).candles.MSFT?.at(-1)?.close === 410.25, {
      timeoutMs: 20_000,
      describe: () => "the tick produced to the stack's brokers never reached the page",
    });
    dashboard.kill("SIGTERM");
    const result = await dashboard;
    expect(result.exitCode, result.all).to.equal(0);
    expect(result.all).to.include("athena query");
  });
});
