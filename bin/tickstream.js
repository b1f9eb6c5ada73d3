#!/usr/bin/env node
// The `tickstream` binary: registers tsx so the TypeScript sources run as they are, then runs the CLI.
import { register } from "tsx/esm/api";

// The lockfile pins an AWS SDK that supports Node 20; its notice about future releases is noise here.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";
// A signal while the modules load (before a command takes signals over) ends the process at once, with the
// conventional code (130 after SIGINT, 143 after SIGTERM); ops/cli/signals.ts removes this handler.
const earlySignalHandler = (signal) => {
  process.stderr.write(`tickstream: ${signal} while starting: abandoned loading the command\n`);
  process.exit(signal === "SIGINT" ? 130 : 143);
};
globalThis.tickstreamEarlySignalHandler = earlySignalHandler;
process.on("SIGINT", earlySignalHandler);
process.on("SIGTERM", earlySignalHandler);
register();
const { run } = await import("../ops/cli/main.ts");
process.exitCode = await run(process.argv);

// The command has finished (a sink has flushed, committed and left its group): a client library's stray timer
// or socket (seen once from kafkajs after a broker restart) must not keep the process alive. This timer is
// unref'd, so it fires only when something else still holds the event loop.
setTimeout(() => {
  if (process.env.TICKSTREAM_DEBUG_HANDLES) {
    process.stderr.write(
      `tickstream: still open after the command: ${process.getActiveResourcesInfo().join(", ")}\n`,
    );
  }
  process.exit();
}, 3_000).unref();
