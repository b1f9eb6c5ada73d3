/** `tickstream produce`: stream ticks from a source into the topic. */
import type { Command } from "commander";
import { commandAction, withCommonOptions } from "../command.ts";
import { duration, positiveInteger, positiveNumber, symbolList } from "../options.ts";
import type { Output } from "../output.ts";

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
    commandAction(async (output: Output, options: ProduceOptions) =>
      (await import("../actions/produce.ts")).run(output, options),
    ),
  );
}
