/**
 * The CLI loads what a command does only when that command runs: registering every command (names, options, help)
 * loads commander and small modules, never a command's implementation (ops/cli/actions/) or the libraries behind
 * it (Pulumi, the AWS SDK, kafkajs, DuckDB...), so that a long-running command such as `consume` carries nothing
 * but its own code.
 */
import { expect } from "chai";
import { execa } from "execa";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

/** A module hook that writes every module URL it resolves to a file, one a line. */
const RECORDING_HOOKS = `
import { appendFileSync } from "node:fs";
let log;
export function initialize(data) {
  log = data.log;
}
export async function resolve(specifier, context, nextResolve) {
  const resolved = await nextResolve(specifier, context);
  appendFileSync(log, resolved.url + "\\n");
  return resolved;
}
`;

/** Loads ops/cli/main.ts and builds the whole program, with the hooks above recording what that loads. */
const LOAD_THE_CLI = `
import { register } from "node:module";
const [log, main] = process.argv.slice(2);
register(new URL("./hooks.mjs", import.meta.url), { data: { log } });
const { buildProgram } = await import(main);
buildProgram();
`;

describe("the CLI's start-up", function () {
  let directory: string;
  before(async function () {
    directory = await mkdtemp(path.join(tmpdir(), "tickstream-cli-load-"));
    await writeFile(path.join(directory, "hooks.mjs"), RECORDING_HOOKS);
    await writeFile(path.join(directory, "load.mjs"), LOAD_THE_CLI);
  });
  after(() => rm(directory, { recursive: true, force: true }));

  it("registers every command without loading any command's implementation or the libraries behind it", async function () {
    const log = path.join(directory, "loaded.txt");
    await writeFile(log, "");
    const main = pathToFileURL(path.resolve("ops/cli/main.ts")).href;
    const result = await execa(
      process.execPath,
      ["--import", "tsx", path.join(directory, "load.mjs"), log, main],
      { reject: false },
    );
    expect(result.exitCode, result.stderr).to.equal(0);
    const files = (await readFile(log, "utf8"))
      .split("\n")
      .filter((url) => url.startsWith("file:"))
      .map((url) => path.relative(process.cwd(), fileURLToPath(url)));
    const packages = new Set(
      files.flatMap((file) => /(?:^|\/)node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(file)?.[1] ?? []),
    );
    expect([...packages]).to.deep.equal(["commander"]);
    expect(files.filter((file) => file.startsWith("ops/cli/actions/"))).to.deep.equal([]);
    // The commands' modules themselves are loaded: the hooks saw the program's own imports.
    expect(files).to.include(path.join("ops", "cli", "commands", "consume.ts"));
  });
});
