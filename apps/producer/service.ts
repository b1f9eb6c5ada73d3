/** The producer as a long-running service (what `tickstream app deploy producer` installs on a broker host). */
import { errorMessage } from "../shared/errors.ts";
import { readServiceEnvironment } from "../shared/service-environment.ts";
import { runProducer } from "./producer.ts";
import { createSource } from "./sources/index.ts";

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";
const log = (message: string) => console.log(`${new Date().toISOString()} producer: ${message}`);

try {
  const env = readServiceEnvironment();
  const stop = new AbortController();
  for (const signal of ["SIGTERM", "SIGINT"] as const) process.on(signal, () => stop.abort());
  let lastLog = 0;
  const summary = await runProducer({
    bootstrapServers: env.TICKSTREAM_BOOTSTRAP_SERVERS.split(","),
    topic: env.TICKSTREAM_TOPIC,
    source: createSource(env.TICKSTREAM_SOURCE),
    ratePerSecond: env.TICKSTREAM_RATE,
    count: env.TICKSTREAM_COUNT,
    producerId: env.TICKSTREAM_PRODUCER_ID,
    signal: stop.signal,
    onRowError: (error) => log(`line ${error.line}: ${error.reason}; row skipped`),
    onProgress: (produced) => {
      if (Date.now() - lastLog < 10_000) return;
      lastLog = Date.now();
      log(`${produced} ticks produced`);
    },
  });
  log(`done: ${summary.produced} ticks as ${summary.producerId}`);
  process.exit(0);
} catch (error) {
  log(`failed: ${errorMessage(error)}`);
  process.exit(1);
}
