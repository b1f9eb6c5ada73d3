/**
 * The lake sink: a Kafka consumer group member that writes ticks to the S3 lake as Parquet, exactly once, even
 * when a member is frozen, partitioned from the broker, or killed at any step.
 *
 * The protocol (one flush of partition p, which covers the records from p's committed offset C up to N):
 *  0. Claim p (once per group join that assigns p, before reading any of its records): open p's transactional
 *     producer, whose InitProducerId fences every earlier holder of p (partition-fence.ts), then read C and its
 *     metadata. If the metadata names a flush, that flush was committed and may not be published yet: publish it
 *     (step 3). Records below C are already in the lake and are skipped.
 *  1. Stage: PUT every object of the flush under `_staging/<group>/<topic>/<p>/<flushId>/`, where flushId is
 *     random. Nothing outside ticks/, bars_1m/ and quarantine/ is ever read as data.
 *  2. Commit: in one Kafka transaction of p's producer, commit offset N with metadata naming the flush (its
 *     objects' final keys, sizes and MD5s; or a manifest object in its staging folder when that list is over
 *     the metadata limit). This is the flush's single commit point.
 *  3. Publish: COPY each staged object to its final name `<table>/dt=<date>/<topic>+<p>+<first offset of that
 *     date in the flush>`, then DELETE the staged copies.
 *  3i. With Iceberg tables (apps/iceberg), publishing is COPY, then the append of the flush's data files to the
 *     table (idempotent: the snapshot records each partition's end offset, and an append at or below it adds
 *     nothing), then DELETE. The append runs off the consumption lock, batched into at most one table commit per
 *     `commitIntervalMs` (append-batcher.ts), so the partition may commit again before the table holds the
 *     flush: every commit therefore carries the partition's flushes the table is not known to hold yet (their
 *     end offsets and data files), and whoever publishes a commit appends what it carries too.
 *
 * Why the lake is exact whatever happens:
 *  - Committed flushes tile p's log: each committer read C after raising its fence, and the coordinator accepts
 *    its commit only if nobody raised a fence since (else its epoch is stale), so the commit that follows C
 *    starts at C. Ranges are disjoint and each object's name offset lies in its range: final names are unique.
 *  - Only committed flushes are published; a flush is published by the member that committed it or by the next
 *    claimer of p (step 0), and both copy identical bytes to identical names, so publishing twice or at once is
 *    harmless. Step 0 publishes before the claimer can commit again, so no committed flush is skipped.
 *  - A crash between any two steps: after 1, the staged objects are orphans (C is unchanged, the records are
 *    read again under a new flushId); after 2, the next claimer publishes; during 3, the next claimer copies
 *    again (a staged object that is gone was deleted after every copy of its flush had finished, which is
 *    checked against the final object's MD5). A commit that fails may have landed (its response lost): its
 *    staging is deleted only once claiming p again shows it did not, since if it did, that claim publishes it.
 *  - A zombie (frozen past its session, cut off from the broker, stuck in S3 retries) at any step: its stage
 *    writes only its own flushId's folder; its commit is refused once another member has claimed p; so it can
 *    never publish anything that is not committed. A zombie that commits before anyone claims p is simply the
 *    last holder: the next claimer reads and publishes its flush.
 *  - A rebalance mid-flush: a flush whose claim is still the member's current one commits under it (valid by the
 *    argument above); one whose claim a join replaced discards its staging, and its records are read again from
 *    the committed offset; buffers of partitions no longer assigned are dropped; after any join, each partition
 *    is claimed again.
 *  - Into the table, exactly once: the committed offset's manifest names, besides its own flush, every earlier
 *    flush of p not known to be in the table (a flush leaves that list only after an append that holds it
 *    succeeded), so the next claimer's append covers everything the table may lack; appends of one partition
 *    land in offset order, and one at or below the table's recorded end offset adds nothing, so a flush appended
 *    by two members (or carried and appended again) is in the table once. Staged copies go only after the
 *    append, so a publisher that finds them gone knows the table holds the flush.
 *  - Flushes in flight (pipelining, below): a partition's flushes under one claim commit in the order they were
 *    sealed, each only after the one before it committed and was published, so each flush's range starts where
 *    the last commit ended and is published before the next commit replaces the metadata that names it. If a
 *    flush fails at any step, it gives the claim up before the next one reaches its commit (that one finds its
 *    claim gone and discards its staging) and claims the partition again, which publishes what is committed and
 *    reads on from there. Batches are taken from what was sealed under the claim on, so no record enters two
 *    flushes.
 *
 * Pipelining: sealing a buffer starts its flush and the sink fetches on. JSON decoding and Parquet encoding run
 * in the encode worker (encode-worker.ts, a second thread); staging runs while the flush before it commits and
 * publishes; only the commit holds the consumption lock. A batch waits while a partition has more than
 * MAX_FLUSHES_IN_FLIGHT flushes sealed and unfinished, or the worker has more than MAX_BATCHES_TO_DECODE batches
 * not yet taken: fetching runs ahead of encoding and publishing by a bounded amount of memory.
 * Cost: per flush, one Kafka transaction (AddOffsetsToTxn, TxnOffsetCommit, EndTxn) instead of one OffsetCommit,
 * and per object one COPY and one DELETE besides the PUT; `npm run bench` measures the latency it adds.
 * Records that fail validation go to `quarantine/` in the same flush, staged and published the same way; their
 * date is the Kafka record's CreateTime, which is as deterministic as the offset.
 */
