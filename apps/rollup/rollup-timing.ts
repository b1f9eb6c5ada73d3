/**
 * The rollup's timing and its defaults. Their own file, so that the CLI's help (`tickstream rollup --help`) can
 * name them without loading the rollup.
 */
export interface RollupTiming {
  /** How far behind the newest event time a tick may arrive and still be in its bar's first emission. */
  readonly latenessMs: number;
  /** How long (in stream time) after its minute an emitted bar can still be revised. */
  readonly revisionWindowMs: number;
}

export const DEFAULT_ROLLUP_TIMING: RollupTiming = { latenessMs: 5_000, revisionWindowMs: 60 * 60_000 };
