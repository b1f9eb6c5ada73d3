/** The lake sink as a long-running service (what `tickstream app deploy consumer` installs on a broker host). */
import { errorMessage } from "../shared/errors.ts";
import { describeCatalog } from "../iceberg/catalog-location.ts";
import { icebergCatalogFromEnvironment } from "../iceberg/open-catalog.ts";
import { lakeFromEnvironment, readServiceEnvironment } from "../shared/service-environment.ts";
import { UntilStopped } from "../shared/until-stopped.ts";
import { LakeSink } from "./lake-sink.ts";

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";
const log = (message: string) => console.log(`${new Date().toISOString()} consumer: ${message}`);

try {
  const env = readServiceEnvironment();
  // Stopping is bounded (TICKSTREAM_STOP_TIMEOUT_MS, under the unit's TimeoutStopSec): see until-stopped.ts.
  const lifecycle = new UntilStopped({
    stopTimeoutMs: env.TICKSTREAM_STOP_TIMEOUT_MS,
    setting: "TICKSTREAM_STOP_TIMEOUT_MS",
    name: "consumer",
    say: (line) => console.log(`${new Date().toISOString()} ${line}`),
    onStopping: (signal) => log(`${signal}: flushing, then exiting`),
  });
  const catalog = icebergCatalogFromEnvironment(env);
  const sink = new LakeSink({
    bootstrapServers: env.TICKSTREAM_BOOTSTRAP_SERVERS.split(","),
    topic: env.TICKSTREAM_TOPIC,
    groupId: env.TICKSTREAM_GROUP,
    lake: lakeFromEnvironment(env),
    ...(catalog ? { iceberg: { catalog, commitIntervalMs: env.TICKSTREAM_ICEBERG_COMMIT_INTERVAL_MS } } : {}),
    onWarning: log,
    onFlush: (event) =>
      log(
        `partition ${event.partition}: ${event.ticks} ticks, ${event.quarantined} quarantined, committed ${event.committedOffset}`,
      ),
  });
  lifecycle.onAbandon(() => sink.abandonPendingWrites());
  lifecycle.doing(`connecting to the broker and joining group ${env.TICKSTREAM_GROUP}`);
  await sink.start();
  lifecycle.running();
  log(
    `consuming ${env.TICKSTREAM_TOPIC} into s3://${env.TICKSTREAM_BUCKET}/ticks/` +
      (env.TICKSTREAM_ICEBERG_CATALOG
        ? `, appended to the Iceberg table in ${describeCatalog(env.TICKSTREAM_ICEBERG_CATALOG, { region: env.AWS_REGION, endpoint: env.TICKSTREAM_GLUE_ENDPOINT })}`
        : " (no TICKSTREAM_ICEBERG_CATALOG: Hive layout only)"),
  );
  const stoppedForGood = await Promise.race([lifecycle.stopped().then(() => undefined), sink.stoppedForGood]);
  if (stoppedForGood) {
    // Exits 1 after stopping what it can: the unit's Restart=on-failure starts the member again.
    log(`failed: ${stoppedForGood.message}`);
    await sink.stop();
    process.exit(1);
  }
  lifecycle.doing(
    `${sink.bufferedRecords} buffered records not flushed or not committed ` +
      "(the group reads them again; a staged flush stays an orphan under _staging/)",
  );
  await sink.stop();
  process.exit(lifecycle.finish());
} catch (error) {
  log(`failed: ${errorMessage(error)}`);
  process.exit(1);
}
