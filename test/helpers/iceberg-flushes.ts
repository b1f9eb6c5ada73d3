/** Flushes of synthetic ticks as the lake sink would publish them into an Iceberg table: Parquet in S3, counted. */
import { tableObjectKey } from "../../apps/lake/layout.ts";
import { PutObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import { randomUUID } from "node:crypto";
import type { FlushAppend } from "../../apps/iceberg/iceberg-table.ts";
import { dayOf } from "../../apps/iceberg/table-schema.ts";
import { ParquetEncoder } from "../../apps/lake/parquet-encoder.ts";
import { TICKS_TABLE } from "../../apps/lake/lake-tables.ts";
import type { LakeRow } from "../../apps/lake/lake-row.ts";

/** Encodes and uploads one flush: `count` ticks of `producerId` from `firstSeq`, at offsets from `firstOffset`. */
export async function writeTickFlush(
  s3: S3Client,
  bucket: string,
  encoder: ParquetEncoder,
  flush: {
    topic: string;
    partition: number;
    firstOffset: bigint;
    count: number;
    producerId: string;
    firstSeq: number;
    /** Name the objects as the lake sink does (`ticks/dt=…/<topic>+<partition>+<first offset>.parquet`). */
    hive?: boolean;
    /** The first tick's event time (default 2026-12-05T23:59:00Z); each next one 50 ms later. */
    startMs?: number;
  },
): Promise<FlushAppend> {
  const rows: LakeRow[] = [];
  for (let index = 0; index < flush.count; index++) {
    const decoded = TICKS_TABLE.decode(
      Buffer.from(
        JSON.stringify({
          symbol: ["AAPL", "MSFT", "NVDA"][index % 3],
          ts: new Date((flush.startMs ?? Date.UTC(2026, 11, 5, 23, 59, 0)) + index * 50).toISOString(),
          price: 100 + index,
          volume: 10,
          source: "synthetic",
          producerId: flush.producerId,
          seq: flush.firstSeq + index,
        }),
      ),
      flush.partition,
      flush.firstOffset + BigInt(index),
    );
    if (!decoded.ok) throw new Error(decoded.reason);
    rows.push(decoded.row);
  }
  // One file per event day, as the sink writes them (these ticks cross midnight UTC).
  const byDay = new Map<number, LakeRow[]>();
  for (const row of rows) byDay.set(dayOf(row.tsMicros), [...(byDay.get(dayOf(row.tsMicros)) ?? []), row]);
  const files = [];
  for (const [day, dayRows] of byDay) {
    const body = await encoder.encode(dayRows, Date.now());
    const key = flush.hive
      ? tableObjectKey(
          "ticks/",
          new Date(day * 86_400_000).toISOString().slice(0, 10),
          flush.topic,
          flush.partition,
          dayRows[0]!.kafkaOffset,
        )
      : `ticks/data/ts_day=${day}/${flush.topic}+${flush.partition}+${flush.firstOffset}-${randomUUID()}.parquet`;
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));
    files.push({
      filePath: `s3://${bucket}/${key}`,
      recordCount: dayRows.length,
      fileSizeInBytes: body.length,
      partition: { ts_day: day },
    });
  }
  return {
    topic: flush.topic,
    partition: flush.partition,
    endOffset: flush.firstOffset + BigInt(flush.count),
    files,
  };
}
