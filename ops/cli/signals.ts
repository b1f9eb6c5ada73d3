/**
 * Ctrl-C / SIGTERM handling.
 *
 * `onShutdownSignals`: for short commands (query, crawl): the first signal asks to stop cleanly, the second gives up.
 *
 * `untilStopped`: for every command that runs until Ctrl-C (consume, rollup, produce, dashboard, logs --follow):
 * stopping is a guarantee, whatever the command is doing (apps/shared/until-stopped.ts says how; the bound is the
 * `stopTimeoutMs` setting, 10 s by default). Exit codes: 0 when the graceful stop completed within the bound;
 * 130 after SIGINT, 143 after SIGTERM when anything was abandoned, after one line naming what.
 */
import { loadLocalSettings, tickstreamHome } from "../config/settings.ts";
import { removeEarlyHandlers, UntilStopped } from "../../apps/shared/until-stopped.ts";
import type { Output } from "./output.ts";

export {
  DEFAULT_STOP_TIMEOUT_MS,
  signalExitCode,
  UntilStopped,
  type UntilStoppedOptions,
} from "../../apps/shared/until-stopped.ts";

export interface ShutdownSignals {
  /** Aborted at the first SIGINT or SIGTERM. */
  readonly stop: AbortSignal;
  /** Aborted at the second. */
  readonly force: AbortSignal;
  dispose(): void;
}

export function onShutdownSignals(onFirst?: (signal: string) => void): ShutdownSignals {
  const stop = new AbortController();
  const force = new AbortController();
  const handler = (signal: NodeJS.Signals) => {
    if (!stop.signal.aborted) {
      onFirst?.(signal);
      stop.abort();
    } else force.abort();
  };
  removeEarlyHandlers();
  process.on("SIGINT", handler);
  process.on("SIGTERM", handler);
  return {
    stop: stop.signal,
    force: force.signal,
    dispose() {
      process.off("SIGINT", handler);
      process.off("SIGTERM", handler);
    },
  };
}

/** The `stopTimeoutMs` setting of this home (ops commands against a stack read the same local settings). */
export function stopTimeoutSetting(): number {
  return loadLocalSettings(tickstreamHome()).stopTimeoutMs;
}

/** `UntilStopped` for a CLI command: the bound from the settings, `stopping` said as progress. */
export function untilStopped(output: Output, stopping: string): UntilStopped {
  return new UntilStopped({
    stopTimeoutMs: stopTimeoutSetting(),
    onStopping: () => output.progress(stopping),
  });
}
