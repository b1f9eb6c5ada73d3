/** What `tickstream rollup` does (commands/rollup.ts registers it): one-minute bars until Ctrl-C or SIGTERM. */
import { Rollup } from "../../../apps/rollup/rollup.ts";
import { createTopic } from "../../kafka/topics.ts";
import { LocalEnvironment } from "../../local/environment.ts";
import type { RollupCommandOptions } from "../commands/rollup.ts";
import { formatCount, formatPairs, type Output } from "../output.ts";
import { untilStopped } from "../signals.ts";

export async function run(output: Output, options: RollupCommandOptions): Promise<number> {
  const environment = LocalEnvironment.fromEnvironment();
  const { settings } = environment;
  const barsTopic = options.barsTopic ?? settings.barsTopic;
  const groupId = options.group ?? settings.rollupGroup;
  // Signals are taken over first: a signal at any moment of the start-up abandons it at once.
  const lifecycle = untilStopped(output, "committing what is folded, then exiting");
  lifecycle.doing(`creating topic ${barsTopic}`);
  output.progress(`connecting to the broker at ${environment.bootstrapServers.join(",")}...`);
  const { created } = await createTopic(environment.bootstrapServers, {
    topic: barsTopic,
    partitions: settings.defaultPartitions,
    replicationFactor: 1,
  });
  if (created) output.progress(`created topic ${barsTopic}`);
  // On a secure broker: the rollup may write its bar topic and the lake sink read it.
  await environment.grantAppAcls([options.topic ?? settings.topic], [barsTopic]);
  const rollup = new Rollup({
    bootstrapServers: environment.bootstrapServers,
    topic: options.topic ?? settings.topic,
    barsTopic,
    groupId,
    timing: {
      latenessMs: options.lateness ?? settings.rollupLatenessMs,
      revisionWindowMs: options.revisionWindow,
    },
    idleCloseMs: options.idleClose,
    sessionTimeoutMs: options.sessionTimeoutMs,
    onWarning: (message) => output.warn(message),
    onBars: ({ partition, bars }) => {
      const revised = bars.filter((bar) => bar.revision > 0).length;
      output.progress(
        `partition ${partition}: ${bars.length - revised} bars` +
          (revised ? `, ${revised} revised` : "") +
          ` up to ${bars.at(-1)!.minute}`,
      );
    },
  });
  try {
    lifecycle.doing(`connecting to the broker and joining group ${groupId}`);
    try {
      await rollup.start();
      lifecycle.running("rolling up");
      output.progress(`rollup: ${options.topic ?? settings.topic} -> ${barsTopic} (one-minute bars, UTC)`);
      await lifecycle.stopped();
      lifecycle.doing(
        "committing the open transactions (one not committed is aborted by the partition's next claimer, " +
          "which rolls its ticks up again)",
      );
    } finally {
      await rollup.stop();
    }
  } finally {
    lifecycle.dispose();
  }
  output.result(
    rollup.totals,
    formatPairs([
      ["ticks rolled up", formatCount(rollup.totals.ticks)],
      ["bars", formatCount(rollup.totals.bars)],
      ["revisions", formatCount(rollup.totals.revisions)],
      ["too late for any bar", formatCount(rollup.totals.tooLate)],
      ["invalid ticks skipped", formatCount(rollup.totals.invalid)],
    ]),
  );
  return lifecycle.finish();
}
