import { expect } from "chai";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import type { S3Client } from "@aws-sdk/client-s3";
import { currentTableKeys } from "../../../apps/dashboard/table-files.ts";
import { LakeHealthScanner } from "../../../apps/dashboard/lake-health.ts";
import { FileCatalog } from "../../../apps/iceberg/catalog.ts";
import { IcebergTable } from "../../../apps/iceberg/iceberg-table.ts";
import { ICEBERG_TABLES } from "../../../apps/iceberg/table-schema.ts";
import { ParquetEncoder } from "../../../apps/lake/parquet-encoder.ts";
import { createS3Client } from "../../../apps/lake/s3-client.ts";
import type { LocalEnvironment } from "../../../ops/local/environment.ts";
import { writeTickFlush } from "../../helpers/iceberg-flushes.ts";
import { createTestEnvironment, destroyTestEnvironment } from "../../helpers/local-environment.ts";

// Issue 21: the dashboard's freshness is what readers of the table see. A flush published under ticks/dt=… but
// not yet appended is not fresh; once the table's current snapshot holds it, it is.
describe("the dashboard's freshness through the ticks Iceberg table @integration", function () {
  this.timeout(120_000);
  let environment: LocalEnvironment;
  let s3: S3Client;
  let encoder: ParquetEncoder;
  let catalogFolder: string;

  before(async function () {
    environment = await createTestEnvironment();
    await environment.s3.start();
    s3 = createS3Client(environment.lake);
    encoder = await ParquetEncoder.create();
    catalogFolder = await mkdtemp(path.join(tmpdir(), "tickstream-catalog-"));
  });
  after(async function () {
    await encoder?.close();
    s3?.destroy();
    await destroyTestEnvironment(environment);
    await rm(catalogFolder, { recursive: true, force: true });
  });

  it("counts a published flush only once the table's current snapshot holds it", async function () {
    const catalog = new FileCatalog(catalogFolder);
    const table = new IcebergTable({
      s3,
      bucket: environment.lake.bucket,
      catalog,
      definition: ICEBERG_TABLES.ticks,
    });
    const flush = (firstOffset: number, startMs: number) =>
      writeTickFlush(s3, environment.lake.bucket, encoder, {
        topic: "stock-ticks",
        partition: 0,
        firstOffset: BigInt(firstOffset),
        count: 20,
        producerId: "health",
        firstSeq: firstOffset,
        hive: true,
        startMs,
      });
    const older = Date.UTC(2026, 11, 6, 9, 0, 0);
    const newer = Date.UTC(2026, 11, 6, 10, 0, 0);
    expect(await table.append([await flush(0, older)])).to.deep.include({ added: 1 });
    const pending = await flush(20, newer); // published, its append not made yet
    const scanner = new LakeHealthScanner(
      s3,
      environment.lake.bucket,
      "stock-ticks",
      currentTableKeys(s3, environment.lake.bucket, catalog),
    );
    try {
      const before = await scanner.scan([0]);
      expect(before.newestTick, "the pending flush is not in the table yet").to.equal(
        new Date(older + 19 * 50).toISOString(),
      );
      await table.append([pending]);
      const after = await scanner.scan([0]);
      expect(after.newestTick, "once appended, it is").to.equal(new Date(newer + 19 * 50).toISOString());
    } finally {
      await scanner.close();
    }
  });
});
