/** `tickstream demo`: the whole pipeline locally, then a summary. */
import type { Command } from "commander";
import { runDemo } from "../../demo/run-demo.ts";
import { runningDashboard } from "./dashboard.ts";
import { LocalEnvironment } from "../../local/environment.ts";
import { commandAction, withCommonOptions } from "../command.ts";
import { positiveInteger } from "../options.ts";
import { formatCount, formatPairs, type Output } from "../output.ts";
import { addSourceOptions } from "./produce.ts";

interface DemoCommandOptions {
  count: number;
  source: string;
  rate?: number;
  seed?: string;
}

export function registerDemoCommand(program: Command): void {
  withCommonOptions(
    addSourceOptions(
      program
        .command("demo")
        .description("run the whole pipeline locally (broker, S3, producer, lake sink) and audit the lake"),
    ).option("--count <n>", "how many ticks", positiveInteger, 100_000),
  ).action(
    commandAction(async (output: Output, options: DemoCommandOptions) => {
      const environment = LocalEnvironment.fromEnvironment((message) => output.progress(message));
      const summary = await runDemo(environment, {
        count: options.count,
        source: options.source,
        ratePerSecond: options.rate,
        seed: options.seed,
        onProgress: (message) => output.progress(message),
        onStatus: (message) => output.status(message),
        onWarning: (message) => output.warn(message),
      });
      const { producerId, ...shape } = summary;
      const dashboard = await runningDashboard(environment);
      output.result(
        shape,
        formatPairs([
          ["produced", formatCount(summary.produced)],
          ["in the lake", formatCount(summary.inLake)],
          ["duplicates", formatCount(summary.duplicates)],
          ["missing", formatCount(summary.missing)],
          ["quarantined", formatCount(summary.quarantined)],
          ["files", formatCount(summary.files)],
          ["bytes", formatCount(summary.bytes)],
          ["ticks/s (end to end)", formatCount(summary.ticksPerSecond)],
          ["freshness p50", `${summary.freshnessP50Ms} ms`],
          ["freshness p99", `${summary.freshnessP99Ms} ms`],
          [
            "one-minute bars",
            `${formatCount(summary.bars ?? 0)} (+${formatCount(summary.barRevisions ?? 0)} revisions), ${formatCount(summary.barsInLake ?? 0)} rows in bars_1m`,
          ],
          ["producerId", producerId],
        ]) +
          `\nThe broker and S3 server keep running; stop them with: npx tickstream local down` +
          (dashboard
            ? `\nThe dashboard is running: ${dashboard}`
            : `\nWatch the pipeline live: npx tickstream dashboard`),
      );
      return summary.duplicates === 0 && summary.missing === 0 ? 0 : 1;
    }),
  );
}
