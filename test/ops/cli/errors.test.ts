import { expect } from "chai";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { runCli } from "../../helpers/cli.ts";

describe("CLI usage and errors", function () {
  let home: string;
  let env: NodeJS.ProcessEnv;
  before(async function () {
    home = await mkdtemp(path.join(tmpdir(), "tickstream-cli-"));
    env = { ...process.env, TICKSTREAM_HOME: home };
  });
  after(() => rm(home, { recursive: true, force: true }));

  it("lists every command in --help", async function () {
    const result = await runCli(["--help"], env);
    expect(result.exitCode).to.equal(0);
    for (const command of ["demo", "local", "broker", "topic", "produce", "consume", "quotes"])
      expect(result.stdout).to.include(command);
  });

  it("refuses a non-numeric --count with a one-line reason", async function () {
    const result = await runCli(["produce", "--count", "abc"], env);
    expect(result.exitCode).to.equal(1);
    expect(result.stderr.split("\n")[0]).to.equal(
      `error: option '--count <n>' argument 'abc' is invalid. expected a whole number >= 1, got "abc"`,
    );
  });

  it("refuses an unknown source", async function () {
    const result = await runCli(["produce", "--source", "kafka:x", "--count", "1"], env);
    expect(result.exitCode).to.equal(1);
    expect(result.stderr.trim()).to.equal(
      'tickstream: --source "kafka:x": expected synthetic, csv:PATH or quotes:PROVIDER',
    );
  });

  it("refuses a misspelt key in settings.json, naming it", async function () {
    await writeFile(path.join(home, "settings.json"), JSON.stringify({ brokerPrt: 1 }));
    try {
      const result = await runCli(["local", "status"], env);
      expect(result.exitCode).to.equal(1);
      expect(result.stderr.trim().split("\n")).to.have.length(1);
      expect(result.stderr).to.match(
        /^tickstream: .*settings\.json: unknown setting "brokerPrt"; known settings: /,
      );
    } finally {
      await rm(path.join(home, "settings.json"));
    }
  });

  it("says in one line when the broker cannot be reached", async function () {
    await writeFile(path.join(home, "settings.json"), JSON.stringify({ brokerPort: 1 }));
    try {
      const result = await runCli(["topic", "describe"], env, 60_000);
      expect(result.exitCode).to.equal(1);
      expect(result.stderr.trim().split("\n")).to.have.length(1);
      expect(result.stderr.trim()).to.match(
        /^tickstream: cannot reach the Kafka broker at 127\.0\.0\.1:1 \(.*ECONNREFUSED.*\); is it running\?/,
      );
    } finally {
      await rm(path.join(home, "settings.json"));
    }
  });
});