import type { Admin, Consumer, EachBatchPayload, Kafka, KafkaMessage } from "kafkajs";
import { randomUUID } from "node:crypto";
import { errorMessage, ServiceError } from "../shared/errors.ts";
import { connectToBroker, createKafka } from "../shared/kafka-client.ts";
import { Mutex } from "../shared/mutex.ts";
import type { IcebergCatalog } from "../iceberg/catalog.ts";
import { AppendBatcher } from "../iceberg/append-batcher.ts";
import { DEFAULT_ICEBERG_COMMIT_INTERVAL_MS } from "../iceberg/commit-interval.ts";
import { IcebergTable, s3Uri, type FlushAppend } from "../iceberg/iceberg-table.ts";
import { ICEBERG_TABLES } from "../iceberg/table-schema.ts";
import { partitionDateOf, quarantineObjectKey, stagingFlushPrefix, tableObjectKey } from "../lake/layout.ts";
import { LAKE_TABLES, type LakeTable, type LakeTableName } from "../lake/lake-tables.ts";
import { createS3Client, type LakeLocation } from "../lake/s3-client.ts";
import { faultPoint } from "./fault-points.ts";
import { DEFAULT_FLUSH_POLICY, type FlushPolicy } from "./flush-policy.ts";
import {
  createManifest,
  inlineMetadata,
  parseCommitMetadata,
  pointerMetadata,
  type CarriedFlush,
  type FlushManifest,
  type StagedObject,
} from "./flush-manifest.ts";
import { FlushPublisher } from "./flush-publisher.ts";
import { EncodeThread } from "./encode-thread.ts";

export { DEFAULT_FLUSH_POLICY, type FlushPolicy } from "./flush-policy.ts";
import {
  PartitionFence,
  PartitionFencedError,
  StaleGenerationError,
  type PartitionClaim,
} from "./partition-fence.ts";

export interface LakeSinkOptions {
  readonly bootstrapServers: readonly string[];
  readonly topic: string;
  readonly groupId: string;
  readonly lake: LakeLocation;
  /** Which table the topic's records become: `ticks` (default) or `bars_1m` (the rollup's bar topic). */
  readonly table?: LakeTableName;
  readonly flush?: Partial<FlushPolicy>;
  /** Where a new group starts: the earliest offset (default) or only new records. */
  readonly fromBeginning?: boolean;
  /** How long the group waits for a silent member before handing its partitions on (default 30 s). */
  readonly sessionTimeoutMs?: number;
  readonly onFlush?: (event: FlushEvent) => void;
  readonly onWarning?: (message: string) => void;
  /** Staged flushes that no commit names are deleted at start once this old (default one day). */
  readonly stagingRetentionMs?: number;
  /**
   * Also append each published flush to the table's Iceberg table in this catalog (apps/iceberg): its Parquet
   * objects become the snapshot's data files, once, by the partition's end offset.
   */
  readonly iceberg?: {
    readonly catalog: IcebergCatalog;
    /** At most one Iceberg commit per this many ms from this member (default 5 s): append-batcher.ts. */
    readonly commitIntervalMs?: number;
  };
}

export interface WrittenObject {
  readonly key: string;
  readonly records: number;
  readonly bytes: number;
}

export interface FlushEvent {
  readonly partition: number;
  readonly startOffset: string;
  readonly committedOffset: string;
  readonly ticks: number;
  readonly quarantined: number;
  readonly objects: readonly WrittenObject[];
  /** Per record: object published minus Kafka CreateTime, in ms. */
  readonly freshnessMs: readonly number[];
  /** How long each step of the flush took, in ms: what the fence costs is commit + publish. */
  readonly stepMs: { readonly stage: number; readonly commit: number; readonly publish: number };
}

export interface LakeSinkTotals {
  ticks: number;
  quarantined: number;
  objects: number;
  bytes: number;
  flushes: number;
}

/** Staged flushes that no commit names are swept once their newest object is this old (default one day). */
export const DEFAULT_STAGING_RETENTION_MS = 24 * 60 * 60 * 1000;

const PARQUET = "application/vnd.apache.parquet";
const NDJSON = "application/x-ndjson";

/** A flush committed and published that the Iceberg table may not hold yet (LakeSink.unconfirmed). */
interface UnconfirmedFlush extends CarriedFlush {
  /** Its own manifest, when this member may delete its staged copies once the table holds it. */
  readonly manifest?: FlushManifest;
  /** Reports the flush as durable (its onFlush), when this member flushed it. */
  readonly onInTable?: () => void;
}

/**
 * What the sink's thread knows of a partition's records since its last flush; their rows are in the encode
 * worker (encode-worker.ts), under the buffer's id.
 */
interface OpenBuffer {
  readonly id: number;
  readonly partition: number;
  readonly startOffset: bigint;
  readonly createdAtMs: number;
  /** One past the last buffered offset: what to commit once everything here is durable. */
  nextOffset: bigint;
  records: number;
  bytes: number;
  /** Kafka CreateTime (ms) of every buffered record, for freshness figures. */
  readonly producedAtMs: number[];
}

/** Flushes of one partition sealed and not yet committed and published, at most, before its batches wait. */
const MAX_FLUSHES_IN_FLIGHT = 1;
/** Batches posted to the encode worker and not yet decoded there, at most, before the next batch waits. */
const MAX_BATCHES_TO_DECODE = 4;

