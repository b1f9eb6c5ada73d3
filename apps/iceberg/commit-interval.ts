/**
 * The default `icebergCommitIntervalMs`: at most one table commit per 5 s per lake sink. The README's lake
 * section gives the measurement behind it (commits and metadata objects a day against freshness). Its own file,
 * so that settings and every app's environment can name it without loading the table code.
 */
export const DEFAULT_ICEBERG_COMMIT_INTERVAL_MS = 5_000;
