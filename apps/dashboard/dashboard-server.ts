/**
 * The dashboard: one page served by Node's http server, its assets from the project (apps/dashboard/page/) and
 * its charting library from node_modules, so it works with no Internet. The page gets a snapshot
 * (`/api/state`) and then Server-Sent Events (`/api/events`): `candles` (changed candles and the quotes) every
 * half second when something changed, `pipeline` (rates, lag, freshness, quarantine) every second, `info` when
 * what the page says about its sources changes. Nothing the server sends holds a credential: only symbols,
 * prices, counts and topic names. Requests whose Host header is not the server's own are refused (a page
 * elsewhere cannot read it through DNS rebinding).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { faultPoint } from "../consumer/fault-points.ts";
import { errorMessage } from "../shared/errors.ts";
import { CandleBook, type Candle, type Quote } from "./candle-book.ts";
import type { LakeHealth, LakeHealthScanner } from "./lake-health.ts";
import type { LakeHistory } from "./lake-history.ts";
import type { KafkaHealth, LiveFeed } from "./live-feed.ts";

export interface DashboardInfo {
  readonly engine: "duckdb" | "athena";
  readonly tickTopic: string;
  readonly barsTopic: string;
  /** "rollup": candles are the rollup's bars (the open minute from ticks); "ticks": all from ticks. */
  readonly barsSource: "rollup" | "ticks";
  readonly notes: readonly string[];
  readonly history: {
    readonly fromDate: string | null;
    readonly queries: number;
    readonly bytesScanned: number | null;
    readonly costUsd: number | null;
  };
}

export interface PipelineState extends KafkaHealth, LakeHealth {
  readonly at: string;
  readonly invalidMessages: number;
}

export interface DashboardState {
  readonly info: DashboardInfo;
  readonly candles: Record<string, Candle[]>;
  readonly quotes: Quote[];
  readonly pipeline: PipelineState | null;
}

export interface DashboardOptions {
  readonly host: string;
  readonly port: number;
  readonly tickTopic: string;
  readonly barsTopic: string;
  readonly engine: "duckdb" | "athena";
  readonly loadHistory: () => Promise<LakeHistory>;
  readonly createFeed: (book: CandleBook) => LiveFeed;
  readonly lakeHealth: LakeHealthScanner;
  /** What Athena bills for one query that scanned this many bytes (for the cost shown); undefined for DuckDB. */
  readonly costOfBytes?: (bytes: number) => number;
  readonly onProgress?: (message: string) => void;
  readonly onWarning?: (message: string) => void;
}

const PAGE_DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), "page");
const CHARTS_FILE = path.join(
  path.dirname(createRequire(import.meta.url).resolve("lightweight-charts/package.json")),
  "dist/lightweight-charts.standalone.production.mjs",
);
const ASSETS: Record<string, { file: string; type: string }> = {
  "/": { file: path.join(PAGE_DIR, "index.html"), type: "text/html; charset=utf-8" },
  "/dashboard.js": { file: path.join(PAGE_DIR, "dashboard.js"), type: "text/javascript; charset=utf-8" },
  "/dashboard.css": { file: path.join(PAGE_DIR, "dashboard.css"), type: "text/css; charset=utf-8" },
  "/vendor/lightweight-charts.mjs": { file: CHARTS_FILE, type: "text/javascript; charset=utf-8" },
};

const CANDLE_INTERVAL_MS = 500;
const PIPELINE_INTERVAL_MS = 1_000;
const BARS_TOPIC_CHECK_MS = 5_000;

export class Dashboard {
  readonly book = new CandleBook();
  private info!: DashboardInfo;
  private pipeline: PipelineState | null = null;
  private feed: LiveFeed | undefined;
  private server: Server | undefined;
  private readonly clients = new Set<ServerResponse>();
  private readonly timers: NodeJS.Timeout[] = [];
  private pipelineBusy = false;
  private address = "";

  constructor(private readonly options: DashboardOptions) {}

  get url(): string {
    return this.address;
  }

  async start(): Promise<string> {
    const { options } = this;
    options.onProgress?.(`reading the lake's history (${options.engine})...`);
    faultPoint("dashboard-history");
    const history = await options.loadHistory();
    for (const bar of history.bars) this.book.addBar(bar);
    for (const minute of history.tickMinutes) this.book.addTickAggregate(minute);
    // Where the history's ticks end, per partition: the live feed starts there and skips what is before.
    for (const [partition, offset] of history.lakeOffsets) this.book.setLakeOffset(partition, offset);
    this.book.takeChanged();
    options.onProgress?.(
      `history: ${history.bars.length} bars and ${history.tickMinutes.length} tick minutes` +
        (history.fromDate ? ` since ${history.fromDate}` : " (the lake is empty)"),
    );
    this.feed = options.createFeed(this.book);
    faultPoint("dashboard-feed");
    await this.feed.start();
    this.info = this.describe(history);
    this.server = createServer((request, response) => void this.handle(request, response));
    await new Promise<void>((resolve, reject) => {
      this.server!.once("error", reject);
      this.server!.listen(options.port, options.host, () => resolve());
    });
    const bound = this.server.address();
    const port = typeof bound === "object" && bound ? bound.port : options.port;
    const hostText = options.host.includes(":") ? `[${options.host}]` : options.host;
    this.address = `http://${hostText}:${port}/`;
    this.timers.push(setInterval(() => this.sendCandles(), CANDLE_INTERVAL_MS));
    this.timers.push(setInterval(() => void this.refreshPipeline(), PIPELINE_INTERVAL_MS));
    this.timers.push(setInterval(() => void this.watchForBarsTopic(), BARS_TOPIC_CHECK_MS));
    await this.refreshPipeline();
    return this.address;
  }

