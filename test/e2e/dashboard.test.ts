/// <reference lib="dom" />
import { expect } from "chai";
import { execa, type ResultPromise } from "execa";
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import type { Browser, Page } from "playwright-core";
import type { Candle } from "../../apps/dashboard/candle-book.ts";
import { runProducer } from "../../apps/producer/producer.ts";
import { DEFAULT_SYMBOLS, SyntheticSource } from "../../apps/producer/sources/synthetic.ts";
import { waitFor } from "../../apps/shared/retry.ts";
import { lastJsonLine, printedUrl, runCli, TICKSTREAM_BIN } from "../helpers/cli.ts";
import { collectPageErrors, launchChromium, summarizePng } from "../helpers/browser.ts";
import { createTestTopic, waitForGroupCaughtUp } from "../helpers/kafka.ts";
import { cliEnvironment, useLocalEnvironment } from "../helpers/local-environment.ts";

/** What the page holds (window.tickstream, set by apps/dashboard/page/dashboard.js). */
interface PageState {
  candles: Record<string, Candle[]>;
  ready: boolean;
}

const SYMBOLS = Object.keys(DEFAULT_SYMBOLS).sort();
const HISTORY_MINUTES = 15;

describe("the dashboard in a real headless Chromium @integration", function () {
  const environment = useLocalEnvironment();
  const env = () => cliEnvironment(environment());
  /** The suite's long-running commands (the root hook kills spawned commands after each test; these span tests). */
  const running = new Set<ResultPromise>();
  const outputs = new Map<ResultPromise, string>();
  let sink: ResultPromise;
  let rollup: ResultPromise;
  let barsSink: ResultPromise;
  let producer: ResultPromise | undefined;
  let browser: Browser;
  let page: Page;
  let pageErrors: string[];
  let url: string;

  function start(args: readonly string[]): ResultPromise {
    const child = execa(process.execPath, [TICKSTREAM_BIN, ...args], {
      env: env(),
      reject: false,
      all: true,
      forceKillAfterDelay: 20_000,
    });
    running.add(child);
    outputs.set(child, "");
    child.all!.on("data", (chunk: Buffer) => outputs.set(child, outputs.get(child) + chunk.toString()));
    void child.finally(() => running.delete(child));
    return child;
  }

  async function stopCommand(child: ResultPromise): Promise<void> {
    child.kill("SIGTERM");
    await child;
  }

  const pageState = () => page.evaluate(() => (window as unknown as { tickstream: PageState }).tickstream);
  const sinkLagOnPage = async () => Number((await page.textContent("#sink-lag-total"))!.replaceAll(",", ""));

  before(async function () {
    this.timeout(240_000);
    const { settings } = environment();
    const brokers = environment().bootstrapServers;
    await createTestTopic(brokers, settings.topic);
    await createTestTopic(brokers, settings.barsTopic);
    // History: the producer's own synthetic source, on a clock that ends a minute before now, so that the rollup
    // closes every minute of it; then the live stream (the same random walk) carries on at the wall clock.
    await runProducer({
      bootstrapServers: brokers,
      topic: settings.topic,
      source: new SyntheticSource({
        clock: { startMs: Math.floor(Date.now() / 60_000 - HISTORY_MINUTES - 1) * 60_000, stepMs: 100 },
      }),
      count: HISTORY_MINUTES * 600,
      producerId: "history",
    });
    sink = start(["consume"]);
    rollup = start(["rollup", "--idle-close", "2s"]);
    barsSink = start(["consume", "--table", "bars_1m"]);
    await waitForGroupCaughtUp(brokers, settings.consumerGroup, settings.topic, 120_000);
    await waitForGroupCaughtUp(brokers, settings.rollupGroup, settings.topic, 120_000);
    // Every history minute's bar is in the lake.
    let barsInLake = "";
    await waitFor(
      async () => {
        await runCli(["crawl"], env());
        const bars = await runCli(["query", "--named", "bars-1m", "--json"], env());
        barsInLake =
          bars.exitCode === 0
            ? `${lastJsonLine<{ rows: unknown[] }>(bars.stdout).rows.length} bars`
            : bars.stderr;
        return (
          bars.exitCode === 0 &&
          lastJsonLine<{ rows: unknown[] }>(bars.stdout).rows.length >= SYMBOLS.length * HISTORY_MINUTES
        );
      },
      {
        timeoutMs: 120_000,
        intervalMs: 2_000,
        describe: () =>
          `the history's bars did not reach the lake (${barsInLake}); rollup: ${outputs.get(rollup)}; bars sink: ${outputs.get(barsSink)}`,
      },
    );
    const dashboard = start(["dashboard", "--port", "0", "--json"]);
    url = await printedUrl(dashboard);
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    pageErrors = collectPageErrors(page);
    await page.goto(url);
    await page.waitForFunction(
      () => (window as unknown as { tickstream: PageState }).tickstream?.ready,
      null,
      {
        timeout: 30_000,
      },
    );
  });

  after(async function () {
    this.timeout(60_000);
    await browser?.close();
    await Promise.all([...running].map((child) => stopCommand(child)));
  });

  it("loads with no console error, draws candles for every symbol, and holds the lake's bars for the same minutes", async function () {
    this.timeout(60_000);
    const drawn = await page.$$eval("#charts .chart", (charts) =>
      charts.map((chart) => ({
        symbol: (chart as HTMLElement).dataset.symbol,
        candles: Number((chart as HTMLElement).dataset.candles),
        canvases: chart.querySelectorAll("canvas").length,
      })),
    );
    expect(drawn.map((chart) => chart.symbol)).to.deep.equal(SYMBOLS);
    for (const chart of drawn) {
      expect(chart.candles, `${chart.symbol}'s candles`).to.be.at.least(HISTORY_MINUTES);
      expect(chart.canvases, `${chart.symbol}'s chart canvases`).to.be.greaterThan(0);
    }
    await runCli(["crawl"], env());
    const lake = lastJsonLine<{ columns: string[]; rows: unknown[][] }>(
      (await runCli(["query", "--named", "bars-1m", "--json"], env())).stdout,
    );
    const column = (name: string) => lake.columns.indexOf(name);
    const { candles } = await pageState();
    expect(lake.rows.length).to.be.at.least(SYMBOLS.length * HISTORY_MINUTES);
    for (const row of lake.rows) {
      const symbol = row[column("symbol")] as string;
      const time = Date.parse(row[column("minute")] as string) / 1000;
      const onPage = candles[symbol]?.find((candle) => candle.time === time);
      expect(onPage, `${symbol} ${row[column("minute")]} on the page`).to.not.equal(undefined);
      expect(onPage).to.deep.include({
        kind: "bar",
        open: row[column("open")],
        high: row[column("high")],
        low: row[column("low")],
        close: row[column("close")],
        volume: row[column("volume")],
        ticks: row[column("ticks")],
        revision: row[column("revision")],
      });
    }
    // The quote table: a row a symbol, its last price the newest candle's close.
    for (const symbol of SYMBOLS) {
      const price = await page.textContent(`#quote-table tr[data-symbol="${symbol}"] .price`);
      expect(price, symbol).to.equal(candles[symbol]!.at(-1)!.close.toFixed(2));
    }
    expect(pageErrors).to.deep.equal([]);
  });

  it("shows the last price and the newest candle changing within a few seconds while ticks stream", async function () {
    this.timeout(90_000);
    // 4,000 ticks at 100/s: about 40 s of stream, at the wall clock's time, over the default symbols.
    producer = start(["produce", "--rate", "100", "--count", "4000"]);
    for (let observation = 0; observation < 3; observation++) {
      const before = (await pageState()).candles.AAPL!.at(-1)!;
      await page.waitForFunction(
        ({ time, volume }) => {
          const newest = (window as unknown as { tickstream: PageState }).tickstream.candles.AAPL!.at(-1)!;
          return newest.time > time || newest.volume > volume;
        },
        { time: before.time, volume: before.volume },
        { timeout: 5_000 },
      );
      const after = (await pageState()).candles.AAPL!.at(-1)!;
      const afterText = await page.textContent('#quote-table tr[data-symbol="AAPL"] .price');
      expect(afterText, "the table shows the newest candle's close").to.equal(after.close.toFixed(2));
      expect(after.time, "the newest candle is the current minute").to.be.at.least(
        Math.floor(Date.now() / 60_000) * 60 - 60,
      );
    }
    expect(pageErrors).to.deep.equal([]);
  });

  it("shows the lake sink's lag growing while the sink is stopped, and back to 0 once it is restarted", async function () {
    this.timeout(180_000);
    await stopCommand(sink);
    await page.waitForFunction(
      () => Number(document.querySelector("#sink-lag-total")!.textContent!.replaceAll(",", "")) > 0,
      null,
      {
        timeout: 15_000,
      },
    );
    const first = await sinkLagOnPage();
    await page.waitForFunction(
      (seen) => Number(document.querySelector("#sink-lag-total")!.textContent!.replaceAll(",", "")) > seen,
      first,
      { timeout: 15_000 },
    );
    expect(await page.$$eval("#lag-table td.lag", (cells) => cells.length)).to.equal(3);
    await producer!;
    sink = start(["consume"]);
    await page.waitForFunction(() => document.querySelector("#sink-lag-total")!.textContent === "0", null, {
      timeout: 120_000,
    });
    const lags = await page.$$eval("#lag-table td.lag", (cells) => cells.map((cell) => cell.textContent));
    expect(lags).to.deep.equal(["0", "0", "0"]);
    expect(await page.textContent("#freshness")).to.not.equal("–");
    expect(pageErrors).to.deep.equal([]);
  });

  it("renders a screenshot whose pixels are not blank (the README's picture is taken by this test)", async function () {
    this.timeout(60_000);
    const png = await page.screenshot({ fullPage: true });
    const pixels = summarizePng(png);
    expect(pixels.width).to.equal(1400);
    expect(pixels.distinctColors, "colours in the screenshot").to.be.greaterThan(100);
    expect(pixels.nonBackgroundShare, "share of pixels that are not background").to.be.greaterThan(0.2);
    // `TICKSTREAM_DASHBOARD_SCREENSHOT=docs/dashboard.png npm test -- --grep dashboard` refreshes the README's picture.
    const target = process.env.TICKSTREAM_DASHBOARD_SCREENSHOT;
    if (target) {
      await mkdir(path.dirname(path.resolve(target)), { recursive: true });
      await writeFile(target, png);
    }
    expect(pageErrors).to.deep.equal([]);
  });

  it("is named at the end of `tickstream demo` while it runs", async function () {
    this.timeout(180_000);
    // The demo runs its own sink and rollup members in the same groups: stop the suite's first.
    await Promise.all([sink, rollup, barsSink].map((child) => stopCommand(child)));
    const demo = await runCli(["demo", "--count", "2000"], env(), 150_000);
    expect(demo.exitCode, demo.stderr).to.equal(0);
    expect(demo.stdout).to.include(`The dashboard is running: ${url}`);
  });
});
