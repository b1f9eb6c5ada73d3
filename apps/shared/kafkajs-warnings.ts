/**
 * kafkajs 2.2.4's request queue arms its throttle check with `setTimeout(check, throttledUntil - Date.now())`
 * while `throttledUntil` still holds its initial -1: a delay of about -1.8e12 ms, which every Node version runs
 * as 1 ms. Node 24 also prints a three-line `TimeoutNegativeWarning` for it on stderr, in every process that
 * talks to a broker (the CLI, the sink, the rollup), where it reads like a fault. kafkajs is no longer released,
 * so the warning is dropped here, for that call site only: the same warning from anywhere else still prints.
 */

/** The kafkajs method whose negative delay is harmless (a name esbuild keeps in the app bundles too). */
const KAFKAJS_CALL_SITE = "scheduleCheckPendingRequests";

/** Whether a warning of `type` raised from `stack` is kafkajs' harmless negative delay. */
export function isKafkajsNegativeTimeout(type: string | undefined, stack: string | undefined): boolean {
  return type === "TimeoutNegativeWarning" && (stack ?? "").includes(KAFKAJS_CALL_SITE);
}

let installed = false;

/** Drops Node's TimeoutNegativeWarning when kafkajs' request queue caused it; idempotent, process-wide. */
export function ignoreKafkajsNegativeTimeouts(): void {
  if (installed) return;
  installed = true;
  const emitWarning = process.emitWarning;
  process.emitWarning = function (this: NodeJS.Process, warning: string | Error, ...rest: unknown[]) {
    const option = rest[0];
    const type =
      typeof option === "string" ? option : ((option as { type?: string } | undefined)?.type ?? undefined);
    if (type === "TimeoutNegativeWarning" && isKafkajsNegativeTimeout(type, new Error().stack)) return;
    return (emitWarning as (...args: unknown[]) => void).call(this, warning, ...rest);
  } as typeof process.emitWarning;
}