export class LakeSink {
  readonly totals: LakeSinkTotals = { ticks: 0, quarantined: 0, objects: 0, bytes: 0, flushes: 0 };
  private readonly flushPolicy: FlushPolicy;
  private readonly buffers = new Map<number, OpenBuffer>();
  private nextBufferId = 0;
  /**
   * Per partition, the flushes sealed (their buffer closed) and not yet finished, oldest first: each commits only
   * after the one before it has committed and published, and only under the claim it was sealed under.
   */
  private readonly flushing = new Map<number, Promise<boolean>[]>();
  /** Records in those flushes. */
  private recordsInFlight = 0;
  /** Per partition, one past the last record sealed under the claim: records below it are not buffered again. */
  private readonly sealedUpTo = new Map<
    number,
    { readonly claim: PartitionClaim; readonly offset: bigint }
  >();
  private readonly table: LakeTable<{ readonly kafkaOffset: bigint }>;
  /** The partitions this member has fenced and may commit, with what was committed when it claimed them. */
  private readonly claims = new Map<number, PartitionClaim>();
  /** Partitions another member claimed since this one did: not touched again until this member rejoins. */
  private readonly fenced = new Set<number>();
  /**
   * Partitions whose last commit has an unknown outcome and could not be claimed again at once: the timer (and
   * stop) keep claiming them, since a commit that did land names a flush that must be published even when no
   * more records arrive to trigger a rejoin.
   */
  private readonly unsettled = new Set<number>();
  /**
   * Partitions assigned at the last join and not claimed yet. Claiming publishes the flush the partition's
   * committed offset names; a partition with no records left to read gets no batch to trigger that, so the
   * timer (and stop) claim these: a member that committed and died before publishing is finished by the next
   * owner even when nothing more arrives (found by the stopping suite: 3,375 committed ticks never published).
   */
  private unclaimedSinceJoin = new Set<number>();
  /** Where a rewind sought each partition to, until a batch fetched from there arrives. */
  private readonly sought = new Map<number, bigint>();
  /** Counts group joins; a claim made before the latest join is claimed again before its next records. */
  private joinEpoch = 0;
  private assigned = new Set<number>();
  private rebalancing = false;
  private readonly lock = new Mutex();
  private readonly abandon = new AbortController();
  private readonly publisher: FlushPublisher;
  private readonly iceberg?: AppendBatcher;
  /**
   * With Iceberg, per partition: the flushes committed and published (objects at their final names) that the
   * table is not known to hold yet, oldest first. Each commit of the partition carries them in its manifest, so
   * the committed offset always names every flush the table may lack; appended in the background.
   */
  private readonly unconfirmed = new Map<number, UnconfirmedFlush[]>();
  /** The background append of each partition's unconfirmed flushes, while one runs. */
  private readonly appending = new Map<number, Promise<void>>();
  private readonly s3;
  private kafka?: Kafka;
  private admin?: Admin;
  private fence?: PartitionFence;
  private consumer?: Consumer;
  private encoder?: EncodeThread;
  private timer?: NodeJS.Timeout;
  /** What `caughtUp` waits for: the topic's offsets when it was called, per partition. */
  private catchingUp?: {
    readonly ends: ReadonlyMap<number, { readonly low: bigint; readonly high: bigint }>;
    readonly done: () => void;
  };
  private stopping?: Promise<void>;
  private consumerStopped!: (error: ServiceError) => void;
  /**
   * Resolves (never rejects) once kafkajs has stopped the consumer for good: it restarts it after a retriable
   * error, but after any other error thrown while fetching or handling a batch it stops, and the process would
   * live on consuming nothing. The commands end on it, non-zero, so a service manager starts the member again.
   */
  readonly stoppedForGood = new Promise<ServiceError>((resolve) => (this.consumerStopped = resolve));

  constructor(private readonly options: LakeSinkOptions) {
    this.flushPolicy = { ...DEFAULT_FLUSH_POLICY, ...options.flush };
    this.table = LAKE_TABLES[options.table ?? "ticks"] as unknown as LakeTable<{
      readonly kafkaOffset: bigint;
    }>;
    // One attempt per call: the sink's own backoff loop decides how long to keep trying.
    this.s3 = createS3Client(options.lake, { maxAttempts: 1 });
    this.publisher = new FlushPublisher({
      s3: this.s3,
      bucket: options.lake.bucket,
      signal: this.abandon.signal,
      onWarning: (message) => this.warn(message),
    });
    if (options.iceberg)
      this.iceberg = new AppendBatcher({
        table: new IcebergTable({
          s3: this.s3,
          bucket: options.lake.bucket,
          catalog: options.iceberg.catalog,
          definition: ICEBERG_TABLES[this.table.name],
        }),
        commitIntervalMs: options.iceberg.commitIntervalMs ?? DEFAULT_ICEBERG_COMMIT_INTERVAL_MS,
        signal: this.abandon.signal,
        onWarning: (message) => this.warn(message),
      });
  }

  /** The objects of a flush that its Iceberg append adds (not quarantine); undefined for a pre-Iceberg flush. */
  private tableObjects(manifest: FlushManifest): StagedObject[] | undefined {
    const objects = manifest.objects.filter((object) => object.finalKey.startsWith(this.table.prefix));
    if (objects.every((object) => object.records !== undefined)) return objects;
    this.warn(
      `flush ${manifest.flushId} was committed by a sink without Iceberg (no row counts): run tickstream lake migrate to add its objects`,
    );
    return undefined;
  }

  /** An unconfirmed flush as the table's append takes it. */
  private flushAppend(partition: number, flush: CarriedFlush): FlushAppend {
    const definition = ICEBERG_TABLES[this.table.name];
    return {
      topic: this.options.topic,
      partition,
      endOffset: flush.endOffset,
      files: flush.objects.map((object) => ({
        filePath: s3Uri(this.options.lake.bucket, object.finalKey),
        recordCount: object.records!,
        fileSizeInBytes: object.bytes,
        partition: {
          [definition.spec.fields[0]!.name]:
            Date.parse(`${partitionDateOf(object.finalKey)}T00:00:00Z`) / 86_400_000,
        },
      })),
    };
  }

