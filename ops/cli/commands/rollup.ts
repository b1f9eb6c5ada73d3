/** `tickstream rollup`: one-minute bars computed in the stream, exactly once, until Ctrl-C or SIGTERM. */
import type { Command } from "commander";
import { DEFAULT_ROLLUP_TIMING } from "../../../apps/rollup/rollup-timing.ts";
import { commandAction, withCommonOptions } from "../command.ts";
import { duration, positiveInteger } from "../options.ts";
import type { Output } from "../output.ts";

export interface RollupCommandOptions {
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
    commandAction(async (output: Output, options: RollupCommandOptions) =>
      (await import("../actions/rollup.ts")).run(output, options),
    ),
  );
}
