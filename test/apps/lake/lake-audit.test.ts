import { expect } from "chai";
import { PutObjectCommand } from "@aws-sdk/client-s3";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { auditProducer } from "../../../apps/lake/lake-audit.ts";
import { tickObjectKey } from "../../../apps/lake/layout.ts";
import type { LakeRow } from "../../../apps/lake/lake-row.ts";
import { ParquetEncoder } from "../../../apps/lake/parquet-encoder.ts";
import { createS3Client } from "../../../apps/lake/s3-client.ts";
import type { LocalEnvironment } from "../../../ops/local/environment.ts";
import { readLakeSeqs } from "../../helpers/lake-count.ts";
import { createTestEnvironment, destroyTestEnvironment } from "../../helpers/local-environment.ts";

const row = (producerId: string, seq: number): LakeRow => ({
  symbol: "AAPL",
  tsMicros: 1_795_600_000_000_000n + BigInt(seq),
  price: 100 + seq,
  volume: 1n,
  open: null,
  high: null,
  low: null,
  close: null,
  source: "synthetic",
  producerId,
  seq: BigInt(seq),
  kafkaPartition: 0,
  kafkaOffset: BigInt(seq),
});

describe("lake audit (the demo's duplicates and missing) @integration", function () {
  let environment: LocalEnvironment | undefined;
  before(async function () {
    this.timeout(60_000);
    environment = await createTestEnvironment();
    await environment.s3.start();
  });
  after(async () => destroyTestEnvironment(environment));

  it("counts planted duplicates and gaps of one producer exactly as an independent Parquet reader does, ignoring other producers", async function () {
    const lake = environment!.lake;
    const s3 = createS3Client(lake);
    const encoder = await ParquetEncoder.create();
    const cache = await mkdtemp(path.join(tmpdir(), "tickstream-audit-"));
    try {
      // seq 0..19 of "p", with 3 and 4 missing, 7 twice and 9 three times; "q" 0..4 around it.
      const first = [0, 1, 2, 5, 6, 7, 8, 9].map((seq) => row("p", seq));
      const second = [7, 9, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19].map((seq) => row("p", seq));
      const other = [0, 1, 2, 3, 4].map((seq) => row("q", seq));
      for (const [index, rows] of [first, second, other].entries()) {
        const body = await encoder.encode(rows, Date.now());
        const key = tickObjectKey("2026-11-25", "audit", 0, BigInt(index * 100));
        await s3.send(new PutObjectCommand({ Bucket: lake.bucket, Key: key, Body: body }));
      }
      const audit = await auditProducer(s3, lake.bucket, cache, "p", 20);
      expect(audit).to.deep.equal({ inLake: 21, unique: 18, duplicates: 3, missing: 2 });
      const { counts } = await readLakeSeqs(lake);
      const independent = [...counts].filter(([id]) => id.startsWith("p#"));
      expect(
        independent.reduce((sum, [, n]) => sum + n, 0),
        "rows of p, independently",
      ).to.equal(audit.inLake);
      expect(independent.length, "distinct seqs of p, independently").to.equal(audit.unique);
    } finally {
      await encoder.close();
      s3.destroy();
      await rm(cache, { recursive: true, force: true });
    }
  });
});
