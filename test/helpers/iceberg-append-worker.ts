/**
 * A separate process appending flushes to the local ticks table, for the commit-race tests: argv lake (JSON),
 * catalog (a folder, or a location such as `glue:<database>`: apps/iceberg/catalog-location.ts, with the Glue
 * endpoint in TICKSTREAM_GLUE_ENDPOINT and the keys in AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY), partition,
 * flushes, ticks per flush. Prints one line per append ("appended N").
 */
import { FileCatalog, type IcebergCatalog } from "../../apps/iceberg/catalog.ts";
import { openCatalog } from "../../apps/iceberg/open-catalog.ts";
import { IcebergTable } from "../../apps/iceberg/iceberg-table.ts";
import { ICEBERG_TABLES } from "../../apps/iceberg/table-schema.ts";
import { createS3Client } from "../../apps/lake/s3-client.ts";
import { ParquetEncoder } from "../../apps/lake/parquet-encoder.ts";
import { writeTickFlush } from "./iceberg-flushes.ts";

const [lakeJson, catalogFolder, partitionText, flushesText, ticksText] = process.argv.slice(2);
const lake = JSON.parse(lakeJson!);
const s3 = createS3Client(lake);
const catalog: IcebergCatalog = /^[a-z]+:/.test(catalogFolder!)
  ? openCatalog(catalogFolder!, { region: lake.region, endpoint: process.env.TICKSTREAM_GLUE_ENDPOINT })
  : new FileCatalog(catalogFolder!);
const table = new IcebergTable({
  s3,
  bucket: lake.bucket,
  catalog,
  definition: ICEBERG_TABLES.ticks,
});
const encoder = await ParquetEncoder.create();
const partition = Number(partitionText);
const ticks = Number(ticksText);
for (let index = 0; index < Number(flushesText); index++) {
  const flush = await writeTickFlush(s3, lake.bucket, encoder, {
    topic: "stock-ticks",
    partition,
    firstOffset: BigInt(index * ticks),
    count: ticks,
    producerId: `race-${partition}`,
    firstSeq: index * ticks,
  });
  const result = await table.append([flush]);
  console.log(`appended ${result.added}`);
}
await encoder.close();
s3.destroy();