  /**
   * Appends the partition's unconfirmed flushes in the batcher's next commit, in the background; then deletes
   * their staged copies (a publish that finds them gone knows the flush is in the table) and reports them. A
   * failed append is retried with the partition's next flush, by the timer, or by the partition's next owner.
   */
  private appendInBackground(partition: number): void {
    const batcher = this.iceberg;
    if (!batcher || this.appending.has(partition)) return;
    const run = (async () => {
      for (;;) {
        const flushes = this.unconfirmed.get(partition) ?? [];
        if (flushes.length === 0) return;
        const upTo = flushes.at(-1)!.endOffset;
        try {
          await batcher.appendAll(flushes.map((flush) => this.flushAppend(partition, flush)));
        } catch (error) {
          this.warn(
            `partition ${partition}: appending ${flushes.length} published flushes to the ${this.table.name} table failed (${errorMessage(error)}); the next commit carries them`,
          );
          return;
        }
        faultPoint("appended");
        // A claim meanwhile may have replaced the list: what it holds up to `upTo` is in the table all the same.
        const now = this.unconfirmed.get(partition) ?? [];
        this.unconfirmed.set(
          partition,
          now.filter((flush) => flush.endOffset > upTo),
        );
        for (const flush of now.filter((entry) => entry.endOffset <= upTo)) {
          if (flush.manifest)
            await this.publisher
              .deleteStaged(flush.manifest)
              .catch((error) => this.warn(`staged copies stay for the sweep: ${errorMessage(error)}`));
          flush.onInTable?.();
        }
      }
    })().finally(() => this.appending.delete(partition));
    this.appending.set(partition, run);
  }

  /** Appends every unconfirmed flush now and waits for it (a stopping sink). */
  private async allAppended(): Promise<void> {
    if (!this.iceberg) return;
    for (const partition of this.unconfirmed.keys()) this.appendInBackground(partition);
    if (this.appending.size === 0) return;
    const committed = this.iceberg.flushNow();
    await Promise.all(this.appending.values());
    await committed;
    for (const [partition, flushes] of this.unconfirmed)
      if (flushes.length > 0)
        this.warn(
          `partition ${partition}: ${flushes.length} published flushes are not in the ${this.table.name} table yet; its committed offset names them, so its next owner appends them`,
        );
  }

  async start(): Promise<void> {
    // The encode worker loads (DuckDB) while the consumer connects and joins.
    const encoder = EncodeThread.start(this.table.name).then((thread) => (this.encoder = thread));
    try {
      await this.connect();
      await encoder;
    } catch (error) {
      // A sink that failed to start holds no thread that keeps the process alive.
      await encoder.then((thread) => thread.close()).catch(() => {});
      throw error;
    }
    await this.consumer!.run({ autoCommit: false, eachBatch: (payload) => this.onBatch(payload) });
    const tickMs = Math.max(50, Math.min(1_000, Math.floor(this.flushPolicy.intervalMs / 4)));
    this.timer = setInterval(() => void this.flushDueByTime(), tickMs);
  }

  /** Connects the consumer and the admin client and subscribes. */
  private async connect(): Promise<void> {
    const { bootstrapServers, topic, groupId } = this.options;
    const sessionTimeout = this.options.sessionTimeoutMs ?? 30_000;
    this.kafka = createKafka(bootstrapServers, "tickstream-lake-sink");
    const consumer = this.kafka.consumer({
      groupId,
      sessionTimeout,
      heartbeatInterval: Math.min(3_000, Math.floor(sessionTimeout / 3)),
      allowAutoTopicCreation: false,
      // A fetch long-polls this long for data; it bounds how long stop() waits for the fetch in flight.
      maxWaitTimeInMs: 500,
    });
    this.consumer = consumer;
    consumer.on(consumer.events.REBALANCING, () => (this.rebalancing = true));
    // kafkajs joins only between batches, and after a join resumes every partition from its committed offset.
    consumer.on(consumer.events.GROUP_JOIN, (event) => {
      this.joinEpoch++;
      this.rebalancing = false;
      this.assigned = new Set(event.payload.memberAssignment[topic] ?? []);
      this.fenced.clear();
      this.unsettled.clear(); // every assigned partition is claimed again before its next records
      this.unclaimedSinceJoin = new Set(this.assigned);
      this.sought.clear(); // a join resumes every partition from its committed offset
      // Once per start, when the group coordinator is known to answer.
      if (this.joinEpoch === 1) void this.sweepStaging();
    });
    consumer.on(consumer.events.CRASH, (event) => {
      if (event.payload.restart)
        return this.warn(`consumer restarting after: ${errorMessage(event.payload.error)}`);
      this.consumerStopped(
        new ServiceError(
          `the lake sink's consumer stopped after an error it cannot retry: ${errorMessage(event.payload.error)}`,
        ),
      );
    });
    this.admin = this.kafka.admin();
    await connectToBroker(this.admin, bootstrapServers, "tickstream-lake-sink");
    this.fence = new PartitionFence(this.kafka, this.admin, groupId, topic);
    await connectToBroker(consumer, bootstrapServers, "tickstream-lake-sink");
    await consumer.subscribe({ topic, fromBeginning: this.options.fromBeginning ?? true });
  }

  private warn(message: string): void {
    this.options.onWarning?.(message);
  }

