/** The lake sink as a long-running service (what `tickstream app deploy consumer` installs on a broker host). */
import { errorMessage } from "../shared/errors.ts";
import { lakeFromEnvironment, readServiceEnvironment } from "../shared/service-environment.ts";
import { LakeSink } from "./lake-sink.ts";

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";
const log = (message: string) => console.log(`${new Date().toISOString()} consumer: ${message}`);

try {
  const env = readServiceEnvironment();
  const sink = new LakeSink({
    bootstrapServers: env.TICKSTREAM_BOOTSTRAP_SERVERS.split(","),
    topic: env.TICKSTREAM_TOPIC,
    groupId: env.TICKSTREAM_GROUP,
    lake: lakeFromEnvironment(env),
    onWarning: log,
    onFlush: (event) =>
      log(
        `partition ${event.partition}: ${event.ticks} ticks, ${event.quarantined} quarantined, committed ${event.committedOffset}`,
      ),
  });
  let stopping = false;
  for (const signal of ["SIGTERM", "SIGINT"] as const) {
    process.on(signal, () => {
      if (stopping) return sink.abandonPendingWrites();
      stopping = true;
      log(`${signal}: flushing, then exiting`);
      sink.stop().then(
        () => process.exit(0),
        (error) => {
          log(`stop failed: ${errorMessage(error)}`);
          process.exit(1);
        },
      );
    });
  }
  await sink.start();
  log(`consuming ${env.TICKSTREAM_TOPIC} into s3://${env.TICKSTREAM_BUCKET}/ticks/`);
} catch (error) {
  log(`cannot start: ${errorMessage(error)}`);
  process.exit(1);
}
