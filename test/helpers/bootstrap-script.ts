/** The rendered broker bootstrap, and pieces of it that a test runs alone in bash. */
import { renderBootstrap, type BootstrapParams } from "../../infra/bootstrap/render.ts";
import { DEFAULT_KAFKA_VERSION } from "../../ops/config/settings.ts";

/** A single-broker bootstrap with test values; `overrides` change any parameter. */
export function renderTestBootstrap(overrides: Partial<BootstrapParams> = {}): string {
  return renderBootstrap({
    nodeId: 1,
    voters: [],
    publicIp: "127.0.0.1",
    clusterId: "AAAAAAAAAAAAAAAAAAAAAA",
    kafkaVersion: DEFAULT_KAFKA_VERSION,
    nodeVersion: "20.20.2",
    topic: "stock-ticks",
    partitions: 1,
    replicationFactor: 1,
    retentionHours: 24,
    ports: { external: 1, internal: 2, controller: 3 },
    ...overrides,
  });
}

/** The text of one shell function of the script, `name() { … }`. */
export function scriptFunction(script: string, name: string): string {
  const start = script.indexOf(`${name}() {`);
  if (start < 0) throw new Error(`the bootstrap has no function ${name}`);
  return script.slice(start, script.indexOf("\n}\n", start) + 3);
}

/** The script's `readonly NAME=…` settings for the given names, and its one-line log(). */
export function scriptSettingsAndLog(script: string, names: readonly string[]): string[] {
  const lines = script.split("\n");
  const settings = names.map((name) => {
    const line = lines.find((candidate) => candidate.startsWith(`readonly ${name}=`));
    if (!line) throw new Error(`the bootstrap does not set ${name}`);
    return line;
  });
  return [...settings, lines.find((line) => line.startsWith("log() {"))!];
}
