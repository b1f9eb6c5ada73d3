/** Ctrl-C / SIGTERM handling for long-running commands: the first asks to stop cleanly, the second gives up. */
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
