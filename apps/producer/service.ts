/** The producer as a long-running service (what `tickstream app deploy producer` installs on a broker host). */
import { errorMessage } from "../shared/errors.ts";
import { readServiceEnvironment } from "../shared/service-environment.ts";
import { UntilStopped } from "../shared/until-stopped.ts";
import { runProducer } from "./producer.ts";
import { createSource } from "./sources/index.ts";

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";
const log = (message: string) => console.log(`${new Date().toISOString()} producer: ${message}`);

try {
  const env = readServiceEnvironment();
  // Stopping is bounded (TICKSTREAM_STOP_TIMEOUT_MS, under the unit's TimeoutStopSec): see until-stopped.ts.
  const lifecycle = new UntilStopped({
    stopTimeoutMs: env.TICKSTREAM_STOP_TIMEOUT_MS,
    setting: "TICKSTREAM_STOP_TIMEOUT_MS",
    name: "producer",
    say: (line) => console.log(`${new Date().toISOString()} ${line}`),
    onStopping: (signal) => log(`${signal}: stopping after the batch in flight`),
  });
  lifecycle.doing("connecting to the broker");
  let lastLog = 0;
  let acknowledged = 0;
  lifecycle.stop.addEventListener("abort", () =>
    lifecycle.doing(
      `the ticks in flight after ${acknowledged} acknowledged (each may or may not be in the topic)`,
    ),
  );
  const summary = await runProducer({
    bootstrapServers: env.TICKSTREAM_BOOTSTRAP_SERVERS.split(","),
    topic: env.TICKSTREAM_TOPIC,
    source: createSource(env.TICKSTREAM_SOURCE),
    ratePerSecond: env.TICKSTREAM_RATE,
    count: env.TICKSTREAM_COUNT,
    producerId: env.TICKSTREAM_PRODUCER_ID,
    signal: lifecycle.stop,
    onConnected: () => lifecycle.running("producing"),
    onRowError: (error) => log(`line ${error.line}: ${error.reason}; row skipped`),
    onProgress: (produced) => {
      acknowledged = produced;
      if (Date.now() - lastLog < 10_000) return;
      lastLog = Date.now();
      log(`${produced} ticks produced`);
    },
  });
  log(`done: ${summary.produced} ticks as ${summary.producerId}`);
  process.exit(lifecycle.finish());
} catch (error) {
  log(`failed: ${errorMessage(error)}`);
  process.exit(1);
}
