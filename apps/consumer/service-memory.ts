/**
 * The memory settings the lake sink runs with as a service (`app deploy` writes them to its env file; the bench
 * runs its sinks with them): what keeps one member's peak RSS within 250 MB at full speed on 3 partitions.
 *
 * - NODE_OPTIONS: the main thread's old space at 64 MB (its live set is about 45 MB: code, kafkajs' fetched
 *   batches, the flushes in flight) and a 2 MB semi-space (the young generation, which V8 otherwise grows to
 *   48 MB under a fast consumer). The encode worker has its own limits (encode-thread.ts).
 * - MALLOC_ARENA_MAX=2: DuckDB runs its queries on libuv's pool threads, and glibc gives each thread its own
 *   malloc arena, whose freed memory stays resident (measured: 285 MB peak with the default arenas, 253 with 2).
 *
 * A member holding many partitions holds more: each assigned partition buffers up to a flush (25,000 records,
 * about 4 MB as packed JSON, outside the JS heap) plus up to two sealed flushes; so RSS grows with partitions,
 * the main thread's heap hardly (not measured beyond 3 partitions). If the log shows "JavaScript heap out of
 * memory", raise the old space in NODE_OPTIONS in the app's env file (/etc/tickstream/consumer.env).
 */
export const SINK_SERVICE_MEMORY: Readonly<Record<string, string>> = {
  NODE_OPTIONS: "--max-old-space-size=64 --max-semi-space-size=2",
  MALLOC_ARENA_MAX: "2",
};