  private async onBatch({ batch, heartbeat, isStale }: EachBatchPayload): Promise<void> {
    const release = await this.lock.acquireHeartbeating(heartbeat);
    let wait: Promise<unknown> | undefined;
    try {
      faultPoint("batch", batch.partition);
      // Fetched before a rewind's seek (a commit with an unknown outcome, handled while this batch waited for
      // the lock): its records start past what is committed, and folding them in would leave a gap. A stopping
      // sink takes nothing more: what it did not take is read again from the committed offset.
      if (isStale() || this.stopping) return;
      if (this.fenced.has(batch.partition)) {
        // Typed as a stale generation, so kafkajs rejoins at once and this member learns what it owns now.
        throw new StaleGenerationError(
          `partition ${batch.partition} belongs to another member now; rejoining`,
        );
      }
      const claim = await this.claimed(batch.partition, heartbeat);
      // After a rewind, only a batch fetched from where it sought follows what is committed.
      const sought = this.sought.get(batch.partition);
      if (sought !== undefined) {
        if (BigInt((batch as unknown as { fetchedOffset: string }).fetchedOffset) !== sought) return;
        this.sought.delete(batch.partition);
      }
      // Below the committed offset: in the lake already; below what was sealed since: in a flush on its way.
      const sealed = this.sealedUpTo.get(batch.partition);
      const from = sealed?.claim === claim ? sealed.offset : claim.committedOffset;
      const fresh = freshMessages(batch.messages, from);
      if (fresh.length > 0) this.accept(batch.topic, batch.partition, fresh);
      const buffer = this.buffers.get(batch.partition);
      // On a transactional topic (the rollup's bars) a commit marker takes an offset after the records: committing
      // past it keeps the group's lag at 0 once everything is in the lake (kafkajs hands over no marker-only batch).
      const pastBatch = BigInt(batch.lastOffset()) + 1n;
      if (buffer && buffer.nextOffset < pastBatch) buffer.nextOffset = pastBatch;
      if (buffer && this.isDue(buffer, Date.now())) this.seal(buffer);
      this.checkCaughtUp();
      // Fetching runs ahead of encoding and publishing by a bounded amount: this batch returns once both are
      // within it.
      const flushes = this.flushing.get(batch.partition) ?? [];
      wait = Promise.all([
        flushes.length > MAX_FLUSHES_IN_FLIGHT ? flushes[0] : undefined,
        this.encoder!.drained(MAX_BATCHES_TO_DECODE),
      ]);
    } finally {
      release();
    }
    const keepAlive = setInterval(() => heartbeat().catch(() => {}), 2_000);
    try {
      await wait;
    } finally {
      clearInterval(keepAlive);
    }
  }

  /** The current claim on a partition, claiming it (and publishing its last committed flush) when needed. */
  private async claimed(partition: number, heartbeat?: () => Promise<void>): Promise<PartitionClaim> {
    const existing = this.claims.get(partition);
    if (existing && existing.joinEpoch === this.joinEpoch) return existing;
    if (existing) await this.unclaim(existing);
    const claim = await this.fence!.claim(partition, this.joinEpoch);
    try {
      await this.publishCommitted(claim, heartbeat);
    } catch (error) {
      await this.fence!.release(claim);
      throw error;
    }
    this.claims.set(partition, claim);
    return claim;
  }

  private async unclaim(claim: PartitionClaim): Promise<void> {
    if (this.claims.get(claim.partition) === claim) this.claims.delete(claim.partition);
    this.dropBuffer(claim.partition);
    await this.fence!.release(claim);
  }

  /**
   * Finishes the flush the partition's committed offset names, if any (a no-op when it was published): copies
   * its objects, and with Iceberg hands it and the earlier flushes it carries to the background append.
   */
  private async publishCommitted(claim: PartitionClaim, heartbeat?: () => Promise<void>): Promise<void> {
    const committed = parseCommitMetadata(claim.committedMetadata);
    if (committed.kind === "none") return;
    const manifest =
      committed.kind === "inline"
        ? committed.manifest
        : await this.publisher.readManifest(committed.manifestKey);
    const copied = await this.publisher.copy(manifest, heartbeat);
    if (!this.iceberg) {
      if (copied) await this.publisher.deleteStaged(manifest);
      return;
    }
    // Staged copies gone: the table holds this flush and what it carries (they go only after the append).
    if (!copied) return void this.unconfirmed.set(claim.partition, []);
    await this.publisher.verifyCarried(manifest);
    const objects = this.tableObjects(manifest);
    this.unconfirmed.set(claim.partition, [
      ...(manifest.carried ?? []),
      ...(objects ? [{ endOffset: claim.committedOffset, objects, manifest }] : []),
    ]);
    this.appendInBackground(claim.partition);
  }

  /** Adds a batch's records (in offset order, none below what is sealed) to the partition's open buffer. */
  private accept(topic: string, partition: number, messages: readonly KafkaMessage[]): void {
    const first = BigInt(messages[0]!.offset);
    let buffer = this.buffers.get(partition);
    // Redelivery (a seek): start over from here, which is still at or after what is committed and sealed.
    if (buffer && first < buffer.nextOffset) buffer = this.dropBuffer(partition);
    if (!buffer) {
      buffer = {
        id: this.nextBufferId++,
        partition,
        startOffset: first,
        createdAtMs: Date.now(),
        nextOffset: first,
        records: 0,
        bytes: 0,
        producedAtMs: [],
      };
      this.buffers.set(partition, buffer);
    }
    for (const message of messages) {
      buffer.records++;
      buffer.bytes += (message.value?.length ?? 0) + (message.key?.length ?? 0);
      buffer.producedAtMs.push(Number(message.timestamp));
    }
    buffer.nextOffset = BigInt(messages.at(-1)!.offset) + 1n;
    // Decoded (or quarantined) in the encode worker, while this thread fetches on.
    this.encoder!.add(buffer.id, partition, topic, messages);
  }

  /** Forgets the partition's open buffer, here and in the encode worker; its records are read again. */
  private dropBuffer(partition: number): undefined {
    const buffer = this.buffers.get(partition);
    if (buffer) {
      this.buffers.delete(partition);
      this.encoder?.drop(buffer.id);
    }
    return undefined;
  }

  private isDue(buffer: OpenBuffer, nowMs: number): boolean {
    return (
      buffer.records >= this.flushPolicy.maxRecords ||
      buffer.bytes >= this.flushPolicy.maxBytes ||
      nowMs - buffer.createdAtMs >= this.flushPolicy.intervalMs
    );
  }

