// The dashboard page: a snapshot from /api/state, then live updates from /api/events (Server-Sent Events).
// Plain ES module, no build step; the charts are TradingView's lightweight-charts, served from node_modules.
import { CandlestickSeries, ColorType, HistogramSeries, createChart } from "/vendor/lightweight-charts.mjs";

const UP = "#26a69a";
const DOWN = "#ef5350";
const PROVISIONAL_UP = "#7fcfc6";
const PROVISIONAL_DOWN = "#f3a3a1";

/** What the page holds, for people (the DOM) and for tests (window.tickstream). */
const state = {
  info: null,
  candles: {},
  quotes: [],
  pipeline: null,
  ready: false,
  updates: 0,
};
window.tickstream = state;

const charts = new Map();
let pending = [];

const byId = (id) => document.getElementById(id);
const count = (value) =>
  value === null || value === undefined ? "–" : Math.round(value).toLocaleString("en-US");
const price = (value) => value.toFixed(2);

function duration(ms) {
  if (ms === null || ms === undefined) return "–";
  if (ms < 1_000) return `${Math.round(ms)} ms`;
  if (ms < 120_000) return `${(ms / 1_000).toFixed(1)} s`;
  if (ms < 7_200_000) return `${Math.round(ms / 60_000)} min`;
  if (ms < 172_800_000) return `${(ms / 3_600_000).toFixed(1)} h`;
  return `${Math.round(ms / 86_400_000)} d`;
}

function candleColors(candle) {
  const up = candle.close >= candle.open;
  // With the rollup running, a candle computed here from ticks is the still-open minute: drawn lighter.
  const provisional = candle.kind === "ticks" && state.info?.barsSource === "rollup";
  const color = provisional ? (up ? PROVISIONAL_UP : PROVISIONAL_DOWN) : up ? UP : DOWN;
  return { color, wickColor: color, borderColor: color };
}

function seriesPoint(candle) {
  return {
    time: candle.time,
    open: candle.open,
    high: candle.high,
    low: candle.low,
    close: candle.close,
    ...candleColors(candle),
  };
}

function volumePoint(candle) {
  return {
    time: candle.time,
    value: candle.volume,
    color: candle.close >= candle.open ? "#26a69a66" : "#ef535066",
  };
}

function chartFor(symbol) {
  let chart = charts.get(symbol);
  if (chart) return chart;
  const box = document.createElement("article");
  box.className = "chart";
  box.dataset.symbol = symbol;
  box.innerHTML = `<h3><span class="symbol"></span><span class="muted last"></span></h3><div class="canvas"></div>`;
  box.querySelector(".symbol").textContent = symbol;
  const container = box.querySelector(".canvas");
  const siblings = [...byId("charts").children];
  const before = siblings.find((element) => element.dataset.symbol > symbol);
  byId("charts").insertBefore(box, before ?? null);
  const instance = createChart(container, {
    autoSize: true,
    layout: {
      background: { type: ColorType.Solid, color: "#171d24" },
      textColor: "#d8dee6",
      attributionLogo: true,
    },
    grid: { vertLines: { color: "#222a33" }, horzLines: { color: "#222a33" } },
    // Times are UTC minutes, as in the lake.
    timeScale: { timeVisible: true, secondsVisible: false, borderColor: "#2a323c", rightOffset: 2 },
    rightPriceScale: { borderColor: "#2a323c" },
  });
  const candles = instance.addSeries(CandlestickSeries, {
    upColor: UP,
    downColor: DOWN,
    borderVisible: false,
  });
  candles.priceScale().applyOptions({ scaleMargins: { top: 0.08, bottom: 0.28 } });
  const volume = instance.addSeries(HistogramSeries, {
    priceFormat: { type: "volume" },
    priceScaleId: "",
    lastValueVisible: false,
    priceLineVisible: false,
  });
  volume.priceScale().applyOptions({ scaleMargins: { top: 0.78, bottom: 0 } });
  chart = { box, instance, candles, volume };
  charts.set(symbol, chart);
  return chart;
}

function drawAll(symbol) {
  const chart = chartFor(symbol);
  const list = state.candles[symbol] ?? [];
  chart.candles.setData(list.map(seriesPoint));
  chart.volume.setData(list.map(volumePoint));
  chart.box.dataset.candles = String(list.length);
  if (!chart.fitted && list.length > 0) {
    chart.instance.timeScale().fitContent();
    chart.fitted = true;
  }
}

/** Puts a candle in its symbol's list; draws it incrementally when it is the newest, else redraws. */
function upsert(candle) {
  const list = (state.candles[candle.symbol] ??= []);
  const last = list.at(-1);
  if (!last || candle.time > last.time) list.push(candle);
  else if (candle.time === last.time) list[list.length - 1] = candle;
  else {
    const index = list.findIndex((existing) => existing.time >= candle.time);
    if (list[index].time === candle.time) list[index] = candle;
    else list.splice(index, 0, candle);
    return drawAll(candle.symbol);
  }
  const chart = charts.get(candle.symbol);
  if (!chart) return drawAll(candle.symbol);
  chart.candles.update(seriesPoint(candle));
  chart.volume.update(volumePoint(candle));
  chart.box.dataset.candles = String(list.length);
}

