/**
 * The dashboard's tick-built candles against the lake: history (read from the lake) and live (read from Kafka)
 * must count every tick exactly once. The lake sink commits a flush's offsets before it publishes the flush's
 * objects (the commit is the flush's commit point); a dashboard that reads the lake in between must still count
 * the ticks of that flush, once.
 */
import { expect } from "chai";
import type { ResultPromise } from "execa";
import type { Candle } from "../../apps/dashboard/candle-book.ts";
import type { DashboardState } from "../../apps/dashboard/dashboard-server.ts";
import { runProducer } from "../../apps/producer/producer.ts";
import { SyntheticSource } from "../../apps/producer/sources/synthetic.ts";
import { waitFor } from "../../apps/shared/retry.ts";
import type { Tick } from "../../apps/tick/schema.ts";
import { referenceBars } from "../helpers/bars.ts";
import { printedUrl, spawnCli } from "../helpers/cli.ts";
import { createTestTopic, waitForGroupCaughtUp } from "../helpers/kafka.ts";
import { readLakeTicks, type LakeTickRow } from "../helpers/lake.ts";
import { cliEnvironment, useLocalEnvironment } from "../helpers/local-environment.ts";

const HISTORY_TICKS = 6_000;
const LIVE_TICKS = 600;
const FLUSH_RECORDS = 1_000;

/** Resolves when the command's output holds `text` (rejects if it exits first). */
function printed(child: ResultPromise, text: string): Promise<string> {
  return new Promise<string>((resolve, reject) => {
    let all = "";
    child.all!.on("data", (chunk: Buffer) => {
      all += chunk.toString();
      if (all.includes(text)) resolve(all);
    });
    void child.then((result) => reject(new Error(`exited before printing "${text}": ${result.all}`)));
  });
}

/** The lake's ticks as the dashboard must show them: one candle a symbol and minute, "SYMBOL|seconds". */
function lakeCandles(rows: readonly LakeTickRow[]): Map<string, Omit<Candle, "kind" | "revision">> {
  const ticks = rows.map((row) => ({
    tick: {
      symbol: row.symbol,
      ts: new Date(Number(row.tsMicros / 1000n)).toISOString(),
      price: row.price,
      volume: Number(row.volume),
      source: row.source,
      producerId: row.producerId,
      seq: Number(row.seq),
    } satisfies Tick,
    // A symbol's ticks share a partition: its offsets order them (ties of event time are broken by them).
    order: Number(row.kafkaOffset),
  }));
  return new Map(
    [...referenceBars(ticks).values()].map((bar) => {
      const time = Date.parse(bar.minute) / 1000;
      const { minute: _minute, firstTs: _first, lastTs: _last, ...rest } = bar;
      return [`${bar.symbol}|${time}`, { ...rest, time }];
    }),
  );
}

describe("the dashboard's tick-built candles equal the lake's ticks (no double count, no gap) @integration", function () {
  const environment = useLocalEnvironment();
  const env = () => cliEnvironment(environment());

  before(async function () {
    this.timeout(60_000);
    await createTestTopic(environment().bootstrapServers, environment().settings.topic);
  });

  it("reads history while the lake sink holds a flush committed and not yet published, and still counts every tick once", async function () {
    this.timeout(300_000);
    const { settings, bootstrapServers } = environment();
    // History: ten minutes ending a few minutes ago (no rollup runs: every candle is built from ticks).
    const startMs = Math.floor(Date.now() / 60_000 - 12) * 60_000;
    const history = await runProducer({
      bootstrapServers,
      topic: settings.topic,
      source: new SyntheticSource({ clock: { startMs, stepMs: 100 } }),
      count: HISTORY_TICKS,
      producerId: "history",
    });
    expect(history.produced).to.equal(HISTORY_TICKS);
    // The sink freezes (SIGSTOP) right after its third flush's commit, before publishing that flush.
    const sink = spawnCli(["consume", "--flush-records", String(FLUSH_RECORDS)], {
      ...env(),
      TICKSTREAM_FAULT_POINT: "committed:3:SIGSTOP",
    });
    await printed(sink, "fault point committed #3 reached");
    const dashboard = spawnCli(["dashboard", "--port", "0", "--json"], env());
    const url = await printedUrl(dashboard);
    const state = async () => (await (await fetch(`${url}api/state`)).json()) as DashboardState;
    expect((await state()).info.barsSource, "no rollup: the candles are built from ticks").to.equal("ticks");
    // Thawed, the sink publishes the held flush and carries on; then live ticks arrive.
    process.kill(sink.pid!, "SIGCONT");
    await waitForGroupCaughtUp(bootstrapServers, settings.consumerGroup, settings.topic, 120_000);
    const live = await runProducer({
      bootstrapServers,
      topic: settings.topic,
      source: new SyntheticSource({ clock: { startMs: startMs + HISTORY_TICKS * 100, stepMs: 100 } }),
      count: LIVE_TICKS,
      producerId: "live",
    });
    expect(live.produced).to.equal(LIVE_TICKS);
    await waitForGroupCaughtUp(bootstrapServers, settings.consumerGroup, settings.topic, 120_000);

    const rows = [
      ...(await readLakeTicks(environment().lake, "history")),
      ...(await readLakeTicks(environment().lake, "live")),
    ];
    expect(rows.length, "ticks in the lake").to.equal(HISTORY_TICKS + LIVE_TICKS);
    const expected = lakeCandles(rows);
    const onPage = () =>
      state().then(({ candles }) => {
        const byKey = new Map<string, Candle>();
        for (const candle of Object.values(candles).flat())
          byKey.set(`${candle.symbol}|${candle.time}`, candle);
        return byKey;
      });
    // The page has read every tick once it holds as many as the lake (fewer: a gap; more: counted twice).
    let total = 0;
    let page = new Map<string, Candle>();
    await waitFor(
      async () => {
        page = await onPage();
        total = [...page.values()].reduce((sum, candle) => sum + candle.ticks, 0);
        return total >= rows.length;
      },
      {
        timeoutMs: 60_000,
        intervalMs: 500,
        describe: () => `the page counts ${total} ticks, the lake holds ${rows.length}`,
      },
    );
    expect(total, "ticks counted on the page").to.equal(rows.length);
    expect([...page.keys()].sort()).to.deep.equal([...expected.keys()].sort());
    for (const [key, want] of expected) {
      const candle = page.get(key)!;
      expect(candle.kind, key).to.equal("ticks");
      const { vwap, ...rest } = want;
      expect(
        {
          symbol: candle.symbol,
          time: candle.time,
          open: candle.open,
          high: candle.high,
          low: candle.low,
          close: candle.close,
          volume: candle.volume,
          ticks: candle.ticks,
        },
        key,
      ).to.deep.equal(rest);
      expect(candle.vwap, `${key} vwap`).to.be.closeTo(vwap!, 1e-9 * vwap!);
    }
    dashboard.kill("SIGTERM");
    sink.kill("SIGTERM");
    expect((await dashboard).exitCode).to.equal(0);
    expect((await sink).exitCode).to.equal(0);
  });
});