  private async flushDueByTime(): Promise<void> {
    if (this.stopping || this.rebalancing) return;
    await this.lock
      .runExclusive(async () => {
        await this.settleUnknownCommits();
        await this.claimQuietPartitions();
        for (const partition of this.unconfirmed.keys()) this.appendInBackground(partition);
        const now = Date.now();
        for (const buffer of [...this.buffers.values()]) {
          if (this.stopping !== undefined || this.rebalancing) return;
          // Not correctness (a lost partition's commit is refused or harmless), but no work for nothing.
          if (!this.assigned.has(buffer.partition)) this.dropBuffer(buffer.partition);
          else if (this.isDue(buffer, now)) this.seal(buffer);
        }
        this.checkCaughtUp();
      })
      .catch((error) => this.warn(`flush failed: ${errorMessage(error)}`));
  }

  /**
   * Closes the partition's open buffer and starts its flush, which runs while the sink fetches on; the caller
   * holds the lock.
   */
  private seal(buffer: OpenBuffer): void {
    const { partition } = buffer;
    const claim = this.claims.get(partition);
    if (!claim || this.buffers.get(partition) !== buffer) return;
    this.buffers.delete(partition);
    this.sealedUpTo.set(partition, { claim, offset: buffer.nextOffset });
    const flushes = this.flushing.get(partition) ?? [];
    this.recordsInFlight += buffer.records;
    const flush = this.flush(claim, buffer, flushes.at(-1)).finally(() => {
      this.recordsInFlight -= buffer.records;
      const left = (this.flushing.get(partition) ?? []).filter((entry) => entry !== flush);
      if (left.length > 0) this.flushing.set(partition, left);
      else this.flushing.delete(partition);
    });
    this.flushing.set(partition, [...flushes, flush]);
  }

  /**
   * One flush: encode and stage its objects (in parallel with the flush before it), then, once that flush has
   * committed and published, commit under the lock, then publish. True once committed and published. Never
   * rejects: a flush that fails before it is published gives the partition up (claimed again, read again from
   * what is committed), so no later flush of the claim commits past it.
   */
  private async flush(
    claim: PartitionClaim,
    buffer: OpenBuffer,
    previous?: Promise<boolean>,
  ): Promise<boolean> {
    const { topic, groupId } = this.options;
    const { partition } = buffer;
    const flushId = randomUUID();
    const stagingStartedAt = performance.now();
    const stagingPrefix = stagingFlushPrefix(groupId, topic, partition, flushId);
    const staged: StagedObject[] = [];
    const objects: WrittenObject[] = [];
    let ticks = 0;
    let quarantined = 0;
    try {
      const encoded = await this.encoder!.seal(buffer.id, Date.now());
      for (const object of encoded) {
        const key =
          object.kind === "table"
            ? tableObjectKey(this.table.prefix, object.dt, topic, partition, object.startOffset)
            : quarantineObjectKey(object.dt, topic, partition, object.startOffset);
        const body = Buffer.from(object.body.buffer, object.body.byteOffset, object.body.byteLength);
        staged.push(
          await this.publisher.stage(
            stagingPrefix,
            staged.length,
            key,
            body,
            object.kind === "table" ? PARQUET : NDJSON,
            undefined,
            object.kind === "table" ? object.records : undefined,
          ),
        );
        objects.push({ key, records: object.records, bytes: body.length });
        if (object.kind === "table") ticks += object.records;
        else quarantined += object.records;
      }
    } catch (error) {
      await previous;
      await this.giveUp(claim, `staging a flush failed (${errorMessage(error)})`);
      return false;
    }
    await faultPoint("awaiting-turn", partition);
    await previous;
    faultPoint("staged", partition);
    const commitStartedAt = performance.now();
    const release = await this.lock.acquire();
    let manifest: FlushManifest;
    try {
      // Carried: every flush the table may lack, which now includes the flush before this one.
      const carried = (this.unconfirmed.get(partition) ?? []).map(({ endOffset, objects }) => ({
        endOffset,
        objects,
      }));
      manifest = createManifest(groupId, topic, partition, flushId, staged, carried);
      // The claim was given up (a flush before this one failed, another member claimed the partition, a join):
      // whoever holds it now reads these records again from what is committed.
      if (this.claims.get(partition) !== claim) {
        this.warn(
          `partition ${partition}: flush of offsets ${buffer.startOffset}-${buffer.nextOffset - 1n} discarded: sealed before the claim was given up; its records are read again from the committed offset`,
        );
        void this.publisher.discard(manifest);
        return false;
      }
      if (!(await this.commitFlush(claim, buffer, manifest))) return false;
    } finally {
      release();
    }
    const publishStartedAt = performance.now();
    try {
      await this.publisher.copy(manifest);
    } catch (error) {
      // Committed and not published: claiming the partition again publishes it before anything else commits.
      await this.giveUp(claim, `publishing a committed flush failed (${errorMessage(error)})`);
      return false;
    }
    // The report may wait for the table's next commit: it keeps these, not the buffer.
    const { startOffset, nextOffset, producedAtMs } = buffer;
    const report = () => {
      const publishedAt = performance.now();
      const durableAtMs = Date.now();
      this.totals.ticks += ticks;
      this.totals.quarantined += quarantined;
      this.totals.objects += objects.length;
      this.totals.bytes += objects.reduce((sum, object) => sum + object.bytes, 0);
      this.totals.flushes++;
      this.options.onFlush?.({
        partition,
        startOffset: startOffset.toString(),
        committedOffset: nextOffset.toString(),
        ticks,
        quarantined,
        objects,
        freshnessMs: producedAtMs.map((producedAt) => durableAtMs - producedAt),
        stepMs: {
          stage: commitStartedAt - stagingStartedAt,
          commit: publishStartedAt - commitStartedAt,
          publish: publishedAt - publishStartedAt,
        },
      });
    };
    if (!this.iceberg) {
      await this.publisher.deleteStaged(manifest);
      report();
      return true;
    }
    // In the table at the batcher's next commit, off the consumption lock; reported (as durable) once there.
    const tableObjects = staged.filter((object) => object.finalKey.startsWith(this.table.prefix));
    this.addUnconfirmed(partition, {
      endOffset: nextOffset,
      objects: tableObjects,
      manifest,
      onInTable: report,
    });
    this.appendInBackground(partition);
    return true;
  }

