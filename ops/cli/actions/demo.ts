/** What `tickstream demo` does (commands/demo.ts registers it): the whole pipeline locally, then a summary. */
import { runDemo } from "../../demo/run-demo.ts";
import { LocalEnvironment } from "../../local/environment.ts";
import { runningDashboard } from "../commands/dashboard.ts";
import type { DemoCommandOptions } from "../commands/demo.ts";
import { formatCount, formatPairs, type Output } from "../output.ts";

export async function run(output: Output, options: DemoCommandOptions): Promise<number> {
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
}
