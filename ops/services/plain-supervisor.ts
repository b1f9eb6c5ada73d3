/** Supervises a background process with a pid file and a log file, on any Host. */
import { sleep } from "../../apps/shared/retry.ts";
import type { Host } from "../hosts/host.ts";
import type { ServiceManager, ServiceStatus, StartResult, StopResult } from "./service-manager.ts";

export interface SupervisedService {
  readonly name: string;
  readonly command: string;
  readonly args: readonly string[];
  readonly env?: Readonly<Record<string, string>>;
  readonly cwd?: string;
  readonly pidFile: string;
  readonly logFile: string;
  /** A string in the process's command line, so that a recycled pid is not mistaken for the service. */
  readonly commandMarker: string;
}

export const DEFAULT_STOP_GRACE_MS = 30_000;

export class PlainSupervisor implements ServiceManager {
  constructor(
    private readonly host: Host,
    private readonly service: SupervisedService,
  ) {}

  get name(): string {
    return this.service.name;
  }

  /** The pid of the running service, or undefined (a stale pid file is ignored). */
  async runningPid(): Promise<number | undefined> {
    const text = await this.host.readFile(this.service.pidFile);
    const pid = Number(text?.trim());
    if (!Number.isInteger(pid) || pid <= 0) return undefined;
    return (await this.host.isRunning(pid, this.service.commandMarker)) ? pid : undefined;
  }

  async start(): Promise<StartResult> {
    const existing = await this.runningPid();
    if (existing !== undefined) return { started: false, pid: existing };
    const pid = await this.host.launch({
      command: this.service.command,
      args: this.service.args,
      env: this.service.env,
      cwd: this.service.cwd,
      logFile: this.service.logFile,
    });
    await this.host.writeFile(this.service.pidFile, `${pid}\n`);
    return { started: true, pid };
  }

  async stop(options: { graceMs?: number } = {}): Promise<StopResult> {
    const pid = await this.runningPid();
    if (pid === undefined) {
      await this.host.removePath(this.service.pidFile);
      return { stopped: false, killed: false };
    }
    await this.host.signal(pid, "SIGTERM");
    const deadline = Date.now() + (options.graceMs ?? DEFAULT_STOP_GRACE_MS);
    let killed = false;
    while (await this.host.isRunning(pid, this.service.commandMarker)) {
      if (Date.now() > deadline) {
        await this.host.signal(pid, "SIGKILL");
        killed = true;
      }
      await sleep(100);
    }
    await this.host.removePath(this.service.pidFile);
    return { stopped: true, killed };
  }

  async status(): Promise<ServiceStatus> {
    const pid = await this.runningPid();
    if (pid === undefined) return { name: this.name, running: false };
    return { name: this.name, running: true, pid, uptimeSeconds: await this.host.processUptimeSeconds(pid) };
  }

  logs(lines: number): Promise<string> {
    return this.host.tail(this.service.logFile, lines);
  }
}
