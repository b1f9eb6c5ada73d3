/**
 * One Iceberg table of the lake: its metadata, manifests and manifest lists in S3 under `<table>/metadata/`, its
 * data files wherever the appender put them, and its pointer in a catalog (apps/iceberg/catalog.ts).
 *
 * Appends are idempotent by what they publish: each names, per Kafka topic partition, the end offset of the
 * flush it adds, and the new snapshot's summary carries the highest such offset of every partition forward
 * (`tickstream.offset.<topic>.<partition>`). An append whose flushes are all at or below the current snapshot's
 * offsets adds nothing. A partition's flushes are published in offset order (the lake sink publishes a flush
 * before it commits the next), so "at or below" means "already in the table". A lost race on the catalog
 * re-reads the table and applies the same append to the new base; the files the loser wrote stay unreferenced.
 */
import { GetObjectCommand, PutObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import { randomUUID } from "node:crypto";
import {
  ENTRY_STATUS,
  readManifest,
  readManifestList,
  writeManifest,
  writeManifestList,
  type DataFile,
  type ManifestEntry,
  type ManifestFile,
} from "./avro-files.ts";
import type { CatalogPointer, IcebergCatalog } from "./catalog.ts";
import {
  currentSnapshot,
  newSnapshotId,
  newTableMetadata,
  offsetProperty,
  publishedOffsets,
  withOffsetProperties,
  METADATA_LOG_KEPT,
  withSnapshot,
  type Snapshot,
  type TableMetadata,
} from "./table-metadata.ts";
import type { IcebergTableDefinition } from "./table-schema.ts";
import { objectNameOffsets } from "../lake/layout.ts";

/** One published flush: its data files, and the end offset (exclusive) of its topic partition. */
export interface FlushAppend {
  readonly topic: string;
  readonly partition: number;
  readonly endOffset: bigint;
  readonly files: readonly DataFile[];
}

export interface IcebergTableOptions {
  readonly s3: S3Client;
  readonly bucket: string;
  readonly catalog: IcebergCatalog;
  readonly definition: IcebergTableDefinition;
  /** Commit attempts before an append gives up (each lost race re-reads the table). */
  readonly maxCommitAttempts?: number;
  /** An append that would leave more manifests than this merges the small ones (default 100). */
  readonly maxManifests?: number;
  readonly now?: () => number;
}

export interface LoadedTable {
  readonly metadata: TableMetadata;
  readonly pointer: CatalogPointer;
}

export class IcebergCommitError extends Error {}

/** Where a topic partition's appends by lake sinks begin; 0 once `lake migrate` has added what was below. */
export const hiveBelowProperty = (topic: string, partition: number) =>
  `tickstream.hive-below.${topic}.${partition}`;

/** The first offset a flush's data files hold, from their names (`<topic>+<partition>+<offset>.parquet`). */
function firstOffsetOf(flush: FlushAppend): bigint {
  const offsets = flush.files
    .map((file) => objectNameOffsets(file.filePath)?.startOffset)
    .filter((offset): offset is bigint => offset !== undefined);
  return offsets.length > 0 ? offsets.reduce((a, b) => (b < a ? b : a)) : flush.endOffset;
}

/** Iceberg's commit.manifest.min-count-to-merge default. */
export const MANIFESTS_BEFORE_MERGE = 100;
/** Iceberg's commit.manifest.target-size-bytes default: manifests this large are not merged again. */
const MANIFEST_TARGET_BYTES = 8 * 1024 * 1024;

export function s3Uri(bucket: string, key: string): string {
  return `s3://${bucket}/${key}`;
}

export function s3Key(uri: string, bucket: string): string {
  const prefix = `s3://${bucket}/`;
  if (!uri.startsWith(prefix)) throw new Error(`${uri} is not in s3://${bucket}/`);
  return uri.slice(prefix.length);
}

export class IcebergTable {
  readonly name: string;
  /** The table this writer first loaded (Iceberg's table-uuid never changes for a table). */
  private tableUuid?: string;
  readonly location: string;
  private readonly now: () => number;

  constructor(private readonly options: IcebergTableOptions) {
    this.name = options.definition.name;
    this.location = s3Uri(options.bucket, options.definition.name);
    this.now = options.now ?? Date.now;
  }

  private async put(uri: string, body: Buffer | string, contentType: string): Promise<void> {
    await this.options.s3.send(
      new PutObjectCommand({
        Bucket: this.options.bucket,
        Key: s3Key(uri, this.options.bucket),
        Body: body,
        ContentType: contentType,
      }),
    );
  }

  private async get(uri: string): Promise<Buffer> {
    const response = await this.options.s3.send(
      new GetObjectCommand({ Bucket: this.options.bucket, Key: s3Key(uri, this.options.bucket) }),
    );
    return Buffer.from(await response.Body!.transformToByteArray());
  }

  private metadataUri(sequence: number): string {
    return `${this.location}/metadata/${String(sequence).padStart(5, "0")}-${randomUUID()}.metadata.json`;
  }

  /** The table as its catalog points at it, or undefined when it does not exist. */
  async load(): Promise<LoadedTable | undefined> {
    const pointer = await this.options.catalog.load(this.name);
    if (!pointer) return undefined;
    let metadata: TableMetadata;
    try {
      metadata = JSON.parse((await this.get(pointer.metadataLocation)).toString("utf8")) as TableMetadata;
    } catch (error) {
      throw new IcebergCommitError(
        `table ${this.name}: its metadata ${pointer.metadataLocation} cannot be read (${(error as Error).name}: ${(error as Error).message})`,
        { cause: error },
      );
    }
    if (metadata["format-version"] !== 2)
      throw new IcebergCommitError(`table ${this.name}: format version ${metadata["format-version"]}, not 2`);
    this.checkSchema(metadata, pointer.metadataLocation);
    // The same table from one load to the next: a pointer moved to another table's metadata behind this
    // writer's back is refused rather than appended to (its offsets would not be this table's).
    if (this.tableUuid === undefined) this.tableUuid = metadata["table-uuid"];
    else if (metadata["table-uuid"] !== this.tableUuid)
      throw new IcebergCommitError(
        `table ${this.name}: the catalog now points at another table (uuid ${metadata["table-uuid"]}, was ${this.tableUuid}, ${pointer.metadataLocation}); nothing was committed`,
      );
    return { metadata, pointer };
  }

  /** The current schema must be the contract's: the same field ids, names, types and nullability. */
  private checkSchema(metadata: TableMetadata, location: string): void {
    const current = metadata.schemas.find((schema) => schema["schema-id"] === metadata["current-schema-id"]);
    const describe = (fields: readonly { id: number; name: string; type: string; required: boolean }[]) =>
      fields.map((field) => `${field.id}:${field.name}:${field.type}${field.required ? "" : "?"}`).join(", ");
    const expected = describe(this.options.definition.schema.fields);
    const actual = describe(current?.fields ?? []);
    if (actual !== expected)
      throw new IcebergCommitError(
        `table ${this.name}: the schema in ${location} is not the contract's (has ${actual || "none"}; the contract: ${expected})`,
      );
  }

  /** Loads the table, creating it (an empty table, no snapshot) when the catalog has none. */
  async ensure(): Promise<LoadedTable> {
    for (let attempt = 0; attempt < 5; attempt++) {
      const loaded = await this.load();
      if (loaded) return loaded;
      const metadata = newTableMetadata(this.options.definition, this.location, this.now());
      const location = this.metadataUri(0);
      await this.put(location, JSON.stringify(metadata), "application/json");
      // Another creator may win; then its table is the table.
      await this.options.catalog.swap(this.name, undefined, location);
    }
    throw new IcebergCommitError(`table ${this.name}: could not be created`);
  }

  /** The manifests of the current snapshot. */
  async manifests(metadata: TableMetadata): Promise<ManifestFile[]> {
    const snapshot = currentSnapshot(metadata);
    return snapshot ? readManifestList(await this.get(snapshot["manifest-list"])) : [];
  }

  /** The live data files of the current snapshot (what a reader of the table reads). */
  async dataFiles(loaded?: LoadedTable): Promise<DataFile[]> {
    const { metadata } = loaded ?? (await this.ensure());
    const files: DataFile[] = [];
    for (const manifest of await this.manifests(metadata))
      for (const entry of await readManifest(await this.get(manifest.manifestPath)))
        if (entry.status !== ENTRY_STATUS.DELETED) files.push(entry.dataFile);
    return files;
  }

  /**
   * Appends the flushes not yet in the table, in one snapshot. Returns how many flushes it added (0: all of
   * them were already there, nothing was committed).
   */
  async append(flushes: readonly FlushAppend[]): Promise<{ added: number; snapshotId?: number }> {
    return this.commitWithRetries(async (base) => {
      const published = publishedOffsets(base.metadata);
      // Once each (a flush may be handed over twice: its own publish and the next commit carrying it).
      const unique = new Map(
        flushes.map((flush) => [`${offsetProperty(flush.topic, flush.partition)}@${flush.endOffset}`, flush]),
      );
      const fresh = [...unique.values()].filter(
        (flush) => flush.endOffset > (published.get(offsetProperty(flush.topic, flush.partition)) ?? -1n),
      );
      const offsets = new Map(published);
      const properties: Record<string, string> = {};
      for (const flush of fresh) {
        const key = offsetProperty(flush.topic, flush.partition);
        if (flush.endOffset > (offsets.get(key) ?? -1n)) offsets.set(key, flush.endOffset);
        // The partition's first append marks where the sinks' appends begin: Hive-layout objects below it are
        // the ones `lake migrate` may add (apps/iceberg/hive-migration.ts).
        const below = hiveBelowProperty(flush.topic, flush.partition);
        if (base.metadata.properties[below] === undefined && properties[below] === undefined)
          properties[below] = String(firstOffsetOf(flush));
      }
      return { files: fresh.flatMap((flush) => flush.files), offsets, added: fresh.length, properties };
    });
  }

  /**
   * Adds Hive-layout objects written before the table (`lake migrate`), in one snapshot, once per partition:
   * `eligible` picks, on the table the commit is based on, the files to add; the same commit marks every partition
   * in `partitions` as migrated (`tickstream.hive-below.<topic>.<partition>` = 0), so that a later run adds
   * nothing, even after a compaction has replaced the migrated files. Returns how many files it added.
   */
  async appendNewFiles(
    files: readonly DataFile[],
    partitions: readonly { readonly topic: string; readonly partition: number }[] = [],
    eligible: (file: DataFile, base: LoadedTable) => boolean = () => true,
  ): Promise<{ added: number; snapshotId?: number }> {
    return this.commitWithRetries(async (base) => {
      const known = new Set((await this.dataFiles(base)).map((file) => file.filePath));
      const fresh = files.filter((file) => !known.has(file.filePath) && eligible(file, base));
      const properties = Object.fromEntries(
        partitions.map(({ topic, partition }) => [hiveBelowProperty(topic, partition), "0"]),
      );
      return { files: fresh, offsets: publishedOffsets(base.metadata), added: fresh.length, properties };
    });
  }

  /** Plans an append on the current table and commits it; a lost race plans again on the winner's table. */
  private async commitWithRetries(
    plan: (base: LoadedTable) => Promise<{
      files: DataFile[];
      offsets: Map<string, bigint>;
      added: number;
      /** Table properties the commit sets besides the offsets. */
      properties?: Record<string, string>;
    }>,
  ): Promise<{ added: number; snapshotId?: number }> {
    const attempts = this.options.maxCommitAttempts ?? 50;
    for (let attempt = 1; attempt <= attempts; attempt++) {
      const base = await this.ensure();
      const { files, offsets, added, properties = {} } = await plan(base);
      const changed = Object.entries(properties).some(
        ([key, value]) => base.metadata.properties[key] !== value,
      );
      if (files.length === 0 && !changed) return { added: 0 };
      if (files.length === 0) {
        // Properties alone: new metadata on the same snapshot.
        const next = {
          ...base.metadata,
          "last-updated-ms": this.now(),
          properties: { ...base.metadata.properties, ...properties },
          "metadata-log": [
            ...base.metadata["metadata-log"],
            {
              "timestamp-ms": base.metadata["last-updated-ms"],
              "metadata-file": base.pointer.metadataLocation,
            },
          ].slice(-METADATA_LOG_KEPT),
        };
        if ((await this.commitMetadata(base, next)) !== undefined) return { added: 0 };
      } else {
        const committed = await this.commitAppend(base, files, offsets, properties);
        if (committed !== undefined) return { added, snapshotId: committed };
      }
      // Lost the race: the next attempt starts from the winner's table.
      await new Promise((resolve) => setTimeout(resolve, Math.min(200, 5 * attempt) * Math.random()));
    }
    throw new IcebergCommitError(`table ${this.name}: no commit won in ${attempts} attempts`);
  }

  /**
   * Commits `next`, metadata the caller derived from `base` (snapshot expiry: apps/iceberg/snapshot-expiry.ts),
   * through the catalog's compare-and-swap. The new metadata location, or undefined when another commit won: then
   * the caller derives its metadata again from the new base, so the winner's commit is kept.
   */
  async commitMetadata(base: LoadedTable, next: TableMetadata): Promise<string | undefined> {
    const location = this.metadataUri(next["last-sequence-number"]);
    await this.put(location, JSON.stringify(next), "application/json");
    return (await this.options.catalog.swap(this.name, base.pointer, location)) ? location : undefined;
  }

  /**
   * The snapshot a reader at `asOfMs` reads: the newest the table's snapshot log made current at or before that
   * time (as Athena's FOR TIMESTAMP AS OF); the current one without a time. Undefined when there is none.
   */
  snapshotAsOf(metadata: TableMetadata, asOfMs?: number): Snapshot | undefined {
    if (asOfMs === undefined) return currentSnapshot(metadata);
    const entry = metadata["snapshot-log"].filter((logged) => logged["timestamp-ms"] <= asOfMs).at(-1);
    return metadata.snapshots.find((snapshot) => snapshot["snapshot-id"] === entry?.["snapshot-id"]);
  }

  /** The live data files of one snapshot. */
  async dataFilesOf(snapshot: Snapshot): Promise<DataFile[]> {
    const files: DataFile[] = [];
    for (const manifest of await readManifestList(await this.get(snapshot["manifest-list"])))
      for (const entry of await readManifest(await this.get(manifest.manifestPath)))
        if (entry.status !== ENTRY_STATUS.DELETED) files.push(entry.dataFile);
    return files;
  }

  /** The live entries of the current snapshot (what a reader reads), with their sequence numbers. */
  async liveEntries(loaded: LoadedTable): Promise<ManifestEntry[]> {
    const entries: ManifestEntry[] = [];
    for (const manifest of await this.manifests(loaded.metadata))
      for (const entry of await readManifest(await this.get(manifest.manifestPath)))
        if (entry.status !== ENTRY_STATUS.DELETED) entries.push(entry);
    return entries;
  }

  /**
   * Replaces live data files by others holding the same rows (compaction), in one snapshot whose single
   * manifest lists every live file: the rest as EXISTING with their own sequence numbers, the replaced ones as
   * DELETED, the new ones as ADDED (so it also merges the table's manifests into one). An append that lands
   * first is kept: the replacement is planned again on the new table. Refused when a file to replace is no longer
   * live (another compaction got there).
   */
  async replaceFiles(
    replaced: ReadonlySet<string>,
    added: readonly DataFile[],
  ): Promise<{ snapshotId: number; liveFiles: number }> {
    const attempts = this.options.maxCommitAttempts ?? 50;
    for (let attempt = 1; attempt <= attempts; attempt++) {
      const base = await this.ensure();
      const live = await this.liveEntries(base);
      const livePaths = new Set(live.map((entry) => entry.dataFile.filePath));
      const gone = [...replaced].filter((path) => !livePaths.has(path));
      if (gone.length > 0)
        throw new IcebergCommitError(
          `table ${this.name}: ${gone.length} files to replace are no longer in the table (another compaction?); nothing was committed`,
        );
      const { metadata } = base;
      const snapshotId = newSnapshotId();
      const sequenceNumber = BigInt(metadata["last-sequence-number"] + 1);
      const entries: ManifestEntry[] = [
        ...live.map((entry) =>
          replaced.has(entry.dataFile.filePath)
            ? { ...entry, status: ENTRY_STATUS.DELETED, snapshotId: BigInt(snapshotId) }
            : { ...entry, status: ENTRY_STATUS.EXISTING },
        ),
        ...added.map((dataFile) => ({
          status: ENTRY_STATUS.ADDED,
          snapshotId: BigInt(snapshotId),
          sequenceNumber,
          fileSequenceNumber: sequenceNumber,
          dataFile,
        })),
      ];
      const count = (status: number) => entries.filter((entry) => entry.status === status);
      const rows = (list: ManifestEntry[]) =>
        list.reduce((sum, entry) => sum + BigInt(entry.dataFile.recordCount), 0n);
      const committed = await this.commitSnapshot(
        base,
        entries,
        {
          operation: "replace",
          "added-data-files": String(added.length),
          "deleted-data-files": String(replaced.size),
          "added-records": String(rows(count(ENTRY_STATUS.ADDED))),
          "deleted-records": String(rows(count(ENTRY_STATUS.DELETED))),
          "total-data-files": String(count(ENTRY_STATUS.EXISTING).length + added.length),
          "total-records": String(rows(count(ENTRY_STATUS.EXISTING)) + rows(count(ENTRY_STATUS.ADDED))),
        },
        snapshotId,
        sequenceNumber,
        { replaceManifests: true },
      );
      if (committed !== undefined)
        return { snapshotId: committed, liveFiles: count(ENTRY_STATUS.EXISTING).length + added.length };
      await new Promise((resolve) => setTimeout(resolve, Math.min(200, 5 * attempt) * Math.random()));
    }
    throw new IcebergCommitError(`table ${this.name}: no commit won in ${attempts} attempts`);
  }

  /**
   * Appends `files` in a new manifest. Each append adds one manifest to the snapshot's list, so past
   * `maxManifests` (Iceberg's commit.manifest.min-count-to-merge, 100) the small manifests (under 8 MB, Iceberg's
   * commit.manifest.target-size-bytes) are merged into the new one: their live entries are kept as EXISTING with
   * their own sequence numbers, entries of deleted files are dropped (the spec keeps those only in the snapshot
   * that deleted them). The manifest list and the work of a commit stay bounded however long sinks run.
   */
  private async commitAppend(
    base: LoadedTable,
    files: readonly DataFile[],
    offsets: ReadonlyMap<string, bigint>,
    properties: Record<string, string> = {},
  ): Promise<number | undefined> {
    const { metadata } = base;
    const snapshotId = newSnapshotId();
    const sequenceNumber = BigInt(metadata["last-sequence-number"] + 1);
    const added: ManifestEntry[] = files.map((dataFile) => ({
      status: ENTRY_STATUS.ADDED,
      snapshotId: BigInt(snapshotId),
      sequenceNumber,
      fileSequenceNumber: sequenceNumber,
      dataFile,
    }));
    const previous = await this.manifests(metadata);
    const merging = previous.length + 1 > (this.options.maxManifests ?? MANIFESTS_BEFORE_MERGE);
    const merged = merging
      ? previous.filter((manifest) => manifest.manifestLength < MANIFEST_TARGET_BYTES)
      : [];
    const entries = [...added];
    for (const manifest of merged)
      for (const entry of await readManifest(await this.get(manifest.manifestPath)))
        if (entry.status !== ENTRY_STATUS.DELETED) entries.push({ ...entry, status: ENTRY_STATUS.EXISTING });
    const addedRows = files.reduce((sum, file) => sum + BigInt(file.recordCount), 0n);
    const parent = currentSnapshot(metadata);
    const totals = (key: string) => BigInt(parent?.summary[key] ?? "0");
    return this.commitSnapshot(
      base,
      entries,
      {
        operation: "append",
        "added-data-files": String(files.length),
        "added-records": String(addedRows),
        "total-data-files": String(totals("total-data-files") + BigInt(files.length)),
        "total-records": String(totals("total-records") + addedRows),
        ...Object.fromEntries([...offsets].map(([key, value]) => [key, value.toString()])),
      },
      snapshotId,
      sequenceNumber,
      {
        replaceManifests: true,
        kept: previous.filter((manifest) => !merged.includes(manifest)),
        properties,
      },
    );
  }

  /**
   * Writes a manifest of `entries`, a manifest list (with the current snapshot's manifests unless
   * `replaceManifests`), and the metadata with the new snapshot, then swaps the catalog's pointer. The summary's
   * published offsets are carried forward when the caller sets none. Undefined when another commit won.
   */
  private async commitSnapshot(
    base: LoadedTable,
    entries: readonly ManifestEntry[],
    summary: Record<string, string>,
    snapshotId: number,
    sequenceNumber: bigint,
    /** replaceManifests: the new manifest replaces all; else it joins the current ones, or `kept` when given. */
    options: {
      replaceManifests: boolean;
      kept?: readonly ManifestFile[];
      properties?: Record<string, string>;
    },
  ): Promise<number | undefined> {
    const { metadata } = base;
    const manifestUri = `${this.location}/metadata/${randomUUID()}-m0.avro`;
    const manifestBytes = await writeManifest(entries, {
      schema: metadata.schemas.find((schema) => schema["schema-id"] === metadata["current-schema-id"])!,
      spec: metadata["partition-specs"].find((spec) => spec["spec-id"] === metadata["default-spec-id"])!,
    });
    await this.put(manifestUri, manifestBytes, "application/octet-stream");
    const ofStatus = (status: number) => entries.filter((entry) => entry.status === status);
    const rows = (list: readonly ManifestEntry[]) =>
      list.reduce((sum, entry) => sum + BigInt(entry.dataFile.recordCount), 0n);
    const manifest: ManifestFile = {
      manifestPath: manifestUri,
      manifestLength: manifestBytes.length,
      partitionSpecId: metadata["default-spec-id"],
      sequenceNumber,
      minSequenceNumber: entries.reduce(
        (min, entry) => (entry.sequenceNumber < min ? entry.sequenceNumber : min),
        sequenceNumber,
      ),
      addedSnapshotId: BigInt(snapshotId),
      addedFilesCount: ofStatus(ENTRY_STATUS.ADDED).length,
      existingFilesCount: ofStatus(ENTRY_STATUS.EXISTING).length,
      deletedFilesCount: ofStatus(ENTRY_STATUS.DELETED).length,
      addedRowsCount: rows(ofStatus(ENTRY_STATUS.ADDED)),
      existingRowsCount: rows(ofStatus(ENTRY_STATUS.EXISTING)),
      deletedRowsCount: rows(ofStatus(ENTRY_STATUS.DELETED)),
    };
    const previous = options.kept ?? (options.replaceManifests ? [] : await this.manifests(metadata));
    const parent = currentSnapshot(metadata);
    const listUri = `${this.location}/metadata/snap-${snapshotId}-1-${randomUUID()}.avro`;
    await this.put(
      listUri,
      await writeManifestList([manifest, ...previous], {
        snapshotId: BigInt(snapshotId),
        ...(parent ? { parentSnapshotId: BigInt(parent["snapshot-id"]) } : {}),
        sequenceNumber,
      }),
      "application/octet-stream",
    );
    const carried = Object.fromEntries(
      [...publishedOffsets(metadata)].map(([key, value]) => [key, value.toString()]),
    );
    const snapshotted = withSnapshot(
      metadata,
      {
        "snapshot-id": snapshotId,
        "timestamp-ms": this.now(),
        "manifest-list": listUri,
        summary: {
          ...carried,
          ...summary,
          "total-delete-files": "0",
          "total-position-deletes": "0",
          "total-equality-deletes": "0",
        },
      },
      base.pointer.metadataLocation,
    );
    const withOffsets = withOffsetProperties(snapshotted, publishedOffsets(snapshotted));
    const next = { ...withOffsets, properties: { ...withOffsets.properties, ...options.properties } };
    const location = this.metadataUri(next["last-sequence-number"]);
    await this.put(location, JSON.stringify(next), "application/json");
    return (await this.options.catalog.swap(this.name, base.pointer, location)) ? snapshotId : undefined;
  }
}
