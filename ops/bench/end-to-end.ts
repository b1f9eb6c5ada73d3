/**
 * End to end as users run it: a producer process at full speed for a fixed time and N lake sink processes in one
 * group, on the same fresh services. Measured from outside: ticks per second from the first send to every offset
 * committed with its objects published; freshness, from each tick's send time (its `ts`, the synthetic source's
 * wall clock) to the moment its object was first listed in the lake (polled every 100 ms); each sink's peak
 * resident memory (VmHWM of its own process); and an audit of the lake by (producerId, seq), which fails the bench
 * on any loss or duplicate.
 */
import { paginateListObjectsV2, type S3Client } from "@aws-sdk/client-s3";
import { execa, type ResultPromise } from "execa";
import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { auditProducer, type LakeAudit } from "../../apps/lake/lake-audit.ts";
import { queryObjects, withDuckDB } from "../../apps/lake/duckdb.ts";
import { mirrorPrefix } from "../../apps/lake/lake-mirror.ts";
import { TICKS_PREFIX } from "../../apps/lake/layout.ts";
import { ServiceError } from "../../apps/shared/errors.ts";
import { sleep } from "../../apps/shared/retry.ts";
import { createTopic, groupLag } from "../kafka/topics.ts";
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

/** Resolves when the process prints `text` on stderr. */
function printed(child: ResultPromise, text: string, timeoutMs = 60_000): Promise<void> {
  return new Promise((resolve, reject) => {
    let seen = "";
    const timer = setTimeout(
      () => reject(new ServiceError(`no "${text}" after ${timeoutMs} ms: ${seen}`)),
      timeoutMs,
    );
    child.stderr!.on("data", (chunk: Buffer) => {
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

/** Notes when each of a topic's lake objects is first listed (polling), until stopped. */
class LakeWatch {
  readonly firstSeen = new Map<string, number>();
  private running = true;
  private loop: Promise<void>;

  constructor(
    private readonly s3: S3Client,
    private readonly bucket: string,
    private readonly topic: string,
  ) {
    this.loop = this.poll();
  }

  private async poll(): Promise<void> {
    while (this.running) {
      for await (const page of paginateListObjectsV2(
        { client: this.s3 },
        { Bucket: this.bucket, Prefix: TICKS_PREFIX },
      ))
        for (const object of page.Contents ?? [])
          if (object.Key!.includes(`/${this.topic}+`) && !this.firstSeen.has(object.Key!))
            this.firstSeen.set(object.Key!, Date.now());
      await sleep(100);
    }
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.loop;
  }
}

export async function runEndToEnd(options: {
  readonly environment: LocalEnvironment;
  readonly s3: S3Client;
  readonly members: number;
  readonly durationMs: number;
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
  const sinks = Array.from({ length: members }, () =>
    startTickstream(environment, ["consume", "--topic", topic, "--group", group]),
  );
  const watch = new LakeWatch(s3, environment.lake.bucket, topic);
  try {
    await Promise.all(sinks.map((sink) => printed(sink, "lake sink consuming")));
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
    const deadline = Date.now() + 600_000;
    while ((await groupLag(brokers, group, topic)).total > 0) {
      if (Date.now() > deadline) throw new ServiceError(`the sinks did not catch up within 10 minutes`);
      await sleep(100);
    }
    const seconds = (Date.now() - startedAt) / 1000;
    // Every committed flush is published right after its commit: wait until the lake holds every tick.
    let audit = await auditProducer(
      s3,
      environment.lake.bucket,
      environment.paths.lakeCacheDir,
      producerId,
      produced,
    );
    for (let attempt = 0; attempt < 50 && audit.missing > 0; attempt++) {
      await sleep(200);
      audit = await auditProducer(
        s3,
        environment.lake.bucket,
        environment.paths.lakeCacheDir,
        producerId,
        produced,
      );
    }
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
      objects: watch.firstSeen.size,
      audit,
    };
  } finally {
    await watch.stop();
    for (const sink of sinks) sink.kill("SIGTERM");
    await Promise.all(sinks);
  }
}

/** p50 and p99 over every tick of the watched objects of (first listed) minus (the tick's send time). */
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
