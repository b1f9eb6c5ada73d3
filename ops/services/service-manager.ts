/** What ops needs of a long-running service, whoever supervises it (a pid file here, systemd on cloud hosts). */
export interface ServiceStatus {
  readonly name: string;
  readonly running: boolean;
  readonly pid?: number;
  readonly uptimeSeconds?: number;
}

export interface StartResult {
  /** False when the service was already running: nothing was started. */
  readonly started: boolean;
  readonly pid: number;
}

export interface StopResult {
  /** False when the service was not running. */
  readonly stopped: boolean;
  /** True when it ignored SIGTERM for the whole grace period and was killed. */
  readonly killed: boolean;
}

export interface ServiceManager {
  readonly name: string;
  start(): Promise<StartResult>;
  stop(options?: { graceMs?: number }): Promise<StopResult>;
  status(): Promise<ServiceStatus>;
  logs(lines: number): Promise<string>;
}
