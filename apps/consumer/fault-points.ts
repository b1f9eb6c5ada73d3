/**
 * Test-only fault injection: `TICKSTREAM_FAULT_POINT=committed:3` makes the process SIGKILL itself the third time
 * it reaches the step named "committed", after saying so on stderr, so a fault test knows which step each kill
 * interrupted. Unset (always, outside the fault suite), a fault point does nothing.
 *
 * The lake sink's steps, in order: "staged" (objects in staging, offsets not committed), "committed" (offsets and
 * manifest committed, nothing published), "published-partly" (one object of several copied), "published" (all
 * copied, staged copies not yet deleted).
 */
import { writeSync } from "node:fs";

const configured = parse(process.env.TICKSTREAM_FAULT_POINT);
const reached = new Map<string, number>();

function parse(value: string | undefined): { step: string; occurrence: number } | undefined {
  if (!value) return undefined;
  const [step, occurrence] = value.split(":");
  return { step: step!, occurrence: Number(occurrence ?? 1) };
}

export function faultPoint(step: string): void {
  if (!configured || configured.step !== step) return;
  const count = (reached.get(step) ?? 0) + 1;
  reached.set(step, count);
  if (count !== configured.occurrence) return;
  writeSync(2, `tickstream: fault point ${step} #${count} reached; SIGKILL\n`);
  process.kill(process.pid, "SIGKILL");
}
