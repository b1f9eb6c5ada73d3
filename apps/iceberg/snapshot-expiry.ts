/**
 * `tickstream lake expire`: snapshot expiry for the lake's Iceberg tables, with the semantics of Iceberg's
 * ExpireSnapshots (RemoveSnapshots.java, ReachableFileCleanup): a snapshot older than the cutoff expires unless it
 * is the current one or one of the newest `retainLast` ancestors of the current one. The metadata without the
 * expired snapshots is committed through the catalog's compare-and-swap like every commit of the table, derived
 * again from the new base after a lost race, so a sink's append that lands meanwhile is kept.
 *
 * Then the files that only expired snapshots reached are deleted: their manifest lists, the manifests no retained
 * snapshot lists, and the data files no retained snapshot reads (a small file a compaction replaced). The rule is
 * reachability, never listing: an object some snapshot once referenced and no retained snapshot references. An
 * object no snapshot ever referenced (a Hive-layout object not migrated yet, a published flush whose append is
 * pending) is never a candidate. Snapshots the metadata already dropped (withSnapshot keeps the newest 100) are
 * found in the metadata files of the metadata log and count as expired. Metadata JSON files older than the
 * metadata log go too (as Iceberg's `write.metadata.previous-versions-max`).
 *
 * The offset record survives: the current snapshot is never expired and no summary is rewritten, and every
 * snapshot's summary carries each partition's `tickstream.offset.*` forward (table-metadata.ts), so the current
 * snapshot alone still says which flushes are in the table. Expiry checks this before it commits.
 *
 * `removeOrphanFiles` (`--orphans`) is Iceberg's remove_orphan_files, restricted: objects under `<table>/metadata/`
 * and `<table>/data/` that no snapshot of the table references, older than a grace period (3 days). Never
 * `<table>/dt=…/`, where the Hive layout and the sink's published flushes live.
 */
import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  paginateListObjectsV2,
  type S3Client,
} from "@aws-sdk/client-s3";
import {
  ENTRY_STATUS,
  readManifest,
  readManifestList,
  type ManifestEntry,
  type ManifestFile,
} from "./avro-files.ts";
import { IcebergCommitError, s3Key, type IcebergTable, type LoadedTable } from "./iceberg-table.ts";
import {
  DEFAULT_EXPIRE_OLDER_THAN_MS,
  DEFAULT_ORPHAN_GRACE_MS,
  DEFAULT_RETAIN_LAST,
} from "./maintenance-defaults.ts";
import {
  currentSnapshot,
  METADATA_LOG_KEPT,
  publishedOffsets,
  type Snapshot,
  type TableMetadata,
} from "./table-metadata.ts";

/**
 * The snapshots that expire: older than `cutoffMs`, not the current one, not one of the newest `retainLast`
 * ancestors of the current one (the current one counts), not the head of a ref.
 */
export function snapshotsToExpire(
  metadata: TableMetadata,
  cutoffMs: number,
  retainLast: number,
): Set<number> {
  const byId = new Map(metadata.snapshots.map((snapshot) => [snapshot["snapshot-id"], snapshot]));
  const retained = new Set<number>(Object.values(metadata.refs).map((ref) => ref["snapshot-id"]));
  const current = currentSnapshot(metadata);
  if (current) retained.add(current["snapshot-id"]);
  for (let ancestor = current, kept = 0; ancestor && kept < retainLast; kept++) {
    retained.add(ancestor["snapshot-id"]);
    const parent = ancestor["parent-snapshot-id"];
    ancestor = parent === undefined ? undefined : byId.get(parent);
  }
  return new Set(
    metadata.snapshots
      .filter((snapshot) => snapshot["timestamp-ms"] < cutoffMs && !retained.has(snapshot["snapshot-id"]))
      .map((snapshot) => snapshot["snapshot-id"]),
  );
}

/**
 * The metadata without the `expired` snapshots (and their snapshot-log entries), the base's metadata file added
 * to the metadata log. The current snapshot, its summary and every retained snapshot are the base's, unchanged.
 */
