/**
 * Host implementation over SSH (ssh2). The host key is always verified against pinned SHA256 fingerprints
 * (from the stack outputs or a known_hosts file): an unknown or different key ends the connection before
 * anything runs. Every word of a remote command is single-quoted, so no value can inject a command.
 */
import { createHash } from "node:crypto";
import path from "node:path";
import ssh2 from "ssh2";
import type { ClientChannel, ConnectConfig, SFTPWrapper } from "ssh2";
import { HostError } from "../../apps/shared/errors.ts";
import { shellCommand, shellQuote } from "../../apps/shared/shell-quote.ts";
import type { ExecOptions, ExecResult, Host, LaunchSpec } from "./host.ts";

const { Client } = ssh2;

export interface SshTarget {
  readonly host: string;
  readonly port: number;
  readonly username: string;
  /** Allowed host key fingerprints, `SHA256:<base64 without padding>` as `ssh-keygen -lf` prints them. */
  readonly hostKeyFingerprints: readonly string[];
  /** A private key (PEM/OpenSSH text); without one the SSH agent at SSH_AUTH_SOCK is used. */
  readonly privateKey?: string;
  readonly agent?: string;
  readonly connectTimeoutMs?: number;
  readonly commandTimeoutMs?: number;
  /**
   * Run every command as root through `sudo -n` (no password prompt): for a login user that is not root, as
   * Ubuntu's `ubuntu`, who may sudo without a password but cannot write /etc/kafka or run systemctl itself.
   * Files are then written to a private temporary file over SFTP and put in place with `sudo install`.
   */
  readonly sudo?: boolean;
}

export const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;
export const DEFAULT_COMMAND_TIMEOUT_MS = 120_000;

/** `SHA256:` + base64 of the SHA-256 of the raw host key, without padding: what `ssh-keygen -lf` prints. */
export function hostKeyFingerprint(rawKey: Buffer): string {
  return `SHA256:${createHash("sha256").update(rawKey).digest("base64").replace(/=+$/, "")}`;
}

export class SshHost implements Host {
  readonly description: string;

  private constructor(
    private readonly client: InstanceType<typeof Client>,
    private readonly target: SshTarget,
  ) {
    this.description = `${target.username}@${target.host}:${target.port}`;
  }

