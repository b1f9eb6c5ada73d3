import { expect } from "chai";
import { execa } from "execa";
import { readFile, rm } from "node:fs/promises";
import { builtinModules } from "node:module";
import path from "node:path";
import { APP_NAMES, bundleApp, NATIVE_PACKAGES } from "../../../ops/apps/bundle.ts";

// What `app deploy` ships is one ES module per app, plus the native packages NATIVE_PACKAGES names: a bundle
// that imports anything else fails on the host at start-up (the producer's once did, when the services'
// environment check pulled in the Iceberg catalog code and with it DuckDB).
describe("the app bundles app deploy ships", function () {
  this.timeout(120_000);

  for (const app of APP_NAMES)
    it(`${app}: imports no package beyond those shipped beside it, and starts far enough to check its environment`, async function () {
      const file = await bundleApp(app);
      try {
        const code = await readFile(file, "utf8");
        const imported = [...code.matchAll(/^import .* from "([^".][^"]*)";$/gm)]
          .map((match) => match[1]!)
          .filter((name) => !name.startsWith("node:") && !builtinModules.includes(name));
        const shipped = NATIVE_PACKAGES[app];
        expect(
          imported.filter(
            (name) => !shipped.some((native) => name === native || name.startsWith(`${native}/`)),
          ),
          "imports not shipped",
        ).to.deep.equal([]);
        const run = await execa(process.execPath, [file], {
          cwd: path.dirname(file),
          env: { PATH: process.env.PATH },
          extendEnv: false,
          reject: false,
          timeout: 60_000,
        });
        if (shipped.length === 0)
          expect(
            `${run.stdout}${run.stderr}`,
            "its own one-line environment check, not a missing module",
          ).to.match(/failed: environment variable TICKSTREAM_BOOTSTRAP_SERVERS/);
      } finally {
        await rm(path.dirname(file), { recursive: true, force: true });
      }
    });
});
