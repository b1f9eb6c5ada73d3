/**
 * One member's appends to one Iceberg table, batched: the flushes its partitions publish wait for the next
 * commit, which comes at most once every `commitIntervalMs` and carries every flush that arrived meanwhile in one
 * snapshot. A table that took a commit per flush would grow a manifest and a metadata file per flush per
 * partition (about 130,000 a day for three partitions at the default flush interval); batched, it grows one per
 * interval per member.
 *
 * A flush's promise settles when a snapshot holding it is current (or one whose offsets say it was already
 * there: appends are idempotent by offset, apps/iceberg/iceberg-table.ts). Commit failures are retried with
 * backoff until the signal aborts; a table that refuses the append (IcebergCommitError: corrupt metadata,
 * another table behind the pointer) rejects every flush of that commit, which its partition then publishes again
 * after claiming it anew.
 */
import { errorMessage } from "../shared/errors.ts";
import { retry } from "../shared/retry.ts";
import { IcebergCommitError, type FlushAppend, type IcebergTable } from "./iceberg-table.ts";

export interface AppendBatcherOptions {
  readonly table: IcebergTable;
  readonly commitIntervalMs: number;
  /** Aborting gives up on commits being retried: their flushes' promises reject. */
  readonly signal: AbortSignal;
  readonly onWarning: (message: string) => void;
  /** After each commit that added something: how many flushes it carried. */
  readonly onCommit?: (event: { readonly flushes: number; readonly added: number }) => void;
}

interface Waiting {
  readonly flush: FlushAppend;
  readonly resolve: () => void;
  readonly reject: (error: unknown) => void;
}

export class AppendBatcher {
  private waiting: Waiting[] = [];
  private lastCommitAt = -Infinity;
  private timer?: NodeJS.Timeout;
  private committing?: Promise<void>;
  private hurry = false;
  /** Commits made (attempts that added nothing included): what the bench reports as the commit rate. */
  commits = 0;

  constructor(private readonly options: AppendBatcherOptions) {}

  /** Resolves once the flush is in the table's current snapshot. */
  append(flush: FlushAppend): Promise<void> {
    return new Promise((resolve, reject) => {
      this.waiting.push({ flush, resolve, reject });
      this.schedule();
    });
  }

  /** Resolves once every one of the flushes is in the table's current snapshot. */
  async appendAll(flushes: readonly FlushAppend[]): Promise<void> {
    await Promise.all(flushes.map((flush) => this.append(flush)));
  }

  /** Commits what waits now and every flush that arrives until it returns, without waiting (a stopping sink). */
  async flushNow(): Promise<void> {
    this.hurry = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    this.schedule();
    while (this.committing || this.timer || this.waiting.length > 0)
      await new Promise((resolve) => setTimeout(resolve, 10));
  }

  private schedule(): void {
    if (this.committing || this.timer || this.waiting.length === 0) return;
    const dueIn = this.hurry
      ? 0
      : Math.max(0, this.lastCommitAt + this.options.commitIntervalMs - Date.now());
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.committing = this.commit().finally(() => {
        this.committing = undefined;
        this.schedule();
      });
    }, dueIn);
  }

  private async commit(): Promise<void> {
    const batch = this.waiting;
    this.waiting = [];
    const { table } = this.options;
    try {
      const result = await retry(() => table.append(batch.map((entry) => entry.flush)), {
        retries: Infinity,
        signal: this.options.signal,
        isRetriable: (error) => !(error instanceof IcebergCommitError),
        onRetry: (error, attempt, delayMs) =>
          this.options.onWarning(
            `appending ${batch.length} flushes to the ${table.name} table: ${errorMessage(error)}; retry ${attempt} in ${delayMs} ms`,
          ),
      });
      this.commits++;
      if (result.added > 0) this.options.onCommit?.({ flushes: batch.length, added: result.added });
      for (const entry of batch) entry.resolve();
    } catch (error) {
      for (const entry of batch) entry.reject(error);
    } finally {
      this.lastCommitAt = Date.now();
    }
  }
}
