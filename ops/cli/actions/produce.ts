/** What `tickstream produce` does (commands/produce.ts registers it): ticks from a source into the topic. */
import { runProducer } from "../../../apps/producer/producer.ts";
import { createSource } from "../../../apps/producer/sources/index.ts";
import { LocalEnvironment } from "../../local/environment.ts";
import type { ProduceOptions } from "../commands/produce.ts";
import { formatCount, formatPairs, type Output } from "../output.ts";
import { untilStopped } from "../signals.ts";
import { runQuotePolling } from "./produce-quotes.ts";

export async function run(output: Output, options: ProduceOptions): Promise<number> {
  const environment = LocalEnvironment.fromEnvironment();
  if (options.source.startsWith("quotes:")) {
    const lifecycle = untilStopped(output, "stopping after the current poll...");
    try {
      const provider = options.source.slice("quotes:".length);
      await runQuotePolling(output, environment, { ...options, provider, everyMs: options.every }, lifecycle);
    } finally {
      lifecycle.dispose();
    }
    return lifecycle.finish();
  }
  const source = createSource(options.source, { seed: options.seed });
  const lifecycle = untilStopped(output, "stopping after the current batch...");
  lifecycle.doing("connecting to the broker");
  const topic = options.topic ?? environment.settings.topic;
  output.progress(`connecting to the broker at ${environment.bootstrapServers.join(",")}...`);
  const startedAt = Date.now();
  let acknowledged = 0;
  lifecycle.stop.addEventListener("abort", () =>
    lifecycle.doing(
      `the ticks in flight after ${formatCount(acknowledged)} acknowledged (each may or may not be in the topic; ` +
        "the lake counts them by producerId and seq)",
    ),
  );
  try {
    const summary = await runProducer({
      bootstrapServers: environment.bootstrapServers,
      topic,
      source,
      producerId: options.producerId,
      count: options.count,
      ratePerSecond: options.rate,
      speed: options.speed,
      signal: lifecycle.stop,
      onConnected: () => {
        lifecycle.running("producing");
        output.progress(`producing to ${topic}`);
      },
      onRowError: (error) => output.warn(`${source.name} line ${error.line}: ${error.reason}; row skipped`),
      onProgress: (produced) => {
        acknowledged = produced;
        const seconds = (Date.now() - startedAt) / 1000;
        output.status(
          `produced ${formatCount(produced)} ticks (${formatCount(Math.round(produced / Math.max(seconds, 0.001)))}/s)`,
        );
      },
    });
    output.result(
      summary,
      formatPairs([
        ["produced", formatCount(summary.produced)],
        ["bad rows skipped", formatCount(summary.badRows)],
        ["ticks/s", formatCount(summary.ticksPerSecond)],
        ["producerId", summary.producerId],
      ]),
    );
  } finally {
    lifecycle.dispose();
  }
  return lifecycle.finish();
}