export function withoutSnapshots(
  base: TableMetadata,
  expired: ReadonlySet<number>,
  previousMetadataFile: string,
  nowMs: number,
): TableMetadata {
  if (expired.has(base["current-snapshot-id"]))
    throw new IcebergCommitError(`expiry would remove the current snapshot ${base["current-snapshot-id"]}`);
  return {
    ...base,
    "last-updated-ms": Math.max(nowMs, base["last-updated-ms"]),
    snapshots: base.snapshots.filter((snapshot) => !expired.has(snapshot["snapshot-id"])),
    "snapshot-log": base["snapshot-log"].filter((entry) => !expired.has(entry["snapshot-id"])),
    "metadata-log": [
      ...base["metadata-log"],
      { "timestamp-ms": base["last-updated-ms"], "metadata-file": previousMetadataFile },
    ].slice(-METADATA_LOG_KEPT),
  };
}

/** The invariant expiry keeps: the current snapshot's offset record is the base's, entry for entry. */
export function sameOffsetRecord(before: TableMetadata, after: TableMetadata): boolean {
  const a = publishedOffsets(before);
  const b = publishedOffsets(after);
  return a.size === b.size && [...a].every(([key, value]) => b.get(key) === value);
}

export interface DeletedFiles {
  readonly dataFiles: number;
  readonly manifests: number;
  readonly manifestLists: number;
  readonly metadataFiles: number;
  readonly bytes: number;
}

export interface ExpiryReport {
  readonly table: string;
  readonly dryRun: boolean;
  /** Snapshots in the table's metadata before expiry. */
  readonly snapshotsBefore: number;
  readonly snapshotsExpired: number;
  readonly snapshotsRetained: number;
  readonly expiredSnapshotIds: readonly number[];
  /** Files deleted (with --dry-run: that would be deleted). */
  readonly deleted: DeletedFiles;
  /** With --orphans: files under metadata/ and data/ no snapshot references, past the grace period. */
  readonly orphans?: DeletedFiles;
}

export interface ExpiryOptions {
  readonly s3: S3Client;
  readonly bucket: string;
  readonly table: IcebergTable;
  /** Snapshots older than this (ms before now) expire; default 5 days. */
  readonly olderThanMs?: number;
  /** The newest ancestors of the current snapshot kept whatever their age (the current one counts); default 10. */
  readonly retainLast?: number;
  readonly dryRun?: boolean;
  readonly now?: () => number;
  readonly maxCommitAttempts?: number;
  readonly onProgress?: (message: string) => void;
}

/** Reads manifest lists and manifests once each (they never change once written). */
class FileGraph {
  private readonly lists = new Map<string, Promise<ManifestFile[]>>();
  private readonly manifests = new Map<string, Promise<ManifestEntry[]>>();

  constructor(
    private readonly s3: S3Client,
    private readonly bucket: string,
  ) {}

  async read(uri: string): Promise<Buffer> {
    const response = await this.s3.send(
      new GetObjectCommand({ Bucket: this.bucket, Key: s3Key(uri, this.bucket) }),
    );
    return Buffer.from(await response.Body!.transformToByteArray());
  }

  manifestList(uri: string): Promise<ManifestFile[]> {
    if (!this.lists.has(uri)) this.lists.set(uri, this.read(uri).then(readManifestList));
    return this.lists.get(uri)!;
  }

  manifest(uri: string): Promise<ManifestEntry[]> {
    if (!this.manifests.has(uri)) this.manifests.set(uri, this.read(uri).then(readManifest));
    return this.manifests.get(uri)!;
  }
}

/** What a set of snapshots references. */
interface Reach {
  readonly lists: Set<string>;
  readonly manifests: Set<string>;
  /** Data files some manifest lists live (ADDED or EXISTING). */
  readonly live: Set<string>;
  /** Data files some manifest lists as DELETED (removed by that manifest's snapshot). */
  readonly removed: Set<string>;
}

const isMissing = (error: unknown) => {
  const name = (error as Error).name;
  return name === "NoSuchKey" || name === "NotFound";
};

/**
 * What `snapshots` reference. `required`: a file that cannot be read is an error (what retained snapshots
 * reference must be known before anything is deleted); otherwise it is skipped (a file an earlier, interrupted
 * expiry deleted already).
 */
