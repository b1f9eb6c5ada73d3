/** Bundles an app service into one ES module with esbuild; DuckDB stays outside (a native module, shipped beside it). */
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

const ENTRY_POINTS: Record<AppName, string> = {
  producer: fileURLToPath(new URL("../../apps/producer/service.ts", import.meta.url)),
  consumer: fileURLToPath(new URL("../../apps/consumer/service.ts", import.meta.url)),
  rollup: fileURLToPath(new URL("../../apps/rollup/service.ts", import.meta.url)),
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

export async function bundleApp(app: AppName): Promise<string> {
  const outdir = await mkdtemp(path.join(tmpdir(), `tickstream-${app}-`));
  const outfile = path.join(outdir, "app.mjs");
  await build({
    entryPoints: [ENTRY_POINTS[app]],
    outfile,
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node20",
    external: ["@duckdb/node-api"],
    alias: BUNDLE_ALIASES,
    // CommonJS dependencies (kafkajs, the AWS SDK) call require(); give the ES module one.
    banner: {
      js: "import { createRequire as __tickstreamRequire } from 'node:module'; const require = __tickstreamRequire(import.meta.url);",
    },
    logLevel: "silent",
  });
  return outfile;
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
