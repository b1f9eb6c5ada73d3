/** What the lake sink and its encode worker (encode-worker.ts, encode-thread.ts) post to each other. */
import type { PackedRecords } from "./record-batch.ts";

export type ToEncodeWorker =
  /** Records of one buffer (a partition's records from one flush's start), in offset order. */
  | { op: "add"; bufferId: number; partition: number; topic: string; records: PackedRecords }
  /** Encode the buffer's objects and forget it. */
  | { op: "seal"; bufferId: number; requestId: number; ingestedAtMs: number }
  /** Forget the buffer (its records are read again). */
  | { op: "drop"; bufferId: number }
  | { op: "close" };

/** One object of a sealed buffer: its rows of one event date (or its quarantined records of one date). */
export interface EncodedObject {
  readonly kind: "table" | "quarantine";
  readonly dt: string;
  /** The offset of its first record, which names it. */
  readonly startOffset: bigint;
  readonly records: number;
  readonly body: Uint8Array;
}

export type FromEncodeWorker =
  | { op: "ready" }
  | { op: "broken"; message: string }
  | { op: "added"; bufferId: number }
  | { op: "sealed"; requestId: number; objects: EncodedObject[] }
  | { op: "failed"; requestId: number; message: string };
