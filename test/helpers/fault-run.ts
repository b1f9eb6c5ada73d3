/** Shared moves of the fault suite: lake sink members as real `tickstream consume` processes, and the count. */
import { expect } from "chai";
import type { ResultPromise } from "execa";
import { waitFor } from "../../apps/shared/retry.ts";
import type { LakeLocation } from "../../apps/lake/s3-client.ts";
import { groupLag } from "../../ops/kafka/topics.ts";
import { spawnCli } from "./cli.ts";
import { recordFaultCase } from "./fault-table.ts";
import { waitForGroupCaughtUp } from "./kafka.ts";
import { countLake, countTable } from "./lake-count.ts";

export interface MemberOptions {
  readonly topic: string;
  readonly group: string;
  /** TICKSTREAM_FAULT_POINT for this process, e.g. "committed:2", "staged:3:SIGSTOP" or "committing:6:THROW". */
  readonly faultPoint?: string;
  readonly sessionTimeoutMs?: number;
  readonly flushIntervalMs?: number;
  readonly flushRecords?: number;
  /** Publish to the Hive layout only (`consume --no-iceberg`); by default flushes are appended to the table. */
  readonly noIceberg?: boolean;
}

/** One `tickstream consume` process, with its combined output kept for assertions. */
export class SinkMember {
  private text = "";
  readonly child: ResultPromise<{ reject: false; all: true }>;

  constructor(env: NodeJS.ProcessEnv, options: MemberOptions) {
    const args = [
      "consume",
      "--topic",
      options.topic,
      "--group",
      options.group,
      "--flush-records",
      String(options.flushRecords ?? 2_000),
      "--flush-interval-ms",
      String(options.flushIntervalMs ?? 500),
      "--session-timeout-ms",
      String(options.sessionTimeoutMs ?? 6_000),
      ...(options.noIceberg ? ["--no-iceberg"] : []),
    ];
    // TICKSTREAM_DEBUG_HANDLES: a member kept alive by a stray handle after its command says what it was.
    const childEnv = {
      ...env,
      TICKSTREAM_FAULT_POINT: options.faultPoint ?? "",
      TICKSTREAM_DEBUG_HANDLES: "1",
    };
    this.child = spawnCli(args, childEnv);
    this.child.all?.on("data", (chunk: Buffer) => (this.text += chunk.toString("utf8")));
  }

  get output(): string {
    return this.text;
  }

  get pid(): number {
    return this.child.pid!;
  }

  async waitForOutput(pattern: RegExp, timeoutMs = 60_000): Promise<void> {
    await waitFor(() => pattern.test(this.text), {
      timeoutMs,
      intervalMs: 50,
      describe: () => `no ${pattern} in the member's output:\n${this.text.slice(-3_000)}`,
    });
  }

  /** Resolves once the process has ended (after a SIGKILL from outside or from a fault point). */
  async ended(): Promise<{ signal?: string; exitCode?: number }> {
    const result = await this.child;
    return { signal: result.signal, exitCode: result.exitCode };
  }

  /** SIGTERM: flush, commit, leave; expects a clean exit. */
  async stop(): Promise<void> {
    this.child.kill("SIGTERM");
    const result = await this.child;
    expect(result.exitCode, `member exit\n${this.text.slice(-3_000)}`).to.equal(0);
  }
}

/** Partitions a member reports flushing in its output ("partition 3: 1,200 ticks -> …"). */
export function flushedPartitions(output: string): Set<number> {
  return new Set([...output.matchAll(/^partition (\d+): /gm)].map((match) => Number(match[1])));
}

/** Sum of the group's committed offsets over the topic's partitions (-1, none yet, counts as 0). */
export async function committedTotal(bootstrapServers: readonly string[], group: string, topic: string) {
  const lag = await groupLag(bootstrapServers, group, topic);
  return lag.partitions.reduce((sum, partition) => sum + Math.max(0, Number(partition.committed)), 0);
}

/** Per partition, the group's committed offset. */
export async function committedOffsets(bootstrapServers: readonly string[], group: string, topic: string) {
  const lag = await groupLag(bootstrapServers, group, topic);
  return Object.fromEntries(lag.partitions.map((partition) => [partition.partition, partition.committed]));
}

/** Waits until the group has committed the whole topic; returns when, in ms since the epoch. */
export async function waitForLagZero(
  bootstrapServers: readonly string[],
  group: string,
  topic: string,
  timeoutMs = 120_000,
): Promise<number> {
  await waitForGroupCaughtUp(bootstrapServers, group, topic, timeoutMs);
  return Date.now();
}

/**
 * Counts the lake against what each producer acknowledged, twice: its Hive layout (every object under ticks/)
 * and the `ticks` Iceberg table through its current snapshot, read by pyiceberg. Records the case in the suite's
 * table and asserts nothing lost and nothing duplicated in either.
 */
export async function assertLakeExact(
  name: string,
  { lake, home }: { readonly lake: LakeLocation; readonly home: string },
  produced: ReadonlyMap<string, number>,
  recoveryMs: number,
  /** What the system under test said along the way, shown when the count is wrong. */
  warnings: readonly string[] = [],
): Promise<void> {
  const count = await countLake(lake, produced);
  const table = await countTable(home, lake, produced);
  const total = [...produced.values()].reduce((sum, value) => sum + value, 0);
  recordFaultCase({
    name,
    produced: total,
    landed: count.landed,
    lost: count.lost,
    duplicated: count.duplicated,
    recoveryMs,
    table: { landed: table.landed, lost: table.lost, duplicated: table.duplicated },
  });
  expect(
    { landed: count.landed, lost: count.lost, duplicated: count.duplicated },
    `${name}\n${count.overlaps.slice(0, 20).join("\n")}\n${warnings.slice(-40).join("\n")}`,
  ).to.deep.equal({
    landed: total,
    lost: 0,
    duplicated: 0,
  });
  expect(
    { landed: table.landed, lost: table.lost, duplicated: table.duplicated },
    `${name}: the ticks Iceberg table's current snapshot (${table.snapshotId}), read by pyiceberg\n${table.examples.join("\n")}\n${warnings.slice(-40).join("\n")}`,
  ).to.deep.equal({ landed: total, lost: 0, duplicated: 0 });
}
