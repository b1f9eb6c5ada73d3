/**
 * How long the lake keeps what: the lifecycle of `_staging/` and the retention settings of the Iceberg tables'
 * Glue optimizers, in one place, because each bound is argued from the other. Pure constants: the config
 * validation, the components and the policy pack all read them.
 */

/**
 * The lake bucket's lifecycle expires `_staging/` objects after this many days (infra/components/lake.ts). A
 * committed flush is published from its staged copies, so this is the longest a published-but-not-yet-appended
 * object can wait for its Iceberg append: past it, the staged copies are gone and no sink appends it again.
 */
export const STAGING_EXPIRATION_DAYS = 7;

/**
 * The shortest orphan-file retention the stack accepts: longer than any append can still be pending (the
 * staging expiration above, with a day to spare). Glue's orphan-file deletion deletes a file that no snapshot of
 * the table references once it is older than the retention ("A file awaiting a delayed or retried commit is not
 * yet referenced by that metadata. The optimizer can delete the file after it reaches the configured retention
 * age": Glue Developer Guide, "Deleting orphan files"); the stack also points it at `<table>/metadata/` only.
 */
export const MIN_ORPHAN_FILE_RETENTION_DAYS = STAGING_EXPIRATION_DAYS + 1;

export const ICEBERG_RETENTION_DEFAULTS = {
  /** Snapshots younger than this are kept (time travel, `query --as-of`); Glue's own default is 5. */
  snapshotRetentionDays: 7,
  /**
   * Snapshots kept whatever their age. One is enough for exactly-once: every snapshot the sink commits carries
   * each partition's `tickstream.offset.<topic>.<partition>` forward, so the current one alone says which
   * flushes the table holds; and Iceberg's snapshot expiry never expires the current snapshot. Glue's default.
   */
  snapshotsToRetain: 1,
  /** Unreferenced files under `<table>/metadata/` older than this are deleted. */
  orphanFileRetentionDays: 14,
} as const;
