/**
 * Iceberg table metadata, format version 2 (Iceberg spec, "Table Metadata"): the JSON file a catalog points at.
 * Pure functions: a new table, and the metadata after one more snapshot. The table's history of what the lake
 * sink published lives in each snapshot's summary (`tickstream.offset.<topic>.<partition>`: the end offset of the
 * partition's newest published flush, carried forward by every snapshot), so the current snapshot alone says
 * whether a flush is in the table, whatever expiry has removed before it. The same keys are kept in the table's
 * properties, which every Iceberg writer carries into the next metadata file: a snapshot committed by another
 * engine (Glue's compaction, Athena's OPTIMIZE) keeps only its own summary, and would otherwise make the table
 * forget what it holds, so an append would add a flush again. The record is the larger of the two.
 */
import { randomUUID } from "node:crypto";
import type { IcebergTableDefinition } from "./table-schema.ts";

export interface Snapshot {
  readonly "snapshot-id": number;
  readonly "parent-snapshot-id"?: number;
  readonly "sequence-number": number;
  readonly "timestamp-ms": number;
  readonly "manifest-list": string;
  readonly summary: Readonly<Record<string, string>>;
  readonly "schema-id": number;
}

export interface TableMetadata {
  readonly "format-version": 2;
  readonly "table-uuid": string;
  readonly location: string;
  readonly "last-sequence-number": number;
  readonly "last-updated-ms": number;
  readonly "last-column-id": number;
  readonly "current-schema-id": number;
  readonly schemas: readonly IcebergTableDefinition["schema"][];
  readonly "default-spec-id": number;
  readonly "partition-specs": readonly IcebergTableDefinition["spec"][];
  readonly "last-partition-id": number;
  readonly "default-sort-order-id": number;
  readonly "sort-orders": readonly { "order-id": number; fields: readonly unknown[] }[];
  readonly properties: Readonly<Record<string, string>>;
  readonly "current-snapshot-id": number;
  readonly snapshots: readonly Snapshot[];
  readonly "snapshot-log": readonly { "timestamp-ms": number; "snapshot-id": number }[];
  readonly "metadata-log": readonly { "timestamp-ms": number; "metadata-file": string }[];
  readonly refs: Readonly<Record<string, { "snapshot-id": number; type: "branch" | "tag" }>>;
}

/** The summary key recording a topic partition's published end offset. */
export const OFFSET_PROPERTY_PREFIX = "tickstream.offset.";
export const offsetProperty = (topic: string, partition: number) =>
  `${OFFSET_PROPERTY_PREFIX}${topic}.${partition}`;

/** Snapshots kept in the metadata by default: the file grows with each one (spec: "snapshots" list). */
export const DEFAULT_SNAPSHOTS_KEPT = 100;
/** Entries kept in the metadata log. */
export const METADATA_LOG_KEPT = 50;

export function newTableMetadata(
  definition: IcebergTableDefinition,
  location: string,
  nowMs: number,
): TableMetadata {
  return {
    "format-version": 2,
    "table-uuid": randomUUID(),
    location,
    "last-sequence-number": 0,
    "last-updated-ms": nowMs,
    "last-column-id": Math.max(...definition.schema.fields.map((field) => field.id)),
    "current-schema-id": definition.schema["schema-id"],
    schemas: [definition.schema],
    "default-spec-id": definition.spec["spec-id"],
    "partition-specs": [definition.spec],
    "last-partition-id": Math.max(...definition.spec.fields.map((field) => field["field-id"])),
    "default-sort-order-id": 0,
    "sort-orders": [{ "order-id": 0, fields: [] }],
    properties: {
      "write.format.default": "parquet",
      "tickstream.table": definition.name,
      // Files written before the encoder wrote field ids are read by column name (Iceberg spec, "Column
      // Projection": name mapping), the lake's Hive-layout objects among them.
      "schema.name-mapping.default": JSON.stringify(
        definition.schema.fields.map((field) => ({ "field-id": field.id, names: [field.name] })),
      ),
    },
    "current-snapshot-id": -1,
    snapshots: [],
    "snapshot-log": [],
    "metadata-log": [],
    refs: {},
  };
}

