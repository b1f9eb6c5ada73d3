/**
 * The lake's health, measured from outside the sink by reading the lake itself: freshness (now minus the newest
 * tick event time published under ticks/), when the last flush was published, and how many records are in
 * quarantine. Incremental: each scan lists only the objects after the last one seen of each partition of the
 * newest event date, and reads each new object once (its newest `ts`, or its line count for quarantine). With
 * the ticks Iceberg table, an object counts only once the table's current snapshot holds it (what readers of the
 * table see): a published flush waiting for its append is not fresh yet.
 */
import { GetObjectCommand, paginateListObjectsV2, type S3Client } from "@aws-sdk/client-s3";
import { DuckDBInstance, type DuckDBConnection } from "@duckdb/node-api";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { QUARANTINE_PREFIX, TICKS_PREFIX } from "../lake/layout.ts";
import { lakeDates } from "./lake-history.ts";

export interface LakeHealth {
  /** The newest tick event time in the lake (ISO), or null for an empty lake. */
  readonly newestTick: string | null;
  readonly freshnessMs: number | null;
  /** When the newest object under ticks/ was written (ISO), or null. */
  readonly lastFlushAt: string | null;
  readonly quarantined: number;
}

export class LakeHealthScanner {
  private newestDate: string | undefined;
  private readonly lastKeyByPartition = new Map<number, string>();
  private newestTickMicros: number | null = null;
  private lastFlushMs: number | null = null;
  private readonly quarantineCounted = new Map<string, number>();
  private connection: DuckDBConnection | undefined;
  private instance: DuckDBInstance | undefined;
  private scratch: string | undefined;

  constructor(
    private readonly s3: S3Client,
    private readonly bucket: string,
    private readonly topic: string,
    /** The object keys of the ticks table's current data files; undefined when there is no table. */
    private readonly inTable?: () => Promise<ReadonlySet<string> | undefined>,
  ) {}

  async scan(partitions: readonly number[]): Promise<LakeHealth> {
    const dates = await lakeDates(this.s3, this.bucket, TICKS_PREFIX);
    const newest = dates.at(-1);
    if (newest && newest !== this.newestDate) {
      this.newestDate = newest;
      this.lastKeyByPartition.clear();
    }
    if (this.newestDate) {
      const visible = await this.inTable?.();
      for (const partition of partitions) await this.scanPartition(this.newestDate, partition, visible);
    }
    await this.scanQuarantine();
    const now = Date.now();
    return {
      newestTick:
        this.newestTickMicros === null ? null : new Date(this.newestTickMicros / 1000).toISOString(),
      freshnessMs: this.newestTickMicros === null ? null : Math.max(0, now - this.newestTickMicros / 1000),
      lastFlushAt: this.lastFlushMs === null ? null : new Date(this.lastFlushMs).toISOString(),
      quarantined: [...this.quarantineCounted.values()].reduce((sum, lines) => sum + lines, 0),
    };
  }

  async close(): Promise<void> {
    this.connection?.closeSync();
    this.instance?.closeSync();
    if (this.scratch) await rm(this.scratch, { recursive: true, force: true });
  }

  private async scanPartition(
    date: string,
    partition: number,
    visible: ReadonlySet<string> | undefined,
  ): Promise<void> {
    const prefix = `${TICKS_PREFIX}dt=${date}/${this.topic}+${partition}+`;
    for await (const page of paginateListObjectsV2(
      { client: this.s3 },
      { Bucket: this.bucket, Prefix: prefix, StartAfter: this.lastKeyByPartition.get(partition) },
    )) {
      for (const object of page.Contents ?? []) {
        if (!object.Key?.endsWith(".parquet")) continue;
        // Keys follow offsets, and appends land in offset order: the rest waits for the table too.
        if (visible && !visible.has(object.Key)) return;
        const newest = await this.newestTickOf(object.Key);
        if (newest !== null && (this.newestTickMicros === null || newest > this.newestTickMicros))
          this.newestTickMicros = newest;
        const written = object.LastModified?.getTime();
        if (written !== undefined && (this.lastFlushMs === null || written > this.lastFlushMs))
          this.lastFlushMs = written;
        this.lastKeyByPartition.set(partition, object.Key);
      }
    }
  }

  private async download(key: string): Promise<Uint8Array> {
    const response = await this.s3.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }));
    return response.Body!.transformToByteArray();
  }

  /** The newest `ts` of one Parquet object, in microseconds (DuckDB reads it from a local copy). */
  private async newestTickOf(key: string): Promise<number | null> {
    if (!this.connection) {
      this.instance = await DuckDBInstance.create(":memory:");
      this.connection = await this.instance.connect();
      this.scratch = await mkdtemp(path.join(tmpdir(), "tickstream-dashboard-"));
    }
    const file = path.join(this.scratch!, "object.parquet");
    await writeFile(file, await this.download(key));
    const reader = await this.connection.runAndReadAll(
      `SELECT epoch_us(max(ts)) AS newest FROM read_parquet('${file.replaceAll("'", "''")}')`,
    );
    const value = reader.getRowsJS()[0]?.[0];
    return value === null || value === undefined ? null : Number(value);
  }

  private async scanQuarantine(): Promise<void> {
    for await (const page of paginateListObjectsV2(
      { client: this.s3 },
      { Bucket: this.bucket, Prefix: QUARANTINE_PREFIX },
    )) {
      for (const object of page.Contents ?? []) {
        if (!object.Key?.endsWith(".jsonl") || this.quarantineCounted.has(object.Key)) continue;
        const text = Buffer.from(await this.download(object.Key)).toString("utf8");
        this.quarantineCounted.set(object.Key, text.split("\n").filter((line) => line.trim() !== "").length);
      }
    }
  }
}
