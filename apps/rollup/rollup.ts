/**
 * The rollup: a consumer group member on the tick topic that computes one-minute bars (bar.ts) per input
 * partition (partition-rollup.ts) and produces them to `stock-bars-1m`, exactly once, consume to produce.
 *
 * The protocol, per input partition p (the lake sink's fence, partition-fence.ts, with bars in the transaction):
 *  0. Claim p once per group join that assigns it: p's transactional producer (transactional id
 *     `tickstream.<group>.<topic>.<p>`) fences every earlier holder of p; then read p's committed offset C and
 *     its metadata, the rollup state as of C, and restore it. Records below C are skipped.
 *  1. Fold records into the state in memory; bars whose minute the watermark passed become due.
 *  2. Commit: in one transaction of p's producer, the due bars, offset N (one past the last folded record) and
 *     the state as of N in the offset's metadata. Readers of the bar topic read committed only.
 * Why no bar is ever duplicated or lost:
 *  - The bars of a transaction are visible exactly when its offset and state are committed: a crash before the
 *    commit leaves C and the state as of C, and the records after C are folded again into that state, which
 *    makes the same bars (revision numbers come from the state); a crash after it resumes from N.
 *  - A zombie (frozen past its session, cut off) cannot commit once p is claimed by another member: the
 *    coordinator refuses its producer epoch, and its open transaction is aborted by the claim's fence, so its
 *    bars never become visible. The claimer reads C and the state only after its fence is up.
 *  - A commit whose outcome is unknown is settled by claiming p again, which restores whatever was committed.
 *  - Late ticks: a tick for an emitted bar still inside the revision window makes the next revision, committed
 *    like any other bar; older ones are counted and reported (`tooLate`), never silently dropped.
 */
import type { Admin, Consumer, EachBatchPayload, Kafka } from "kafkajs";
import { errorMessage, ServiceError } from "../shared/errors.ts";
import { connectToBroker, createKafka } from "../shared/kafka-client.ts";
import { Mutex } from "../shared/mutex.ts";
import { decodeTick } from "../tick/schema.ts";
import { faultPoint } from "../consumer/fault-points.ts";
import {
  PartitionFence,
  PartitionFencedError,
  StaleGenerationError,
  type PartitionClaim,
} from "../consumer/partition-fence.ts";
import { barKey, type Bar } from "./bar.ts";
import { DEFAULT_ROLLUP_TIMING, PartitionRollup, type RollupTiming } from "./partition-rollup.ts";

export const DEFAULT_ROLLUP_GROUP = "tickstream-rollup";

export interface RollupOptions {
  readonly bootstrapServers: readonly string[];
  readonly topic: string;
  readonly barsTopic: string;
  readonly groupId?: string;
  readonly timing?: Partial<RollupTiming>;
  /** A partition that receives nothing this long emits its open bars (default 30 s). */
  readonly idleCloseMs?: number;
  /** Folded records are committed at least this often, bars or not (default 1 s). */
  readonly commitIntervalMs?: number;
  readonly sessionTimeoutMs?: number;
  readonly onBars?: (event: { partition: number; bars: readonly Bar[] }) => void;
  readonly onWarning?: (message: string) => void;
  /** Create the bar topic when it is missing, with as many partitions as the tick topic (the service does). */
  readonly createBarsTopic?: boolean;
}

export interface RollupTotals {
  ticks: number;
  bars: number;
  revisions: number;
  tooLate: number;
  invalid: number;
  commits: number;
}

interface PartitionState {
  readonly claim: PartitionClaim;
  readonly rollup: PartitionRollup;
  /** One past the last record folded into `rollup`. */
  processedOffset: bigint;
  lastInputAtMs: number;
  lastCommitAtMs: number;
}

export class Rollup {
  readonly totals: RollupTotals = { ticks: 0, bars: 0, revisions: 0, tooLate: 0, invalid: 0, commits: 0 };
  private readonly timing: RollupTiming;
  private readonly groupId: string;
  private readonly states = new Map<number, PartitionState>();
  private readonly fenced = new Set<number>();
  /** Where a rewind sought each partition to, until a batch fetched from there arrives. */
  private readonly sought = new Map<number, bigint>();
  private joinEpoch = 0;
  private assigned = new Set<number>();
  private rebalancing = false;
  private readonly lock = new Mutex();
  private kafka?: Kafka;
  private admin?: Admin;
  private fence?: PartitionFence;
  private consumer?: Consumer;
  private timer?: NodeJS.Timeout;
  private stopping?: Promise<void>;

  constructor(private readonly options: RollupOptions) {
    this.timing = { ...DEFAULT_ROLLUP_TIMING, ...options.timing };
    this.groupId = options.groupId ?? DEFAULT_ROLLUP_GROUP;
  }

