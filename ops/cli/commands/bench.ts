/** `tickstream bench`: measure the local pipeline. */
import type { Command } from "commander";
import { runBench } from "../../bench/run-bench.ts";
import { commandAction, withCommonOptions } from "../command.ts";
import { positiveInteger } from "../options.ts";
import { formatCount, formatPairs, type Output } from "../output.ts";

export function registerBenchCommand(program: Command): void {
  withCommonOptions(
    program
      .command("bench")
      .description(
        "measure the local pipeline on fresh services: throughput, freshness, lake bytes per tick, memory",
      )
      .option("--count <n>", "how many ticks", positiveInteger, 500_000),
  ).action(
    commandAction(async (output: Output, options: { count: number }) => {
      const result = await runBench({
        count: options.count,
        onProgress: (message) => output.progress(message),
      });
      output.result(
        result,
        formatPairs([
          [
            "producer vs Kafka's ProducerPerformance",
            `${formatCount(result.sideBySide.producerTicksPerSecond)} vs ${formatCount(result.sideBySide.javaProducerRecordsPerSecond)} /s = ${result.sideBySide.producerRatioVsJava}x`,
          ],
          [
            "lake sink vs ConsumerPerformance",
            `${formatCount(result.sideBySide.consumerTicksPerSecond)} vs ${formatCount(result.sideBySide.javaConsumerRecordsPerSecond)} /s = ${result.sideBySide.consumerRatioVsJava}x`,
          ],
          ["ticks", formatCount(result.produced)],
          ["duplicates / missing", `${result.duplicates} / ${result.missing}`],
          ["ticks/s (end to end)", formatCount(result.ticksPerSecond)],
          ["freshness p50 / p99", `${result.freshnessP50Ms} / ${result.freshnessP99Ms} ms`],
          ["lake objects", formatCount(result.files)],
          ["lake bytes per tick", result.lakeBytesPerTick],
          ["peak RSS (CLI process)", `${result.peakRssMb} MiB`],
          ...(["stage", "commit", "publish"] as const).map((step): [string, string] => [
            `flush ${step} p50 / p99`,
            `${result.flushStepsMs[step].p50} / ${result.flushStepsMs[step].p99} ms`,
          ]),
        ]),
      );
      return result.duplicates === 0 && result.missing === 0 ? 0 : 1;
    }),
  );
}
