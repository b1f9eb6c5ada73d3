/**
 * Iceberg's Avro files, format version 2 (Iceberg spec, "Manifests" and "Manifest Lists"), written and read
 * with avsc: a manifest lists data files with their partition, counts and status; a manifest list lists the
 * manifests of one snapshot. Every field carries the spec's field id, which readers (pyiceberg, Trino, Athena)
 * resolve by; the schema goes into the file header as given, attributes included.
 */
import avro from "avsc";
import type { IcebergSchema, PartitionSpec } from "./table-schema.ts";

/** A data file as a manifest entry describes it. */
export interface DataFile {
  readonly filePath: string;
  readonly recordCount: number;
  readonly fileSizeInBytes: number;
  /** The partition tuple: one value per partition field, by its name (day: days from 1970-01-01). */
  readonly partition: Readonly<Record<string, number>>;
}

export const ENTRY_STATUS = { EXISTING: 0, ADDED: 1, DELETED: 2 } as const;

export interface ManifestEntry {
  readonly status: number;
  readonly snapshotId: bigint;
  readonly sequenceNumber: bigint;
  readonly fileSequenceNumber: bigint;
  readonly dataFile: DataFile;
}

/** One manifest as a manifest list names it. */
export interface ManifestFile {
  readonly manifestPath: string;
  readonly manifestLength: number;
  readonly partitionSpecId: number;
  readonly sequenceNumber: bigint;
  readonly minSequenceNumber: bigint;
  readonly addedSnapshotId: bigint;
  readonly addedFilesCount: number;
  readonly existingFilesCount: number;
  readonly deletedFilesCount: number;
  readonly addedRowsCount: bigint;
  readonly existingRowsCount: bigint;
  readonly deletedRowsCount: bigint;
}

const optional = (type: unknown) => ["null", type];
const LONG = avro.types.LongType.__with({
  fromBuffer: (buffer: Buffer) => buffer.readBigInt64LE(),
  toBuffer: (value: bigint) => {
    const buffer = Buffer.alloc(8);
    buffer.writeBigInt64LE(value);
    return buffer;
  },
  fromJSON: BigInt,
  toJSON: Number,
  isValid: (value: unknown) => typeof value === "bigint",
  compare: (a: bigint, b: bigint) => (a === b ? 0 : a < b ? -1 : 1),
});
const registry = () => ({ long: LONG });

function mapOf(fieldId: number, name: string, keyId: number, valueId: number, valueType: string) {
  return {
    name,
    type: optional({
      type: "array",
      logicalType: "map",
      items: {
        type: "record",
        name: `k${keyId}_v${valueId}`,
        fields: [
          { name: "key", type: "int", "field-id": keyId },
          { name: "value", type: valueType, "field-id": valueId },
        ],
      },
    }),
    default: null,
    "field-id": fieldId,
  };
}

/** The manifest entry schema for a partition spec (the partition record's fields follow the spec). */
export function manifestEntrySchema(spec: PartitionSpec) {
  return {
    type: "record",
    name: "manifest_entry",
    fields: [
      { name: "status", type: "int", "field-id": 0 },
      { name: "snapshot_id", type: optional("long"), default: null, "field-id": 1 },
      { name: "sequence_number", type: optional("long"), default: null, "field-id": 3 },
      { name: "file_sequence_number", type: optional("long"), default: null, "field-id": 4 },
      {
        name: "data_file",
        "field-id": 2,
        type: {
          type: "record",
          name: "r2",
          fields: [
            { name: "content", type: "int", "field-id": 134 },
            { name: "file_path", type: "string", "field-id": 100 },
            { name: "file_format", type: "string", "field-id": 101 },
            {
              name: "partition",
              "field-id": 102,
              type: {
                type: "record",
                name: "r102",
                fields: spec.fields.map((field) => ({
                  name: field.name,
                  type: optional({ type: "int", logicalType: "date" }),
                  default: null,
                  "field-id": field["field-id"],
                })),
              },
            },
            { name: "record_count", type: "long", "field-id": 103 },
            { name: "file_size_in_bytes", type: "long", "field-id": 104 },
            mapOf(108, "column_sizes", 117, 118, "long"),
            mapOf(109, "value_counts", 119, 120, "long"),
            mapOf(110, "null_value_counts", 121, 122, "long"),
            mapOf(137, "nan_value_counts", 138, 139, "long"),
            mapOf(125, "lower_bounds", 126, 127, "bytes"),
            mapOf(128, "upper_bounds", 129, 130, "bytes"),
            { name: "key_metadata", type: optional("bytes"), default: null, "field-id": 131 },
            {
              name: "split_offsets",
              type: optional({ type: "array", items: "long", "element-id": 133 }),
              default: null,
              "field-id": 132,
            },
            {
              name: "equality_ids",
              type: optional({ type: "array", items: "int", "element-id": 136 }),
              default: null,
              "field-id": 135,
            },
            { name: "sort_order_id", type: optional("int"), default: null, "field-id": 140 },
          ],
        },
      },
    ],
  };
}

