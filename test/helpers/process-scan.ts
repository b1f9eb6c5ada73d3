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
