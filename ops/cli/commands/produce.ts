/** `tickstream produce`: stream ticks from a source into the topic. */
import type { Command } from "commander";
import { runProducer } from "../../../apps/producer/producer.ts";
import { createSource } from "../../../apps/producer/sources/index.ts";
import { LocalEnvironment } from "../../local/environment.ts";
import { commandAction, withCommonOptions } from "../command.ts";
import { duration, positiveInteger, positiveNumber, symbolList } from "../options.ts";
import { runQuotePolling } from "./produce-quotes.ts";
import { formatCount, formatPairs, type Output } from "../output.ts";
import { untilStopped } from "../signals.ts";

export interface ProduceOptions {
  source: string;
  rate?: number;
  speed?: number;
  count?: number;
  seed?: string;
  topic?: string;
  producerId?: string;
  symbols?: string[];
  every: number;
}

export function addSourceOptions(command: Command): Command {
  return command
    .option(
      "--source <source>",
      "synthetic, csv:PATH to replay a CSV file in timestamp order, or quotes:finnhub|alphavantage to poll a quote API (key in TICKSTREAM_QUOTES_API_KEY)",
      "synthetic",
    )
    .option("--rate <ticks/s>", "send at most this many ticks per second", positiveNumber)
    .option("--seed <seed>", "seed of the synthetic random walk", "tickstream");
}

export function registerProduceCommand(program: Command): void {
  withCommonOptions(
    addSourceOptions(
      program.command("produce").description("stream ticks into Kafka (key = symbol, acks = all)"),
    )
      .option("--speed <x>", "replay a CSV at x times its original spacing", positiveNumber)
      .option("--count <n>", "stop after n ticks (synthetic runs until Ctrl-C otherwise)", positiveInteger)
      .option("--topic <name>", "topic (default: the `topic` setting)")
      .option("--producer-id <id>", "identity written into every tick (default: host name + random suffix)")
      .option("--symbols <list>", "for quotes:…, the symbols to poll, e.g. AAPL,MSFT", symbolList)
      .option("--every <duration>", "for quotes:…, time between polls (60s, 5m, …)", duration, 60_000),
  ).action(
    commandAction(async (output: Output, options: ProduceOptions) => {
      const environment = LocalEnvironment.fromEnvironment();
      if (options.source.startsWith("quotes:")) {
        const lifecycle = untilStopped(output, "stopping after the current poll...");
        try {
          const provider = options.source.slice("quotes:".length);
          await runQuotePolling(
            output,
            environment,
            { ...options, provider, everyMs: options.every },
            lifecycle,
          );
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
          onRowError: (error) =>
            output.warn(`${source.name} line ${error.line}: ${error.reason}; row skipped`),
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
    }),
  );
}