export const MANIFEST_FILE_SCHEMA = {
  type: "record",
  name: "manifest_file",
  fields: [
    { name: "manifest_path", type: "string", "field-id": 500 },
    { name: "manifest_length", type: "long", "field-id": 501 },
    { name: "partition_spec_id", type: "int", "field-id": 502 },
    { name: "content", type: "int", "field-id": 517 },
    { name: "sequence_number", type: "long", "field-id": 515 },
    { name: "min_sequence_number", type: "long", "field-id": 516 },
    { name: "added_snapshot_id", type: "long", "field-id": 503 },
    { name: "added_files_count", type: "int", "field-id": 504 },
    { name: "existing_files_count", type: "int", "field-id": 505 },
    { name: "deleted_files_count", type: "int", "field-id": 506 },
    { name: "added_rows_count", type: "long", "field-id": 512 },
    { name: "existing_rows_count", type: "long", "field-id": 513 },
    { name: "deleted_rows_count", type: "long", "field-id": 514 },
    {
      name: "partitions",
      type: optional({
        type: "array",
        "element-id": 508,
        items: {
          type: "record",
          name: "r508",
          fields: [
            { name: "contains_null", type: "boolean", "field-id": 509 },
            { name: "contains_nan", type: optional("boolean"), default: null, "field-id": 518 },
            { name: "lower_bound", type: optional("bytes"), default: null, "field-id": 510 },
            { name: "upper_bound", type: optional("bytes"), default: null, "field-id": 511 },
          ],
        },
      }),
      default: null,
      "field-id": 507,
    },
    { name: "key_metadata", type: optional("bytes"), default: null, "field-id": 519 },
  ],
};

/** An Avro object container file of `records`, with the schema as given and `metadata` in its header. */
async function writeContainer(schema: object, records: readonly object[], metadata: Record<string, string>) {
  const type = avro.Type.forSchema(schema as avro.Schema, { registry: registry() });
  const encoder = new avro.streams.BlockEncoder(type, {
    codec: "null",
    metadata: Object.fromEntries(Object.entries(metadata).map(([key, value]) => [key, Buffer.from(value)])),
  } as never);
  // The header must hold the schema as given: avsc exports a Type's schema without custom attributes, and the
  // field ids are what Iceberg readers resolve by. (avsc keeps a schema object for the header only when it parses
  // the schema itself, and then with number longs; the header is written at the first record.)
  (encoder as unknown as { _schema: object })._schema = schema;
  const chunks: Buffer[] = [];
  encoder.on("data", (chunk: Buffer) => chunks.push(chunk));
  const done = new Promise<void>((resolve, reject) => {
    encoder.on("end", resolve);
    encoder.on("error", reject);
  });
  for (const record of records) encoder.write(record);
  encoder.end();
  await done;
  return Buffer.concat(chunks);
}

/** The records of an Avro container file (longs as bigint) and its header metadata. */
export async function readContainer(
  bytes: Buffer,
): Promise<{ records: Record<string, any>[]; metadata: Record<string, string> }> {
  const records: Record<string, any>[] = [];
  let metadata: Record<string, string> = {};
  const decoder = new avro.streams.BlockDecoder({
    parseHook: (schema: avro.Schema) => avro.Type.forSchema(schema, { registry: registry() }),
  } as never);
  decoder.on("metadata", (_type: unknown, _codec: unknown, header: { meta: Record<string, Buffer> }) => {
    metadata = Object.fromEntries(Object.entries(header.meta).map(([key, value]) => [key, value.toString()]));
  });
  decoder.on("data", (record: Record<string, any>) => records.push(record));
  const done = new Promise<void>((resolve, reject) => {
    decoder.on("end", resolve);
    decoder.on("error", reject);
  });
  decoder.end(bytes);
  await done;
  return { records, metadata };
}

