/**
 * Ctrl-C / SIGTERM handling.
 *
 * `onShutdownSignals`: for short commands (query, crawl): the first signal asks to stop cleanly, the second gives up.
 *
 * `untilStopped`: for every command that runs until Ctrl-C (consume, rollup, produce, dashboard, logs --follow).
 * Stopping is a guarantee, whatever the command is doing:
 * - a signal during start-up (connecting, joining a group, loading history) abandons the start-up at once;
 * - a signal once it runs asks for a graceful stop, which has a bound (`stopTimeoutMs`, 10 s by default): past it,
 *   what is unfinished is abandoned, as a crash would leave it (the exactly-once protocol tolerates that: a staged
 *   flush not committed is an orphan, an open transaction is aborted by the next claimer);
 * - a second signal while stopping abandons at once.
 * Exit codes: 0 when the graceful stop completed within the bound (the signal is the command's normal end);
 * 128 + the signal's number (130 after SIGINT, 143 after SIGTERM) when anything was abandoned, after one line on
 * stderr naming what: `tickstream: SIGTERM during start-up: abandoned loading the lake's history`.
 */
import { writeSync } from "node:fs";
import { loadLocalSettings, tickstreamHome } from "../config/settings.ts";
import type { Output } from "./output.ts";

/** The default bound of a graceful stop (the `stopTimeoutMs` setting). */
export const DEFAULT_STOP_TIMEOUT_MS = 10_000;

const SIGNAL_NUMBERS = { SIGINT: 2, SIGTERM: 15 } as const;
type StopSignal = keyof typeof SIGNAL_NUMBERS;

/** The exit code by convention after a signal: 128 + its number. */
export function signalExitCode(signal: StopSignal): number {
  return 128 + SIGNAL_NUMBERS[signal];
}

/**
 * bin/tickstream.js exits at once on a signal that arrives before any command has taken signals over (while the
 * modules load); a command that handles signals removes that handler.
 */
function removeEarlyHandlers(): void {
  const early = (globalThis as { tickstreamEarlySignalHandler?: (signal: NodeJS.Signals) => void })
    .tickstreamEarlySignalHandler;
  if (!early) return;
  process.off("SIGINT", early);
  process.off("SIGTERM", early);
}

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

export interface UntilStoppedOptions {
  /** The bound of the graceful stop. */
  readonly stopTimeoutMs: number;
  /** Said (as progress) when a graceful stop begins. */
  readonly onStopping?: (signal: StopSignal) => void;
  /** Writes the one line that names what was abandoned (default: stderr, synchronously). */
  readonly say?: (line: string) => void;
  /** Ends the process (default: process.exit); injectable for tests. */
  readonly exit?: (code: number) => void;
  /** Which process signals to take (default: the process's own SIGINT and SIGTERM). */
  readonly events?: Pick<NodeJS.Process, "on" | "off">;
}

/** The lifecycle of a command that runs until a signal: see the module's comment. */
export class UntilStopped {
  private readonly stopController = new AbortController();
  private readonly forceController = new AbortController();
  private readonly abandonHooks: (() => void)[] = [];
  private step = "starting";
  private isRunning = false;
  private received: StopSignal | undefined;
  private timer: NodeJS.Timeout | undefined;
  private finished = false;
  private readonly handler = (signal: NodeJS.Signals) => this.onSignal(signal as StopSignal);

  constructor(private readonly options: UntilStoppedOptions) {
    removeEarlyHandlers();
    const events = options.events ?? process;
    events.on("SIGINT", this.handler);
    events.on("SIGTERM", this.handler);
  }

  /** Aborted when a graceful stop is asked for (the first signal once running). */
  get stop(): AbortSignal {
    return this.stopController.signal;
  }

  /** Aborted when the stop is abandoned (bound passed, second signal), just before the process exits. */
  get force(): AbortSignal {
    return this.forceController.signal;
  }

  /** The signal received, if any. */
  get signal(): StopSignal | undefined {
    return this.received;
  }

  /** Names what the command is doing now: the abandon line says it ("loading the lake's history"). */
  doing(step: string): void {
    this.step = step;
  }

  /** Runs (synchronously, best effort) just before the process exits on an abandon. */
  onAbandon(hook: () => void): void {
    this.abandonHooks.push(hook);
  }

  /** Start-up is over: from now on a signal asks for a graceful stop. */
  running(step = "running"): void {
    this.isRunning = true;
    this.step = step;
  }

  /** Resolves at the first signal once running (at once if it came already). */
  stopped(): Promise<void> {
    if (this.stop.aborted) return Promise.resolve();
    return new Promise((resolve) => this.stop.addEventListener("abort", () => resolve(), { once: true }));
  }

  /** The graceful stop (or the command's own end) is complete: the bound is disarmed. Returns the exit code. */
  finish(): number {
    this.dispose();
    return 0;
  }

  dispose(): void {
    this.finished = true;
    clearTimeout(this.timer);
    const events = this.options.events ?? process;
    events.off("SIGINT", this.handler);
    events.off("SIGTERM", this.handler);
  }

  private onSignal(signal: StopSignal): void {
    if (this.finished) return;
    if (!this.isRunning) {
      this.received ??= signal;
      return this.abandon(`${signal} during start-up`);
    }
    if (this.received) return this.abandon(`second ${signal} while stopping`);
    this.received = signal;
    this.options.onStopping?.(signal);
    const seconds = Math.round(this.options.stopTimeoutMs / 100) / 10;
    this.timer = setTimeout(
      () => this.abandon(`${this.received} and the stop took over ${seconds} s (stopTimeoutMs)`),
      this.options.stopTimeoutMs,
    );
    this.stopController.abort();
  }

  private abandon(reason: string): void {
    if (this.finished) return;
    this.finished = true;
    clearTimeout(this.timer);
    this.forceController.abort();
    for (const hook of this.abandonHooks) {
      try {
        hook();
      } catch {
        // best effort: the process is about to exit
      }
    }
    const say = this.options.say ?? ((line: string) => writeSync(2, `${line}\n`));
    say(`tickstream: ${reason}: abandoned ${this.step}`);
    (this.options.exit ?? ((code: number) => process.exit(code)))(signalExitCode(this.received!));
  }
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
