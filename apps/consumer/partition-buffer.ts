/**
 * What the lake sink holds for one Kafka partition between flushes: valid rows grouped by event date,
 * quarantined records grouped by date, and the offsets they span.
 */
import type { LakeRow } from "../lake/lake-row.ts";

type Row = { readonly kafkaOffset: bigint };

export interface QuarantinedRecord {
  readonly reason: string;
  readonly topic: string;
  readonly partition: number;
  readonly offset: string;
  readonly key: string | null;
  readonly value: string | null;
  readonly kafkaTimestamp: string;
}

/** Rows for one object: all share a date, and `startOffset` (the first row's offset) names the object. */
export interface DateGroup<T> {
  readonly startOffset: bigint;
  readonly items: T[];
}

export class PartitionBuffer<R extends Row = LakeRow> {
  readonly rowsByDate = new Map<string, DateGroup<R>>();
  readonly quarantineByDate = new Map<string, DateGroup<QuarantinedRecord>>();
  /** Kafka CreateTime (ms) of every buffered record, for freshness figures. */
  readonly producedAtMs: number[] = [];
  records = 0;
  bytes = 0;
  /** One past the last buffered offset: what to commit once everything here is durable. */
  nextOffset: bigint;

  constructor(
    readonly partition: number,
    readonly startOffset: bigint,
    readonly createdAtMs: number,
  ) {
    this.nextOffset = startOffset;
  }

  private track(offset: bigint, bytes: number, producedAtMs: number): void {
    this.records++;
    this.bytes += bytes;
    this.producedAtMs.push(producedAtMs);
    this.nextOffset = offset + 1n;
  }

  addRow(dt: string, row: R, bytes: number, producedAtMs: number): void {
    addToGroup(this.rowsByDate, dt, row.kafkaOffset, row);
    this.track(row.kafkaOffset, bytes, producedAtMs);
  }

  addQuarantined(dt: string, record: QuarantinedRecord, bytes: number, producedAtMs: number): void {
    const offset = BigInt(record.offset);
    addToGroup(this.quarantineByDate, dt, offset, record);
    this.track(offset, bytes, producedAtMs);
  }
}

function addToGroup<T>(groups: Map<string, DateGroup<T>>, dt: string, offset: bigint, item: T): void {
  const group = groups.get(dt);
  if (group) group.items.push(item);
  else groups.set(dt, { startOffset: offset, items: [item] });
}
