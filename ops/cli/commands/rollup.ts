/** `tickstream rollup`: one-minute bars computed in the stream, exactly once, until Ctrl-C or SIGTERM. */
import type { Command } from "commander";
import { DEFAULT_ROLLUP_TIMING } from "../../../apps/rollup/partition-rollup.ts";
import { Rollup } from "../../../apps/rollup/rollup.ts";
import { createTopic } from "../../kafka/topics.ts";
import { LocalEnvironment } from "../../local/environment.ts";
import { commandAction, withCommonOptions } from "../command.ts";
import { duration, positiveInteger } from "../options.ts";
import { formatCount, formatPairs, type Output } from "../output.ts";
import { onShutdownSignals } from "../signals.ts";

interface RollupCommandOptions {
  topic?: string;
  barsTopic?: string;
  group?: string;
  lateness?: number;
  revisionWindow: number;
  idleClose: number;
  sessionTimeoutMs: number;
}

export function registerRollupCommand(program: Command): void {
  withCommonOptions(
    program
      .command("rollup")
      .description(
        "compute one-minute OHLCV bars from the ticks as they stream, exactly once, into the bar topic (runs until Ctrl-C)",
      )
      .option("--topic <name>", "the tick topic (default: the `topic` setting)")
      .option("--bars-topic <name>", "where bars go (default: the `barsTopic` setting; created if missing)")
      .option("--group <id>", "consumer group (default: the `rollupGroup` setting)")
      .option(
        "--lateness <duration>",
        "how late a tick may be and still make its bar's first emission (default: the `rollupLatenessMs` setting, 5s)",
        duration,
      )
      .option(
        "--revision-window <duration>",
        "how long after its minute a bar is still revised by late ticks",
        duration,
        DEFAULT_ROLLUP_TIMING.revisionWindowMs,
      )
      .option("--idle-close <duration>", "a partition idle this long emits its open bars", duration, 30_000)
      .option(
        "--session-timeout-ms <ms>",
        "how long the group waits for a silent member",
        positiveInteger,
        30_000,
      ),
  ).action(
    commandAction(async (output: Output, options: RollupCommandOptions) => {
      const environment = LocalEnvironment.fromEnvironment();
      const { settings } = environment;
      const barsTopic = options.barsTopic ?? settings.barsTopic;
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
        groupId: options.group ?? settings.rollupGroup,
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
      const signals = onShutdownSignals(() => output.progress("committing what is folded, then exiting"));
      try {
        await rollup.start();
        output.progress(`rollup: ${options.topic ?? settings.topic} -> ${barsTopic} (one-minute bars, UTC)`);
        await new Promise<void>((resolve) =>
          signals.stop.addEventListener("abort", () => resolve(), { once: true }),
        );
      } finally {
        await rollup.stop();
        signals.dispose();
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
    }),
  );
}