/** avsc reads and writes ["null", T] unions unwrapped: a value is null or the T itself. */
const some = (value: unknown) => (value === undefined ? null : value);

export async function writeManifest(
  entries: readonly ManifestEntry[],
  table: { schema: IcebergSchema; spec: PartitionSpec },
): Promise<Buffer> {
  const schema = manifestEntrySchema(table.spec);
  const records = entries.map((entry) => ({
    status: entry.status,
    snapshot_id: some(entry.snapshotId),
    sequence_number: some(entry.sequenceNumber),
    file_sequence_number: some(entry.fileSequenceNumber),
    data_file: {
      content: 0,
      file_path: entry.dataFile.filePath,
      file_format: "PARQUET",
      partition: Object.fromEntries(
        table.spec.fields.map((field) => [field.name, some(entry.dataFile.partition[field.name] ?? null)]),
      ),
      record_count: BigInt(entry.dataFile.recordCount),
      file_size_in_bytes: BigInt(entry.dataFile.fileSizeInBytes),
      column_sizes: null,
      value_counts: null,
      null_value_counts: null,
      nan_value_counts: null,
      lower_bounds: null,
      upper_bounds: null,
      key_metadata: null,
      split_offsets: null,
      equality_ids: null,
      sort_order_id: null,
    },
  }));
  return writeContainer(schema, records, {
    schema: JSON.stringify(table.schema),
    "schema-id": String(table.schema["schema-id"]),
    "partition-spec": JSON.stringify(table.spec.fields),
    "partition-spec-id": String(table.spec["spec-id"]),
    "format-version": "2",
    content: "data",
  });
}

export async function readManifest(bytes: Buffer): Promise<ManifestEntry[]> {
  const { records } = await readContainer(bytes);
  return records.map((record) => ({
    status: record.status,
    snapshotId: record.snapshot_id,
    sequenceNumber: record.sequence_number,
    fileSequenceNumber: record.file_sequence_number,
    dataFile: {
      filePath: record.data_file.file_path,
      recordCount: Number(record.data_file.record_count),
      fileSizeInBytes: Number(record.data_file.file_size_in_bytes),
      partition: Object.fromEntries(
        Object.entries(record.data_file.partition as Record<string, any>).map(([name, value]) => [
          name,
          value,
        ]),
      ),
    },
  }));
}

export async function writeManifestList(
  manifests: readonly ManifestFile[],
  snapshot: { snapshotId: bigint; parentSnapshotId?: bigint; sequenceNumber: bigint },
): Promise<Buffer> {
  const records = manifests.map((manifest) => ({
    manifest_path: manifest.manifestPath,
    manifest_length: BigInt(manifest.manifestLength),
    partition_spec_id: manifest.partitionSpecId,
    content: 0,
    sequence_number: manifest.sequenceNumber,
    min_sequence_number: manifest.minSequenceNumber,
    added_snapshot_id: manifest.addedSnapshotId,
    added_files_count: manifest.addedFilesCount,
    existing_files_count: manifest.existingFilesCount,
    deleted_files_count: manifest.deletedFilesCount,
    added_rows_count: manifest.addedRowsCount,
    existing_rows_count: manifest.existingRowsCount,
    deleted_rows_count: manifest.deletedRowsCount,
    partitions: null,
    key_metadata: null,
  }));
  return writeContainer(MANIFEST_FILE_SCHEMA, records, {
    "snapshot-id": String(snapshot.snapshotId),
    "parent-snapshot-id":
      snapshot.parentSnapshotId === undefined ? "null" : String(snapshot.parentSnapshotId),
    "sequence-number": String(snapshot.sequenceNumber),
    "format-version": "2",
  });
}

export async function readManifestList(bytes: Buffer): Promise<ManifestFile[]> {
  const { records } = await readContainer(bytes);
  return records.map((record) => ({
    manifestPath: record.manifest_path,
    manifestLength: Number(record.manifest_length),
    partitionSpecId: record.partition_spec_id,
    sequenceNumber: record.sequence_number,
    minSequenceNumber: record.min_sequence_number,
    addedSnapshotId: record.added_snapshot_id,
    addedFilesCount: record.added_files_count,
    existingFilesCount: record.existing_files_count,
    deletedFilesCount: record.deleted_files_count,
    addedRowsCount: record.added_rows_count,
    existingRowsCount: record.existing_rows_count,
    deletedRowsCount: record.deleted_rows_count,
  }));
}