function renderQuotes() {
  const body = byId("quote-table").tBodies[0];
  for (const quote of state.quotes) {
    let row = body.querySelector(`tr[data-symbol="${CSS.escape(quote.symbol)}"]`);
    if (!row) {
      row = document.createElement("tr");
      row.dataset.symbol = quote.symbol;
      row.innerHTML = `<td class="symbol"></td><td class="price"></td><td class="change"></td><td class="percent"></td><td class="volume"></td><td class="minute"></td>`;
      row.querySelector(".symbol").textContent = quote.symbol;
      const after = [...body.rows].find((existing) => existing.dataset.symbol > quote.symbol);
      body.insertBefore(row, after ?? null);
    }
    const direction = quote.change > 0 ? "up" : quote.change < 0 ? "down" : "";
    row.querySelector(".price").textContent = price(quote.price);
    for (const cell of [row.querySelector(".change"), row.querySelector(".percent")])
      cell.className = `${cell.classList[0]} ${direction}`;
    row.querySelector(".change").textContent = `${quote.change >= 0 ? "+" : ""}${price(quote.change)}`;
    row.querySelector(".percent").textContent =
      `${quote.changePercent >= 0 ? "+" : ""}${quote.changePercent.toFixed(2)}%`;
    row.querySelector(".volume").textContent = count(quote.dayVolume);
    row.querySelector(".minute").textContent = new Date(quote.time * 1000)
      .toISOString()
      .slice(0, 16)
      .replace("T", " ");
    const chart = charts.get(quote.symbol);
    if (chart) chart.box.querySelector(".last").textContent = price(quote.price);
  }
}

function renderPipeline() {
  const pipeline = state.pipeline;
  if (!pipeline) return;
  byId("ticks-per-second").textContent = count(pipeline.ticksPerSecond);
  byId("sink-lag-total").textContent = count(pipeline.sinkLagTotal);
  byId("sink-lag-total").className = pipeline.sinkLagTotal > 0 ? "warn" : "";
  byId("freshness").textContent = duration(pipeline.freshnessMs);
  byId("last-flush").textContent =
    pipeline.lastFlushAt === null
      ? "none yet"
      : `${duration(Date.parse(pipeline.at) - Date.parse(pipeline.lastFlushAt))} ago`;
  byId("quarantined").textContent = count(pipeline.quarantined);
  byId("quarantined").className = pipeline.quarantined > 0 ? "warn" : "";
  byId("bars-sink-lag").textContent =
    pipeline.barsSinkLagTotal === null ? "no bar topic" : count(pipeline.barsSinkLagTotal);
  const body = byId("lag-table").tBodies[0];
  body.replaceChildren(
    ...pipeline.sinkLag.map((partition) => {
      const row = document.createElement("tr");
      row.dataset.partition = String(partition.partition);
      for (const value of [
        partition.partition,
        count(partition.endOffset),
        partition.committed === null ? "none" : count(partition.committed),
        count(partition.lag),
      ]) {
        const cell = document.createElement("td");
        cell.textContent = String(value);
        row.append(cell);
      }
      row.lastChild.className = partition.lag > 0 ? "warn lag" : "lag";
      return row;
    }),
  );
}

function renderInfo() {
  const info = state.info;
  const notes = byId("notes");
  notes.replaceChildren(
    ...info.notes.map((text) => {
      const line = document.createElement("p");
      line.style.margin = "0";
      line.textContent = text;
      return line;
    }),
  );
  byId("sources").textContent =
    `${info.tickTopic} → lake (${info.engine === "athena" ? "Athena" : "DuckDB"})` +
    ` · candles: ${info.barsSource === "rollup" ? `the rollup's bars (${info.barsTopic}); the open minute from ticks, lighter` : "computed here from ticks"}`;
  const history = info.history;
  byId("history").textContent =
    `History ${history.fromDate ? `since ${history.fromDate}` : "(empty lake)"}: ${history.queries} queries` +
    (history.bytesScanned !== null ? `, ${count(history.bytesScanned)} bytes scanned` : "") +
    (history.costUsd !== null ? `, cost $${history.costUsd.toFixed(6)}` : "");
  for (const symbol of Object.keys(state.candles)) drawAll(symbol);
}

function apply(event, data) {
  if (event === "candles") {
    for (const candle of data.candles) upsert(candle);
    state.quotes = data.quotes;
    renderQuotes();
  } else if (event === "pipeline") {
    state.pipeline = data;
    renderPipeline();
  } else if (event === "info") {
    state.info = data;
    renderInfo();
  }
  state.updates++;
}

async function loadSnapshot() {
  const response = await fetch("/api/state", { cache: "no-store" });
  const snapshot = await response.json();
  state.info = snapshot.info;
  state.candles = snapshot.candles;
  state.quotes = snapshot.quotes;
  state.pipeline = snapshot.pipeline;
  renderInfo();
  renderQuotes();
  renderPipeline();
  for (const [event, data] of pending) apply(event, data);
  pending = [];
  state.ready = true;
}

function connect() {
  const events = new EventSource("/api/events");
  const badge = byId("connection");
  for (const name of ["candles", "pipeline", "info"]) {
    events.addEventListener(name, (message) => {
      const data = JSON.parse(message.data);
      if (state.ready) apply(name, data);
      else pending.push([name, data]);
    });
  }
  events.addEventListener("open", () => {
    badge.dataset.state = "live";
    badge.textContent = "live";
    // After a reconnection the page may have missed updates: start again from a snapshot.
    state.ready = false;
    loadSnapshot().catch((error) => {
      badge.dataset.state = "lost";
      badge.textContent = `snapshot failed: ${error.message}`;
    });
  });
  events.addEventListener("error", () => {
    badge.dataset.state = "lost";
    badge.textContent = "reconnecting";
  });
}

connect();
