/** What `tickstream crawl` does (commands/crawl.ts registers it): Glue's crawler for a stack, else the local one. */
import { GlueClient } from "@aws-sdk/client-glue";
import { runGlueCrawler } from "../../../apps/catalog/glue-crawler.ts";
import { crawlLocalLake, type CrawlReport } from "../../../apps/catalog/local-crawler.ts";
import { loadStackOutputs } from "../../environments/stack-outputs.ts";
import { LocalEnvironment } from "../../local/environment.ts";
import type { CrawlOptions } from "../commands/crawl.ts";
import { formatPairs, type Output } from "../output.ts";
import { onShutdownSignals } from "../signals.ts";

function describeReport(report: CrawlReport): string {
  const list = (items: readonly string[]) => (items.length > 0 ? items.join(", ") : "none");
  const pairs: [string, unknown][] = [
    ["tables created", list(report.tablesCreated)],
    ["tables updated", list(report.tablesUpdated)],
    ["partitions added", list(report.partitionsAdded)],
  ];
  if (report.newObjects !== undefined)
    pairs.push(["new objects", `${report.newObjects} (of ${report.objectsSeen} in the lake)`]);
  return formatPairs(pairs);
}

export async function run(output: Output, options: CrawlOptions): Promise<void> {
  if (options.outputs || options.stack) {
    const outputs = await loadStackOutputs(options);
    const glue = new GlueClient({ region: outputs.region });
    const signals = onShutdownSignals();
    try {
      const report = await runGlueCrawler({
        glue,
        crawlerName: outputs.crawlerName,
        database: outputs.glueDatabase,
        onProgress: (message) => output.progress(message),
        signal: signals.stop,
      });
      output.result(report, describeReport(report));
    } finally {
      signals.dispose();
      glue.destroy();
    }
    return;
  }
  const environment = LocalEnvironment.fromEnvironment();
  const s3 = await environment.lakeClient();
  try {
    const { report } = await crawlLocalLake({
      s3,
      bucket: environment.lake.bucket,
      cacheDir: environment.paths.lakeCacheDir,
      catalogDir: environment.paths.catalogDir,
      onProgress: (message) => output.progress(message),
    });
    output.result(report, describeReport(report));
  } finally {
    s3.destroy();
  }
}
