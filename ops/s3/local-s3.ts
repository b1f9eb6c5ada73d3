/** The local S3-compatible server: a supervised s3rver process with its data under `<home>/s3`. */
import { CreateBucketCommand, HeadBucketCommand } from "@aws-sdk/client-s3";
import { ServiceError, errorMessage } from "../../apps/shared/errors.ts";
import { sleep } from "../../apps/shared/retry.ts";
import { createS3Client, type LakeLocation } from "../../apps/lake/s3-client.ts";
import type { Host } from "../hosts/host.ts";
import { nodeScriptCommand } from "../local/node-script.ts";
import { PlainSupervisor } from "../services/plain-supervisor.ts";

export interface LocalS3Layout {
  readonly host: string;
  readonly port: number;
  readonly dataDir: string;
  readonly pidFile: string;
  readonly logFile: string;
  readonly lake: LakeLocation;
}

const START_TIMEOUT_MS = 30_000;

export class LocalS3Server {
  readonly supervisor: PlainSupervisor;

  constructor(
    host: Host,
    private readonly layout: LocalS3Layout,
  ) {
    const launch = nodeScriptCommand(new URL("./s3-server-main.ts", import.meta.url), [
      "--address",
      layout.host,
      "--port",
      String(layout.port),
      "--directory",
      layout.dataDir,
    ]);
    this.supervisor = new PlainSupervisor(host, {
      name: "s3-server",
      ...launch,
      pidFile: layout.pidFile,
      logFile: layout.logFile,
      commandMarker: layout.dataDir,
    });
  }

  get endpoint(): string {
    return `http://${this.layout.host}:${this.layout.port}`;
  }

  /** Starts the server unless it runs, waits until it answers, and makes sure the lake bucket exists. */
  async start(): Promise<{ started: boolean; pid: number }> {
    const result = await this.supervisor.start();
    const s3 = createS3Client(this.layout.lake, { maxAttempts: 1 });
    const deadline = Date.now() + START_TIMEOUT_MS;
    try {
      for (;;) {
        try {
          await s3.send(new CreateBucketCommand({ Bucket: this.layout.lake.bucket }));
          return result;
        } catch (error) {
          const name = (error as Error).name;
          if (name === "BucketAlreadyOwnedByYou" || name === "BucketAlreadyExists") return result;
          if (Date.now() > deadline) {
            throw new ServiceError(
              `the local S3 server did not answer on ${this.endpoint} within ${START_TIMEOUT_MS / 1000} s: ${errorMessage(error)}`,
            );
          }
          if (!(await this.supervisor.runningPid())) {
            throw new ServiceError(
              `the local S3 server exited while starting; see ${this.layout.logFile}:\n${await this.supervisor.logs(5)}`,
            );
          }
          await sleep(200);
        }
      }
    } finally {
      s3.destroy();
    }
  }

  async isAnswering(): Promise<boolean> {
    const s3 = createS3Client(this.layout.lake, { maxAttempts: 1 });
    try {
      await s3.send(new HeadBucketCommand({ Bucket: this.layout.lake.bucket }));
      return true;
    } catch {
      return false;
    } finally {
      s3.destroy();
    }
  }

  stop(options: { graceMs?: number } = {}) {
    return this.supervisor.stop({ graceMs: options.graceMs ?? 10_000 });
  }

  status() {
    return this.supervisor.status();
  }
}
