import { PutParameterCommand, SSMClient } from "@aws-sdk/client-ssm";
import { expect } from "chai";
import { rm } from "node:fs/promises";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { LakeSink } from "../../../apps/consumer/lake-sink.ts";
import type { handler as Handler } from "../../../apps/quotes/lambda-handler.ts";
import { bundleQuotesFunction } from "../../../ops/apps/bundle.ts";
import { LOCAL_S3_CREDENTIALS } from "../../../ops/config/settings.ts";
import { createTestTopic, waitForGroupCaughtUp } from "../../helpers/kafka.ts";
import { readLakeTicks } from "../../helpers/lake.ts";
import { uniqueName, useLocalEnvironment } from "../../helpers/local-environment.ts";
import { startMoto, type MotoServer } from "../../helpers/moto.ts";
import { finnhubQuote, startQuoteApi, type QuoteApi } from "../../helpers/quote-api.ts";

const API_KEY = "lambda-quote-key-secret";

describe("the quote poller's Lambda handler, imported from its esbuild bundle @integration", function () {
  const environment = useLocalEnvironment();
  let api: QuoteApi;
  let moto: MotoServer;
  let handler: typeof Handler;
  let bundleDir: string;
  let sink: LakeSink;
  const topic = uniqueName("lambda-quotes");
  const group = uniqueName("lambda-sink");
  const saved = { id: process.env.AWS_ACCESS_KEY_ID, secret: process.env.AWS_SECRET_ACCESS_KEY };
  const logged: string[] = [];
  const originalLog = console.log;

  before(async function () {
    this.timeout(120_000);
    api = await startQuoteApi();
    api.symbols.set("AAPL", { quote: finnhubQuote(201.5, 1_764_700_000) });
    api.symbols.set("NVDA", { quote: finnhubQuote(131.25, 1_764_700_030) });
    moto = await startMoto();
    const ssm = new SSMClient(moto.clientConfig);
    await ssm.send(
      new PutParameterCommand({
        Name: "/tickstream/test/quotes/api-key",
        Type: "SecureString",
        Value: API_KEY,
      }),
    );
    ssm.destroy();
    const bundle = await bundleQuotesFunction();
    bundleDir = path.dirname(bundle);
    expect(path.basename(bundle)).to.equal("index.mjs");
    ({ handler } = (await import(pathToFileURL(bundle).href)) as { handler: typeof Handler });
    await createTestTopic(environment().bootstrapServers, topic);
    sink = new LakeSink({
      bootstrapServers: environment().bootstrapServers,
      topic,
      groupId: group,
      lake: environment().lake,
      flush: { maxRecords: 100, intervalMs: 300 },
    });
    await sink.start();
    // The function's role credentials: s3rver checks them, moto accepts any.
    process.env.AWS_ACCESS_KEY_ID = LOCAL_S3_CREDENTIALS.accessKeyId;
    process.env.AWS_SECRET_ACCESS_KEY = LOCAL_S3_CREDENTIALS.secretAccessKey;
    console.log = (...args: unknown[]) => void logged.push(args.join(" "));
  });
  after(async function () {
    this.timeout(60_000);
    console.log = originalLog;
    for (const [name, value] of [
      ["AWS_ACCESS_KEY_ID", saved.id],
      ["AWS_SECRET_ACCESS_KEY", saved.secret],
    ] as const) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
    await sink?.stop();
    await moto?.stop();
    await api?.close();
    await rm(bundleDir, { recursive: true, force: true });
  });

  const functionEnv = () => ({
    QUOTES_PROVIDER: "finnhub",
    QUOTES_SYMBOLS: "AAPL,NVDA",
    QUOTES_BASE_URL: api.url,
    QUOTES_API_KEY_PARAMETER: "/tickstream/test/quotes/api-key",
    TICKSTREAM_BOOTSTRAP_SERVERS: environment().bootstrapServers.join(","),
    TICKSTREAM_TOPIC: topic,
    TICKSTREAM_LAKE_BUCKET: environment().lake.bucket,
    TICKSTREAM_S3_ENDPOINT: environment().lake.endpoint!,
    TICKSTREAM_SSM_ENDPOINT: moto.endpoint,
    AWS_REGION: "us-east-1",
  });
  const schedulerEvent = { "detail-type": "Scheduled Event", source: "aws.scheduler", detail: {} };

  it("invoked with a Scheduler event, reads its key from SSM and lands one tick per symbol in the lake", async function () {
    this.timeout(120_000);
    const result = await handler(schedulerEvent, { awsRequestId: "req-1" }, functionEnv());
    expect(result).to.deep.include({ producerId: "quotes-lambda-req-1", produced: 2, unchanged: 0 });
    expect(api.requests.map((request) => request.key)).to.deep.equal([API_KEY, API_KEY]);
    await waitForGroupCaughtUp(environment().bootstrapServers, group, topic);
    await sink.stop();
    const rows = await readLakeTicks(environment().lake, "quotes-lambda-req-1");
    expect(rows.map((row) => [row.symbol, row.price, row.tsMicros, row.source])).to.deep.equal([
      ["AAPL", 201.5, 1_764_700_000_000_000n, "quotes:finnhub"],
      ["NVDA", 131.25, 1_764_700_030_000_000n, "quotes:finnhub"],
    ]);
  });

  it("produces nothing at the next invocation when no quote moved, and logs JSON lines without the key", async function () {
    this.timeout(60_000);
    const result = await handler(schedulerEvent, { awsRequestId: "req-2" }, functionEnv());
    expect(result).to.deep.include({ produced: 0, unchanged: 2 });
    const lines = logged.map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(lines.at(-1)).to.deep.equal({
      level: "info",
      message: "quotes produced",
      provider: "finnhub",
      producerId: "quotes-lambda-req-2",
      produced: 0,
      unchanged: 2,
      failed: 0,
    });
    expect(logged.join("\n")).to.not.include(API_KEY);
  });
});
