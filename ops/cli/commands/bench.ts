/** `tickstream bench`: measure the local pipeline side by side with Kafka's own tools (`npm run bench`). */
import type { Command } from "commander";
import { commandAction, withCommonOptions } from "../command.ts";
import { duration, positiveInteger } from "../options.ts";
import type { Output } from "../output.ts";

export interface BenchCommandOptions {
  count: number;
  duration: number;
  scaleOutDuration: number;
  queryTicks: number;
  trickle: number;
  trickleOnly?: boolean;
}

export function registerBenchCommand(program: Command): void {
  withCommonOptions(
    program
      .command("bench")
      .description(
        "measure the local pipeline on fresh services, side by side with Kafka's own tools; writes bench/results.json and bench/results.svg (several minutes)",
      )
      .option("--count <n>", "records for the producer and consumer comparisons", positiveInteger, 2_000_000)
      .option("--duration <duration>", "how long the end-to-end producer runs", duration, 60_000)
      .option(
        "--scale-out-duration <duration>",
        "how long each 2- and 3-member run produces",
        duration,
        30_000,
      )
      .option("--query-ticks <n>", "ticks in the lake for the ohlcv-1m query", positiveInteger, 10_000_000)
      .option(
        "--trickle <duration>",
        "how long 20 ticks/s run into one sink on the default settings before lake compact (runs first)",
        duration,
        60_000,
      )
      .option("--trickle-only", "measure only the trickle and its compaction (e.g. --trickle 10m)"),
  ).action(
    commandAction(async (output: Output, options: BenchCommandOptions) =>
      (await import("../actions/bench.ts")).run(output, options),
    ),
  );
}
