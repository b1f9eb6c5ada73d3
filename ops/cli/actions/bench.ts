/** What `tickstream bench` does (commands/bench.ts registers it): the measurements, then their table. */
import { benchHeading, runBench } from "../../bench/run-bench.ts";
import type { TrickleResult } from "../../bench/trickle.ts";
import type { BenchCommandOptions } from "../commands/bench.ts";
import { formatTable } from "../format-table.ts";
import { formatCount, type Output } from "../output.ts";

export async function run(output: Output, options: BenchCommandOptions): Promise<number> {
  const results = await runBench({
    count: options.count,
    durationMs: options.duration,
    scaleOutDurationMs: options.scaleOutDuration,
    queryTicks: options.queryTicks,
    trickleMs: options.trickle,
    trickleOnly: options.trickleOnly,
    onProgress: (message) => output.progress(message),
  });
  const trickleRows = trickleTable(results.trickle);
  if (options.trickleOnly) {
    output.result(results.trickle, trickleRows);
    const { auditBefore, auditAfter } = results.trickle;
    return auditBefore.missing + auditBefore.duplicates + auditAfter.missing + auditAfter.duplicates === 0
      ? 0
      : 1;
  }
  const { sideBySide: compared } = results;
  const rate = (value: number) => `${formatCount(value)}/s`;
  const table = formatTable({
    columns: ["measure", "tickstream", "reference", "ratio", "goal"],
    rows: [
      [
        "producer (@platformatic/kafka) vs ProducerPerformance",
        rate(compared.producerTicksPerSecond),
        rate(compared.javaProducerRecordsPerSecond),
        `${compared.producerRatioVsJava}x`,
        ">= 0.8x",
      ],
      [
        "  kafkajs 2.2.4, the same way (reference)",
        rate(compared.kafkajsProducerTicksPerSecond),
        rate(compared.javaProducerRecordsPerSecond),
        `${compared.kafkajsProducerRatioVsJava}x`,
        "",
      ],
      [
        "lake sink, batch run (--until-caught-up) vs ConsumerPerformance",
        rate(compared.batchRunTicksPerSecond),
        rate(compared.javaConsumerRecordsPerSecond),
        `${compared.batchRunRatioVsJava}x`,
        ">= 0.5x",
      ],
      [
        "lake sink streaming, until lag 0 (incl. the flush timer)",
        rate(compared.consumerTicksPerSecond),
        rate(compared.javaConsumerRecordsPerSecond),
        `${compared.consumerRatioVsJava}x`,
        "",
      ],
      [
        "lake sink vs one object per message",
        rate(compared.consumerTicksPerSecond),
        rate(results.tutorialMethod.messagesPerSecond),
        `${formatCount(results.ratioVsTutorialMethod)}x`,
        ">= 1,000x",
      ],
      ...results.scaleOut.map((run) => [
        `end to end, ${run.members} sink member(s)`,
        rate(run.ticksPerSecond),
        "",
        "",
        run.members === 1 ? ">= 100,000/s" : "",
      ]),
      [
        "freshness p50 / p99 (send to in the table)",
        `${formatCount(results.freshnessP50Ms)} / ${formatCount(results.freshnessP99Ms)} ms`,
        `commit every ${formatCount(results.icebergCommitIntervalMs)} ms`,
        "",
        "p99 <= commit interval + 1 s",
      ],
      [
        "table commits (1 member)",
        `${results.tableCommitsPerSecond}/s`,
        `${formatCount(Math.round(86_400_000 / results.icebergCommitIntervalMs))}/day at most`,
        "",
        "",
      ],
      ["sink peak RSS (its own process)", `${results.consumerPeakRssMb} MiB`, "", "", "<= 250 MiB"],
      [
        `ohlcv-1m over ${formatCount(results.ohlcv1mTicks)} ticks`,
        `${formatCount(results.ohlcv1mQueryMs)} ms`,
        `first run ${formatCount(results.query.firstQueryMs)} ms`,
        "",
        "",
      ],
      ["lost / duplicated (lake audit)", `${results.lost} / ${results.duplicated}`, "", "", "0 / 0"],
    ],
  });
  output.result(
    results,
    `${benchHeading(results)}\n${table}\n${trickleRows}\n(bench/results.json, bench/results.svg)`,
  );
  return results.lost === 0 && results.duplicated === 0 ? 0 : 1;
}

/** The trickle's lines: what 20 ticks/s write on the default settings, and what `lake compact` leaves. */
function trickleTable(trickle: TrickleResult): string {
  const partitions = Object.entries(trickle.objectsPerDayPartition)
    .map(([dt, count]) => `${dt}: ${formatCount(count)}`)
    .join(", ");
  return formatTable({
    columns: ["trickle", "measured", "per day at this rate"],
    rows: [
      [
        `${trickle.ticksPerSecond} ticks/s for ${formatCount(trickle.seconds)} s`,
        `${formatCount(trickle.produced)} ticks`,
        "",
      ],
      [
        "data objects (per day partition)",
        `${formatCount(trickle.dataObjects)} (${partitions}), ${formatCount(trickle.bytesPerObject)} B each`,
        formatCount(trickle.dataObjectsPerDay),
      ],
      ["table commits", formatCount(trickle.commits), formatCount(trickle.commitsPerDay)],
      ["metadata objects written", "", formatCount(trickle.metadataObjectsPerDay)],
      [
        "after lake compact",
        `${formatCount(trickle.compaction.filesBefore)} -> ${formatCount(trickle.compaction.filesAfter)} files, ${formatCount(trickle.compaction.bytesPerFileAfter)} B each`,
        "",
      ],
      [
        "producer's ticks in the table (before / after)",
        `${formatCount(trickle.auditBefore.unique)} / ${formatCount(trickle.auditAfter.unique)} of ${formatCount(trickle.produced)}, dup ${trickle.auditBefore.duplicates} / ${trickle.auditAfter.duplicates}`,
        "",
      ],
    ],
  });
}
