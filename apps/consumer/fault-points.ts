/**
 * Test-only fault injection: `TICKSTREAM_FAULT_POINT=committed:3` makes the process SIGKILL itself the third time
 * it reaches the step named "committed", after saying so on stderr, so a fault test knows which step each kill
 * interrupted; `staged:2:SIGSTOP` freezes it there instead (a zombie at a known step, thawed by the test with
 * SIGCONT); `committing:6:THROW` makes the step fail with an error, as a lost connection would (and
 * `committed:3:THROW`, a commit that landed but whose response was lost); `batch:4:REFUSE` fails it with an
 * error marked not retriable, as a refused permission or a bug would; `awaiting-turn:3:DELAY3000` holds
 * that flush there for 3 s while the process runs on (a slow flush overtaken by the next one). A step named
 * with a partition, `committing@p0:3:THROW`, counts that partition's arrivals only (where the step knows its
 * partition), so that two faults can name the same flush; where the step knows it, the line on stderr ends with
 * the partition: `reached; SIGSTOP (partition 2)`. Several faults are separated by commas. Unset
 * (always, outside the fault suite), a fault point does nothing.
 *
 * The lake sink's steps, in order: "batch" (a fetched batch about to be handled), "awaiting-turn" (objects
 * in staging, about to wait for the partition's previous flush to commit and publish), "staged" (objects in staging, offsets not committed), "committing" (the
 * offset commit about to be sent), "committed" (offsets and manifest committed, nothing published),
 * "published-partly" (one object of several copied), "published" (all copied, staged copies not yet deleted),
 * "appended" (with Iceberg tables: the flush appended to its table, staged copies not yet deleted). The
 * rollup's: "records-sent" (bars sent in the open transaction, offsets and state not committed),
 * "rollup-committed" (committed, not yet reported).
 */
import { writeSync } from "node:fs";

type Action = "SIGKILL" | "SIGSTOP" | "THROW" | "REFUSE" | "DELAY";

const configured = parse(process.env.TICKSTREAM_FAULT_POINT);
const reached = new Map<string, number>();

function parse(value: string | undefined) {
  if (!value) return [];
  return value.split(",").map((fault) => {
    const [step, occurrence, action = ""] = fault.split(":");
    const delay = /^DELAY(\d+)$/.exec(action);
    return {
      step: step!,
      occurrence: Number(occurrence ?? 1),
      action: (delay
        ? "DELAY"
        : ["SIGSTOP", "THROW", "REFUSE"].includes(action)
          ? action
          : "SIGKILL") as Action,
      delayMs: delay ? Number(delay[1]) : 0,
    };
  });
}

/**
 * Returns a promise only for a DELAY fault, which the step awaits (the process runs on meanwhile). `partition`:
 * the partition the step is at, which `step@p<partition>` faults count by.
 */
export function faultPoint(step: string, partition?: number): Promise<void> | undefined {
  const names = partition === undefined ? [step] : [step, `${step}@p${partition}`];
  let fault: (typeof configured)[number] | undefined;
  let name = step;
  let count = 0;
  for (const each of names) {
    if (!configured.some((candidate) => candidate.step === each)) continue;
    const reachedCount = (reached.get(each) ?? 0) + 1;
    reached.set(each, reachedCount);
    const found = configured.find(
      (candidate) => candidate.step === each && candidate.occurrence === reachedCount,
    );
    if (found && !fault) [fault, name, count] = [found, each, reachedCount];
  }
  if (!fault) return undefined;
  const at = partition === undefined ? "" : ` (partition ${partition})`;
  writeSync(2, `tickstream: fault point ${name} #${count} reached; ${fault.action}${at}\n`);
  if (fault.action === "DELAY") return new Promise((resolve) => setTimeout(resolve, fault.delayMs));
  if (fault.action === "THROW") throw new Error(`fault point ${name} #${count}: injected failure`);
  if (fault.action === "REFUSE")
    throw Object.assign(new Error(`fault point ${name} #${count}: injected refusal`), { retriable: false });
  process.kill(process.pid, fault.action);
  return undefined;
}
