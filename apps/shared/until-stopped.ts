/**
 * Stopping as a guarantee, for every process that runs until a signal (the CLI's long-running commands in
 * ops/cli/signals.ts, and the services, apps/{consumer,rollup,producer}/service.ts):
 * - a signal during start-up (connecting, joining a group, loading history) abandons the start-up at once;
 * - a signal once it runs asks for a graceful stop, which has a bound (10 s by default: the `stopTimeoutMs`
 *   setting, TICKSTREAM_STOP_TIMEOUT_MS for a service): past it, what is unfinished is abandoned as a crash
 *   would leave it (the exactly-once protocol tolerates that: a staged flush not committed is an orphan, an open
 *   transaction is aborted by the next claimer);
 * - a second signal while stopping abandons at once.
 * Exit codes: 0 when the graceful stop completed within the bound (the signal is the normal end); 128 + the
 * signal's number (130 after SIGINT, 143 after SIGTERM) when anything was abandoned, after one line naming what:
 * `tickstream: SIGTERM during start-up: abandoned loading the lake's history`.
 */
import { writeSync } from "node:fs";

/** The default bound of a graceful stop. */
export const DEFAULT_STOP_TIMEOUT_MS = 10_000;

const SIGNAL_NUMBERS = { SIGINT: 2, SIGTERM: 15 } as const;
export type StopSignal = keyof typeof SIGNAL_NUMBERS;

/** The exit code by convention after a signal: 128 + its number. */
export function signalExitCode(signal: StopSignal): number {
  return 128 + SIGNAL_NUMBERS[signal];
}

/**
 * bin/tickstream.js exits at once on a signal that arrives before any command has taken signals over (while the
 * modules load); a command that handles signals removes that handler.
 */
export function removeEarlyHandlers(): void {
  const early = (globalThis as { tickstreamEarlySignalHandler?: (signal: NodeJS.Signals) => void })
    .tickstreamEarlySignalHandler;
  if (!early) return;
  process.off("SIGINT", early);
  process.off("SIGTERM", early);
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
  /** The setting that holds the bound, named in the abandon line (default "stopTimeoutMs"). */
  readonly setting?: string;
  /** The prefix of the abandon line (default "tickstream"). */
  readonly name?: string;
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
      () =>
        this.abandon(
          `${this.received} and the stop took over ${seconds} s (${this.options.setting ?? "stopTimeoutMs"})`,
        ),
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
    say(`${this.options.name ?? "tickstream"}: ${reason}: abandoned ${this.step}`);
    (this.options.exit ?? ((code: number) => process.exit(code)))(signalExitCode(this.received!));
  }
}
