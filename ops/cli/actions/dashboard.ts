/** What `tickstream dashboard` does (commands/dashboard.ts registers it): the live page until Ctrl-C. */
import { AthenaClient } from "@aws-sdk/client-athena";
import { InvalidArgumentError } from "commander";
import { rmSync } from "node:fs";
import { rm, writeFile } from "node:fs/promises";
import { crawlLocalLake } from "../../../apps/catalog/local-crawler.ts";
import { Dashboard, type DashboardOptions } from "../../../apps/dashboard/dashboard-server.ts";
import { LakeHealthScanner } from "../../../apps/dashboard/lake-health.ts";
import { loadLakeHistory } from "../../../apps/dashboard/lake-history.ts";
import { LiveFeed } from "../../../apps/dashboard/live-feed.ts";
import { currentTableKeys } from "../../../apps/dashboard/table-files.ts";
import { openCatalog } from "../../../apps/iceberg/open-catalog.ts";
import { createS3Client } from "../../../apps/lake/s3-client.ts";
import { runAthenaQuery } from "../../../apps/query/athena-engine.ts";
import { runLocalQuery } from "../../../apps/query/duckdb-engine.ts";
import { athenaCostUsd } from "../../../apps/query/query-result.ts";
import { brokerConnectionError } from "../../../apps/shared/kafka-client.ts";
import { loadStackOutputs } from "../../environments/stack-outputs.ts";
import { useStackSecurity } from "../../environments/stack-security.ts";
import { LocalEnvironment } from "../../local/environment.ts";
import { localIcebergCatalog } from "../../local/iceberg-catalog.ts";
import type { DashboardCommandOptions } from "../commands/dashboard.ts";
import type { Output } from "../output.ts";
import { untilStopped } from "../signals.ts";
import { catalogTables } from "./query.ts";

function isLoopback(address: string): boolean {
  return address === "localhost" || address === "::1" || /^127\./.test(address);
}

/** The pieces of the dashboard for this machine's lake and broker, or for a stack's. */
async function dashboardSources(
  options: DashboardCommandOptions,
  output: Output,
): Promise<{
  sources: Omit<DashboardOptions, "host" | "port">;
  brokers: readonly string[];
  close: () => void;
  stateFile?: string;
}> {
  const settings = LocalEnvironment.fromEnvironment().settings;
  const groups = { tickSinkGroup: settings.consumerGroup, barsSinkGroup: `${settings.consumerGroup}-bars` };
  const topics = { tickTopic: settings.topic, barsTopic: settings.barsTopic };
  const feed = (brokers: readonly string[]) => (book: Dashboard["book"]) =>
    new LiveFeed({
      bootstrapServers: brokers,
      ...topics,
      ...groups,
      lakeOffset: (partition) => book.lakeOffset(partition),
      onTick: (tick, partition, offset) => book.addTick(tick, partition, offset),
      onBar: (bar) => book.addBar(bar),
      onWarning: (message) => output.warn(message),
    });
  if (options.outputs || options.stack) {
    const outputs = await loadStackOutputs(options);
    await useStackSecurity(outputs);
    // AWS_ENDPOINT_URL(_S3) points the clients elsewhere (an emulator): then the lake is addressed by path.
    const s3 = createS3Client({
      bucket: outputs.lakeBucket,
      region: outputs.region,
      endpoint: process.env.AWS_ENDPOINT_URL_S3 ?? process.env.AWS_ENDPOINT_URL,
    });
    const athena = new AthenaClient({ region: outputs.region });
    return {
      sources: {
        ...topics,
        engine: "athena",
        loadHistory: async () =>
          loadLakeHistory({
            s3,
            bucket: outputs.lakeBucket,
            tables: await catalogTables(options),
            athenaIceberg: true,
            runSql: (sql) =>
              runAthenaQuery(sql, {
                athena,
                workgroup: outputs.athenaWorkgroup,
                database: outputs.glueDatabase,
                onProgress: (message) => output.progress(message),
              }),
          }),
        createFeed: feed(outputs.bootstrapServers.split(",")),
        lakeHealth: new LakeHealthScanner(
          s3,
          outputs.lakeBucket,
          settings.topic,
          currentTableKeys(
            s3,
            outputs.lakeBucket,
            openCatalog(`glue:${outputs.glueDatabase}`, {
              region: outputs.region,
              endpoint: process.env.AWS_ENDPOINT_URL_GLUE ?? process.env.AWS_ENDPOINT_URL,
            }),
          ),
        ),
        costOfBytes: athenaCostUsd,
      },
      brokers: outputs.bootstrapServers.split(","),
      close: () => {
        s3.destroy();
        athena.destroy();
      },
    };
  }
  const environment = LocalEnvironment.fromEnvironment();
  const s3 = await environment.lakeClient();
  const local = {
    s3,
    bucket: environment.lake.bucket,
    cacheDir: environment.paths.lakeCacheDir,
    catalogDir: environment.paths.catalogDir,
  };
  return {
    sources: {
      ...topics,
      engine: "duckdb",
      loadHistory: async () => {
        // The local catalog is what DuckDB's views read: bring it up to date with the lake first.
        await crawlLocalLake({ ...local, onProgress: (message) => output.progress(`crawl: ${message}`) });
        // The Iceberg tables' current snapshots when the lake has them (catalogTables names them then).
        const tables = await catalogTables({});
        const iceberg = (await localIcebergCatalog(environment).load("ticks"))
          ? { iceberg: { catalog: localIcebergCatalog(environment) } }
          : {};
        return loadLakeHistory({
          ...local,
          tables,
          runSql: (sql) => runLocalQuery(sql, { ...local, ...iceberg }),
        });
      },
      createFeed: feed(environment.bootstrapServers),
      lakeHealth: new LakeHealthScanner(
        s3,
        environment.lake.bucket,
        settings.topic,
        currentTableKeys(s3, environment.lake.bucket, localIcebergCatalog(environment)),
      ),
    },
    brokers: environment.bootstrapServers,
    close: () => s3.destroy(),
    stateFile: environment.paths.dashboardFile,
  };
}

