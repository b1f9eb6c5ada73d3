/** The rollup as a long-running service (what `tickstream app deploy rollup` installs on a broker host). */
import { errorMessage } from "../shared/errors.ts";
import { readServiceEnvironment } from "../shared/service-environment.ts";
import { UntilStopped } from "../shared/until-stopped.ts";
import { Rollup } from "./rollup.ts";

const log = (message: string) => console.log(`${new Date().toISOString()} rollup: ${message}`);

try {
  const env = readServiceEnvironment();
  // Stopping is bounded (TICKSTREAM_STOP_TIMEOUT_MS, under the unit's TimeoutStopSec): see until-stopped.ts.
  const lifecycle = new UntilStopped({
    stopTimeoutMs: env.TICKSTREAM_STOP_TIMEOUT_MS,
    setting: "TICKSTREAM_STOP_TIMEOUT_MS",
    name: "rollup",
    say: (line) => console.log(`${new Date().toISOString()} ${line}`),
    onStopping: (signal) => log(`${signal}: committing, then exiting`),
  });
  const rollup = new Rollup({
    bootstrapServers: env.TICKSTREAM_BOOTSTRAP_SERVERS.split(","),
    topic: env.TICKSTREAM_TOPIC,
    barsTopic: env.TICKSTREAM_BARS_TOPIC,
    groupId: env.TICKSTREAM_ROLLUP_GROUP,
    timing: { latenessMs: env.TICKSTREAM_ROLLUP_LATENESS_MS },
    idleCloseMs: env.TICKSTREAM_ROLLUP_IDLE_CLOSE_MS,
    createBarsTopic: true,
    onWarning: log,
    onBars: ({ partition, bars }) =>
      log(`partition ${partition}: ${bars.length} bars up to ${bars.at(-1)!.minute}`),
  });
  lifecycle.doing(`connecting to the broker and joining group ${env.TICKSTREAM_ROLLUP_GROUP}`);
  await rollup.start();
  lifecycle.running();
  log(`rolling ${env.TICKSTREAM_TOPIC} up into ${env.TICKSTREAM_BARS_TOPIC}`);
  await lifecycle.stopped();
  lifecycle.doing(
    "committing the open transactions (one not committed is aborted by the partition's next claimer, " +
      "which rolls its ticks up again)",
  );
  await rollup.stop();
  process.exit(lifecycle.finish());
} catch (error) {
  log(`failed: ${errorMessage(error)}`);
  process.exit(1);
}
