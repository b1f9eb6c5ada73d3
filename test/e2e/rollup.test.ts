import { expect } from "chai";
import { waitFor } from "../../apps/shared/retry.ts";
import { LakeSink } from "../../apps/consumer/lake-sink.ts";
import { findNamedQuery, renderNamedQuery } from "../../apps/query/named-queries.ts";
import { Rollup } from "../../apps/rollup/rollup.ts";
import type { Tick } from "../../apps/tick/schema.ts";
import { lastJsonLine, runCli, spawnCli } from "../helpers/cli.ts";
import { createTestTopic, waitForGroupCaughtUp } from "../helpers/kafka.ts";
import { cliEnvironment, uniqueName, useLocalEnvironment } from "../helpers/local-environment.ts";
import {
  produceTicks,
  readBars,
  readTicks,
  referenceBars,
  syntheticTicks,
  withoutRevisions,
} from "../helpers/bars.ts";

describe("the rollup: one-minute bars computed in the stream @integration", function () {
  const environment = useLocalEnvironment();
  const brokers = () => environment().bootstrapServers;

  /** Runs an in-process rollup over `ticks` until every minute of the reference is out, then stops it. */
  async function rollUp(ticks: Tick[], options: { revisionWindowMs?: number; lateAfter?: Tick[] } = {}) {
    const topic = uniqueName("rollup-ticks");
    const barsTopic = uniqueName("rollup-bars");
    await createTestTopic(brokers(), topic);
    await createTestTopic(brokers(), barsTopic);
    const group = uniqueName("rollup");
    const warnings: string[] = [];
    const rollup = new Rollup({
      bootstrapServers: brokers(),
      topic,
      barsTopic,
      groupId: group,
      idleCloseMs: 1_500,
      timing: { latenessMs: 5_000, revisionWindowMs: options.revisionWindowMs ?? 60 * 60_000 },
      onWarning: (message) => warnings.push(message),
    });
    await rollup.start();
    try {
      await produceTicks(brokers(), topic, ticks);
      if (options.lateAfter) {
        await waitForGroupCaughtUp(brokers(), group, topic);
        for (const late of options.lateAfter) {
          await produceTicks(brokers(), topic, [late]);
          await waitForGroupCaughtUp(brokers(), group, topic);
        }
      }
      await waitForGroupCaughtUp(brokers(), group, topic);
      await waitFor(async () => rollup.totals.bars > 0 && (await rollup.openBars()) === 0, {
        timeoutMs: 30_000,
        describe: () => "open bars were not closed",
      });
    } finally {
      await rollup.stop();
    }
    const all = ticks.length + (options.lateAfter?.length ?? 0);
    return {
      topic,
      barsTopic,
      rollup,
      warnings,
      bars: await readBars(brokers(), barsTopic),
      ticks: await readTicks(brokers(), topic, all),
    };
  }

  it("computes OHLCV, VWAP and counts equal to an independent reference, for ticks crossing midnight", async function () {
    this.timeout(180_000);
    // 4 symbols over 23:57:30-00:02:30 UTC, each tick up to 3 s behind the newest (inside the 5 s lateness).
    const ticks = syntheticTicks({
      startMs: Date.UTC(2026, 10, 30, 23, 57, 30),
      count: 6_000,
      stepMs: 50,
      symbols: ["AAPL", "MSFT", "NVDA", "JPM"],
      jitterMs: 3_000,
    });
    const { bars, ticks: produced, rollup } = await rollUp(ticks);
    const reference = referenceBars(produced);
    expect(bars.duplicates).to.deep.equal([]);
    expect([...reference.keys()].some((key) => key.includes("2026-12-01T00:00"))).to.equal(true);
    expect(withoutRevisions(bars.latest)).to.deep.equal(reference);
    expect(rollup.totals, "every tick was inside the lateness: no revision").to.deep.include({
      revisions: 0,
      tooLate: 0,
    });
    expect(bars.all.length).to.equal(reference.size);
  });

  it("revises a bar for a tick later than the lateness, folds one within it into the first emission, and reports one past the revision window", async function () {
    this.timeout(180_000);
    const at = (minute: number, second: number) => Date.UTC(2026, 11, 1, 10, minute, second);
    const ticks = syntheticTicks({ startMs: at(0, 0), count: 181, stepMs: 1_000, symbols: ["AAPL"] });
    const late = (ms: number, price: number, seq: number): Tick => ({
      symbol: "AAPL",
      ts: new Date(ms).toISOString(),
      price,
      volume: 7,
      source: "synthetic",
      producerId: "late",
      seq,
    });
    const push = syntheticTicks({
      startMs: at(12, 0),
      count: 1,
      stepMs: 1_000,
      symbols: ["AAPL"],
      producerId: "push",
    });
    const lateAfter = [
      late(at(2, 57), 1.5, 0), // newest is 10:03:00: 3 s late, inside the lateness; 10:02 is still open
      late(at(1, 30), 2.5, 1), // 10:01 closed at watermark 10:02:55: a revision
      late(at(1, 45), 3.5, 2), // and another
      push[0]!, // stream time to 10:12
      late(at(1, 10), 4.5, 3), // 10:01 ended 11 minutes before 10:12: past the 10-minute window
    ];
    const {
      bars,
      ticks: produced,
      rollup,
      warnings,
    } = await rollUp(ticks, { revisionWindowMs: 10 * 60_000, lateAfter });
    expect(bars.duplicates).to.deep.equal([]);
    const revisions = (minute: string) =>
      bars.all.filter((bar) => bar.minute === minute).map((bar) => bar.revision);
    expect(revisions("2026-12-01T10:02:00.000Z"), "within the lateness: no revision").to.deep.equal([0]);
    expect(revisions("2026-12-01T10:01:00.000Z")).to.deep.equal([0, 1, 2]);
    expect(rollup.totals.tooLate).to.equal(1);
    expect(warnings.join("\n")).to.match(
      /tick AAPL 2026-12-01T10:01:10.000Z is older than the 10-minute revision window/,
    );
    // The latest revisions equal the reference over every tick but the one past the window.
    const counted = produced.filter((entry) => entry.tick.producerId !== "late" || entry.tick.seq !== 3);
    expect(withoutRevisions(bars.latest)).to.deep.equal(referenceBars(counted));
  });

  it("rolls up a CSV replay through the CLI (`tickstream rollup`), equal to the reference", async function () {
    this.timeout(240_000);
    const env = cliEnvironment(environment());
    const topic = uniqueName("rollup-csv");
    const barsTopic = uniqueName("rollup-csv-bars");
    await createTestTopic(brokers(), topic);
    const produced = await runCli(
      ["produce", "--topic", topic, "--source", "csv:test/fixtures/index-processed-sample.csv", "--json"],
      env,
    );
    expect(produced.exitCode, produced.stderr).to.equal(0);
    const count = lastJsonLine<{ produced: number }>(produced.stdout).produced;
    const member = spawnCli(
      [
        "rollup",
        "--topic",
        topic,
        "--bars-topic",
        barsTopic,
        "--group",
        uniqueName("csv-rollup"),
        "--idle-close",
        "2s",
        "--json",
      ],
      env,
    );
    let output = "";
    member.all?.on("data", (chunk: Buffer) => (output += chunk.toString()));
    const ticks = await readTicks(brokers(), topic, count);
    const reference = referenceBars(ticks);
    await waitFor(async () => (await readBars(brokers(), barsTopic, 1_000)).latest.size >= reference.size, {
      timeoutMs: 120_000,
      intervalMs: 2_000,
      describe: () => `the rollup did not emit ${reference.size} bars:\n${output.slice(-2_000)}`,
    });
    member.kill("SIGTERM");
    const result = await member;
    expect(result.exitCode, output).to.equal(0);
    expect(lastJsonLine(result.stdout)).to.deep.include({ ticks: count, tooLate: 0 });
    const bars = await readBars(brokers(), barsTopic);
    expect(bars.duplicates).to.deep.equal([]);
    expect(withoutRevisions(bars.latest)).to.deep.equal(reference);
  });

  it("lands the bars in the lake as table bars_1m, crawled, and queried: bars-1m is the reference, ohlcv-1m agrees with the ticks", async function () {
    this.timeout(300_000);
    const ticks = syntheticTicks({
      startMs: Date.UTC(2026, 10, 29, 23, 58, 0),
      count: 2_400,
      stepMs: 100,
      symbols: ["AAPL", "MSFT", "JPM"],
      jitterMs: 1_000,
      producerId: "bars-lake",
    });
    const { topic, barsTopic, ticks: produced } = await rollUp(ticks);
    const reference = referenceBars(produced);
    for (const [table, source] of [
      ["ticks", topic],
      ["bars_1m", barsTopic],
    ] as const) {
      const group = uniqueName(`lake-${table}`);
      const sink = new LakeSink({
        bootstrapServers: brokers(),
        topic: source,
        groupId: group,
        lake: environment().lake,
        table,
        flush: { intervalMs: 300 },
      });
      await sink.start();
      await waitForGroupCaughtUp(brokers(), group, source);
      await sink.stop();
    }
    const env = cliEnvironment(environment());
    const crawled = await runCli(["crawl", "--json"], env);
    expect(crawled.exitCode, crawled.stderr).to.equal(0);
    expect(lastJsonLine<{ tablesCreated: string[] }>(crawled.stdout).tablesCreated).to.include("bars_1m");
    const query = async (...args: string[]) => {
      const result = await runCli(["query", ...args, "--json"], env);
      expect(result.exitCode, result.stderr).to.equal(0);
      const { columns, rows } = lastJsonLine<{ columns: string[]; rows: unknown[][] }>(result.stdout);
      return rows.map((row) => Object.fromEntries(columns.map((column, index) => [column, row[index]])));
    };
    // DuckDB prints TIMESTAMPTZ as "2026-11-29 23:58:00+00", Athena as "2026-11-29 23:58:00.000 UTC".
    const instant = (value: unknown) =>
      new Date(
        String(value)
          .replace(" ", "T")
          .replace(/(\+00|\s*UTC)$/, "Z"),
      ).toISOString();
    const minuteKey = (row: Record<string, unknown>) => `${String(row.symbol)}|${instant(row.minute)}`;
    const bars = await query("--named", "bars-1m", "--from", "2026-11-29", "--to", "2026-11-30");
    expect(bars.length).to.equal(reference.size);
    for (const row of bars) {
      const expected = reference.get(minuteKey(row))!;
      expect(expected, minuteKey(row)).to.not.equal(undefined);
      expect({ ...row, minute: undefined, revision: undefined, volume: Number(row.volume) }).to.deep.include({
        symbol: expected.symbol,
        open: expected.open,
        high: expected.high,
        low: expected.low,
        close: expected.close,
        volume: expected.volume,
        ticks: expected.ticks,
      });
      expect(row.vwap as number).to.be.closeTo(expected.vwap!, 1e-9);
    }
    // ohlcv-1m answers from bars_1m where it has the minute: the same figures as from the ticks alone.
    const fromBars = await query("--named", "ohlcv-1m");
    const ticksOnly = findNamedQuery("ohlcv-1m").template.replaceAll("{{where}}", "1 = 1");
    const fromTicks = await query(ticksOnly);
    const normalise = (rows: Record<string, unknown>[]) =>
      rows
        .map((row) => ({
          key: minuteKey(row),
          open: row.open,
          high: row.high,
          low: row.low,
          close: row.close,
          volume: Number(row.volume),
          ticks: Number(row.ticks),
        }))
        .sort((a, b) => a.key.localeCompare(b.key));
    expect(normalise(fromBars)).to.deep.equal(normalise(fromTicks));
    expect(renderNamedQuery("ohlcv-1m", {}, new Set(["ticks", "bars_1m"]))).to.include("FROM bars_1m");
  });
});
