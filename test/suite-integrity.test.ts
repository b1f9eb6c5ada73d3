/**
 * The suite cannot go quietly weaker: no test skips itself or is skipped by what happens to be installed, and a
 * tool the integration suites need is either there or the suite fails here, loudly, naming it.
 */
import { expect } from "chai";
import { CHROMIUM } from "./helpers/browser.ts";
import { execa } from "execa";
import { existsSync } from "node:fs";
import { readdir, readFile } from "node:fs/promises";
import path from "node:path";
import { PULUMI_BIN } from "./helpers/pulumi-cli.ts";

async function testFiles(directory: string): Promise<string[]> {
  const entries = await readdir(directory, { withFileTypes: true });
  const files = await Promise.all(
    entries.map((entry) => {
      const full = path.join(directory, entry.name);
      return entry.isDirectory() ? testFiles(full) : Promise.resolve(full.endsWith(".ts") ? [full] : []);
    }),
  );
  return files.flat();
}

describe("the test suite itself", function () {
  it("runs every test it declares: none is disabled, and none is declared only when some condition holds", async function () {
    const offenders: string[] = [];
    const patterns = [
      /this\.skip\(/,
      /\b(it|describe|context)\.skip\b/,
      /\bx(it|describe)\(/,
      /\?\s*describe\b|\?\s*it\b/,
    ];
    for (const file of await testFiles("test")) {
      if (file.endsWith("suite-integrity.test.ts")) continue;
      const lines = (await readFile(file, "utf8")).split("\n");
      lines.forEach((line, index) => {
        if (patterns.some((pattern) => pattern.test(line)))
          offenders.push(`${file}:${index + 1}: ${line.trim()}`);
      });
    }
    expect(offenders, offenders.join("\n")).to.deep.equal([]);
  });

  it("has every tool the integration suites use (Java, OpenSSH's sshd, sudo, shellcheck, moto, the Pulumi CLI, Chromium): a missing one fails here, by name", async function () {
    const missing: string[] = [];
    if ((await execa("java", ["-version"], { reject: false })).exitCode !== 0)
      missing.push("java (openjdk-17-jre-headless)");
    if (!existsSync("/usr/sbin/sshd")) missing.push("/usr/sbin/sshd (openssh-server)");
    if ((await execa("sudo", ["-n", "true"], { reject: false })).exitCode !== 0) missing.push("sudo");
    if ((await execa("shellcheck", ["--version"], { reject: false })).exitCode !== 0)
      missing.push("shellcheck");
    if ((await execa("python3", ["-c", "import moto.server"], { reject: false })).exitCode !== 0)
      missing.push("moto[server] (pip)");
    if ((await execa(PULUMI_BIN, ["version"], { reject: false })).stdout.trim() === "")
      missing.push(`${PULUMI_BIN} (bash ops/pulumi-cli/build.sh)`);
    if ((await execa(CHROMIUM, ["--version"], { reject: false })).exitCode !== 0)
      missing.push(`${CHROMIUM} (chromium)`);
    expect(missing, `install: ${missing.join(", ")} (see .ci/run)`).to.deep.equal([]);
  });
});