async function reach(graph: FileGraph, snapshots: Iterable<Snapshot>, required: boolean): Promise<Reach> {
  const result: Reach = { lists: new Set(), manifests: new Set(), live: new Set(), removed: new Set() };
  const tolerate = <T>(promise: Promise<T>, fallback: T) =>
    required ? promise : promise.catch((error) => (isMissing(error) ? fallback : Promise.reject(error)));
  for (const snapshot of snapshots) {
    const listUri = snapshot["manifest-list"];
    if (result.lists.has(listUri)) continue;
    result.lists.add(listUri);
    for (const manifest of await tolerate(graph.manifestList(listUri), [])) {
      if (result.manifests.has(manifest.manifestPath)) continue;
      result.manifests.add(manifest.manifestPath);
      for (const entry of await tolerate(graph.manifest(manifest.manifestPath), []))
        (entry.status === ENTRY_STATUS.DELETED ? result.removed : result.live).add(entry.dataFile.filePath);
    }
  }
  return result;
}

/** The objects under `prefix`, with when each was last written. */
async function listObjects(s3: S3Client, bucket: string, prefix: string) {
  const objects: { key: string; lastModified?: Date }[] = [];
  for await (const page of paginateListObjectsV2({ client: s3 }, { Bucket: bucket, Prefix: prefix }))
    for (const item of page.Contents ?? []) objects.push({ key: item.Key!, lastModified: item.LastModified });
  return objects;
}

function minus(set: Iterable<string>, ...without: ReadonlySet<string>[]): string[] {
  return [...set].filter((item) => !without.some((other) => other.has(item)));
}

/** The sequence number a metadata file's name starts with (`00042-<uuid>.metadata.json`), if it has one. */
function metadataSequence(key: string): number | undefined {
  const match = /\/(\d+)-[^/]*\.metadata\.json$/.exec(key);
  return match ? Number(match[1]) : undefined;
}

const NOTHING_DELETED: DeletedFiles = {
  dataFiles: 0,
  manifests: 0,
  manifestLists: 0,
  metadataFiles: 0,
  bytes: 0,
};

function emptyReport(table: string, dryRun: boolean): ExpiryReport {
  return {
    table,
    dryRun,
    snapshotsBefore: 0,
    snapshotsExpired: 0,
    snapshotsRetained: 0,
    expiredSnapshotIds: [],
    deleted: NOTHING_DELETED,
  };
}