  /**
   * Adds a flush to the partition's unconfirmed list in offset order. A claim made while the flush was published
   * may have listed it already (read from the committed offset): this entry, which can report it, replaces that.
   */
  private addUnconfirmed(partition: number, flush: UnconfirmedFlush): void {
    const flushes = (this.unconfirmed.get(partition) ?? []).filter(
      (entry) => entry.endOffset !== flush.endOffset,
    );
    flushes.push(flush);
    flushes.sort((a, b) => (a.endOffset < b.endOffset ? -1 : a.endOffset > b.endOffset ? 1 : 0));
    this.unconfirmed.set(partition, flushes);
  }

  /**
   * After a flush failed before it was published: gives up the claim it was made under (unless that is gone
   * already) and claims the partition again, which publishes whatever is committed and reads on from there.
   */
  private async giveUp(claim: PartitionClaim, why: string): Promise<void> {
    await this.lock.runExclusive(async () => {
      if (this.claims.get(claim.partition) !== claim) return;
      this.warn(`partition ${claim.partition}: ${why}; reading again from the committed offset`);
      await this.unclaim(claim);
      await this.rewind(claim.partition);
    });
  }

  /**
   * Commits the flush; false when it was not committed (or may not have been), after making sure the records
   * are read again from whatever is committed now.
   */
  private async commitFlush(
    claim: PartitionClaim,
    buffer: OpenBuffer,
    manifest: FlushManifest,
    heartbeat?: () => Promise<void>,
  ): Promise<boolean> {
    const { partition } = buffer;
    let metadata: string | undefined;
    try {
      metadata = inlineMetadata(manifest);
      if (metadata === undefined) {
        await this.publisher.writeManifest(manifest, heartbeat);
        metadata = pointerMetadata(manifest);
      }
      faultPoint("committing", partition);
      await this.fence!.commit(claim, buffer.nextOffset, metadata);
      // THROW here: the commit landed but the sink learns otherwise, as when its response is lost.
      faultPoint("committed", partition);
      return true;
    } catch (error) {
      await this.unclaim(claim);
      if (error instanceof PartitionFencedError) {
        void this.publisher.discard(manifest);
        // A claim of an earlier join refused late (a thawed member flushing what it buffered before it was
        // dropped) says nothing about who holds the partition now: it is claimed again under the current join.
        if (claim.joinEpoch === this.joinEpoch) this.fenced.add(partition);
        this.warn(
          `${error.message}; its ${buffer.records} buffered records are left to it, nothing committed`,
        );
        return false;
      }
      this.warn(
        `offset commit failed for partition ${partition}: ${errorMessage(error)}; reading again from the committed offset`,
      );
      // The commit may have landed all the same (its response lost): then claiming again publishes it, from
      // staging. So the staging goes only once that claim shows the commit did not land; if the claim fails, it
      // stays for the timer's next claim (and the sweep).
      if ((await this.rewind(partition)) && this.claims.get(partition)?.committedMetadata !== metadata)
        void this.publisher.discard(manifest);
      return false;
    }
  }

  /** After a commit whose outcome is unknown: claim again (which settles it) and read from what is committed. */
  private async rewind(partition: number): Promise<boolean> {
    try {
      const claim = await this.claimed(partition);
      this.unsettled.delete(partition);
      this.fenced.delete(partition);
      const offset = claim.committedOffset >= 0n ? claim.committedOffset : await this.logStart(partition);
      // Throws while kafkajs restarts the consumer, which then resumes from the committed offsets anyway.
      this.seekQuietly(partition, offset);
      return true;
    } catch (error) {
      // Without a fresh claim nothing more is committed for the partition; rejoining re-reads it, and until
      // then the timer keeps trying to claim it (which publishes what the unknown commit may have committed).
      this.fenced.add(partition);
      if (!this.unsettled.has(partition)) {
        this.warn(`partition ${partition}: cannot claim it again (${errorMessage(error)}); retrying`);
      }
      this.unsettled.add(partition);
      return false;
    }
  }

  private seekQuietly(partition: number, offset: bigint): void {
    this.sought.set(partition, offset);
    try {
      this.consumer!.seek({ topic: this.options.topic, partition, offset: offset.toString() });
    } catch {
      // kafkajs is restarting the consumer, which resumes from the committed offsets anyway
    }
  }

  /**
   * Claims the assigned partitions no batch has claimed since the join (publishing what their committed offset
   * names); the caller holds the lock. A claim that fails is tried again at the next tick.
   */
  private async claimQuietPartitions(): Promise<void> {
    for (const partition of [...this.unclaimedSinceJoin]) {
      if (this.stopping === undefined && this.rebalancing) return;
      const existing = this.claims.get(partition);
      if (!this.assigned.has(partition) || (existing && existing.joinEpoch === this.joinEpoch)) {
        this.unclaimedSinceJoin.delete(partition);
        continue;
      }
      try {
        await this.claimed(partition);
        this.unclaimedSinceJoin.delete(partition);
      } catch (error) {
        if (error instanceof PartitionFencedError) this.unclaimedSinceJoin.delete(partition);
        else this.warn(`partition ${partition}: cannot claim it yet (${errorMessage(error)}); retrying`);
      }
    }
  }

