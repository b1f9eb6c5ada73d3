/** Loaded by mocha before any test file (.mocharc.json "require"). */
import { createHook } from "node:async_hooks";
import path from "node:path";

// The lockfile pins an AWS SDK that supports Node 20; its notice about future releases is noise in test output.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = "true";
// Every suite's fresh home shares the Kafka jars that `.ci/run` (or the first run) fetched into the repo's cache.
process.env.TICKSTREAM_KAFKA_CACHE ??= path.resolve(".tickstream", "kafka");

/**
 * TICKSTREAM_DEBUG_TIMERS=1: where each timer still pending was created, so that one a test leaks (and that keeps
 * the run from ending) can be named at the end by its stack. Off by default: it records a stack per timer.
 */
const pendingTimers = new Map<number, { readonly stack: string; readonly timer: NodeJS.Timeout }>();
if (process.env.TICKSTREAM_DEBUG_TIMERS) {
  Error.stackTraceLimit = 40;
  createHook({
    init(asyncId, type, _trigger, resource) {
      if (type === "Timeout")
        pendingTimers.set(asyncId, { stack: new Error().stack ?? "", timer: resource as NodeJS.Timeout });
    },
    destroy(asyncId) {
      pendingTimers.delete(asyncId);
    },
  }).enable();
}

/** Root hooks: nothing a test started may outlive the suite. */
export const mochaHooks = {
  async afterAll() {
    const { printFaultTable } = await import("./helpers/fault-table.ts");
    printFaultTable();
    // A handle some test leaked must not keep CI waiting until its deadline: name it, then exit with mocha's
    // own code (set in its exit handler). Unref'd: when nothing leaked, the process ends at once.
    setTimeout(() => {
      process.stderr.write(
        `\nthe test run is over, but these still hold the process: ${process.getActiveResourcesInfo().join(", ")}\n`,
      );
      for (const { stack, timer } of pendingTimers.values())
        if (timer.hasRef()) process.stderr.write(`a timer still pending, created ${stack}\n`);
      process.exit();
    }, 20_000).unref();
  },
  async afterEach() {
    const { killSpawnedCommands } = await import("./helpers/cli.ts");
    await killSpawnedCommands();
  },
};
