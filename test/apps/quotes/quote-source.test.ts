import { expect } from "chai";
import { readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { LakeSink } from "../../../apps/consumer/lake-sink.ts";
import { alphaVantage, finnhub, newYorkClose } from "../../../apps/quotes/providers.ts";
import { runCli, spawnCli } from "../../helpers/cli.ts";
import { createTestTopic, waitForGroupCaughtUp } from "../../helpers/kafka.ts";
import { readLakeTicks } from "../../helpers/lake.ts";
import { cliEnvironment, uniqueName, useLocalEnvironment } from "../../helpers/local-environment.ts";
import { alphaVantageQuote, finnhubQuote, startQuoteApi, type QuoteApi } from "../../helpers/quote-api.ts";

const API_KEY = "quote-key-not-for-logs";

describe("quote providers", function () {
  it("stamp an Alpha Vantage quote with its trading day's New York close (EST in winter, EDT in summer)", function () {
    expect(newYorkClose("2026-01-15")).to.equal("2026-01-15T21:00:00.000Z");
    expect(newYorkClose("2026-07-15")).to.equal("2026-07-15T20:00:00.000Z");
  });

  it("read Finnhub's numbers and Alpha Vantage's strings into the tick contract", function () {
    expect(finnhub.parse("AAPL", 200, JSON.stringify(finnhubQuote(190, 1_764_603_000)))).to.deep.equal({
      ok: true,
      tick: {
        symbol: "AAPL",
        ts: "2025-12-01T15:30:00.000Z",
        price: 190,
        volume: 0,
        open: 189,
        high: 192,
        low: 187,
      },
    });
    expect(
      alphaVantage.parse("IBM", 200, JSON.stringify(alphaVantageQuote("IBM", 150, 1234, "2026-11-30"))),
    ).to.deep.equal({
      ok: true,
      tick: {
        symbol: "IBM",
        ts: "2026-11-30T21:00:00.000Z",
        price: 150,
        volume: 1234,
        open: 149,
        high: 152,
        low: 147,
      },
    });
  });

  it("tell a refused key, a throttling note, an unknown symbol and a malformed answer apart", function () {
    expect(finnhub.parse("X", 401, "{}")).to.include({ kind: "unauthorized" });
    expect(finnhub.parse("X", 200, JSON.stringify({ c: 0, t: 0 }))).to.include({ kind: "unknown-symbol" });
    expect(finnhub.parse("X", 200, "<html>")).to.include({ kind: "malformed" });
    expect(
      alphaVantage.parse("X", 200, JSON.stringify({ Note: "Thank you for using Alpha Vantage!" })),
    ).to.include({
      kind: "rate-limited",
    });
    expect(
      alphaVantage.parse("X", 200, JSON.stringify({ "Error Message": "the parameter apikey is invalid" })),
    ).to.include({
      kind: "unauthorized",
    });
    expect(alphaVantage.parse("X", 200, JSON.stringify({ "Global Quote": {} }))).to.include({
      kind: "unknown-symbol",
    });
  });
});

describe("produce --source quotes:PROVIDER against a quote API on loopback @integration", function () {
  const environment = useLocalEnvironment();
  let api: QuoteApi;
  let sink: LakeSink;
  const topic = uniqueName("quotes");
  const group = uniqueName("quotes-sink");
  const env = () => ({ ...cliEnvironment(environment()), TICKSTREAM_QUOTES_API_KEY: API_KEY });
  const produceArgs = (provider: string, symbols: string, producerId: string, ...more: string[]) => [
    "produce",
    "--source",
    `quotes:${provider}`,
    "--symbols",
    symbols,
    "--topic",
    topic,
    "--producer-id",
    producerId,
    "--every",
    "300ms",
    ...more,
  ];
  const landed = async (producerId: string) => {
    await waitForGroupCaughtUp(environment().bootstrapServers, group, topic);
    await sink.stop();
    sink = startSink();
    await sink.start();
    return readLakeTicks(environment().lake, producerId);
  };
  const startSink = () =>
    new LakeSink({
      bootstrapServers: environment().bootstrapServers,
      topic,
      groupId: group,
      lake: environment().lake,
      flush: { maxRecords: 100, intervalMs: 300 },
    });

  before(async function () {
    this.timeout(60_000);
    api = await startQuoteApi();
    const settingsFile = path.join(environment().home, "settings.json");
    const settings = JSON.parse(await readFile(settingsFile, "utf8"));
    await writeFile(settingsFile, JSON.stringify({ ...settings, quotesBaseUrl: api.url }));
    await createTestTopic(environment().bootstrapServers, topic);
    sink = startSink();
    await sink.start();
  });
  after(async function () {
    this.timeout(60_000);
    await sink?.stop();
    await api?.close();
  });

  it("lands one tick per symbol of a Finnhub poll in the lake, field by field, at the quote's own time", async function () {
    this.timeout(120_000);
    api.symbols.set("AAPL", { quote: finnhubQuote(189.5, 1_764_603_000) });
    api.symbols.set("MSFT", { quote: finnhubQuote(415.25, 1_764_603_060) });
    const result = await runCli(produceArgs("finnhub", "AAPL,MSFT", "quotes-one", "--count", "2"), env());
    expect(result.exitCode, result.stderr).to.equal(0);
    expect(result.stderr).to.include("poll 1: 2 new, 0 unchanged, 0 failed");
    expect(
      api.requests.filter((request) => request.path === "/quote").map((request) => request.key),
    ).to.deep.equal([API_KEY, API_KEY]);
    const rows = await landed("quotes-one");
    expect(
      rows.map(({ symbol, tsMicros, price, volume, open, high, low, close, source, seq }) => ({
        symbol,
        tsMicros,
        price,
        volume,
        open,
        high,
        low,
        close,
        source,
        seq,
      })),
    ).to.deep.equal([
      {
        symbol: "AAPL",
        tsMicros: 1_764_603_000_000_000n,
        price: 189.5,
        volume: 0n,
        open: 188.5,
        high: 191.5,
        low: 186.5,
        close: null,
        source: "quotes:finnhub",
        seq: 0n,
      },
      {
        symbol: "MSFT",
        tsMicros: 1_764_603_060_000_000n,
        price: 415.25,
        volume: 0n,
        open: 414.25,
        high: 417.25,
        low: 412.25,
        close: null,
        source: "quotes:finnhub",
        seq: 1n,
      },
    ]);
  });

  it("produces nothing for quotes it produced before, in another process, until a quote moves on", async function () {
    this.timeout(120_000);
    const poller = spawnCli(produceArgs("finnhub", "AAPL,MSFT", "quotes-two"), env());
    let seen = "";
    poller.all!.on("data", (chunk: Buffer) => (seen += chunk.toString()));
    const waitFor = async (pattern: RegExp) => {
      for (let i = 0; i < 200 && !pattern.test(seen); i++)
        await new Promise((resolve) => setTimeout(resolve, 100));
      expect(seen).to.match(pattern);
    };
    await waitFor(/poll 2: 0 new, 2 unchanged, 0 failed/);
    api.symbols.set("AAPL", { quote: finnhubQuote(190, 1_764_603_120) });
    await waitFor(/poll \d+: 1 new, 1 unchanged, 0 failed/);
    poller.kill("SIGINT");
    expect((await poller).exitCode).to.equal(0);
    const rows = await landed("quotes-two");
    expect(rows.map((row) => [row.symbol, row.price, row.tsMicros])).to.deep.equal([
      ["AAPL", 190, 1_764_603_120_000_000n],
    ]);
  });

  it("gives each failing symbol its own line (throttled, 429, malformed, unknown, refused key), retries a 5xx, and lands the others", async function () {
    this.timeout(120_000);
    api.symbols.set("IBM", { quote: alphaVantageQuote("IBM", 150.5, 98_765, "2026-11-30") });
    api.symbols.set("THRT", {
      body: JSON.stringify({
        Note: "Thank you for using Alpha Vantage! Our standard API rate limit is 25 requests per day.",
      }),
    });
    api.symbols.set("LIM", { status: 429 });
    api.symbols.set("BAD", { body: "{not json" });
    api.symbols.set("SRV", {
      status: 503,
      times: 1,
      after: alphaVantageQuote("SRV", 12.25, 10, "2026-11-30"),
    });
    api.symbols.set("KEY", {
      body: JSON.stringify({ "Error Message": "the parameter apikey is invalid or missing" }),
    });
    const result = await runCli(
      produceArgs("alphavantage", "IBM,THRT,LIM,BAD,GONE,SRV,KEY", "quotes-three", "--count", "2"),
      env(),
    );
    expect(result.exitCode, result.stderr).to.equal(0);
    const lines = result.stderr.split("\n");
    expect(lines).to.include.members([
      "tickstream: alphavantage THRT: rate-limited: throttled: Thank you for using Alpha Vantage! Our standard API rate limit is 25 requests per day.",
      "tickstream: alphavantage LIM: rate-limited: HTTP 429 (rate limited)",
      "tickstream: alphavantage GONE: unknown-symbol: the provider knows no such symbol",
      "tickstream: alphavantage KEY: unauthorized: refused: the parameter apikey is invalid or missing",
      "poll 1: 2 new, 0 unchanged, 5 failed",
    ]);
    expect(lines.find((line) => line.includes(" BAD: "))).to.match(
      /^tickstream: alphavantage BAD: malformed: not JSON \(/,
    );
    expect(api.requests.filter((request) => request.symbol === "LIM")).to.have.length(3); // 1 + 2 retries
    expect(result.stdout + result.stderr, "the API key is never printed").to.not.include(API_KEY);
    const rows = await landed("quotes-three");
    expect(rows.map((row) => [row.symbol, row.price, row.volume, row.tsMicros])).to.deep.equal([
      ["IBM", 150.5, 98_765n, BigInt(Date.parse("2026-11-30T21:00:00Z")) * 1000n],
      ["SRV", 12.25, 10n, BigInt(Date.parse("2026-11-30T21:00:00Z")) * 1000n],
    ]);
  });

  it("refuses a poll without an API key in the environment, and an unknown provider, in one line", async function () {
    const noKey = await runCli(produceArgs("finnhub", "AAPL", "x"), cliEnvironment(environment()));
    expect(noKey.exitCode).to.equal(1);
    expect(noKey.stderr.trim()).to.equal("tickstream: set TICKSTREAM_QUOTES_API_KEY to your finnhub API key");
    const unknown = await runCli(produceArgs("yahoo", "AAPL", "x"), env());
    expect(unknown.stderr.trim()).to.equal(
      "tickstream: --source quotes:yahoo: unknown provider; known: finnhub, alphavantage",
    );
  });
});
