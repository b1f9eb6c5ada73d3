/**
 * Kafka records as the lake sink hands them to its encode worker (encode-worker.ts): one batch packed into a few
 * typed arrays and two byte buffers, so that posting it moves (transfers) memory instead of cloning one object
 * per record.
 */
import type { KafkaMessage } from "kafkajs";

export interface PackedRecords {
  readonly count: number;
  readonly offsets: BigInt64Array;
  /** Kafka CreateTime in ms. */
  readonly timestamps: Float64Array;
  /** End of each record's value (and key) in `values` (`keys`); a null value (key) is flagged in `nulls`. */
  readonly valueEnds: Int32Array;
  readonly keyEnds: Int32Array;
  /** Bit 0: the value is null; bit 1: the key is null. */
  readonly nulls: Uint8Array;
  readonly values: Uint8Array;
  readonly keys: Uint8Array;
}

/** One record unpacked: views into the packed buffers, no copy. */
export interface UnpackedRecord {
  readonly offset: bigint;
  readonly timestampMs: number;
  readonly key: Buffer | null;
  readonly value: Buffer | null;
}

export function packRecords(messages: readonly KafkaMessage[]): PackedRecords {
  const count = messages.length;
  const offsets = new BigInt64Array(count);
  const timestamps = new Float64Array(count);
  const valueEnds = new Int32Array(count);
  const keyEnds = new Int32Array(count);
  const nulls = new Uint8Array(count);
  let valueBytes = 0;
  let keyBytes = 0;
  for (const message of messages) {
    valueBytes += message.value?.length ?? 0;
    keyBytes += message.key?.length ?? 0;
  }
  const values = Buffer.allocUnsafeSlow(valueBytes);
  const keys = Buffer.allocUnsafeSlow(keyBytes);
  let valueEnd = 0;
  let keyEnd = 0;
  for (let index = 0; index < count; index++) {
    const message = messages[index]!;
    offsets[index] = BigInt(message.offset);
    timestamps[index] = Number(message.timestamp);
    if (message.value) valueEnd += message.value.copy(values, valueEnd);
    else nulls[index]! |= 1;
    if (message.key) keyEnd += message.key.copy(keys, keyEnd);
    else nulls[index]! |= 2;
    valueEnds[index] = valueEnd;
    keyEnds[index] = keyEnd;
  }
  return { count, offsets, timestamps, valueEnds, keyEnds, nulls, values, keys };
}

/** The memory a post of `packed` can transfer instead of copy. */
export function transferList(packed: PackedRecords): ArrayBuffer[] {
  return [
    packed.offsets,
    packed.timestamps,
    packed.valueEnds,
    packed.keyEnds,
    packed.nulls,
    packed.values,
    packed.keys,
  ].map((array) => array.buffer as ArrayBuffer);
}

/** Calls `visit` with each record of `packed`, in order: its key and value are views, not copies. */
export function forEachRecord(packed: PackedRecords, visit: (record: UnpackedRecord) => void): void {
  const values = Buffer.from(packed.values.buffer, packed.values.byteOffset, packed.values.byteLength);
  const keys = Buffer.from(packed.keys.buffer, packed.keys.byteOffset, packed.keys.byteLength);
  let valueStart = 0;
  let keyStart = 0;
  for (let index = 0; index < packed.count; index++) {
    const valueEnd = packed.valueEnds[index]!;
    const keyEnd = packed.keyEnds[index]!;
    const nulls = packed.nulls[index]!;
    visit({
      offset: packed.offsets[index]!,
      timestampMs: packed.timestamps[index]!,
      value: nulls & 1 ? null : values.subarray(valueStart, valueEnd),
      key: nulls & 2 ? null : keys.subarray(keyStart, keyEnd),
    });
    valueStart = valueEnd;
    keyStart = keyEnd;
  }
}
