/**
 * The lake sink's encode worker (a worker thread; the sink's side is encode-thread.ts). It keeps each buffer's
 * records as they arrived (packed bytes, about the size of their JSON); on a seal it decodes them a batch at a
 * time into a DuckDB table of the buffer's own (parquet-encoder.ts) and writes each event date's rows as one
 * Parquet object (and quarantined records as NDJSON). So JSON parsing and Parquet encoding run beside the sink's
 * thread, which fetches, stages, commits and publishes.
 *
 * Why records wait as bytes: a decoded row costs about 400 bytes as a JS object or in an in-memory DuckDB
 * table (measured: 300,000 rows, +126 MB), its packed JSON about 170, and a sink holds several flushes per
 * partition while they are encoded, staged and committed.
 *
 * Messages are taken in the order posted, so a seal covers every add posted before it; seals are encoded one
 * at a time, in order.
 *
 * DuckDB's calls run marked busy, with a checkpoint between them, so that the process never exits while one is
 * under way (worker-exit-gate.ts: an exit that terminates a worker inside one aborts the process).
 */
import { parentPort, workerData } from "node:worker_threads";
import { errorMessage } from "../shared/errors.ts";
import { WorkerSide } from "../shared/worker-exit-gate.ts";
import { eventDate } from "../tick/schema.ts";
import { LAKE_TABLES, type LakeTable, type LakeTableName } from "../lake/lake-tables.ts";
import { ParquetEncoder } from "../lake/parquet-encoder.ts";
import type { StagedRows } from "../lake/staged-rows.ts";
import { forEachRecord, type PackedRecords } from "./record-batch.ts";
import type { EncodedObject, ToEncodeWorker } from "./encode-messages.ts";

type Row = { readonly kafkaOffset: bigint };

/** A record that failed validation, as its quarantine NDJSON line holds it. */
interface QuarantinedRecord {
  readonly reason: string;
  readonly topic: string;
  readonly partition: number;
  readonly offset: string;
  readonly key: string | null;
  readonly value: string | null;
  readonly kafkaTimestamp: string;
}

/** A buffer's records as they arrived: packed bytes (about the size of the JSON), decoded only when sealed. */
interface WaitingBuffer {
  readonly partition: number;
  readonly topic: string;
  readonly batches: PackedRecords[];
}

const port = parentPort!;
const data = workerData as { table: LakeTableName; exitGate: Int32Array };
const gate = new WorkerSide(data.exitGate);
const table = LAKE_TABLES[data.table] as unknown as LakeTable<Row>;
const buffers = new Map<number, WaitingBuffer>();
let encoder: ParquetEncoder<Row>;
/** Seals, one at a time. */
let sealing: Promise<void> = Promise.resolve();

function add(message: Extract<ToEncodeWorker, { op: "add" }>): void {
  const { bufferId, partition, topic, records } = message;
  const buffer = buffers.get(bufferId);
  if (buffer) buffer.batches.push(records);
  else buffers.set(bufferId, { partition, topic, batches: [records] });
  port.postMessage({ op: "added", bufferId });
}

/**
 * A sealed buffer's objects: its rows staged a batch at a time (a tick straight from its bytes where the table
 * can: scan), then one file per date.
 */
async function encode(
  bufferId: number,
  buffer: WaitingBuffer,
  ingestedAtMs: number,
): Promise<EncodedObject[]> {
  const { partition, topic } = buffer;
  const dates = new Map<string, { readonly group: number; readonly startOffset: bigint; records: number }>();
  const quarantine = new Map<string, { readonly startOffset: bigint; readonly items: QuarantinedRecord[] }>();
  const stageRow = (dt: string, offset: bigint) => {
    let date = dates.get(dt);
    if (!date) dates.set(dt, (date = { group: dates.size, startOffset: offset, records: 0 }));
    date.records++;
    staged.endRow(date.group);
  };
  let staged: StagedRows;
  try {
    staged = await encoder.rows(bufferId);
    for (let batch = buffer.batches.shift(); batch; batch = buffer.batches.shift()) {
      gate.checkpoint();
      forEachRecord(batch, (record) => {
        const scanned = record.value && table.scan?.(record.value, partition, record.offset, staged);
        if (scanned) return stageRow(scanned, record.offset);
        const decoded = table.decode(record.value, partition, record.offset);
        if (decoded.ok) {
          encoder.writeRow(staged, decoded.row);
          return stageRow(decoded.dt, record.offset);
        }
        const kafkaTimestamp = new Date(record.timestampMs).toISOString();
        const dt = eventDate(kafkaTimestamp);
        let quarantined = quarantine.get(dt);
        if (!quarantined) quarantine.set(dt, (quarantined = { startOffset: record.offset, items: [] }));
        quarantined.items.push({
          reason: decoded.reason,
          topic,
          partition,
          offset: record.offset.toString(),
          key: record.key?.toString("utf8") ?? null,
          value: record.value?.toString("utf8") ?? null,
          kafkaTimestamp,
        });
      });
    }
    const objects: EncodedObject[] = [];
    for (const [dt, date] of dates) {
      gate.checkpoint();
      const body = own(await encoder.write(bufferId, date.group, ingestedAtMs));
      objects.push({ kind: "table", dt, startOffset: date.startOffset, records: date.records, body });
    }
    for (const [dt, group] of quarantine) {
      const body = own(Buffer.from(group.items.map((record) => JSON.stringify(record)).join("\n") + "\n"));
      objects.push({
        kind: "quarantine",
        dt,
        startOffset: group.startOffset,
        records: group.items.length,
        body,
      });
    }
    return objects;
  } finally {
    gate.checkpoint();
    await encoder.drop(bufferId);
  }
}

/** `bytes` in memory of its own, which a post can transfer (a small Buffer shares Node's pool with others). */
function own(bytes: Buffer): Uint8Array {
  if (bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength) return bytes;
  const copy = new Uint8Array(bytes.byteLength);
  copy.set(bytes);
  return copy;
}

function seal(message: Extract<ToEncodeWorker, { op: "seal" }>): void {
  const { bufferId, requestId, ingestedAtMs } = message;
  const buffer = buffers.get(bufferId) ?? { partition: 0, topic: "", batches: [] };
  buffers.delete(bufferId);
  sealing = sealing.then(async () => {
    try {
      const objects = await gate.busy(() => encode(bufferId, buffer, ingestedAtMs));
      port.postMessage(
        { op: "sealed", requestId, objects },
        objects.map((object) => object.body.buffer as ArrayBuffer),
      );
    } catch (error) {
      port.postMessage({ op: "failed", requestId, message: errorMessage(error) });
    }
  });
}

function handle(message: ToEncodeWorker): void {
  switch (message.op) {
    case "add":
      return add(message);
    case "seal":
      return seal(message);
    case "drop":
      buffers.delete(message.bufferId);
      return;
    case "close":
      void sealing.then(async () => {
        await gate.busy(() => encoder.close());
        port.close();
      });
      return;
  }
}

try {
  encoder = await gate.busy(() => ParquetEncoder.create(table));
  port.on("message", handle);
  port.postMessage({ op: "ready" });
} catch (error) {
  port.postMessage({ op: "broken", message: errorMessage(error) });
}
