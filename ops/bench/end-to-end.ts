/**
 * End to end as users run it: a producer process at full speed for a fixed time and N lake sink processes in one
 * group, on the same fresh services. Measured from outside: ticks per second from the first send to every offset
 * committed with its objects in the ticks Iceberg table; freshness, from each tick's send time (its `ts`, the
 * synthetic source's wall clock) to the moment its data file was first in the table's current snapshot (polled
 * every 100 ms: table-watch.ts); the table's commits per second; each sink's peak resident memory (VmHWM of its
 * own process); and an audit of the table's current snapshot by (producerId, seq), which fails the bench on any
 * loss or duplicate. The sinks run as deployed: the bundled service with its env file's memory settings
 * (sink-service.ts); the producer runs as the CLI.
 */
import type { S3Client } from "@aws-sdk/client-s3";
import { execa, type ResultPromise } from "execa";
import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { auditProducer, type LakeAudit } from "../../apps/lake/lake-audit.ts";
import { queryObjects, withDuckDB } from "../../apps/lake/duckdb.ts";
import { mirrorPrefix } from "../../apps/lake/lake-mirror.ts";
import { TICKS_PREFIX } from "../../apps/lake/layout.ts";
import { TableWatch } from "./table-watch.ts";
import type { SinkServiceBundle } from "./sink-service.ts";
import { ServiceError } from "../../apps/shared/errors.ts";
import { sleep } from "../../apps/shared/retry.ts";
import { createTopic, waitForGroupCaughtUp } from "../kafka/topics.ts";
import type { LocalEnvironment } from "../local/environment.ts";

const BIN = fileURLToPath(new URL("../../bin/tickstream.js", import.meta.url));

export interface EndToEndResult {
  readonly members: number;
  readonly produced: number;
  readonly seconds: number;
  readonly ticksPerSecond: number;
  readonly freshnessP50Ms: number;
  readonly freshnessP99Ms: number;
  /** The largest peak RSS among the sink processes. */
  readonly sinkPeakRssMb: number;
  /** Snapshots the ticks table took per second while the run lasted (all members together). */
  readonly tableCommitsPerSecond: number;
  readonly objects: number;
  readonly audit: LakeAudit;
}

/** Starts `tickstream ARGS` in the bench's home. */
export function startTickstream(environment: LocalEnvironment, args: readonly string[]): ResultPromise {
  return execa(process.execPath, [BIN, ...args], {
    env: { ...process.env, TICKSTREAM_HOME: environment.home },
    reject: false,
    all: true,
    forceKillAfterDelay: 60_000,
  });
}

/** Resolves when the process prints `text` on stderr (or stdout). */
function printed(child: ResultPromise, text: string, timeoutMs = 60_000): Promise<void> {
  return new Promise((resolve, reject) => {
    let seen = "";
    const timer = setTimeout(
      () => reject(new ServiceError(`no "${text}" after ${timeoutMs} ms: ${seen}`)),
      timeoutMs,
    );
    child.all!.on("data", (chunk: Buffer) => {
      seen += chunk.toString();
      if (seen.includes(text)) {
        clearTimeout(timer);
        resolve();
      }
    });
    void child.then((result) => reject(new ServiceError(`exited before "${text}": ${result.all}`)));
  });
}

/** The peak resident set of a process so far, from the kernel (VmHWM), in MiB. */
async function peakRssMb(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, "utf8");
  const kib = Number(/^VmHWM:\s+(\d+) kB/m.exec(status)?.[1] ?? 0);
  return Math.round(kib / 1024);
}

