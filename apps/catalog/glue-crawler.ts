/**
 * The cloud crawl: start the stack's Glue crawler, wait with progress until it is READY again, and report what
 * changed in the Glue database. An already-running crawler is waited for, then started. The report comes
 * from comparing the database's tables and partitions before and after, which says exactly what this crawl
 * added, where GetCrawlerMetrics gives rolling counts over the crawler's recent runs.
 */
import {
  CrawlerRunningException,
  GetCrawlerCommand,
  StartCrawlerCommand,
  paginateGetPartitions,
  paginateGetTables,
  type GlueClient,
} from "@aws-sdk/client-glue";
import { TickstreamError } from "../shared/errors.ts";
import { backoffDelayMs, sleep } from "../shared/retry.ts";
import type { CrawlReport } from "./local-crawler.ts";

export class CrawlerError extends TickstreamError {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super("CRAWLER", message, options);
  }
}

interface DatabaseSnapshot {
  /** Table -> "name:type,..." of its columns. */
  readonly tables: Map<string, string>;
  /** "table/dt=..." */
  readonly partitions: Set<string>;
}

async function snapshot(glue: GlueClient, database: string): Promise<DatabaseSnapshot> {
  const tables = new Map<string, string>();
  const partitions = new Set<string>();
  for await (const page of paginateGetTables({ client: glue }, { DatabaseName: database })) {
    for (const table of page.TableList ?? []) {
      const columns = (table.StorageDescriptor?.Columns ?? [])
        .map((column) => `${column.Name}:${column.Type}`)
        .join(",");
      tables.set(table.Name!, columns);
      const keys = (table.PartitionKeys ?? []).map((key) => key.Name!);
      if (keys.length === 0) continue;
      for await (const partitionPage of paginateGetPartitions(
        { client: glue },
        { DatabaseName: database, TableName: table.Name! },
      )) {
        for (const partition of partitionPage.Partitions ?? []) {
          const values = (partition.Values ?? []).map((value, index) => `${keys[index]}=${value}`).join("/");
          partitions.add(`${table.Name}/${values}`);
        }
      }
    }
  }
  return { tables, partitions };
}

export interface GlueCrawlOptions {
  readonly glue: GlueClient;
  readonly crawlerName: string;
  readonly database: string;
  readonly pollIntervalMs?: number;
  readonly timeoutMs?: number;
  readonly onProgress?: (message: string) => void;
  readonly signal?: AbortSignal;
}

async function crawlerState(glue: GlueClient, name: string) {
  const { Crawler } = await glue.send(new GetCrawlerCommand({ Name: name }));
  return { state: Crawler?.State ?? "READY", lastCrawl: Crawler?.LastCrawl };
}

async function waitUntilReady(options: GlueCrawlOptions, deadline: number, what: string): Promise<void> {
  let attempt = 0;
  let lastState = "";
  for (;;) {
    const { state } = await crawlerState(options.glue, options.crawlerName);
    if (state === "READY") return;
    if (state !== lastState)
      options.onProgress?.(`crawler ${options.crawlerName}: ${state.toLowerCase()}${what}`);
    lastState = state;
    if (Date.now() > deadline)
      throw new CrawlerError(`crawler ${options.crawlerName} is still ${state} after the timeout`);
    if (options.signal?.aborted)
      throw new CrawlerError(`stopped waiting for crawler ${options.crawlerName} (it goes on in AWS)`);
    await sleep(
      options.pollIntervalMs ??
        backoffDelayMs(attempt++, { initialDelayMs: 1_000, maxDelayMs: 15_000, multiplier: 1.5 }),
      options.signal,
    );
  }
}

export async function runGlueCrawler(options: GlueCrawlOptions): Promise<CrawlReport> {
  const deadline = Date.now() + (options.timeoutMs ?? 30 * 60_000);
  const { state } = await crawlerState(options.glue, options.crawlerName);
  if (state !== "READY") {
    options.onProgress?.(
      `crawler ${options.crawlerName} is already ${state.toLowerCase()}; waiting for it to finish first`,
    );
    await waitUntilReady(options, deadline, "");
  }
  const before = await snapshot(options.glue, options.database);
  for (;;) {
    try {
      await options.glue.send(new StartCrawlerCommand({ Name: options.crawlerName }));
      break;
    } catch (error) {
      if (!(error instanceof CrawlerRunningException)) throw error;
      // Someone else (or the schedule) started it between our check and our start: wait for that run.
      await waitUntilReady(options, deadline, " (started elsewhere)");
    }
  }
  options.onProgress?.(`crawler ${options.crawlerName} started`);
  await waitUntilReady(options, deadline, "");
  const { lastCrawl } = await crawlerState(options.glue, options.crawlerName);
  if (lastCrawl?.Status === "FAILED" || lastCrawl?.Status === "CANCELLED") {
    throw new CrawlerError(
      `crawler ${options.crawlerName} ${lastCrawl.Status.toLowerCase()}: ${lastCrawl.ErrorMessage ?? "no reason given"}`,
    );
  }
  const after = await snapshot(options.glue, options.database);
  const tablesCreated = [...after.tables.keys()].filter((name) => !before.tables.has(name)).sort();
  const tablesUpdated = [...after.tables.entries()]
    .filter(([name, columns]) => before.tables.has(name) && before.tables.get(name) !== columns)
    .map(([name]) => name)
    .sort();
  const partitionsAdded = [...after.partitions]
    .filter((partition) => !before.partitions.has(partition))
    .sort();
  return { tablesCreated, tablesUpdated, partitionsAdded };
}