  /** Connects and verifies the host key; rejects with a one-line reason. */
  static connect(target: SshTarget): Promise<SshHost> {
    const description = `${target.username}@${target.host}:${target.port}`;
    if (target.hostKeyFingerprints.length === 0) {
      return Promise.reject(
        new HostError(`no pinned host key for ${description}: refusing to connect without one`),
      );
    }
    const agent = target.privateKey ? undefined : (target.agent ?? process.env.SSH_AUTH_SOCK);
    if (!target.privateKey && !agent) {
      return Promise.reject(
        new HostError(`no SSH key for ${description}: pass --identity FILE or start an SSH agent`),
      );
    }
    const timeoutMs = target.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
    return new Promise((resolve, reject) => {
      const client = new Client();
      let offeredKey: string | undefined;
      let settled = false;
      const finish = (error?: Error) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        if (error) {
          client.end();
          reject(error);
        } else resolve(new SshHost(client, target));
      };
      // ssh2's readyTimeout covers the handshake; this covers a TCP connect that hangs (a filtered port).
      const timer = setTimeout(
        () => finish(new HostError(`${description} did not answer within ${timeoutMs} ms`)),
        timeoutMs,
      );
      const config: ConnectConfig = {
        host: target.host,
        port: target.port,
        username: target.username,
        privateKey: target.privateKey,
        agent,
        readyTimeout: timeoutMs,
        keepaliveInterval: 15_000,
        keepaliveCountMax: 4,
        hostVerifier: (key: Buffer) => {
          offeredKey = hostKeyFingerprint(key);
          return target.hostKeyFingerprints.includes(offeredKey);
        },
      };
      client
        .on("ready", () => finish())
        .on("error", (error: Error & { level?: string; code?: string }) => {
          if (offeredKey && !target.hostKeyFingerprints.includes(offeredKey)) {
            finish(
              new HostError(
                `host key mismatch for ${description}: it offered ${offeredKey}, expected ${target.hostKeyFingerprints.join(" or ")}; nothing was run`,
              ),
            );
          } else if (error.level === "client-authentication") {
            finish(
              new HostError(`${description} refused our SSH key (user ${target.username})`, { cause: error }),
            );
          } else if (/Timed out while waiting for handshake/.test(error.message)) {
            finish(new HostError(`${description} did not answer within ${timeoutMs} ms`, { cause: error }));
          } else {
            finish(
              new HostError(`cannot reach ${description}: ${error.code ?? error.message}`, {
                cause: error,
                retriable: true,
              }),
            );
          }
        });
      try {
        client.connect(config);
      } catch (error) {
        finish(
          new HostError(`the SSH key for ${description} cannot be used: ${(error as Error).message}`, {
            cause: error,
          }),
        );
      }
    });
  }

  close(): void {
    this.client.end();
  }

  /** Runs a raw shell command line; every caller below builds it from quoted words. */
  private run(
    commandLine: string,
    options: {
      timeoutMs?: number;
      input?: string;
      onData?: (chunk: string) => void;
      signal?: AbortSignal;
    } = {},
  ): Promise<ExecResult> {
    const timeoutMs = options.timeoutMs ?? this.target.commandTimeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS;
    return new Promise((resolve, reject) => {
      this.client.exec(commandLine, (error: Error | undefined, channel: ClientChannel) => {
        if (error)
          return reject(
            new HostError(`${this.description}: cannot run a command: ${error.message}`, { cause: error }),
          );
        let stdout = "";
        let stderr = "";
        // Ask the remote process to end (OpenSSH honours signal requests), then close the channel.
        const stop = () => {
          channel.signal("TERM");
          channel.close();
        };
        // Streams (logs --follow) run until aborted: no timer for them.
        const timer = Number.isFinite(timeoutMs)
          ? setTimeout(() => {
              channel.close();
              reject(new HostError(`${this.description}: command timed out after ${timeoutMs} ms`));
            }, timeoutMs)
          : undefined;
        options.signal?.addEventListener("abort", stop, { once: true });
        channel.on("data", (data: Buffer) => {
          const text = data.toString("utf8");
          if (options.onData) options.onData(text);
          else stdout += text;
        });
        channel.stderr.on("data", (data: Buffer) => (stderr += data.toString("utf8")));
        channel.on("close", (code: number | null) => {
          clearTimeout(timer);
          options.signal?.removeEventListener("abort", stop);
          resolve({ exitCode: code ?? (options.signal?.aborted ? 0 : 255), stdout, stderr });
        });
        if (options.input !== undefined) channel.end(options.input);
        else channel.end();
      });
    });
  }

  exec(command: string, args: readonly string[], options: ExecOptions = {}): Promise<ExecResult> {
    const env = Object.entries(options.env ?? {}).map(([key, value]) => {
      if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(key))
        throw new HostError(`not an environment variable name: ${key}`);
      return shellQuote(`${key}=${value}`);
    });
    const run =
      env.length > 0 ? `env ${env.join(" ")} ${shellCommand(command, args)}` : shellCommand(command, args);
    const line = options.cwd ? `cd ${shellQuote(options.cwd)} && ${this.asRoot(run)}` : this.asRoot(run);
    return this.run(line, { timeoutMs: options.timeoutMs, input: options.input });
  }

  /** A command line as root when the target says so (every word of `run` is already quoted). */
  private asRoot(run: string): string {
    return this.target.sudo ? `sudo -n -- ${run}` : run;
  }

  /** Streams a command's stdout (for `logs --follow`) until it ends or `signal` aborts. */
  stream(
    command: string,
    args: readonly string[],
    onData: (chunk: string) => void,
    signal?: AbortSignal,
  ): Promise<ExecResult> {
    return this.run(this.asRoot(shellCommand(command, args)), { onData, signal, timeoutMs: Infinity });
  }

  private sftp(): Promise<SFTPWrapper> {
    return new Promise((resolve, reject) =>
      this.client.sftp((error: Error | undefined, sftp: SFTPWrapper) =>
        error ? reject(new HostError(`${this.description}: SFTP: ${error.message}`)) : resolve(sftp),
      ),
    );
  }

  async readFile(file: string): Promise<string | undefined> {
    const result = await this.exec("cat", ["--", file]);
    if (result.exitCode === 0) return result.stdout;
    if (/No such file|Not a directory/.test(result.stderr)) return undefined;
    throw new HostError(`${this.description}: cannot read ${file}: ${result.stderr.trim()}`);
  }

  async writeFile(file: string, content: string, options: { mode?: number } = {}): Promise<void> {
    await this.putFile(file, options.mode ?? 0o644, `cannot write ${file}`, (sftp, target, mode, done) =>
      sftp.writeFile(target, content, { mode }, done),
    );
  }

  /** Copies a local file to the host over SFTP. */
  async upload(localFile: string, remoteFile: string, mode = 0o644): Promise<void> {
    await this.putFile(remoteFile, mode, `upload of ${localFile} failed`, (sftp, target, fileMode, done) =>
      sftp.fastPut(localFile, target, { mode: fileMode }, done),
    );
  }

  /**
   * Writes a file over SFTP with the given mode, also when it exists (SFTP sets the mode only on create). With
   * sudo, SFTP writes a private temporary file as the login user, and `sudo install` puts it in place.
   */
  private async putFile(
    file: string,
    mode: number,
    failure: string,
    write: (sftp: SFTPWrapper, target: string, mode: number, done: (error?: Error | null) => void) => void,
  ): Promise<void> {
    await this.makeDirectory(path.posix.dirname(file));
    const target = this.target.sudo ? (await this.runChecked("mktemp", [])).stdout.trim() : file;
    const sftp = await this.sftp();
    try {
      await new Promise<void>((resolve, reject) =>
        write(sftp, target, this.target.sudo ? 0o600 : mode, (error?: Error | null) =>
          error ? reject(new HostError(`${this.description}: ${failure}: ${error.message}`)) : resolve(),
        ),
      );
    } finally {
      sftp.end();
    }
    if (this.target.sudo) {
      try {
        await this.mustSucceed("install", ["-m", mode.toString(8), "--", target, file]);
      } finally {
        await this.run(shellCommand("rm", ["-f", "--", target]));
      }
    } else {
      await this.mustSucceed("chmod", [mode.toString(8), "--", file]);
    }
  }

  /** A command as the login user itself, never through sudo (its own temporary files). */
  private async runChecked(command: string, args: readonly string[]): Promise<ExecResult> {
    const result = await this.run(shellCommand(command, args));
    if (result.exitCode !== 0)
      throw new HostError(`${this.description}: ${command} failed: ${result.stderr.trim()}`);
    return result;
  }

  private async mustSucceed(command: string, args: readonly string[]): Promise<ExecResult> {
    const result = await this.exec(command, args);
    if (result.exitCode !== 0)
      throw new HostError(
        `${this.description}: ${command} failed: ${(result.stderr || result.stdout).trim()}`,
      );
    return result;
  }

  async makeDirectory(directory: string): Promise<void> {
    await this.mustSucceed("mkdir", ["-p", "--", directory]);
  }

  async removePath(target: string): Promise<void> {
    await this.mustSucceed("rm", ["-rf", "--", target]);
  }

  async pathExists(target: string): Promise<boolean> {
    return (await this.exec("test", ["-e", target])).exitCode === 0;
  }

  async launch(spec: LaunchSpec): Promise<number> {
    await this.makeDirectory(path.posix.dirname(spec.logFile));
    const env = Object.entries(spec.env ?? {}).map(([key, value]) => shellQuote(`${key}=${value}`));
    const run = `${env.length > 0 ? `env ${env.join(" ")} ` : ""}${shellCommand(spec.command, spec.args)}`;
    const cd = spec.cwd ? `cd ${shellQuote(spec.cwd)} && ` : "";
    // setsid + nohup: the process outlives this SSH session; its pid is the one echoed.
    // Braces: `&` must background the process alone, not the `cd && …` list (whose pid $! would then name).
    const line = `${cd}{ nohup setsid ${run} >> ${shellQuote(spec.logFile)} 2>&1 < /dev/null & echo $!; }`;
    // With sudo, the whole line runs in a root shell, so that the pid echoed is the process's own.
    const result = await this.run(this.target.sudo ? `sudo -n -- sh -c ${shellQuote(line)}` : line);
    const pid = Number(result.stdout.trim());
    if (result.exitCode !== 0 || !Number.isInteger(pid) || pid <= 0) {
      throw new HostError(
        `${this.description}: cannot start ${spec.command}: ${result.stderr.trim() || result.stdout.trim()}`,
      );
    }
    return pid;
  }

  async isRunning(pid: number, commandMarker?: string): Promise<boolean> {
    const state = await this.exec("ps", ["-o", "stat=", "-p", String(pid)]);
    if (state.exitCode !== 0 || state.stdout.trim().startsWith("Z") || state.stdout.trim() === "")
      return false;
    if (!commandMarker) return true;
    const cmdline = await this.readFile(`/proc/${pid}/cmdline`);
    return cmdline !== undefined && cmdline.includes(commandMarker);
  }

  async signal(pid: number, signal: "SIGTERM" | "SIGKILL"): Promise<void> {
    await this.exec("kill", [`-${signal.replace("SIG", "")}`, String(pid)]);
  }

  async tail(file: string, lines: number): Promise<string> {
    const result = await this.exec("tail", ["-n", String(lines), "--", file]);
    return result.exitCode === 0 ? result.stdout.replace(/\n$/, "") : "";
  }

  async processUptimeSeconds(pid: number): Promise<number | undefined> {
    const result = await this.exec("ps", ["-o", "etimes=", "-p", String(pid)]);
    const seconds = Number(result.stdout.trim());
    return result.exitCode === 0 && Number.isFinite(seconds) ? seconds : undefined;
  }
}
