/** A systemd unit on a host, driven through systemctl and journalctl (the cloud brokers' Kafka and apps). */
import { ServiceError } from "../../apps/shared/errors.ts";
import type { Host } from "../hosts/host.ts";
import type { ServiceManager, ServiceStatus, StartResult, StopResult } from "./service-manager.ts";

export class SystemdService implements ServiceManager {
  constructor(
    private readonly host: Host,
    readonly name: string,
  ) {}

  private async show(): Promise<{ active: boolean; pid: number; activeSinceUs: number }> {
    const result = await this.host.exec("systemctl", [
      "show",
      this.name,
      "--property=ActiveState,MainPID,ActiveEnterTimestampMonotonic",
    ]);
    const value = (key: string) => new RegExp(`^${key}=(.*)$`, "m").exec(result.stdout)?.[1] ?? "";
    return {
      active: value("ActiveState") === "active",
      pid: Number(value("MainPID")),
      activeSinceUs: Number(value("ActiveEnterTimestampMonotonic")),
    };
  }

  private async systemctl(verb: string): Promise<void> {
    const result = await this.host.exec("systemctl", [verb, this.name], { timeoutMs: 180_000 });
    if (result.exitCode !== 0)
      throw new ServiceError(
        `systemctl ${verb} ${this.name} on ${this.host.description} failed: ${result.stderr.trim()}`,
      );
  }

  async start(): Promise<StartResult> {
    const before = await this.show();
    if (before.active) return { started: false, pid: before.pid };
    await this.systemctl("start");
    return { started: true, pid: (await this.show()).pid };
  }

  async stop(): Promise<StopResult> {
    if (!(await this.show()).active) return { stopped: false, killed: false };
    await this.systemctl("stop");
    return { stopped: true, killed: false };
  }

  async status(): Promise<ServiceStatus> {
    const state = await this.show();
    if (!state.active) return { name: this.name, running: false };
    const uptime = await this.host.readFile("/proc/uptime");
    const uptimeSeconds = uptime
      ? Math.round(Number(uptime.split(" ")[0]) - state.activeSinceUs / 1e6)
      : undefined;
    return { name: this.name, running: true, pid: state.pid, uptimeSeconds };
  }

  async logs(lines: number): Promise<string> {
    const result = await this.host.exec("journalctl", [
      "-u",
      this.name,
      "-n",
      String(lines),
      "--no-pager",
      "-o",
      "cat",
    ]);
    return result.stdout.replace(/\n$/, "");
  }
}
