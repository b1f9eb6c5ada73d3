import { expect } from "chai";
import { rm } from "node:fs/promises";
import { lastJsonLine, runCli } from "../helpers/cli.ts";
import { createTestHome } from "../helpers/local-environment.ts";

describe("tickstream demo @integration", function () {
  let home: string;
  let env: NodeJS.ProcessEnv;
  before(async () => {
    home = await createTestHome();
    env = { ...process.env, TICKSTREAM_HOME: home };
  });
  after(async function () {
    await runCli(["local", "down"], env);
    await rm(home, { recursive: true, force: true });
  });

  it("runs the whole pipeline from nothing and prints the documented summary with 0 duplicates and 0 missing", async function () {
    const result = await runCli(["demo", "--count", "5000", "--json"], env, 180_000);
    expect(result.exitCode, result.stderr).to.equal(0);
    const summary = lastJsonLine<Record<string, number>>(result.stdout);
    expect(summary).to.have.all.keys(
      "produced",
      "inLake",
      "duplicates",
      "missing",
      "quarantined",
      "files",
      "bytes",
      "ticksPerSecond",
      "freshnessP50Ms",
      "freshnessP99Ms",
    );
    expect(summary).to.include({ produced: 5000, inLake: 5000, duplicates: 0, missing: 0, quarantined: 0 });
    expect(summary.files).to.be.at.least(3);
    expect(summary.bytes).to.be.greaterThan(0);
    expect(summary.freshnessP99Ms).to.be.at.least(summary.freshnessP50Ms);
    expect(result.stderr).to.include("Created topic stock-ticks");
  });

  it("runs again on the same services, auditing only the new run", async function () {
    const result = await runCli(
      ["demo", "--count", "2000", "--json", "--source", "synthetic", "--seed", "second"],
      env,
      180_000,
    );
    expect(result.exitCode, result.stderr).to.equal(0);
    expect(lastJsonLine(result.stdout)).to.include({
      produced: 2000,
      inLake: 2000,
      duplicates: 0,
      missing: 0,
    });
    expect(result.stderr).to.include("Topic stock-ticks exists");
  });
});
