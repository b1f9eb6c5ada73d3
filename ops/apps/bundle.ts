/**
 * Bundles an app service with esbuild into ES modules in one folder (BUNDLE_FILES); DuckDB stays outside (a native
 * module, shipped beside them).
 */
import { build } from "esbuild";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { AppName } from "./app-names.ts";

export { APP_NAMES, type AppName } from "./app-names.ts";

/**
 * @platformatic/kafka's CRC-32C and compressors are WebAssembly that `@platformatic/wasm-utils` reads from a file
 * beside its module (`new URL("../dist/native.wasm", import.meta.url)`), which a bundle does not have; its
 * `bundled` entry carries the same module inline.
 */
const BUNDLE_ALIASES = { "@platformatic/wasm-utils": "@platformatic/wasm-utils/bundled" };

/**
 * Each app's bundle: the files written into one folder, each built from its entry point with the same options.
 * The consumer's lake sink starts its encode worker (a worker thread) from `encode-worker.mjs` beside `app.mjs`
 * (apps/consumer/encode-thread.ts).
 */
const ENTRY_POINTS: Record<AppName, Readonly<Record<string, string>>> = {
  producer: { "app.mjs": fileURLToPath(new URL("../../apps/producer/service.ts", import.meta.url)) },
  consumer: {
    "app.mjs": fileURLToPath(new URL("../../apps/consumer/service.ts", import.meta.url)),
    "encode-worker.mjs": fileURLToPath(new URL("../../apps/consumer/encode-worker.ts", import.meta.url)),
  },
  rollup: { "app.mjs": fileURLToPath(new URL("../../apps/rollup/service.ts", import.meta.url)) },
};

/** The files of each app's bundle, all in one folder: what `app deploy` uploads into the app's directory. */
export const BUNDLE_FILES: Record<AppName, readonly string[]> = {
  producer: Object.keys(ENTRY_POINTS.producer),
  consumer: Object.keys(ENTRY_POINTS.consumer),
  rollup: Object.keys(ENTRY_POINTS.rollup),
};

/**
 * Packages the bundle needs beside it at run time, in node_modules/: DuckDB (native) for the consumer only. The
 * services' environment check parses the Iceberg catalog location without loading any catalog code
 * (apps/iceberg/catalog-location.ts), so the producer and rollup bundles import nothing of DuckDB
 * (test/ops/apps/bundles.test.ts).
 */
export const NATIVE_PACKAGES: Record<AppName, readonly string[]> = {
  producer: [],
  rollup: [],
  consumer: ["@duckdb/node-api", "@duckdb/node-bindings", "@duckdb/node-bindings-linux-x64"],
};

/**
 * Writes the app's bundle (BUNDLE_FILES) into a new temporary folder; returns the path of its `app.mjs`, the
 * service's entry (the folder is its dirname; the caller removes it).
 */
export async function bundleApp(app: AppName): Promise<string> {
  const outdir = await mkdtemp(path.join(tmpdir(), `tickstream-${app}-`));
  await build({
    // Each entry is bundled whole (no code splitting): `out` is its file's name without ".mjs".
    entryPoints: Object.entries(ENTRY_POINTS[app]).map(([file, source]) => ({
      in: source,
      out: path.basename(file, ".mjs"),
    })),
    outdir,
    outExtension: { ".js": ".mjs" },
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node20",
    external: ["@duckdb/node-api", "@duckdb/node-bindings"],
    alias: BUNDLE_ALIASES,
    // CommonJS dependencies (kafkajs, the AWS SDK) call require(); give the ES module one.
    banner: {
      js: "import { createRequire as __tickstreamRequire } from 'node:module'; const require = __tickstreamRequire(import.meta.url);",
    },
    logLevel: "silent",
  });
  return path.join(outdir, "app.mjs");
}

/**
 * The quote poller's Lambda code: one ES module, `index.mjs`, exporting `handler` (Lambda's Node.js runtimes
 * load `.mjs` handlers as ES modules). Nothing native: DuckDB is not part of it.
 */
export async function bundleQuotesFunction(outdir?: string): Promise<string> {
  const target = outdir ?? (await mkdtemp(path.join(tmpdir(), "tickstream-quotes-function-")));
  const outfile = path.join(target, "index.mjs");
  await build({
    entryPoints: [fileURLToPath(new URL("../../apps/quotes/lambda-handler.ts", import.meta.url))],
    outfile,
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node22",
    alias: BUNDLE_ALIASES,
    banner: {
      js: "import { createRequire as __tickstreamRequire } from 'node:module'; const require = __tickstreamRequire(import.meta.url);",
    },
    logLevel: "silent",
  });
  return outfile;
}