export async function expireSnapshots(options: ExpiryOptions): Promise<ExpiryReport> {
  const { s3, bucket, table } = options;
  const now = options.now ?? Date.now;
  const olderThanMs = options.olderThanMs ?? DEFAULT_EXPIRE_OLDER_THAN_MS;
  const retainLast = options.retainLast ?? DEFAULT_RETAIN_LAST;
  if (!(retainLast >= 1))
    throw new Error(`retainLast must be at least 1 (the current snapshot), got ${retainLast}`);
  const progress = options.onProgress ?? (() => {});
  const graph = new FileGraph(s3, bucket);

  // 1. Commit the metadata without the expired snapshots, derived from the table as it is at each attempt.
  const attempts = options.maxCommitAttempts ?? 50;
  let committed:
    { base: LoadedTable; next: TableMetadata; location: string; expired: Snapshot[] } | undefined;
  for (let attempt = 1; attempt <= attempts && !committed; attempt++) {
    // A table that does not exist has nothing to expire (and is not created by expiring it).
    const base = await table.load();
    if (!base) return emptyReport(table.name, options.dryRun === true);
    const cutoffMs = now() - olderThanMs;
    const expiredIds = snapshotsToExpire(base.metadata, cutoffMs, retainLast);
    const expired = base.metadata.snapshots.filter((snapshot) => expiredIds.has(snapshot["snapshot-id"]));
    if (attempt === 1)
      progress(
        `${table.name}: ${expired.length} of ${base.metadata.snapshots.length} snapshots expire (older than ${new Date(cutoffMs).toISOString()}; kept whatever their age: the newest ${retainLast} of the current snapshot and its ancestors)`,
      );
    if (expired.length === 0 || options.dryRun) {
      const next =
        expired.length === 0
          ? base.metadata
          : withoutSnapshots(base.metadata, expiredIds, base.pointer.metadataLocation, now());
      committed = { base, next, location: base.pointer.metadataLocation, expired };
      break;
    }
    const next = withoutSnapshots(base.metadata, expiredIds, base.pointer.metadataLocation, now());
    if (!sameOffsetRecord(base.metadata, next))
      throw new IcebergCommitError(
        `table ${table.name}: expiry would change the current snapshot's offset record; nothing was committed`,
      );
    const location = await table.commitMetadata(base, next);
    if (location !== undefined) committed = { base, next, location, expired };
    else await new Promise((resolve) => setTimeout(resolve, Math.min(200, 5 * attempt) * Math.random()));
  }
  if (!committed) throw new IcebergCommitError(`table ${table.name}: no commit won in ${attempts} attempts`);
  const { base, next, expired } = committed;

  // 2. What to delete: reached by expired snapshots (and those the metadata dropped before), not by retained ones.
  const retainedIds = new Set(next.snapshots.map((snapshot) => snapshot["snapshot-id"]));
  const gone = new Map(expired.map((snapshot) => [snapshot["snapshot-id"], snapshot]));
  for (const { "metadata-file": file } of next["metadata-log"]) {
    const old = await graph
      .read(file)
      .then((bytes) => JSON.parse(bytes.toString("utf8")) as TableMetadata)
      .catch((error) => (isMissing(error) ? undefined : Promise.reject(error)));
    for (const snapshot of old?.snapshots ?? [])
      if (!retainedIds.has(snapshot["snapshot-id"])) gone.set(snapshot["snapshot-id"], snapshot);
  }
  const keep = await reach(graph, next.snapshots, true);
  const drop = await reach(graph, gone.values(), false);
  const candidates = {
    dataFiles: minus(new Set([...drop.live, ...drop.removed, ...keep.removed]), keep.live),
    manifests: minus(drop.manifests, keep.manifests),
    manifestLists: minus(drop.lists, keep.lists),
  };

  // Commits after ours add snapshots; what they reference is kept too (a file is never referenced again once
  // no snapshot references it, but this costs only the new manifests).
  const latest = options.dryRun ? undefined : await table.load();
  const newer =
    latest?.metadata.snapshots.filter((snapshot) => !retainedIds.has(snapshot["snapshot-id"])) ?? [];
  const later = await reach(graph, newer, true);
  const owned = (uri: string) => {
    const prefix = `s3://${bucket}/${table.name}/`;
    return uri.startsWith(prefix);
  };
  const dataFiles = minus(candidates.dataFiles, later.live).filter(owned);
  const manifests = minus(candidates.manifests, later.manifests).filter(owned);
  const manifestLists = minus(candidates.manifestLists, later.lists).filter(owned);

  // Metadata files older than the metadata log: by the sequence number their names start with, below the
  // oldest the log keeps (a commit still in flight writes one above the current sequence number).
  const keptMetadata = new Set([
    committed.location,
    base.pointer.metadataLocation,
    ...next["metadata-log"].map((entry) => entry["metadata-file"]),
    ...(latest
      ? [
          latest.pointer.metadataLocation,
          ...latest.metadata["metadata-log"].map((entry) => entry["metadata-file"]),
        ]
      : []),
  ]);
  const oldestKept = Math.min(
    ...[...keptMetadata].map((uri) => metadataSequence(uri) ?? Number.POSITIVE_INFINITY),
  );
  const metadataFiles = (await listObjects(s3, bucket, `${table.name}/metadata/`))
    .map((object) => `s3://${bucket}/${object.key}`)
    .filter(
      (uri) => !keptMetadata.has(uri) && (metadataSequence(uri) ?? Number.POSITIVE_INFINITY) < oldestKept,
    );

  // 3. Delete: data files first, metadata JSON last, so an interrupted run finds the rest again next time.
  const deleted = await deleteAll(
    s3,
    bucket,
    { dataFiles, manifests, manifestLists, metadataFiles },
    options.dryRun === true,
    (message) => progress(`${table.name}: ${message}`),
  );
  return {
    table: table.name,
    dryRun: options.dryRun === true,
    snapshotsBefore: base.metadata.snapshots.length,
    snapshotsExpired: expired.length,
    snapshotsRetained: next.snapshots.length,
    expiredSnapshotIds: expired.map((snapshot) => snapshot["snapshot-id"]),
    deleted,
  };
}

