/**
 * Test-only fault injection: `TICKSTREAM_FAULT_POINT=committed:3` makes the process SIGKILL itself the third time
 * it reaches the step named "committed", after saying so on stderr, so a fault test knows which step each kill
 * interrupted; `staged:2:SIGSTOP` freezes it there instead (a zombie at a known step, thawed by the test with
 * SIGCONT). Unset (always, outside the fault suite), a fault point does nothing.
 *
 * The lake sink's steps, in order: "staged" (objects in staging, offsets not committed), "committed" (offsets and
 * manifest committed, nothing published), "published-partly" (one object of several copied), "published" (all
 * copied, staged copies not yet deleted), "appended" (with Iceberg tables: the flush appended to its table,
 * staged copies not yet deleted). The rollup's: "records-sent" (bars sent in the open transaction,
 * offsets and state not committed), "rollup-committed" (committed, not yet reported).
 */
import { writeSync } from "node:fs";

const configured = parse(process.env.TICKSTREAM_FAULT_POINT);
const reached = new Map<string, number>();

function parse(value: string | undefined) {
  if (!value) return undefined;
  const [step, occurrence, signal] = value.split(":");
  return {
    step: step!,
    occurrence: Number(occurrence ?? 1),
    signal: signal === "SIGSTOP" ? "SIGSTOP" : "SIGKILL",
  };
}

export function faultPoint(step: string): void {
  if (!configured || configured.step !== step) return;
  const count = (reached.get(step) ?? 0) + 1;
  reached.set(step, count);
  if (count !== configured.occurrence) return;
  writeSync(2, `tickstream: fault point ${step} #${count} reached; ${configured.signal}\n`);
  process.kill(process.pid, configured.signal);
}
