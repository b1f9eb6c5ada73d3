/** `tickstream dashboard`: the live page (candles, prices, the pipeline's health) on loopback, until Ctrl-C. */
import { InvalidArgumentError, type Command } from "commander";
import { readFile } from "node:fs/promises";
import { isIP } from "node:net";
import type { LocalEnvironment } from "../../local/environment.ts";
import { commandAction, withCommonOptions } from "../command.ts";
import type { Output } from "../output.ts";

export interface DashboardCommandOptions {
  port: number;
  host: string;
  outputs?: string;
  stack?: string;
}

export const DEFAULT_DASHBOARD_PORT = 8750;

function port(value: string): number {
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 0 || parsed > 65_535)
    throw new InvalidArgumentError(`expected a port number from 0 to 65535, got "${value}"`);
  return parsed;
}

function host(value: string): string {
  if (!isIP(value) && value !== "localhost")
    throw new InvalidArgumentError(
      `expected an IP address to bind (127.0.0.1, ::1, 0.0.0.0), got "${value}"`,
    );
  return value;
}

/** The running dashboard of this home, if any: its address (for the demo to print). */
export async function runningDashboard(environment: LocalEnvironment): Promise<string | undefined> {
  const text = await readFile(environment.paths.dashboardFile, "utf8").catch(() => undefined);
  if (!text) return undefined;
  const { url, pid } = JSON.parse(text) as { url: string; pid: number };
  try {
    process.kill(pid, 0);
    return url;
  } catch {
    return undefined;
  }
}

export function registerDashboardCommand(program: Command): void {
  withCommonOptions(
    program
      .command("dashboard")
      .description(
        "serve the live page: one-minute candles per symbol, prices, and the pipeline's health (until Ctrl-C)",
      )
      .option("--port <n>", "the port to listen on (0: any free port)", port, DEFAULT_DASHBOARD_PORT)
      .option(
        "--host <address>",
        "the address to bind; anything but loopback is refused unless given here",
        host,
        "127.0.0.1",
      )
      .option(
        "--stack <name>",
        "show this Pulumi stack's pipeline (Athena for history; needs the Pulumi CLI)",
      )
      .option("--outputs <file>", "a stack's outputs (pulumi stack output --json)"),
  ).action(
    commandAction(async (output: Output, options: DashboardCommandOptions) =>
      (await import("../actions/dashboard.ts")).run(output, options),
    ),
  );
}
