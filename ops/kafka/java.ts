/** Finds a Java runtime able to run the Kafka broker. */
import path from "node:path";
import { ConfigError } from "../../apps/shared/errors.ts";
import type { Host } from "../hosts/host.ts";

export const MINIMUM_JAVA_MAJOR = 17;

export function javaExecutable(env: NodeJS.ProcessEnv = process.env): string {
  return env.JAVA_HOME ? path.join(env.JAVA_HOME, "bin", "java") : "java";
}

/** Returns the java command after checking its major version; a clear ConfigError when absent or too old. */
export async function requireJava(host: Host, env: NodeJS.ProcessEnv = process.env): Promise<string> {
  const java = javaExecutable(env);
  let output: string;
  try {
    const result = await host.exec(java, ["-version"], { timeoutMs: 30_000 });
    output = result.stderr + result.stdout;
  } catch {
    throw new ConfigError(
      `Java ${MINIMUM_JAVA_MAJOR}+ is needed to run the Kafka broker and "${java}" was not found on ${host.description}: ` +
        `install a JDK (Debian: apt-get install openjdk-17-jre-headless) or set JAVA_HOME`,
    );
  }
  const match = /version "(\d+)(?:\.(\d+))?/.exec(output);
  const major = match ? (match[1] === "1" ? Number(match[2]) : Number(match[1])) : NaN;
  if (!(major >= MINIMUM_JAVA_MAJOR)) {
    throw new ConfigError(
      `Java ${MINIMUM_JAVA_MAJOR}+ is needed to run the Kafka broker; "${java} -version" says: ${output.split("\n")[0]}`,
    );
  }
  return java;
}
