/**
 * Samples the command line of every process on this machine while a test runs, so that a secret passed as an
 * argument, even to a process that lives for a second (the storage format tool), is seen.
 */
import { readdir, readFile } from "node:fs/promises";

export interface CommandLineSampler {
  /** Every distinct command line seen, arguments joined by spaces. */
  readonly seen: Set<string>;
  stop(): Promise<void>;
}

async function sample(into: Set<string>): Promise<void> {
  const entries = await readdir("/proc").catch(() => [] as string[]);
  await Promise.all(
    entries
      .filter((entry) => /^\d+$/.test(entry))
      .map(async (pid) => {
        const raw = await readFile(`/proc/${pid}/cmdline`, "utf8").catch(() => "");
        if (raw) into.add(raw.split("\0").join(" ").trim());
      }),
  );
}

export function sampleCommandLines(intervalMs = 25): CommandLineSampler {
  const seen = new Set<string>();
  let running = true;
  const loop = (async () => {
    while (running) {
      await sample(seen);
      await new Promise((resolve) => setTimeout(resolve, intervalMs));
    }
  })();
  return {
    seen,
    async stop() {
      running = false;
      await loop;
    },
  };
}

/**
 * Resolves once the process is stopped (state T in /proc/<pid>/stat). A fault point says it is about to SIGSTOP
 * itself before it does: a SIGCONT sent in between is lost, and the process then stays frozen for good.
 */
export async function waitUntilFrozen(pid: number, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const stat = await readFile(`/proc/${pid}/stat`, "utf8").catch(() => "");
    // The state follows the command name, which is in parentheses and may hold spaces.
    const state = stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
    if (state === "T" || state === "t") return;
    if (!stat || Date.now() > deadline)
      throw new Error(`process ${pid} did not freeze (state ${state || "gone"})`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
