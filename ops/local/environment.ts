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
import { registerClusterSecurity } from "../../apps/shared/kafka-security.ts";
import { ConfigError } from "../../apps/shared/errors.ts";
import { applyAppAcls } from "../kafka/acls.ts";
import { Broker, type SecureBrokerSetup } from "../kafka/broker.ts";
import {
  clientSecurity,
  ensureLocalSecurity,
  isSecureHome,
  loadLocalSecurity,
  localSecurityFiles,
} from "../security/local-security.ts";
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
  /** How clients reach the broker: PLAINTEXT, or SASL_SSL (SCRAM-SHA-512, ACLs) after `local up --secure`. */
  readonly security: "PLAINTEXT" | "SASL_SSL";
  /** The CA clients must trust, when SASL_SSL; the credentials stay in `<home>/security/credentials.json`. */
  readonly caFile?: string;
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
        security: () => this.brokerSecurity(),
      },
      onProgress,
    );
    this.registerClientSecurity();
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

  /** True once `local up --secure` has made this home's CA, certificate and credentials. */
  get secure(): boolean {
    return isSecureHome(this.home);
  }

  /** Every Kafka client of this process that talks to this broker uses TLS and its role's credentials. */
  private registerClientSecurity(): void {
    const security = clientSecurity(this.home);
    if (security) registerClusterSecurity(this.bootstrapServers, security);
  }

  private brokerSecurity(): SecureBrokerSetup | undefined {
    const loaded = loadLocalSecurity(this.home);
    if (!loaded) return undefined;
    const { files, passwords } = loaded;
    return {
      properties: {
        keystoreFile: files.brokerKeystore,
        truststoreFile: files.caCertificate,
        brokerPassword: passwords.broker,
        controllerPassword: passwords.controller,
      },
      scramUsers: {
        broker: passwords.broker,
        ops: passwords.ops,
        producer: passwords.producer,
        consumer: passwords.consumer,
        rollup: passwords.rollup,
      },
    };
  }

  /** Brings both services up; `secure` makes the broker SASL_SSL with ACLs (from then on, for this home). */
  async up(options: { secure?: boolean } = {}): Promise<LocalStatus> {
    if (options.secure && !this.secure) {
      if (await this.host.pathExists(`${this.paths.brokerDataDir}/meta.properties`)) {
        throw new ConfigError(
          `the broker in ${this.home} was formatted without --secure, so it has no SCRAM users: use a new TICKSTREAM_HOME for a secure broker, or delete ${this.paths.brokerDataDir} (its topics and records go with it)`,
        );
      }
      await ensureLocalSecurity(this.host, this.home, this.settings.host);
      this.registerClientSecurity();
    }
    await Promise.all([this.s3.start(), this.broker.start()]);
    if (this.secure) await this.grantAppAcls([this.settings.topic], [this.settings.barsTopic]);
    return this.status();
  }

  /**
   * On a secure broker: the producer may write these tick topics, the lake sink and the rollup read them; the
   * rollup may write the bar topics, the lake sink read them (ops/kafka/acls.ts).
   */
  async grantAppAcls(topics: readonly string[], barsTopics: readonly string[] = []): Promise<void> {
    if (!this.secure) return;
    await applyAppAcls(this.bootstrapServers, {
      topics,
      barsTopics,
      groupPrefixes: [this.settings.consumerGroup],
      rollupGroupPrefixes: [this.settings.rollupGroup],
    });
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
      security: this.secure ? "SASL_SSL" : "PLAINTEXT",
      ...(this.secure ? { caFile: localSecurityFiles(this.home).caCertificate } : {}),
    };
  }
}