  /** Claims again the partitions whose last commit has an unknown outcome; the caller holds the lock. */
  private async settleUnknownCommits(): Promise<void> {
    for (const partition of [...this.unsettled]) {
      if (!this.assigned.has(partition)) this.unsettled.delete(partition);
      else if (await this.rewind(partition)) this.warn(`partition ${partition}: claimed again`);
    }
  }

  private async logStart(partition: number): Promise<bigint> {
    const offsets = await this.admin!.fetchTopicOffsets(this.options.topic);
    return BigInt(offsets.find((entry) => entry.partition === partition)?.low ?? "0");
  }

  /** Deletes staged flushes that crashes and zombies left behind, keeping those that a commit names. */
  private async sweepStaging(): Promise<void> {
    const { groupId, topic } = this.options;
    try {
      const [committed] = await this.admin!.fetchOffsets({ groupId, topics: [topic] });
      const keep = new Set<string>();
      for (const entry of committed?.partitions ?? []) {
        const flush = parseCommitMetadata(entry.metadata);
        if (flush.kind === "inline") keep.add(flush.manifest.stagingPrefix);
        if (flush.kind === "pointer") keep.add(flush.manifestKey.replace(/manifest\.json$/, ""));
      }
      const swept = await this.publisher.sweep(
        groupId,
        this.options.stagingRetentionMs ?? DEFAULT_STAGING_RETENTION_MS,
        keep,
      );
      if (swept > 0) this.warn(`swept ${swept} staged flushes left by crashed or fenced members`);
    } catch (error) {
      this.warn(`staging sweep failed (harmless; retried at the next start): ${errorMessage(error)}`);
    }
  }

  /** Number of records buffered or in a flush, and not yet durable. */
  get bufferedRecords(): number {
    let records = this.recordsInFlight;
    for (const buffer of this.buffers.values()) records += buffer.records;
    return records;
  }

  /** Waits until no flush is sealed and unfinished. */
  private async allFlushed(): Promise<void> {
    while (this.flushing.size > 0) await Promise.all([...this.flushing.values()].flat());
  }

  /**
   * Resolves once this member has read every record its partitions held when this was called: each is buffered,
   * in a flush under way, or committed (a batch run: `tickstream consume --until-caught-up`, the bench). `stop`
   * then writes what is buffered. Records that arrive later are left to the next run.
   */
  async caughtUp(): Promise<void> {
    const offsets = await this.admin!.fetchTopicOffsets(this.options.topic);
    const ends = new Map(
      offsets.map((entry) => [entry.partition, { low: BigInt(entry.low), high: BigInt(entry.high) }]),
    );
    await new Promise<void>((done) => {
      this.catchingUp = { ends, done };
      this.checkCaughtUp();
    });
  }

  /** Ends `caughtUp` once the member holds its partitions and has read each up to its end offset. */
  private checkCaughtUp(): void {
    const target = this.catchingUp;
    if (!target || this.joinEpoch === 0 || this.rebalancing) return;
    for (const [partition, { low, high }] of target.ends) {
      if (!this.assigned.has(partition)) continue;
      const position = this.readPosition(partition);
      if (position === undefined) return;
      // No commit yet: the group starts at the log start (or, not from the beginning, at the end).
      const from = position >= 0n ? position : this.options.fromBeginning === false ? high : low;
      if (from < high) return;
    }
    this.catchingUp = undefined;
    target.done();
  }

  /**
   * Where the member reads the partition on from: past what it buffered or sealed under its current claim, else
   * its committed offset (-1n: none, so from the log start); undefined while it holds no current claim.
   */
  private readPosition(partition: number): bigint | undefined {
    const buffer = this.buffers.get(partition);
    if (buffer) return buffer.nextOffset;
    const claim = this.claims.get(partition);
    if (!claim || claim.joinEpoch !== this.joinEpoch) return undefined;
    const sealed = this.sealedUpTo.get(partition);
    return sealed?.claim === claim ? sealed.offset : claim.committedOffset;
  }

  /** Stops fetching, flushes and commits what is buffered, then leaves the group. Safe to call twice. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      clearInterval(this.timer);
      const consumer = this.consumer;
      try {
        if (consumer) {
          pauseIfRunning(consumer, this.options.topic);
          await this.lock.runExclusive(async () => {
            await this.claimQuietPartitions();
            for (const buffer of [...this.buffers.values()]) this.seal(buffer);
          });
          await this.allFlushed();
          await this.lock.runExclusive(async () => {
            await this.settleUnknownCommits();
            await this.allAppended();
          });
        }
      } finally {
        await consumer?.disconnect();
        for (const claim of [...this.claims.values()]) await this.fence?.release(claim);
        this.claims.clear();
        await this.admin?.disconnect();
        await this.encoder?.close();
        this.s3.destroy();
      }
    })();
    return this.stopping;
  }

  /** Gives up on writes still being retried (a second Ctrl-C): nothing more is committed, nothing is lost. */
  abandonPendingWrites(): void {
    this.abandon.abort();
  }
}

/** The batch's messages at or past `from`; a batch's offsets rise, so most batches are kept whole at one look. */
function freshMessages(messages: KafkaMessage[], from: bigint): KafkaMessage[] {
  if (messages.length === 0 || BigInt(messages[0]!.offset) >= from) return messages;
  return messages.filter((message) => BigInt(message.offset) >= from);
}

/** kafkajs refuses to pause a consumer between a crash and its restart, which fetches nothing anyway. */
function pauseIfRunning(consumer: Consumer, topic: string): void {
  try {
    consumer.pause([{ topic }]);
  } catch {
    // not running: nothing is being fetched
  }
}