/** Deletes (or, dry, only sizes) the named objects; an object already gone is not counted. */
async function deleteAll(
  s3: S3Client,
  bucket: string,
  groups: { dataFiles: string[]; manifests: string[]; manifestLists: string[]; metadataFiles: string[] },
  dryRun: boolean,
  progress: (message: string) => void,
): Promise<DeletedFiles> {
  const total = Object.values(groups).reduce((sum, group) => sum + group.length, 0);
  if (total > 0)
    progress(
      `${dryRun ? "would delete" : "deleting"} ${groups.dataFiles.length} data files, ${groups.manifests.length} manifests, ${groups.manifestLists.length} manifest lists, ${groups.metadataFiles.length} metadata files`,
    );
  let bytes = 0;
  const counts = { dataFiles: 0, manifests: 0, manifestLists: 0, metadataFiles: 0 };
  for (const group of ["dataFiles", "manifests", "manifestLists", "metadataFiles"] as const) {
    const uris = groups[group];
    for (let start = 0; start < uris.length; start += 16)
      await Promise.all(
        uris.slice(start, start + 16).map(async (uri) => {
          const Key = s3Key(uri, bucket);
          const size = await s3
            .send(new HeadObjectCommand({ Bucket: bucket, Key }))
            .then((head) => head.ContentLength ?? 0)
            .catch((error) => (isMissing(error) ? undefined : Promise.reject(error)));
          if (size === undefined) return;
          if (!dryRun) await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key }));
          bytes += size;
          counts[group]++;
        }),
      );
  }
  return { ...counts, bytes };
}

export interface OrphanOptions {
  readonly s3: S3Client;
  readonly bucket: string;
  readonly table: IcebergTable;
  /** Only objects last modified longer ago than this go; default 3 days. */
  readonly graceMs?: number;
  readonly dryRun?: boolean;
  readonly now?: () => number;
  readonly onProgress?: (message: string) => void;
}

/**
 * Deletes the objects under `<table>/metadata/` and `<table>/data/` that no snapshot of the table references and
 * that are older than the grace period (a commit or compaction in flight writes its files minutes before its
 * swap). Never anything under `<table>/dt=…/`.
 */
export async function removeOrphanFiles(options: OrphanOptions): Promise<DeletedFiles> {
  const { s3, bucket, table } = options;
  const now = options.now ?? Date.now;
  const graceMs = options.graceMs ?? DEFAULT_ORPHAN_GRACE_MS;
  const graph = new FileGraph(s3, bucket);
  const listed = [];
  for (const folder of ["metadata", "data"])
    for (const object of await listObjects(s3, bucket, `${table.name}/${folder}/`)) listed.push(object);
  const loaded = await table.load();
  if (!loaded) return NOTHING_DELETED;
  const referenced = await reach(graph, loaded.metadata.snapshots, true);
  const protectedUris = new Set([
    loaded.pointer.metadataLocation,
    ...loaded.metadata["metadata-log"].map((entry) => entry["metadata-file"]),
    ...referenced.lists,
    ...referenced.manifests,
    ...referenced.live,
    ...referenced.removed,
  ]);
  const cutoff = now() - graceMs;
  const orphans = {
    dataFiles: [] as string[],
    manifests: [] as string[],
    manifestLists: [] as string[],
    metadataFiles: [] as string[],
  };
  for (const object of listed) {
    const uri = `s3://${bucket}/${object.key}`;
    if (protectedUris.has(uri)) continue;
    const lastModified = object.lastModified?.getTime();
    if (lastModified === undefined || lastModified >= cutoff) continue;
    if (object.key.startsWith(`${table.name}/data/`)) orphans.dataFiles.push(uri);
    else if (object.key.endsWith(".metadata.json")) orphans.metadataFiles.push(uri);
    else if (/\/snap-[^/]*\.avro$/.test(object.key)) orphans.manifestLists.push(uri);
    else orphans.manifests.push(uri);
  }
  // A commit that landed while we read is the table's now: what it references stays.
  const latest = await table.load();
  if (latest && latest.pointer.metadataLocation !== loaded.pointer.metadataLocation) {
    const known = new Set(loaded.metadata.snapshots.map((snapshot) => snapshot["snapshot-id"]));
    const later = await reach(
      graph,
      latest.metadata.snapshots.filter((snapshot) => !known.has(snapshot["snapshot-id"])),
      true,
    );
    const still = new Set([
      latest.pointer.metadataLocation,
      ...later.lists,
      ...later.manifests,
      ...later.live,
      ...later.removed,
      ...latest.metadata["metadata-log"].map((entry) => entry["metadata-file"]),
    ]);
    for (const group of Object.values(orphans))
      group.splice(0, group.length, ...group.filter((uri) => !still.has(uri)));
  }
  return deleteAll(s3, bucket, orphans, options.dryRun === true, (message) =>
    options.onProgress?.(`${table.name}: orphans: ${message}`),
  );
}
