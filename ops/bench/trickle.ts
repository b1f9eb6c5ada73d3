/**
 * The small-file problem, measured as a new user meets it: ticks at a trickle (20/s by default) into one sink
 * member on the default flush and commit settings, then `lake compact`. Reports what the trickle wrote (data
 * objects per day partition, bytes per object, table commits, metadata objects) with its rate per day, what the
 * compaction left, and the producer's ticks counted in the table's current snapshot before and after it (they
 * must be equal and complete).
 */
import { paginateListObjectsV2, type S3Client } from "@aws-sdk/client-s3";
import { compactTable } from "../../apps/iceberg/compaction.ts";
import { IcebergTable } from "../../apps/iceberg/iceberg-table.ts";
import { ICEBERG_TABLES } from "../../apps/iceberg/table-schema.ts";
import { auditProducer, type LakeAudit } from "../../apps/lake/lake-audit.ts";
import { partitionDateOf } from "../../apps/lake/layout.ts";
import { ServiceError } from "../../apps/shared/errors.ts";
import { sleep } from "../../apps/shared/retry.ts";
import { createTopic, waitForGroupCaughtUp } from "../kafka/topics.ts";
import type { LocalEnvironment } from "../local/environment.ts";
import { localIcebergCatalog } from "../local/iceberg-catalog.ts";
import { startTickstream } from "./end-to-end.ts";
import { TableWatch } from "./table-watch.ts";

export interface TrickleResult {
  readonly ticksPerSecond: number;
  readonly seconds: number;
  readonly produced: number;
  /** Data objects the trickle's flushes wrote, per day partition (`dt`). */
  readonly objectsPerDayPartition: Readonly<Record<string, number>>;
  readonly dataObjects: number;
  readonly bytesPerObject: number;
  /** At this rate for a day: data objects, table commits, and metadata objects (manifests, lists, metadata). */
  readonly dataObjectsPerDay: number;
  readonly commits: number;
  readonly commitsPerDay: number;
  readonly metadataObjectsPerDay: number;
  readonly compaction: {
    readonly filesBefore: number;
    readonly filesAfter: number;
    readonly bytesPerFileAfter: number;
  };
  readonly auditBefore: LakeAudit;
  readonly auditAfter: LakeAudit;
}

const DAY_S = 86_400;

async function listUnder(s3: S3Client, bucket: string, prefix: string) {
  const objects: { key: string; bytes: number }[] = [];
  for await (const page of paginateListObjectsV2({ client: s3 }, { Bucket: bucket, Prefix: prefix }))
    for (const object of page.Contents ?? []) objects.push({ key: object.Key!, bytes: object.Size ?? 0 });
  return objects;
}

export async function runTrickle(options: {
  readonly environment: LocalEnvironment;
  readonly s3: S3Client;
  readonly ticksPerSecond: number;
  readonly durationMs: number;
  readonly onProgress: (message: string) => void;
}): Promise<TrickleResult> {
  const { environment, s3, ticksPerSecond } = options;
  const { bucket } = environment.lake;
  const topic = "bench-trickle";
  const group = "bench-trickle";
  const producerId = `bench-trickle-${Date.now()}`;
  await createTopic(environment.bootstrapServers, {
    topic,
    partitions: environment.settings.defaultPartitions,
    replicationFactor: 1,
  });
  const metadataBefore = new Set(
    (await listUnder(s3, bucket, "ticks/metadata/")).map((object) => object.key),
  );
  const sink = startTickstream(environment, ["consume", "--topic", topic, "--group", group]);
  const watch = new TableWatch(s3, environment, topic);
  try {
    options.onProgress(
      `trickle: ${ticksPerSecond} ticks/s for ${Math.round(options.durationMs / 1000)} s into one sink on the default settings...`,
    );
    const startedAt = Date.now();
    const producer = startTickstream(environment, [
      "produce",
      "--topic",
      topic,
      "--rate",
      String(ticksPerSecond),
      "--producer-id",
      producerId,
      "--json",
    ]);
    await sleep(options.durationMs);
    producer.kill("SIGINT");
    const run = await producer;
    if (run.exitCode !== 0) throw new ServiceError(`the trickle's producer failed: ${run.all}`);
    const produced = Number(JSON.parse(String(run.stdout).trim().split("\n").at(-1)!).produced);
    const seconds = (Date.now() - startedAt) / 1000;
    await waitForGroupCaughtUp(environment.bootstrapServers, group, topic, {
      intervalMs: 200,
      timeoutMs: 120_000,
      timeoutMessage: "the trickle's sink did not catch up in 2 minutes",
    });
    const audit = async (keys: Set<string>) =>
      auditProducer(s3, bucket, environment.paths.lakeCacheDir, producerId, produced, keys);
    let auditBefore = await audit(await watch.currentKeys());
    for (let attempt = 0; attempt < 100 && auditBefore.missing > 0; attempt++) {
      await sleep(200);
      auditBefore = await audit(await watch.currentKeys());
    }
    // Counted with the sink stopped: nothing is written under ticks/ while it is listed.
    sink.kill("SIGTERM");
    await sink;
    const dataKeys = await watch.currentKeys();
    const data = (await listUnder(s3, bucket, "ticks/dt=")).filter((object) => dataKeys.has(object.key));
    const objectsPerDayPartition: Record<string, number> = {};
    for (const object of data) {
      const dt = partitionDateOf(object.key)!;
      objectsPerDayPartition[dt] = (objectsPerDayPartition[dt] ?? 0) + 1;
    }
    const metadataWritten = (await listUnder(s3, bucket, "ticks/metadata/")).filter(
      (object) => !metadataBefore.has(object.key),
    );
    const commits = metadataWritten.filter((object) => object.key.endsWith(".metadata.json")).length;
    // Per day: what was written from the first send until now (the drain included), over that time.
    const writingSeconds = (Date.now() - startedAt) / 1000;
    options.onProgress(`trickle: ${data.length} data objects, ${commits} table commits; compacting...`);
    const table = new IcebergTable({
      s3,
      bucket,
      catalog: localIcebergCatalog(environment),
      definition: ICEBERG_TABLES.ticks,
    });
    const report = await compactTable({ s3, bucket, table, definition: ICEBERG_TABLES.ticks });
    const liveAfter = new Set(
      (await table.dataFiles()).map((file) => file.filePath.replace(`s3://${bucket}/`, "")),
    );
    const after = [
      ...(await listUnder(s3, bucket, "ticks/dt=")),
      ...(await listUnder(s3, bucket, "ticks/data/")),
    ].filter((object) => liveAfter.has(object.key));
    const auditAfter = await audit(liveAfter);
    const perDay = (count: number) => Math.round((count / writingSeconds) * DAY_S);
    return {
      ticksPerSecond,
      seconds: Math.round(seconds),
      produced,
      objectsPerDayPartition,
      dataObjects: data.length,
      bytesPerObject: Math.round(
        data.reduce((sum, object) => sum + object.bytes, 0) / Math.max(1, data.length),
      ),
      dataObjectsPerDay: perDay(data.length),
      commits,
      commitsPerDay: perDay(commits),
      metadataObjectsPerDay: perDay(metadataWritten.length),
      compaction: {
        filesBefore: report.filesBefore,
        filesAfter: report.filesAfter,
        bytesPerFileAfter: Math.round(
          after.reduce((sum, object) => sum + object.bytes, 0) / Math.max(1, after.length),
        ),
      },
      auditBefore,
      auditAfter,
    };
  } finally {
    await watch.stop();
    sink.kill("SIGTERM");
    await sink;
  }
}