export async function runEndToEnd(options: {
  readonly environment: LocalEnvironment;
  readonly s3: S3Client;
  readonly members: number;
  readonly durationMs: number;
  readonly sinkService: SinkServiceBundle;
  readonly onProgress: (message: string) => void;
}): Promise<EndToEndResult> {
  const { environment, s3, members } = options;
  const brokers = environment.bootstrapServers;
  const topic = `bench-e2e-${members}`;
  const group = `bench-e2e-${members}`;
  const producerId = `bench-e2e-${members}-${Date.now()}`;
  await createTopic(brokers, {
    topic,
    partitions: environment.settings.defaultPartitions,
    replicationFactor: 1,
  });
  const sinks = Array.from({ length: members }, () => options.sinkService.start(topic, group));
  const watch = new TableWatch(s3, environment, topic);
  try {
    await Promise.all(sinks.map((sink) => printed(sink, `consumer: consuming ${topic}`)));
    options.onProgress(
      `end to end, ${members} sink member(s): producing for ${Math.round(options.durationMs / 1000)} s...`,
    );
    const startedAt = Date.now();
    const producer = startTickstream(environment, [
      "produce",
      "--topic",
      topic,
      "--producer-id",
      producerId,
      "--json",
    ]);
    await sleep(options.durationMs);
    producer.kill("SIGINT");
    const producerRun = await producer;
    if (producerRun.exitCode !== 0) throw new ServiceError(`the producer failed: ${producerRun.all}`);
    const produced = Number(JSON.parse(String(producerRun.stdout).trim().split("\n").at(-1)!).produced);
    options.onProgress(
      `end to end, ${members} member(s): ${produced.toLocaleString("en-US")} produced; draining...`,
    );
    await waitForGroupCaughtUp(brokers, group, topic, {
      intervalMs: 100,
      timeoutMs: 600_000,
      timeoutMessage: "the sinks did not catch up within 10 minutes",
    });
    // Every committed flush is appended to the table within a commit interval: wait until it holds every tick.
    const audit = async () =>
      auditProducer(
        s3,
        environment.lake.bucket,
        environment.paths.lakeCacheDir,
        producerId,
        produced,
        await watch.currentKeys(),
      );
    let audited = await audit();
    for (let attempt = 0; attempt < 100 && audited.missing > 0; attempt++) {
      await sleep(200);
      audited = await audit();
    }
    const endedAt = Date.now();
    const seconds = (endedAt - startedAt) / 1000;
    const { commits } = await watch.commitsBetween(startedAt, endedAt);
    const rss = await Promise.all(sinks.map((sink) => peakRssMb(sink.pid!)));
    await watch.stop();
    const freshness = await freshnessOf(s3, environment, watch.firstSeen);
    return {
      members,
      produced,
      seconds: Math.round(seconds * 10) / 10,
      ticksPerSecond: Math.round(produced / seconds),
      ...freshness,
      sinkPeakRssMb: Math.max(...rss),
      tableCommitsPerSecond: Math.round((commits / seconds) * 100) / 100,
      objects: watch.firstSeen.size,
      audit: audited,
    };
  } finally {
    await watch.stop();
    for (const sink of sinks) sink.kill("SIGTERM");
    await Promise.all(sinks);
  }
}

/** p50 and p99 over every tick of the watched objects of (first in the table) minus (the tick's send time). */
async function freshnessOf(
  s3: S3Client,
  environment: LocalEnvironment,
  firstSeen: ReadonlyMap<string, number>,
): Promise<{ freshnessP50Ms: number; freshnessP99Ms: number }> {
  const { objects } = await mirrorPrefix(
    s3,
    environment.lake.bucket,
    TICKS_PREFIX,
    environment.paths.lakeCacheDir,
  );
  const watched = objects.filter((object) => firstSeen.has(object.key));
  if (watched.length === 0) return { freshnessP50Ms: 0, freshnessP99Ms: 0 };
  const [row] = await withDuckDB(async (connection) => {
    await connection.run("CREATE TABLE seen (file VARCHAR, seen_ms BIGINT)");
    const appender = await connection.createAppender("seen");
    for (const object of watched) {
      appender.appendVarchar(object.file);
      appender.appendBigInt(BigInt(firstSeen.get(object.key)!));
      appender.endRow();
    }
    appender.closeSync();
    const files = watched.map((object) => `'${object.file.replaceAll("'", "''")}'`).join(", ");
    return queryObjects(
      connection,
      `SELECT quantile_disc(seen_ms - epoch_ms(ts), 0.5) AS p50, quantile_disc(seen_ms - epoch_ms(ts), 0.99) AS p99
       FROM read_parquet([${files}], filename = true) t JOIN seen ON seen.file = t.filename`,
    );
  });
  return { freshnessP50Ms: Number(row!.p50), freshnessP99Ms: Number(row!.p99) };
}
