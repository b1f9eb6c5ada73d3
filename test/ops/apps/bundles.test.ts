import { expect } from "chai";
import { build } from "esbuild";
import { execa } from "execa";
import { readdir, rm, symlink } from "node:fs/promises";
import { builtinModules } from "node:module";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { APP_NAMES, BUNDLE_FILES, bundleApp, NATIVE_PACKAGES } from "../../../ops/apps/bundle.ts";

const NODE_MODULES = fileURLToPath(new URL("../../../node_modules", import.meta.url));

/**
 * The packages a bundle file imports (static, dynamic or re-exported, however esbuild laid the statement out),
 * Node's own modules left out, as esbuild reads them. Plus what a bundled CommonJS module requires through
 * esbuild's `__require`, which no import statement shows.
 */
async function packagesImported(file: string): Promise<string[]> {
  const { metafile, outputFiles } = await build({
    entryPoints: [file],
    bundle: true,
    write: false,
    metafile: true,
    platform: "node",
    format: "esm",
    packages: "external",
    logLevel: "silent",
  });
  const imported = Object.values(metafile.inputs)
    .flatMap((input) => input.imports)
    .filter((entry) => entry.external)
    .map((entry) => entry.path);
  const required = [...outputFiles[0]!.text.matchAll(/__require\("([^"]+)"\)/g)].map((match) => match[1]!);
  return [...new Set([...imported, ...required])].filter(
    (name) => !name.startsWith("node:") && !builtinModules.includes(name),
  );
}

/** Where a host has them: the native packages `app deploy` ships, in node_modules beside the bundle's files. */
async function giveNativePackages(bundleDir: string): Promise<void> {
  await symlink(NODE_MODULES, path.join(bundleDir, "node_modules"), "dir");
}

// What `app deploy` ships is the bundle's ES modules (BUNDLE_FILES), plus the native packages NATIVE_PACKAGES
// names: a bundle file that imports anything else fails on the host (the producer's once did at start-up, when
// the services' environment check pulled in the Iceberg catalog code and with it DuckDB).
describe("the app bundles app deploy ships", function () {
  this.timeout(120_000);

  for (const app of APP_NAMES)
    it(`${app}: its files are BUNDLE_FILES, none imports a package beyond those shipped beside it, and it starts far enough to check its environment`, async function () {
      const file = await bundleApp(app);
      const bundleDir = path.dirname(file);
      try {
        expect(path.basename(file)).to.equal("app.mjs");
        const files = (await readdir(bundleDir)).sort();
        expect(files, "what app deploy uploads").to.deep.equal([...BUNDLE_FILES[app]].sort());
        const shipped = NATIVE_PACKAGES[app];
        for (const module of files.filter((name) => name.endsWith(".mjs")))
          expect(
            (await packagesImported(path.join(bundleDir, module))).filter(
              (name) => !shipped.some((native) => name === native || name.startsWith(`${native}/`)),
            ),
            `${module}: imports not shipped`,
          ).to.deep.equal([]);
        if (shipped.length > 0) await giveNativePackages(bundleDir);
        const run = await execa(process.execPath, [file], {
          cwd: bundleDir,
          env: { PATH: process.env.PATH },
          extendEnv: false,
          reject: false,
          timeout: 60_000,
        });
        expect(
          `${run.stdout}${run.stderr}`,
          "its own one-line environment check, not a missing module",
        ).to.match(/failed: environment variable TICKSTREAM_BOOTSTRAP_SERVERS/);
      } finally {
        await rm(bundleDir, { recursive: true, force: true });
      }
    });

  // The lake sink encodes in a worker thread that it starts from encode-worker.mjs beside app.mjs
  // (apps/consumer/encode-thread.ts): from a bundle without it, the deployed consumer fails at its first flush.
  it("consumer: encode-worker.mjs starts from the bundle's folder as a worker thread and reports ready", async function () {
    const bundleDir = path.dirname(await bundleApp("consumer"));
    try {
      await giveNativePackages(bundleDir);
      // A plain `node`, as the service runs: no tsx. The worker gets no execArgv: this process's
      // --input-type applies to its -e code only, and the deployed app (`node app.mjs`) passes its worker none.
      const start = `
        import { Worker } from "node:worker_threads";
        const worker = new Worker(new URL("./encode-worker.mjs", process.argv[1]), {
          workerData: { table: "ticks", exitGate: new Int32Array(new SharedArrayBuffer(8)) },
          execArgv: [],
        });
        worker.once("error", (error) => {
          console.error(error.stack);
          process.exit(1);
        });
        worker.once("message", async (message) => {
          console.log(JSON.stringify(message));
          await worker.terminate();
        });
      `;
      const run = await execa(
        process.execPath,
        ["--input-type=module", "-e", start, pathToFileURL(`${bundleDir}/`).href],
        { cwd: bundleDir, env: { PATH: process.env.PATH }, extendEnv: false, reject: false, timeout: 60_000 },
      );
      expect(run.exitCode, run.stderr).to.equal(0);
      expect(JSON.parse(run.stdout.trim())).to.deep.equal({ op: "ready" });
    } finally {
      await rm(bundleDir, { recursive: true, force: true });
    }
  });
});