export async function run(output: Output, options: DashboardCommandOptions): Promise<number> {
  if (!isLoopback(options.host))
    output.warn(
      `binding ${options.host}: the page (prices, topic names, lag; never a credential) is readable by anyone who can reach this address`,
    );
  // Signals are taken over first: a signal at any moment of the start-up abandons it at once.
  const lifecycle = untilStopped(output, "stopping the dashboard");
  let stateFile: string | undefined;
  lifecycle.onAbandon(() => {
    if (stateFile) rmSync(stateFile, { force: true });
  });
  try {
    lifecycle.doing(
      options.outputs || options.stack ? "reading the stack's outputs" : "connecting to the local lake",
    );
    const pieces = await dashboardSources(options, output);
    stateFile = pieces.stateFile;
    const { sources, brokers, close } = pieces;
    lifecycle.onAbandon(close);
    const dashboard = new Dashboard({
      ...sources,
      loadHistory: () => {
        lifecycle.doing("loading the lake's history");
        return sources.loadHistory();
      },
      createFeed: (book) => {
        lifecycle.doing(`connecting the live feed to the broker (${brokers.join(",")})`);
        return sources.createFeed(book);
      },
      host: options.host,
      port: options.port,
      onProgress: (message) => output.progress(message),
      onWarning: (message) => output.warn(message),
    });
    try {
      const url = await dashboard.start().catch((error: unknown) => {
        const code = (error as NodeJS.ErrnoException).code;
        if (code === "EADDRINUSE")
          throw new InvalidArgumentError(`port ${options.port} is in use: pick another with --port`);
        let root: unknown = error;
        while ((root as { cause?: unknown }).cause) root = (root as { cause: unknown }).cause;
        if (/^KafkaJS(Connection|SASLAuthentication)Error$/.test((root as Error).name ?? ""))
          throw brokerConnectionError(error, brokers, "tickstream-dashboard");
        throw error;
      });
      if (stateFile) await writeFile(stateFile, JSON.stringify({ url, pid: process.pid }));
      lifecycle.running("serving the page");
      output.result({ url }, `dashboard: ${url}  (Ctrl-C to stop)`);
      await lifecycle.stopped();
      lifecycle.doing("closing the live feed (leaving its consumer group)");
    } finally {
      await dashboard.stop();
      if (stateFile) await rm(stateFile, { force: true });
      close();
    }
    return lifecycle.finish();
  } finally {
    lifecycle.dispose();
  }
}