  async stop(): Promise<void> {
    for (const timer of this.timers) clearInterval(timer);
    for (const client of this.clients) client.end();
    this.clients.clear();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
    this.server?.closeAllConnections();
    await this.feed?.stop();
    await this.options.lakeHealth.close();
  }

  state(): DashboardState {
    const candles: Record<string, Candle[]> = {};
    for (const symbol of this.book.symbolNames()) candles[symbol] = this.book.candles(symbol);
    return { info: this.info, candles, quotes: this.book.quotes(), pipeline: this.pipeline };
  }

  private describe(history: LakeHistory): DashboardInfo {
    const { options } = this;
    const fromRollup = this.feed!.readsBars;
    const notes = fromRollup
      ? []
      : [
          `The rollup's topic ${options.barsTopic} does not exist yet: these candles are computed from the ticks by this page. Start the rollup (tickstream rollup) for bars computed in the stream.`,
        ];
    const scanned = history.bytesScanned;
    const bytes = scanned.length > 0 ? scanned.reduce((sum, each) => sum + each, 0) : null;
    const cost =
      scanned.length > 0 && options.costOfBytes
        ? scanned.reduce((sum, each) => sum + options.costOfBytes!(each), 0)
        : null;
    return {
      engine: options.engine,
      tickTopic: options.tickTopic,
      barsTopic: options.barsTopic,
      barsSource: fromRollup ? "rollup" : "ticks",
      notes,
      history: {
        fromDate: history.fromDate ?? null,
        queries: history.queries,
        bytesScanned: bytes,
        costUsd: cost,
      },
    };
  }

  private async watchForBarsTopic(): Promise<void> {
    if (!this.feed || this.feed.readsBars) return;
    try {
      if (!(await this.feed.checkForBarsTopic())) return;
      this.info = { ...this.info, barsSource: "rollup", notes: [] };
      this.options.onProgress?.(`the rollup's topic ${this.options.barsTopic} appeared: reading its bars`);
      this.broadcast("info", this.info);
    } catch (error) {
      this.options.onWarning?.(`cannot start reading ${this.options.barsTopic}: ${errorMessage(error)}`);
    }
  }

  private sendCandles(): void {
    const changed = this.book.takeChanged();
    if (changed.length > 0) this.broadcast("candles", { candles: changed, quotes: this.book.quotes() });
  }

  private async refreshPipeline(): Promise<void> {
    if (this.pipelineBusy || !this.feed) return;
    this.pipelineBusy = true;
    try {
      const kafka = await this.feed.health();
      const lake = await this.options.lakeHealth.scan(kafka.sinkLag.map((lag) => lag.partition));
      this.pipeline = {
        ...kafka,
        ...lake,
        at: new Date().toISOString(),
        invalidMessages: this.feed.invalidMessages,
      };
      this.broadcast("pipeline", this.pipeline);
    } catch (error) {
      this.options.onWarning?.(`pipeline status: ${errorMessage(error)}`);
    } finally {
      this.pipelineBusy = false;
    }
  }

  private broadcast(event: string, data: unknown): void {
    const frame = `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
    for (const client of this.clients) client.write(frame);
  }

  private allowedHost(request: IncomingMessage): boolean {
    const port = new URL(this.address).port;
    const host = request.headers.host ?? "";
    return [new URL(this.address).host, `localhost:${port}`, `127.0.0.1:${port}`, `[::1]:${port}`].includes(
      host,
    );
  }

  private async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    if (!this.allowedHost(request)) {
      response.writeHead(421, { "content-type": "text/plain" }).end("misdirected request\n");
      return;
    }
    if (request.method !== "GET") {
      response.writeHead(405, { allow: "GET" }).end();
      return;
    }
    const route = new URL(request.url ?? "/", "http://dashboard").pathname;
    if (route === "/api/state") {
      response.writeHead(200, { "content-type": "application/json", "cache-control": "no-store" });
      response.end(JSON.stringify(this.state()));
      return;
    }
    if (route === "/api/events") {
      response.writeHead(200, {
        "content-type": "text/event-stream",
        "cache-control": "no-store",
        connection: "keep-alive",
      });
      response.write(": tickstream dashboard\n\n");
      this.clients.add(response);
      request.on("close", () => this.clients.delete(response));
      return;
    }
    const asset = ASSETS[route];
    if (!asset) {
      response.writeHead(404, { "content-type": "text/plain" }).end("not found\n");
      return;
    }
    try {
      const body = await readFile(asset.file);
      response.writeHead(200, { "content-type": asset.type, "cache-control": "no-cache" }).end(body);
    } catch (error) {
      response.writeHead(500, { "content-type": "text/plain" }).end(`${errorMessage(error)}\n`);
    }
  }
}
