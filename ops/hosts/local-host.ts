/** Host implementation for this machine: node:fs, node:child_process and /proc. */
import { spawn } from "node:child_process";
import { closeSync, openSync } from "node:fs";
import { access, chmod, mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { dirname } from "node:path";
import { execa } from "execa";
import { HostError } from "../../apps/shared/errors.ts";
import type { ExecOptions, ExecResult, Host, LaunchSpec } from "./host.ts";

export class LocalHost implements Host {
  readonly description = "this machine";

  async exec(command: string, args: readonly string[], options: ExecOptions = {}): Promise<ExecResult> {
    const result = await execa(command, args, {
      cwd: options.cwd,
      env: options.env,
      timeout: options.timeoutMs,
      input: options.input,
      reject: false,
    });
    if (result.failed && result.exitCode === undefined) {
      const reason = result.timedOut ? `timed out after ${options.timeoutMs} ms` : result.shortMessage;
      throw new HostError(`${command}: ${reason}`, { cause: result });
    }
    return { exitCode: result.exitCode ?? 1, stdout: result.stdout, stderr: result.stderr };
  }

  async readFile(path: string): Promise<string | undefined> {
    try {
      return await readFile(path, "utf8");
    } catch (error) {
      // ESRCH: a /proc file whose process exited while it was being read.
      const code = (error as NodeJS.ErrnoException).code;
      if (code === "ENOENT" || code === "ESRCH") return undefined;
      throw error;
    }
  }

  async writeFile(path: string, content: string, options: { mode?: number } = {}): Promise<void> {
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, content, { mode: options.mode });
    // The mode of writeFile applies only to a file it creates: set it on an existing one too.
    if (options.mode !== undefined) await chmod(path, options.mode);
  }

  async makeDirectory(path: string): Promise<void> {
    await mkdir(path, { recursive: true });
  }

  async removePath(path: string): Promise<void> {
    await rm(path, { recursive: true, force: true });
  }

  async pathExists(path: string): Promise<boolean> {
    return access(path).then(
      () => true,
      () => false,
    );
  }

  async launch(spec: LaunchSpec): Promise<number> {
    await mkdir(dirname(spec.logFile), { recursive: true });
    const logFd = openSync(spec.logFile, "a");
    try {
      const child = spawn(spec.command, [...spec.args], {
        cwd: spec.cwd,
        env: { ...process.env, ...spec.env },
        detached: true,
        stdio: ["ignore", logFd, logFd],
      });
      const pid = await new Promise<number>((resolve, reject) => {
        child.once("error", (error) =>
          reject(new HostError(`cannot start ${spec.command}: ${error.message}`)),
        );
        child.once("spawn", () => resolve(child.pid!));
      });
      child.unref();
      return pid;
    } finally {
      closeSync(logFd);
    }
  }

  async isRunning(pid: number, commandMarker?: string): Promise<boolean> {
    try {
      process.kill(pid, 0);
    } catch {
      return false;
    }
    const stat = await this.readFile(`/proc/${pid}/stat`);
    // A zombie (state Z) has exited but not been reaped by its parent yet.
    if (stat && /^\d+ \(.*\) Z /.test(stat)) return false;
    if (!commandMarker) return true;
    const cmdline = await this.readFile(`/proc/${pid}/cmdline`);
    return cmdline !== undefined && cmdline.includes(commandMarker);
  }

  async signal(pid: number, signal: "SIGTERM" | "SIGKILL"): Promise<void> {
    try {
      process.kill(pid, signal);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "ESRCH") throw error;
    }
  }

  async tail(path: string, lines: number): Promise<string> {
    const text = await this.readFile(path);
    if (!text) return "";
    const all = text.split("\n");
    if (all.at(-1) === "") all.pop();
    return all.slice(-lines).join("\n");
  }

  async processUptimeSeconds(pid: number): Promise<number | undefined> {
    const stat = await this.readFile(`/proc/${pid}/stat`);
    const uptime = await this.readFile("/proc/uptime");
    if (!stat || !uptime) return undefined;
    // Field 22 (starttime, in clock ticks) counts from after the parenthesised command name.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const startTicks = Number(fields[19]);
    const clockTicksPerSecond = 100;
    return Math.max(0, Math.round(Number(uptime.split(" ")[0]) - startTicks / clockTicksPerSecond));
  }
}
