/**
 * The rollup of one input partition: the bars still open, the bars already emitted that a late tick may still
 * revise, and the partition's stream time (the newest event time seen). The watermark is stream time minus the
 * allowed lateness; a bar is emitted once the watermark passes its minute's end. A bar stays revisable while
 * its minute ended less than `revisionWindowMs` of stream time ago; a tick for a minute older than that cannot
 * be folded into its bar any more: it is counted (`tooLate`), reported, and left to the lake's ticks table.
 *
 * The whole state is a snapshot small enough for the offset commit's metadata (gzip + base64 of compact JSON),
 * so that the state and the offset it belongs to are committed together, in the same transaction as the bars.
 */
import { gunzipSync, gzipSync } from "node:zlib";
import type { Tick } from "../tick/schema.ts";
import {
  addTick,
  barKey,
  barOf,
  MINUTE_MICROS,
  minuteOf,
  newAccumulator,
  tickMicros,
  type Bar,
  type BarAccumulator,
} from "./bar.ts";
import type { RollupTiming } from "./rollup-timing.ts";

export { DEFAULT_ROLLUP_TIMING, type RollupTiming } from "./rollup-timing.ts";

const SNAPSHOT_TAG = "tickstream-rollup/1 ";

export class PartitionRollup {
  /** Newest event time seen, in microseconds (-Infinity before the first tick). */
  streamMicros = Number.NEGATIVE_INFINITY;
  tooLate = 0;
  /** Bars by key: open ones (nextRevision 0) and emitted ones still revisable. */
  private readonly bars = new Map<string, BarAccumulator>();
  /** Bars changed since their last emission, to emit at the next `due()`. */
  private readonly changed = new Set<string>();

  constructor(private readonly timing: RollupTiming) {}

  get watermarkMicros(): number {
    return this.streamMicros - this.timing.latenessMs * 1_000;
  }

  get openBars(): number {
    let open = 0;
    for (const bar of this.bars.values()) if (bar.nextRevision === 0) open++;
    return open;
  }

  /** Folds a tick in; false when it is too late for any bar (counted in `tooLate`). */
  add(tick: Tick, offset: number): boolean {
    const micros = tickMicros(tick);
    const minute = minuteOf(micros);
    const key = barKey(tick.symbol, minute);
    const existing = this.bars.get(key);
    if (existing) {
      addTick(existing, micros, offset, tick);
      if (existing.nextRevision > 0) this.changed.add(key);
    } else if (minute + MINUTE_MICROS <= this.streamMicros - this.timing.revisionWindowMs * 1_000) {
      this.tooLate++;
      return false;
    } else {
      this.bars.set(key, newAccumulator(tick.symbol, micros, offset, tick));
    }
    if (micros > this.streamMicros) this.streamMicros = micros;
    return true;
  }

  /**
   * The bars to emit now: those whose minute the watermark has passed, for the first time (revision 0), and
   * those a late tick changed since they were emitted (their next revision). `closeAll` emits every open bar
   * (the partition has been idle, or the rollup stops). Marks them emitted and forgets bars past the window.
   */
  due(closeAll = false): Bar[] {
    const out: Bar[] = [];
    const watermark = this.watermarkMicros;
    for (const [key, bar] of this.bars) {
      const closed = bar.minuteMicros + MINUTE_MICROS <= watermark;
      if ((bar.nextRevision === 0 && (closed || closeAll)) || this.changed.has(key)) {
        out.push(barOf(bar, bar.nextRevision));
        bar.nextRevision++;
      }
    }
    this.changed.clear();
    const horizon = this.streamMicros - this.timing.revisionWindowMs * 1_000;
    for (const [key, bar] of this.bars)
      if (bar.nextRevision > 0 && bar.minuteMicros + MINUTE_MICROS <= horizon) this.bars.delete(key);
    out.sort((a, b) =>
      a.minute === b.minute ? a.symbol.localeCompare(b.symbol) : a.minute < b.minute ? -1 : 1,
    );
    return out;
  }

  snapshot(): string {
    const rows = [...this.bars.values()].map((bar) => [
      bar.symbol,
      bar.minuteMicros,
      bar.openMicros,
      bar.openOffset,
      bar.open,
      bar.closeMicros,
      bar.closeOffset,
      bar.close,
      bar.high,
      bar.low,
      bar.volume,
      bar.priceVolume,
      bar.ticks,
      bar.nextRevision,
    ]);
    const body = JSON.stringify({
      s: Number.isFinite(this.streamMicros) ? this.streamMicros : null,
      l: this.tooLate,
      b: rows,
    });
    return SNAPSHOT_TAG + gzipSync(body).toString("base64");
  }

  /** The state a committed snapshot describes (an empty one for no metadata, as for a new group). */
  static restore(metadata: string | null, timing: RollupTiming): PartitionRollup {
    const rollup = new PartitionRollup(timing);
    if (!metadata || !metadata.startsWith(SNAPSHOT_TAG)) return rollup;
    const body = JSON.parse(
      gunzipSync(Buffer.from(metadata.slice(SNAPSHOT_TAG.length), "base64")).toString(),
    ) as {
      s: number | null;
      l: number;
      b: [
        string,
        number,
        number,
        number,
        number,
        number,
        number,
        number,
        number,
        number,
        number,
        number,
        number,
        number,
      ][];
    };
    rollup.streamMicros = body.s ?? Number.NEGATIVE_INFINITY;
    rollup.tooLate = body.l;
    for (const row of body.b) {
      const [symbol, minuteMicros, openMicros, openOffset, open, closeMicros, closeOffset, close, high, low] =
        row;
      const bar: BarAccumulator = {
        symbol,
        minuteMicros,
        openMicros,
        openOffset,
        open,
        closeMicros,
        closeOffset,
        close,
        high,
        low,
        volume: row[10],
        priceVolume: row[11],
        ticks: row[12],
        nextRevision: row[13],
      };
      rollup.bars.set(barKey(symbol, minuteMicros), bar);
    }
    return rollup;
  }
}
