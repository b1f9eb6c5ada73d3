/**
 * The one seam where local and remote differ. Everything in ops/ that touches a machine goes through a Host:
 * LocalHost runs on this machine; the SSH host (ops/hosts/ssh-host.ts) runs on a broker host.
 */
export interface ExecOptions {
  readonly cwd?: string;
  readonly env?: Readonly<Record<string, string>>;
  readonly timeoutMs?: number;
  readonly input?: string;
}

export interface ExecResult {
  readonly exitCode: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** A long-running process to start in the background, detached from the caller. */
export interface LaunchSpec {
  readonly command: string;
  readonly args: readonly string[];
  readonly cwd?: string;
  readonly env?: Readonly<Record<string, string>>;
  /** stdout and stderr are appended here. */
  readonly logFile: string;
}

export interface Host {
  /** For messages: "this machine", "ubuntu@203.0.113.7:22". */
  readonly description: string;
  /** Runs a program with an argument array (never a shell string); resolves with its exit code, never throws on one. */
  exec(command: string, args: readonly string[], options?: ExecOptions): Promise<ExecResult>;
  readFile(path: string): Promise<string | undefined>;
  writeFile(path: string, content: string, options?: { mode?: number }): Promise<void>;
  makeDirectory(path: string): Promise<void>;
  removePath(path: string): Promise<void>;
  pathExists(path: string): Promise<boolean>;
  /** Starts a detached background process and returns its pid. */
  launch(spec: LaunchSpec): Promise<number>;
  /** True when `pid` is alive and, if given, its command line contains `commandMarker` (guards against pid reuse). */
  isRunning(pid: number, commandMarker?: string): Promise<boolean>;
  signal(pid: number, signal: "SIGTERM" | "SIGKILL"): Promise<void>;
  /** The last `lines` lines of a text file ("" when it does not exist). */
  tail(path: string, lines: number): Promise<string>;
  /** Seconds since `pid` started, or undefined when it is not running. */
  processUptimeSeconds(pid: number): Promise<number | undefined>;
}