export function currentSnapshot(metadata: TableMetadata): Snapshot | undefined {
  return metadata.snapshots.find((snapshot) => snapshot["snapshot-id"] === metadata["current-snapshot-id"]);
}

/**
 * The published end offsets the table records, by key: the current snapshot's summary and the table's properties
 * (the larger of each), so a snapshot another engine wrote without our summary does not erase them.
 */
export function publishedOffsets(metadata: TableMetadata): Map<string, bigint> {
  const offsets = new Map<string, bigint>();
  const record = (entries: Readonly<Record<string, string>>) => {
    for (const [key, value] of Object.entries(entries))
      if (key.startsWith(OFFSET_PROPERTY_PREFIX) && BigInt(value) > (offsets.get(key) ?? -1n))
        offsets.set(key, BigInt(value));
  };
  record(currentSnapshot(metadata)?.summary ?? {});
  record(metadata.properties);
  return offsets;
}

/** The metadata with these offsets also in the table's properties (what publishedOffsets reads next time). */
export function withOffsetProperties(
  metadata: TableMetadata,
  offsets: ReadonlyMap<string, bigint>,
): TableMetadata {
  return {
    ...metadata,
    properties: {
      ...metadata.properties,
      ...Object.fromEntries([...offsets].map(([key, value]) => [key, value.toString()])),
    },
  };
}

/**
 * The metadata with one more snapshot, made current; older appends beyond the newest `keep` snapshots leave the
 * list. A snapshot that removed files (a compaction's `replace`, `overwrite`, `delete`) stays until expiry
 * removes it: it is the only record of which files it replaced, and expiry (ours, or Glue's retention
 * optimizer) deletes those files only by reading it. One stays per compaction, so the list stays small.
 */
export function withSnapshot(
  base: TableMetadata,
  snapshot: Omit<Snapshot, "sequence-number" | "parent-snapshot-id" | "schema-id">,
  previousMetadataFile: string | undefined,
  keep = DEFAULT_SNAPSHOTS_KEPT,
): TableMetadata {
  const sequenceNumber = base["last-sequence-number"] + 1;
  const parent = currentSnapshot(base)?.["snapshot-id"];
  const full: Snapshot = {
    ...snapshot,
    ...(parent === undefined ? {} : { "parent-snapshot-id": parent }),
    "sequence-number": sequenceNumber,
    "schema-id": base["current-schema-id"],
  };
  const all = [...base.snapshots, full];
  const newest = new Set(all.slice(-keep).map((entry) => entry["snapshot-id"]));
  const snapshots = all.filter(
    (entry) => newest.has(entry["snapshot-id"]) || (entry.summary.operation ?? "append") !== "append",
  );
  const kept = new Set(snapshots.map((entry) => entry["snapshot-id"]));
  return {
    ...base,
    "last-sequence-number": sequenceNumber,
    "last-updated-ms": snapshot["timestamp-ms"],
    "current-snapshot-id": full["snapshot-id"],
    snapshots,
    "snapshot-log": [
      ...base["snapshot-log"].filter((entry) => kept.has(entry["snapshot-id"])),
      { "timestamp-ms": snapshot["timestamp-ms"], "snapshot-id": full["snapshot-id"] },
    ],
    "metadata-log": previousMetadataFile
      ? [
          ...base["metadata-log"],
          { "timestamp-ms": base["last-updated-ms"], "metadata-file": previousMetadataFile },
        ].slice(-METADATA_LOG_KEPT)
      : base["metadata-log"],
    refs: { main: { "snapshot-id": full["snapshot-id"], type: "branch" } },
  };
}

/** A positive 63-bit snapshot id (Java readers take a signed long). */
export function newSnapshotId(): number {
  // Within Number's exact range, so the JSON is exact for every reader.
  return Math.floor(Math.random() * Number.MAX_SAFE_INTEGER) + 1;
}
