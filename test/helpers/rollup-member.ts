/** A rollup member as a real `tickstream rollup` process, for the fault suite. */
import type { ResultPromise } from "execa";
import { waitFor } from "../../apps/shared/retry.ts";
import { spawnCli } from "./cli.ts";

export class RollupMember {
  private text = "";
  readonly child: ResultPromise<{ reject: false; all: true }>;

  constructor(
    env: NodeJS.ProcessEnv,
    options: { topic: string; barsTopic: string; group: string; faultPoint?: string },
  ) {
    this.child = spawnCli(
      [
        "rollup",
        "--topic",
        options.topic,
        "--bars-topic",
        options.barsTopic,
        "--group",
        options.group,
        "--idle-close",
        "2s",
        "--session-timeout-ms",
        "6000",
      ],
      { ...env, TICKSTREAM_FAULT_POINT: options.faultPoint ?? "", TICKSTREAM_DEBUG_HANDLES: "1" },
    );
    this.child.all?.on("data", (chunk: Buffer) => (this.text += chunk.toString("utf8")));
  }

  get output(): string {
    return this.text;
  }

  get pid(): number {
    return this.child.pid!;
  }

  /** The partitions this member reported bars for, in its output from `from` on. */
  partitionsWithBars(from = 0): Set<number> {
    return new Set(
      [...this.text.slice(from).matchAll(/^partition (\d+): \d+ bars/gm)].map((match) => Number(match[1])),
    );
  }

  async waitForOutput(pattern: RegExp, timeoutMs = 60_000): Promise<void> {
    await waitFor(() => pattern.test(this.text), {
      timeoutMs,
      intervalMs: 50,
      describe: () => `no ${pattern} in the rollup member's output:\n${this.text.slice(-3_000)}`,
    });
  }

  async ended(): Promise<{ signal?: string; exitCode?: number }> {
    const result = await this.child;
    return { signal: result.signal, exitCode: result.exitCode };
  }

  async stop(): Promise<number | undefined> {
    this.child.kill("SIGTERM");
    return (await this.child).exitCode;
  }
}
