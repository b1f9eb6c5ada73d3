/**
 * Changing a running stack's Kafka settings: rewrite `server.properties` on each broker, then restart them one at
 * a time (the stack's user data runs once, at first boot, so `pulumi up` cannot do this). The settings the
 * bootstrap derives from the instance and the quorum are refused: changing them would split the cluster.
 */
import { ConfigError } from "../../apps/shared/errors.ts";

/** Owned by the bootstrap: identity, listeners, quorum and storage. */
export const BOOTSTRAP_OWNED_KEYS = new Set([
  "process.roles",
  "node.id",
  "controller.quorum.voters",
  "controller.quorum.bootstrap.servers",
  "listeners",
  "advertised.listeners",
  "listener.security.protocol.map",
  "inter.broker.listener.name",
  "controller.listener.names",
  "log.dirs",
]);

/** Parses `KEY=VALUE` arguments; every problem is one line that names the argument. */
export function parseSettings(pairs: readonly string[]): Map<string, string> {
  if (pairs.length === 0) throw new ConfigError("give at least one --set KEY=VALUE (a Kafka broker setting)");
  const settings = new Map<string, string>();
  for (const pair of pairs) {
    const separator = pair.indexOf("=");
    const key = separator > 0 ? pair.slice(0, separator).trim() : "";
    const value = separator > 0 ? pair.slice(separator + 1).trim() : "";
    if (!/^[a-z][a-z0-9._-]*$/.test(key) || value === "" || /[\r\n]/.test(value)) {
      throw new ConfigError(
        `--set ${pair}: expected KEY=VALUE with a Kafka setting name, e.g. log.retention.hours=72`,
      );
    }
    if (BOOTSTRAP_OWNED_KEYS.has(key)) {
      throw new ConfigError(
        `--set ${key}: set by the bootstrap from the instance and the quorum; changing it on a running broker would split the cluster`,
      );
    }
    settings.set(key, value);
  }
  return settings;
}

/** The properties text with each setting replaced where it is, or appended; other lines untouched. */
export function applySettings(properties: string, settings: ReadonlyMap<string, string>): string {
  const remaining = new Map(settings);
  const lines = properties.split("\n").map((line) => {
    const match = /^\s*([^#!=\s][^=]*?)\s*=/.exec(line);
    const key = match?.[1];
    if (key === undefined || !remaining.has(key)) return line;
    const value = remaining.get(key)!;
    remaining.delete(key);
    return `${key}=${value}`;
  });
  while (lines.length > 0 && lines.at(-1) === "") lines.pop();
  for (const [key, value] of remaining) lines.push(`${key}=${value}`);
  return `${lines.join("\n")}\n`;
}