  async start(): Promise<void> {
    const { bootstrapServers, topic } = this.options;
    const sessionTimeout = this.options.sessionTimeoutMs ?? 30_000;
    this.kafka = createKafka(bootstrapServers, "tickstream-rollup");
    this.admin = this.kafka.admin();
    await connectToBroker(this.admin, bootstrapServers, "tickstream-rollup");
    let topics = await this.admin.listTopics();
    if (this.options.createBarsTopic && topics.includes(topic) && !topics.includes(this.options.barsTopic)) {
      const [metadata] = (await this.admin.fetchTopicMetadata({ topics: [topic] })).topics;
      await this.admin.createTopics({
        topics: [{ topic: this.options.barsTopic, numPartitions: metadata!.partitions.length }],
        waitForLeaders: true,
      });
      topics = await this.admin.listTopics();
    }
    for (const needed of [topic, this.options.barsTopic])
      if (!topics.includes(needed))
        throw new ServiceError(
          `topic ${needed} does not exist: create it with tickstream topic create --topic ${needed}`,
        );
    this.fence = new PartitionFence(this.kafka, this.admin, this.groupId, topic);
    const consumer = this.kafka.consumer({
      groupId: this.groupId,
      sessionTimeout,
      heartbeatInterval: Math.min(3_000, Math.floor(sessionTimeout / 3)),
      allowAutoTopicCreation: false,
      maxWaitTimeInMs: 500,
    });
    this.consumer = consumer;
    consumer.on(consumer.events.REBALANCING, () => (this.rebalancing = true));
    consumer.on(consumer.events.GROUP_JOIN, (event) => {
      this.joinEpoch++;
      this.rebalancing = false;
      this.assigned = new Set(event.payload.memberAssignment[topic] ?? []);
      this.fenced.clear();
      this.sought.clear();
    });
    consumer.on(consumer.events.CRASH, (event) =>
      this.warn(
        event.payload.restart
          ? `consumer restarting after: ${errorMessage(event.payload.error)}`
          : `consumer stopped, and kafkajs will not restart it, after: ${errorMessage(event.payload.error)}`,
      ),
    );
    await connectToBroker(consumer, bootstrapServers, "tickstream-rollup");
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({ autoCommit: false, eachBatch: (payload) => this.onBatch(payload) });
    this.timer = setInterval(() => void this.onTimer(), 250);
  }

  private warn(message: string): void {
    this.options.onWarning?.(message);
  }

  private async onBatch({ batch, heartbeat, isStale }: EachBatchPayload): Promise<void> {
    const release = await this.lock.acquireHeartbeating(heartbeat);
    try {
      if (isStale()) return; // fetched before a rewind's seek: its records do not follow what is folded
      // Typed as a stale generation, so kafkajs rejoins at once (after a non-retriable error it would not restart
      // the consumer, leaving the process alive and consuming nothing).
      if (this.fenced.has(batch.partition))
        throw new StaleGenerationError(
          `partition ${batch.partition} belongs to another member now; rejoining`,
        );
      const state = await this.claimed(batch.partition);
      const sought = this.sought.get(batch.partition);
      if (sought !== undefined) {
        // After a rewind, only a batch fetched from where it sought follows what is folded.
        if (BigInt((batch as unknown as { fetchedOffset: string }).fetchedOffset) !== sought) return;
        this.sought.delete(batch.partition);
      }
      for (const message of batch.messages) {
        const offset = BigInt(message.offset);
        if (offset < state.processedOffset) continue; // folded already (or committed)
        const decoded = decodeTick(message.value);
        if (!decoded.ok) {
          this.totals.invalid++;
        } else if (!state.rollup.add(decoded.tick, Number(offset))) {
          this.totals.tooLate++;
          this.warn(
            `partition ${batch.partition} offset ${message.offset}: tick ${decoded.tick.symbol} ${decoded.tick.ts} is older than the ${this.timing.revisionWindowMs / 60_000}-minute revision window; left out of its bar (it is in the ticks table)`,
          );
        } else {
          this.totals.ticks++;
        }
        state.processedOffset = offset + 1n;
        state.lastInputAtMs = Date.now();
      }
      await this.commitDue(state, false, heartbeat);
    } finally {
      release();
    }
  }

  private async claimed(partition: number): Promise<PartitionState> {
    const existing = this.states.get(partition);
    if (existing && existing.claim.joinEpoch === this.joinEpoch) return existing;
    if (existing) await this.unclaim(existing);
    const claim = await this.fence!.claim(partition, this.joinEpoch);
    const state: PartitionState = {
      claim,
      rollup: PartitionRollup.restore(claim.committedMetadata, this.timing),
      processedOffset: claim.committedOffset,
      lastInputAtMs: Date.now(),
      lastCommitAtMs: Date.now(),
    };
    this.states.set(partition, state);
    return state;
  }

  private async unclaim(state: PartitionState): Promise<void> {
    if (this.states.get(state.claim.partition) === state) this.states.delete(state.claim.partition);
    await this.fence!.release(state.claim);
  }

