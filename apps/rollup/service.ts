/** The rollup as a long-running service (what `tickstream app deploy rollup` installs on a broker host). */
import { errorMessage } from "../shared/errors.ts";
import { readServiceEnvironment } from "../shared/service-environment.ts";
import { Rollup } from "./rollup.ts";

const log = (message: string) => console.log(`${new Date().toISOString()} rollup: ${message}`);

try {
  const env = readServiceEnvironment();
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
  for (const signal of ["SIGTERM", "SIGINT"] as const) {
    process.on(signal, () => {
      log(`${signal}: committing, then exiting`);
      rollup.stop().then(
        () => process.exit(0),
        (error) => {
          log(`stop failed: ${errorMessage(error)}`);
          process.exit(1);
        },
      );
    });
  }
  await rollup.start();
  log(`rolling ${env.TICKSTREAM_TOPIC} up into ${env.TICKSTREAM_BARS_TOPIC}`);
} catch (error) {
  log(`cannot start: ${errorMessage(error)}`);
  process.exit(1);
}
