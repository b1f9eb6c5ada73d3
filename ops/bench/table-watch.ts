/**
 * What the bench sees of the `ticks` Iceberg table from outside the sinks: when each data file first appeared in
 * the table's current snapshot (polling the catalog every 100 ms, reading the snapshot only when the pointer
 * moved), and how many snapshots were committed in a time window (the table's snapshot log).
 */
import type { S3Client } from "@aws-sdk/client-s3";
import { IcebergTable, s3Key } from "../../apps/iceberg/iceberg-table.ts";
import { ICEBERG_TABLES } from "../../apps/iceberg/table-schema.ts";
import { sleep } from "../../apps/shared/retry.ts";
import type { LocalEnvironment } from "../local/environment.ts";
import { localIcebergCatalog } from "../local/iceberg-catalog.ts";

export class TableWatch {
  /** Object key -> when the watch first saw it in the table's current snapshot (ms since the epoch). */
  readonly firstSeen = new Map<string, number>();
  private running = true;
  private readonly loop: Promise<void>;
  private readonly table: IcebergTable;

  constructor(
    s3: S3Client,
    private readonly environment: LocalEnvironment,
    /** Only data files of this topic's objects (`…/<topic>+<partition>+<offset>.parquet`). */
    private readonly topic: string,
  ) {
    this.table = new IcebergTable({
      s3,
      bucket: environment.lake.bucket,
      catalog: localIcebergCatalog(environment),
      definition: ICEBERG_TABLES.ticks,
    });
    this.loop = this.poll();
  }

  private async poll(): Promise<void> {
    let seenLocation: string | undefined;
    while (this.running) {
      const loaded = await this.table.load().catch(() => undefined);
      if (loaded && loaded.pointer.metadataLocation !== seenLocation) {
        seenLocation = loaded.pointer.metadataLocation;
        const now = Date.now();
        for (const file of await this.table.dataFiles(loaded)) {
          const key = s3Key(file.filePath, this.environment.lake.bucket);
          if (key.includes(`/${this.topic}+`) && !this.firstSeen.has(key)) this.firstSeen.set(key, now);
        }
      }
      await sleep(100);
    }
  }

  /** Snapshots the table committed between the two times (from its snapshot log; it keeps the newest 100). */
  async commitsBetween(fromMs: number, toMs: number): Promise<{ commits: number; logFull: boolean }> {
    const loaded = await this.table.load();
    const log = loaded?.metadata["snapshot-log"] ?? [];
    const commits = log.filter((entry) => entry["timestamp-ms"] >= fromMs && entry["timestamp-ms"] <= toMs);
    return { commits: commits.length, logFull: log.length >= 100 && commits.length === log.length };
  }

  /** The keys of the table's current data files of the topic. */
  async currentKeys(): Promise<Set<string>> {
    const keys = new Set<string>();
    for (const file of await this.table.dataFiles()) {
      const key = s3Key(file.filePath, this.environment.lake.bucket);
      if (key.includes(`/${this.topic}+`)) keys.add(key);
    }
    return keys;
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.loop;
  }
}
