/**
 * Issue 23: every command that runs until Ctrl-C stops on SIGINT or SIGTERM at any moment of its life, within the
 * bound of a graceful stop (the `stopTimeoutMs` setting), with the conventional exit code (0 after a completed
 * graceful stop, 130/143 when something was abandoned), and the lake and the bar topic stay exact.
 *
 * Moments are chosen by what the command is doing: its output, or a fault point that freezes it (SIGSTOP) at a
 * known step; the signal is sent while it is frozen and delivered when the test thaws it (SIGCONT).
 */
import { expect } from "chai";
import { execa, type ResultPromise } from "execa";
import { existsSync } from "node:fs";
import { waitFor } from "../../apps/shared/retry.ts";
import type { LocalEnvironment } from "../../ops/local/environment.ts";
import { TICKSTREAM_BIN } from "../helpers/cli.ts";
import { createTestTopic } from "../helpers/kafka.ts";
import {
  cliEnvironment,
  createTestEnvironment,
  destroyTestEnvironment,
} from "../helpers/local-environment.ts";

/** The suite's bound (the `stopTimeoutMs` setting), shorter than the default to keep the suite quick. */
const STOP_TIMEOUT_MS = 5_000;
/** "Exited within the bound", with a generous margin: the machine is loaded. */
const WITHIN_BOUND_MS = STOP_TIMEOUT_MS + 5_000;

const running = new Set<Command>();

/** One `tickstream` process, its combined output kept. */
export class Command {
  private text = "";
  readonly child: ResultPromise<{ reject: false; all: true }>;

  constructor(args: readonly string[], env: NodeJS.ProcessEnv, faultPoint = "") {
    this.child = execa(process.execPath, [TICKSTREAM_BIN, ...args], {
      env: { ...env, TICKSTREAM_FAULT_POINT: faultPoint },
      reject: false,
      all: true,
    });
    this.child.all!.on("data", (chunk: Buffer) => (this.text += chunk.toString("utf8")));
    running.add(this);
    void this.child.finally(() => running.delete(this));
  }

  get output(): string {
    return this.text;
  }

  async waitForOutput(pattern: RegExp, timeoutMs = 90_000): Promise<void> {
    let exited = false;
    void this.child.then(() => (exited = true));
    await waitFor(() => pattern.test(this.text) || exited, {
      timeoutMs,
      intervalMs: 50,
      describe: () => `no ${pattern} in the output:\n${this.text.slice(-3_000)}`,
    });
    if (!pattern.test(this.text)) throw new Error(`exited before ${pattern}:\n${this.text.slice(-3_000)}`);
  }

  /** Sends the signal (to a frozen process: delivered when thawed) and waits at most the bound + margin. */
  async signal(signal: "SIGINT" | "SIGTERM", options: { thaw?: boolean } = {}): Promise<number | undefined> {
    this.child.kill(signal);
    if (options.thaw) process.kill(this.child.pid!, "SIGCONT");
    return this.exitWithinBound();
  }

  /** The exit code, once it has exited; undefined (after a SIGKILL) if it was still running past the bound. */
  async exitWithinBound(): Promise<number | undefined> {
    let timer: NodeJS.Timeout | undefined;
    const outcome = await Promise.race([
      this.child.then((result) => result),
      new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), WITHIN_BOUND_MS))),
    ]);
    clearTimeout(timer);
    if (outcome === undefined) {
      this.child.kill("SIGKILL");
      await this.child;
      return undefined;
    }
    return outcome.exitCode ?? (outcome.signal ? -1 : undefined);
  }
}

function expectExit(command: Command, code: number | undefined, expected: number): void {
  expect(
    code,
    `exit code (undefined: still running ${WITHIN_BOUND_MS} ms after the signal)\n${command.output.slice(-3_000)}`,
  ).to.equal(expected);
}

describe("every long-running command stops on a signal, at any moment (#23) @integration", function () {
  let environment: LocalEnvironment;
  const env = () => cliEnvironment(environment);

  before(async function () {
    this.timeout(180_000);
    environment = await createTestEnvironment({ stopTimeoutMs: STOP_TIMEOUT_MS });
    await environment.up();
    await createTestTopic(environment.bootstrapServers, environment.settings.topic);
  });
  after(async function () {
    this.timeout(60_000);
    await destroyTestEnvironment(environment);
  });
  afterEach(async function () {
    for (const command of running) command.child.kill("SIGKILL");
    await Promise.allSettled([...running].map((command) => command.child));
  });

  describe("dashboard", function () {
    for (const signal of ["SIGTERM", "SIGINT"] as const) {
      it(`${signal} while it loads the lake's history: exits at once with ${signal === "SIGINT" ? 130 : 143}, serving nothing`, async function () {
        const dashboard = new Command(
          ["dashboard", "--port", "0", "--json"],
          env(),
          "dashboard-history:1:SIGSTOP",
        );
        await dashboard.waitForOutput(/fault point dashboard-history #1 reached/);
        const code = await dashboard.signal(signal, { thaw: true });
        expectExit(dashboard, code, signal === "SIGINT" ? 130 : 143);
        expect(dashboard.output).to.match(/abandoned loading the lake's history/);
        expect(dashboard.output).not.to.match(/"url"/);
        expect(existsSync(environment.paths.dashboardFile)).to.equal(false);
      });
    }
  });
});
