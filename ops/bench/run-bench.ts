/**
 * `tickstream bench`: the demo pipeline at a larger volume in a throw-away home (fresh ports, fresh broker
 * and S3 data), reporting throughput, freshness, lake size per tick and this process's peak memory.
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { loadLocalSettings } from "../config/settings.ts";
import { percentile, runDemo, type DemoSummary } from "../demo/run-demo.ts";
import { LocalHost } from "../hosts/local-host.ts";
import { LocalEnvironment } from "../local/environment.ts";
import { freePort } from "../local/free-port.ts";

export interface BenchResult extends DemoSummary {
  readonly lakeBytesPerTick: number;
  readonly peakRssMb: number;
  readonly elapsedMs: number;
  /** Per flush, p50 and p99 of each step (ms): stage (PUTs), commit (the Kafka transaction), publish (COPY + DELETE). */
  readonly flushStepsMs: Record<"stage" | "commit" | "publish", { p50: number; p99: number }>;
}

export async function runBench(options: {
  count: number;
  onProgress?: (message: string) => void;
}): Promise<BenchResult> {
  const home = await mkdtemp(path.join(tmpdir(), "tickstream-bench-"));
  const settings = {
    brokerPort: await freePort(),
    controllerPort: await freePort(),
    s3Port: await freePort(),
  };
  await writeFile(path.join(home, "settings.json"), JSON.stringify(settings));
  // The jars are shared with the working directory's home, so a bench costs no download after the first.
  process.env.TICKSTREAM_KAFKA_CACHE ??= path.resolve(".tickstream", "kafka");
  const environment = new LocalEnvironment(
    loadLocalSettings(home),
    home,
    new LocalHost(),
    options.onProgress,
  );
  let peakRss = process.memoryUsage.rss();
  const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage.rss())), 100);
  const startedAt = Date.now();
  try {
    await environment.up();
    const steps = { stage: [] as number[], commit: [] as number[], publish: [] as number[] };
    const { producerId: _producerId, ...summary } = await runDemo(environment, {
      count: options.count,
      source: "synthetic",
      onProgress: options.onProgress,
      onFlush: (event) => {
        for (const step of ["stage", "commit", "publish"] as const) steps[step].push(event.stepMs[step]);
      },
    });
    const stepPercentiles = (values: number[]) => {
      const sorted = [...values].sort((a, b) => a - b);
      return { p50: Math.round(percentile(sorted, 0.5)), p99: Math.round(percentile(sorted, 0.99)) };
    };
    return {
      ...summary,
      lakeBytesPerTick: Math.round((summary.bytes / Math.max(1, summary.inLake)) * 100) / 100,
      peakRssMb: Math.round(peakRss / 1024 / 1024),
      elapsedMs: Date.now() - startedAt,
      flushStepsMs: {
        stage: stepPercentiles(steps.stage),
        commit: stepPercentiles(steps.commit),
        publish: stepPercentiles(steps.publish),
      },
    };
  } finally {
    clearInterval(sampler);
    await environment.down();
    await rm(home, { recursive: true, force: true });
  }
}
