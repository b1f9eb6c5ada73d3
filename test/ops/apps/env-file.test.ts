import { expect } from "chai";
import { execa } from "execa";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { SINK_SERVICE_MEMORY } from "../../../apps/consumer/service-memory.ts";
import { envFileText, parseEnvText } from "../../../ops/apps/deploy.ts";

/**
 * Values either reader could take apart: spaces (NODE_OPTIONS' two flags; trailing ones too), quotes, `$`,
 * backslashes, `#`, `%`. (Neither an empty value nor a leading space: systemd-analyze's condition below cannot
 * name one; ALL_VALUES adds the empty one for the other readers.)
 */
const VALUES: Record<string, string> = {
  ...SINK_SERVICE_MEMORY,
  TICKSTREAM_TRICKY: `a  $HOME \`id\` "double" 'single' back\\slash \\$ # 100% ;end  `,
};
const ALL_VALUES: Record<string, string> = { ...VALUES, TICKSTREAM_EMPTY: "" };

/** ALL_VALUES as app deploy writes them, in a file of a temporary folder of the calling describe's own. */
function useEnvFile(): () => string {
  let dir: string;
  before(async function () {
    dir = await mkdtemp(path.join(tmpdir(), "tickstream-env-file-"));
    await writeFile(path.join(dir, "app.env"), envFileText(ALL_VALUES), { mode: 0o600 });
  });
  after(async function () {
    await rm(dir, { recursive: true, force: true });
  });
  return () => path.join(dir, "app.env");
}

// An app's env file has two readers: systemd (`EnvironmentFile=` in its unit) and, on a host without systemd,
// the supervisor's `sh -c 'set -a && . "$0" && exec node "$1"'`. Each must read every value whole, as written.
describe("an app's env file (ops/apps/deploy.ts)", function () {
  const envFile = useEnvFile();

  it("holds each value double-quoted: NODE_OPTIONS with its two flags is one value", function () {
    expect(envFileText(SINK_SERVICE_MEMORY)).to.equal(
      'NODE_OPTIONS="--max-old-space-size=64 --max-semi-space-size=2"\nMALLOC_ARENA_MAX="2"\n',
    );
  });

  it("is read back (app deploy's --env-file, rotate-credentials' update) as the values written", function () {
    expect(parseEnvText(envFileText(ALL_VALUES), "app.env")).to.deep.equal(ALL_VALUES);
  });

  it("refuses a name a shell would not take as a variable's", function () {
    expect(() => envFileText({ "NODE OPTIONS": "x" })).to.throw(/is not an environment variable's name/);
  });

  it("is read by sh as the supervisor reads it, every value whole", async function () {
    const run = await execa(
      "/bin/sh",
      [
        "-c",
        'set -a && . "$0" && exec node -e "$1"',
        envFile(),
        "process.stdout.write(JSON.stringify(process.env))",
      ],
      { env: { PATH: process.env.PATH }, extendEnv: false },
    );
    const environment = JSON.parse(run.stdout) as Record<string, string>;
    for (const [key, value] of Object.entries(ALL_VALUES)) expect(environment[key], key).to.equal(value);
  });
});

// Root only (a mount namespace of its own), and systemd-analyze (the systemd package): an integration test.
describe("an app's env file as systemd reads it @integration", function () {
  const envFile = useEnvFile();

  // systemd's own parser of env files (env-file.c: EnvironmentFile=, os-release) read through the one command that
  // shows its result without a running systemd: `systemd-analyze condition ConditionOSRelease=KEY=VALUE` compares
  // a value of /etc/os-release, here the env file bind-mounted there in a mount namespace of its own (root only).
  it("is read by systemd's EnvironmentFile= parser, every value whole", async function () {
    // The condition's own word: in double quotes, `\` and `"` escaped, and `%` doubled (a unit's specifiers).
    const condition = (key: string, value: string) =>
      `ConditionOSRelease="${`${key}=${value}`.replace(/[\\"]/g, "\\$&").replace(/%/g, "%%")}"`;
    const readsAs = async (key: string, value: string) => {
      const run = await execa(
        "unshare",
        [
          "--mount",
          "--propagation",
          "private",
          "--",
          "/bin/sh",
          "-c",
          'mount --bind "$0" /etc/os-release && exec systemd-analyze condition "$1"',
          envFile(),
          condition(key, value),
        ],
        { reject: false, all: true },
      );
      expect(run.all, "systemd-analyze evaluated the condition").to.match(/Conditions (succeeded|failed)\./);
      return run.exitCode === 0;
    };
    for (const [key, value] of Object.entries(VALUES))
      expect(await readsAs(key, value), `${key} reads as ${JSON.stringify(value)}`).to.equal(true);
    // What a reader that split at the space would take: the check tells it apart.
    expect(await readsAs("NODE_OPTIONS", "--max-old-space-size=64"), "only the first flag").to.equal(false);
  });
});
