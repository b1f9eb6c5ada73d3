/**
 * The Kafka broker's jars: resolved once from Maven Central by ops/kafka/pom.xml into
 * `<home>/kafka/<version>/libs`, then reused; or an official install named by KAFKA_HOME.
 */
import { createHash } from "node:crypto";
import { readFileSync, readdirSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { ConfigError, HostError } from "../../apps/shared/errors.ts";
import type { Host } from "../hosts/host.ts";

export const KAFKA_POM = fileURLToPath(new URL("./pom.xml", import.meta.url));
const COMPLETE_MARKER = ".complete";

/** Written into the marker: a changed pom (another artifact, another binding) makes the cache stale. */
function pomFingerprint(version: string): string {
  return `${version} ${createHash("sha256").update(readFileSync(KAFKA_POM)).digest("hex").slice(0, 16)}\n`;
}

export interface KafkaDistribution {
  readonly version: string;
  /** A Java classpath: `<libs>/*`. */
  readonly classpath: string;
  readonly libsDir: string;
  readonly origin: "maven" | "KAFKA_HOME";
}

export interface DistributionRequest {
  readonly version: string;
  readonly libsDir: string;
  readonly kafkaHome?: string;
  readonly onProgress?: (message: string) => void;
}

function kafkaVersionOf(libsDir: string): string | undefined {
  try {
    const jar = readdirSync(libsDir).find((name) => /^kafka_2\.1[23]-[\d.]+\.jar$/.test(name));
    return jar?.replace(/^kafka_2\.1[23]-/, "").replace(/\.jar$/, "");
  } catch {
    return undefined;
  }
}

export async function ensureKafkaDistribution(
  host: Host,
  request: DistributionRequest,
): Promise<KafkaDistribution> {
  if (request.kafkaHome) {
    const libsDir = path.join(request.kafkaHome, "libs");
    const version = kafkaVersionOf(libsDir);
    if (!version) {
      throw new ConfigError(
        `KAFKA_HOME=${request.kafkaHome} has no libs/kafka_2.13-<version>.jar: point it at an Apache Kafka install`,
      );
    }
    return { version, libsDir, classpath: path.join(libsDir, "*"), origin: "KAFKA_HOME" };
  }
  const { libsDir, version } = request;
  const distribution: KafkaDistribution = {
    version,
    libsDir,
    classpath: path.join(libsDir, "*"),
    origin: "maven",
  };
  if ((await host.readFile(path.join(libsDir, COMPLETE_MARKER))) === pomFingerprint(version))
    return distribution;

  const mvnCheck = await host.exec("mvn", ["-v"], { timeoutMs: 60_000 }).catch(() => undefined);
  if (!mvnCheck || mvnCheck.exitCode !== 0) {
    throw new ConfigError(
      `Maven (mvn) is needed once to fetch the Kafka ${version} jars from Maven Central and was not found: ` +
        `install it (Debian: apt-get install maven) or set KAFKA_HOME to an Apache Kafka install`,
    );
  }
  request.onProgress?.(
    `Fetching Apache Kafka ${version} jars from Maven Central (once; cached in ${libsDir})`,
  );
  const partialDir = `${libsDir}.partial-${process.pid}`;
  await host.removePath(partialDir);
  const result = await host.exec(
    "mvn",
    [
      "-B",
      "-q",
      "-f",
      KAFKA_POM,
      `-Dkafka.version=${version}`,
      "dependency:copy-dependencies",
      `-DoutputDirectory=${partialDir}`,
      "-DincludeScope=runtime",
    ],
    { timeoutMs: 15 * 60_000 },
  );
  if (result.exitCode !== 0 || kafkaVersionOf(partialDir) !== version) {
    await host.removePath(partialDir);
    const detail = (result.stdout + result.stderr).split("\n").find((line) => line.includes("ERROR")) ?? "";
    throw new HostError(
      `could not fetch Apache Kafka ${version} from Maven Central: ${detail.trim() || `mvn exited ${result.exitCode}`}`,
    );
  }
  await host.removePath(libsDir);
  await host.exec("mv", [partialDir, libsDir]);
  await host.writeFile(path.join(libsDir, COMPLETE_MARKER), pomFingerprint(version));
  return distribution;
}
