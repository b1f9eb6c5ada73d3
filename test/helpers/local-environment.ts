/** A fresh local environment (broker + S3 server on free ports, state in a temp home) for one suite. */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { randomUUID } from "node:crypto";
import { loadLocalSettings } from "../../ops/config/settings.ts";
import { LocalHost } from "../../ops/hosts/local-host.ts";
import { LocalEnvironment } from "../../ops/local/environment.ts";
import { freePorts } from "./ports.ts";

export async function createTestHome(extraSettings: Record<string, unknown> = {}): Promise<string> {
  const home = await mkdtemp(path.join(tmpdir(), "tickstream-test-"));
  const [brokerPort, controllerPort, s3Port] = await freePorts(3);
  const settings = {
    brokerPort,
    controllerPort,
    s3Port,
    // A graceful stop past the bound exits 143 (issue 23); suites that stop members and expect 0 must not fail
    // because a loaded CI machine took over the default 10 s. Suites about stopping set their own bound.
    stopTimeoutMs: 60_000,
    // Flushes are reported once in the Iceberg table; suites wait for those reports, so commit every second.
    icebergCommitIntervalMs: 1_000,
    ...extraSettings,
  };
  await writeFile(path.join(home, "settings.json"), JSON.stringify(settings, null, 2));
  return home;
}

export async function createTestEnvironment(
  extraSettings: Record<string, unknown> = {},
): Promise<LocalEnvironment> {
  const home = await createTestHome(extraSettings);
  return new LocalEnvironment(loadLocalSettings(home), home, new LocalHost());
}

/** Stops the services and deletes the home. */
export async function destroyTestEnvironment(environment: LocalEnvironment | undefined): Promise<void> {
  if (!environment) return;
  await environment.down();
  await rm(environment.home, { recursive: true, force: true });
}

/**
 * Registers before/after hooks that bring a fresh environment up for the enclosing describe and take it down.
 * Returns a getter, since the environment exists only once `before` has run.
 */
export function useLocalEnvironment(): () => LocalEnvironment {
  let environment: LocalEnvironment | undefined;
  before(async function () {
    this.timeout(180_000);
    environment = await createTestEnvironment();
    await environment.up();
  });
  after(async function () {
    this.timeout(60_000);
    await destroyTestEnvironment(environment);
  });
  return () => environment!;
}

export function uniqueName(prefix: string): string {
  return `${prefix}-${randomUUID().slice(0, 8)}`;
}

/** Environment variables for a `tickstream` subprocess that must use this environment. */
export function cliEnvironment(environment: LocalEnvironment): NodeJS.ProcessEnv {
  return { ...process.env, TICKSTREAM_HOME: environment.home };
}
