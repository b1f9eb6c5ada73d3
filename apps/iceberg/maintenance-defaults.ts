/**
 * The defaults of the tables' maintenance: compaction's target file size (compaction.ts) and snapshot expiry's
 * cutoffs (snapshot-expiry.ts). Their own file, so that the CLI's help (`tickstream lake compact|expire --help`)
 * can name them without loading the table code.
 */

/** Iceberg's write.target-file-size-bytes default. */
export const DEFAULT_TARGET_FILE_BYTES = 128 * 1024 * 1024;

export const DEFAULT_EXPIRE_OLDER_THAN_MS = 5 * 86_400_000;
export const DEFAULT_RETAIN_LAST = 10;
export const DEFAULT_ORPHAN_GRACE_MS = 3 * 86_400_000;
