/** Builds a source from the CLI's `--source synthetic|csv:PATH`. */
import { SourceError } from "../../shared/errors.ts";
import { CsvSource } from "./csv.ts";
import type { TickSource } from "./source.ts";
import { SyntheticSource, type SyntheticOptions } from "./synthetic.ts";

export function createSource(spec: string, synthetic: SyntheticOptions = {}): TickSource {
  if (spec === "synthetic") return new SyntheticSource(synthetic);
  if (spec.startsWith("csv:") && spec.length > 4) return new CsvSource(spec.slice(4));
  throw new SourceError(`--source "${spec}": expected synthetic, csv:PATH or quotes:PROVIDER`);
}

export type { SourceRowError, SourceTick, TickSource } from "./source.ts";
