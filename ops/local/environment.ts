/** The local environment: a Kafka broker and an S3 server on loopback, state under the tickstream home. */
import type { S3Client } from "@aws-sdk/client-s3";
import { createS3Client, type LakeLocation } from "../../apps/lake/s3-client.ts";
import { ServiceError } from "../../apps/shared/errors.ts";
import {
  LOCAL_S3_CREDENTIALS,
  loadLocalSettings,
  localPaths,
  tickstreamHome,
  type LocalPaths,
  type LocalSettings,
} from "../config/settings.ts";
import type { Host } from "../hosts/host.ts";
import { LocalHost } from "../hosts/local-host.ts";
import { Broker } from "../kafka/broker.ts";
import { LocalS3Server } from "../s3/local-s3.ts";

export interface LocalStatus {
  readonly bootstrapServers: string;
  readonly s3Endpoint: string;
  readonly bucket: string;
  readonly region: string;
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly broker: { readonly running: boolean; readonly pid: number | null };
  readonly s3: { readonly running: boolean; readonly pid: number | null };
}

export class LocalEnvironment {
  readonly paths: LocalPaths;
  readonly broker: Broker;
  readonly s3: LocalS3Server;

  constructor(
    readonly settings: LocalSettings,
    readonly home: string,
    readonly host: Host = new LocalHost(),
    onProgress: (message: string) => void = () => {},
  ) {
    this.paths = localPaths(home, settings);
    this.broker = new Broker(
      host,
      {
        kafkaVersion: settings.kafkaVersion,
        kafkaLibsDir: this.paths.kafkaLibs,
        kafkaHome: process.env.KAFKA_HOME || undefined,
        dataDir: this.paths.brokerDataDir,
        propertiesFile: this.paths.brokerProperties,
        log4jFile: this.paths.brokerLog4j,
        pidFile: this.paths.brokerPidFile,
        logFile: this.paths.brokerLogFile,
        listenHost: settings.host,
        advertisedHost: settings.host,
        brokerPort: settings.brokerPort,
        controllerPort: settings.controllerPort,
        heapMb: settings.brokerHeapMb,
        defaultPartitions: settings.defaultPartitions,
      },
      onProgress,
    );
    this.s3 = new LocalS3Server(host, {
      host: settings.host,
      port: settings.s3Port,
      dataDir: this.paths.s3DataDir,
      pidFile: this.paths.s3PidFile,
      logFile: this.paths.s3LogFile,
      lake: this.lake,
    });
  }

  /** Settings from `$TICKSTREAM_HOME/settings.json` (or `.tickstream/`). */
  static fromEnvironment(onProgress?: (message: string) => void): LocalEnvironment {
    const home = tickstreamHome();
    return new LocalEnvironment(loadLocalSettings(home), home, new LocalHost(), onProgress);
  }

  get bootstrapServers(): string[] {
    return [this.broker.bootstrapServers];
  }

  get lake(): LakeLocation {
    return {
      bucket: this.settings.bucket,
      region: this.settings.region,
      endpoint: `http://${this.settings.host}:${this.settings.s3Port}`,
      credentials: LOCAL_S3_CREDENTIALS,
    };
  }

  /** An S3 client on the local lake, once the local S3 server answers (the caller destroys it). */
  async lakeClient(): Promise<S3Client> {
    if (!(await this.s3.isAnswering())) {
      throw new ServiceError(
        `the local S3 server does not answer at ${this.s3.endpoint}: start it with: tickstream local up`,
      );
    }
    return createS3Client(this.lake);
  }

  async up(): Promise<LocalStatus> {
    await Promise.all([this.s3.start(), this.broker.start()]);
    return this.status();
  }

  async down(): Promise<{ broker: boolean; s3: boolean }> {
    const [broker, s3] = await Promise.all([this.broker.stop(), this.s3.stop()]);
    return { broker: broker.stopped, s3: s3.stopped };
  }

  async status(): Promise<LocalStatus> {
    const [broker, s3] = await Promise.all([this.broker.status(), this.s3.status()]);
    return {
      bootstrapServers: this.broker.bootstrapServers,
      s3Endpoint: this.s3.endpoint,
      bucket: this.settings.bucket,
      region: this.settings.region,
      ...LOCAL_S3_CREDENTIALS,
      broker: { running: broker.running, pid: broker.pid ?? null },
      s3: { running: s3.running, pid: s3.pid ?? null },
    };
  }
}
