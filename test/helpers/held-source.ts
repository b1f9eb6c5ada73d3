/** A tick source that holds its last ticks back until the test says so (for the fault suite). */
import type { SourceTick, TickSource } from "../../apps/producer/sources/source.ts";

/**
 * Yields `source`'s first `freely` ticks, then waits for `released` before the rest: production outlasts
 * whatever the test does meanwhile (kills, freezes), however slow the machine, so every fault hits a stream
 * with ticks still to come.
 */
export function holdingBack(source: TickSource, freely: number, released: Promise<void>): TickSource {
  return {
    name: source.name,
    historical: source.historical,
    async *ticks(onRowError): AsyncIterable<SourceTick> {
      let yielded = 0;
      for await (const tick of source.ticks(onRowError)) {
        if (yielded === freely) await released;
        yield tick;
        yielded++;
      }
    },
  };
}

/** A promise and the function that resolves it. */
export function gate(): { readonly opened: Promise<void>; readonly open: () => void } {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { opened, open };
}
