/** Runs the real `tickstream` binary, as a user would. */
import path from "node:path";
import { execa, type ResultPromise } from "execa";

export const TICKSTREAM_BIN = path.resolve("bin/tickstream.js");

export interface CliResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

export async function runCli(
  args: readonly string[],
  env: NodeJS.ProcessEnv,
  timeoutMs = 120_000,
): Promise<CliResult> {
  const result = await execa(process.execPath, [TICKSTREAM_BIN, ...args], {
    env,
    reject: false,
    timeout: timeoutMs,
  });
  return { exitCode: result.exitCode ?? -1, stdout: result.stdout, stderr: result.stderr };
}

const spawned = new Set<ResultPromise>();

/** Starts a long-running command (consume, produce); the caller signals and awaits it. */
export function spawnCli(
  args: readonly string[],
  env: NodeJS.ProcessEnv,
): ResultPromise<{ reject: false; all: true }> {
  // A consumer flushes and leaves its group on SIGTERM: give it time before execa's SIGKILL.
  const child = execa(process.execPath, [TICKSTREAM_BIN, ...args], {
    env,
    reject: false,
    all: true,
    forceKillAfterDelay: 30_000,
  });
  spawned.add(child);
  void child.finally(() => spawned.delete(child));
  return child;
}

/** Kills whatever a failed test left running (called by the root hook in test/setup.ts). */
export async function killSpawnedCommands(): Promise<void> {
  for (const child of spawned) child.kill("SIGKILL");
  await Promise.allSettled([...spawned]);
}

/** The last line of stdout parsed as JSON (the `--json` contract). */
export function lastJsonLine<T = Record<string, unknown>>(stdout: string): T {
  const lines = stdout.trim().split("\n");
  return JSON.parse(lines.at(-1)!) as T;
}

/** The `url` a long-running command prints as JSON when it is serving (`dashboard --json`). */
export function printedUrl(child: ResultPromise): Promise<string> {
  return new Promise<string>((resolve, reject) => {
    let text = "";
    child.stdout!.on("data", (chunk: Buffer) => {
      text += chunk.toString();
      const match = /"url":"([^"]+)"/.exec(text);
      if (match) resolve(match[1]!);
    });
    void child.then((result) => reject(new Error(`the command exited: ${result.all ?? result.stderr}`)));
  });
}