  /** Commits the due bars with the state and offset, when there are bars or folded records waiting long enough. */
  private async commitDue(
    state: PartitionState,
    closeAll: boolean,
    heartbeat?: () => Promise<void>,
  ): Promise<void> {
    const now = Date.now();
    const folded = state.processedOffset > state.claim.committedOffset;
    const bars = state.rollup.due(closeAll);
    if (
      bars.length === 0 &&
      !(folded && now - state.lastCommitAtMs >= (this.options.commitIntervalMs ?? 1_000))
    )
      return;
    if (state.processedOffset < 0n) return; // nothing read yet: no offset to commit
    const { partition } = state.claim;
    try {
      await heartbeat?.().catch(() => {});
      await this.fence!.commit(state.claim, state.processedOffset, state.rollup.snapshot(), {
        topic: this.options.barsTopic,
        messages: bars.map((bar) => ({
          key: barKey(bar.symbol, Date.parse(bar.minute) * 1000),
          value: JSON.stringify(bar),
        })),
      });
    } catch (error) {
      await this.unclaim(state);
      if (error instanceof PartitionFencedError) {
        // A claim of an earlier join failing late (a thawed zombie that has rejoined since) says nothing about
        // who holds the partition now: it is claimed again under the current join.
        if (state.claim.joinEpoch === this.joinEpoch) this.fenced.add(partition);
        this.warn(`${error.message}; nothing committed, its bars are left to it`);
        return;
      }
      this.warn(
        `commit failed for partition ${partition}: ${errorMessage(error)}; folding again from what is committed`,
      );
      await this.rewind(partition);
      return;
    }
    faultPoint("rollup-committed");
    state.lastCommitAtMs = Date.now();
    this.totals.commits++;
    for (const bar of bars) {
      if (bar.revision === 0) this.totals.bars++;
      else this.totals.revisions++;
    }
    if (bars.length > 0) this.options.onBars?.({ partition, bars });
  }

  /** After an unknown commit outcome: claim again (restoring what was committed) and read from there. */
  private async rewind(partition: number): Promise<void> {
    try {
      const state = await this.claimed(partition);
      const offset = state.processedOffset >= 0n ? state.processedOffset : 0n;
      this.sought.set(partition, offset);
      try {
        this.consumer!.seek({ topic: this.options.topic, partition, offset: offset.toString() });
      } catch {
        // kafkajs is restarting the consumer, which resumes from the committed offsets anyway
      }
    } catch (error) {
      this.fenced.add(partition);
      this.warn(`partition ${partition}: cannot claim it again (${errorMessage(error)}); rejoining`);
    }
  }

  private async onTimer(): Promise<void> {
    if (this.stopping || this.rebalancing) return;
    const idleCloseMs = this.options.idleCloseMs ?? 30_000;
    await this.lock
      .runExclusive(async () => {
        // An assigned partition that gets no records (its ticks all folded by an earlier holder) is claimed
        // anyway: its committed state may hold open bars that only the idle close can emit.
        for (const partition of this.assigned) {
          if (this.stopping !== undefined || this.rebalancing) return;
          const held = this.states.get(partition);
          if (this.fenced.has(partition) || held?.claim.joinEpoch === this.joinEpoch) continue;
          await this.claimed(partition);
        }
        const now = Date.now();
        for (const state of [...this.states.values()]) {
          if (this.stopping !== undefined || this.rebalancing) return;
          if (!this.assigned.has(state.claim.partition) || state.claim.joinEpoch !== this.joinEpoch) continue;
          const idle = now - state.lastInputAtMs >= idleCloseMs && state.rollup.openBars > 0;
          await this.commitDue(state, idle);
        }
      })
      .catch((error) => this.warn(`rollup timer: ${errorMessage(error)}`));
  }

  /** Bars folded and not yet emitted, over the partitions this member holds. */
  openBars(): number {
    let open = 0;
    for (const state of this.states.values()) open += state.rollup.openBars;
    return open;
  }

  /** Stops fetching, commits what was folded (open bars stay open for the next member), leaves the group. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      clearInterval(this.timer);
      const consumer = this.consumer;
      try {
        if (consumer) {
          try {
            consumer.pause([{ topic: this.options.topic }]);
          } catch {
            // not running
          }
          await this.lock.runExclusive(async () => {
            for (const state of [...this.states.values()]) {
              if (state.claim.joinEpoch !== this.joinEpoch) continue;
              state.lastCommitAtMs = 0; // commit whatever was folded
              await this.commitDue(state, false);
            }
          });
        }
      } finally {
        await consumer?.disconnect();
        for (const state of [...this.states.values()]) await this.fence?.release(state.claim);
        this.states.clear();
        await this.admin?.disconnect();
      }
    })();
    return this.stopping;
  }
}
