/** Renders the configuration files of a single-node KRaft broker (broker and controller in one process). */
import { randomBytes } from "node:crypto";

export interface SingleNodeBrokerConfig {
  readonly nodeId: number;
  /** Address the listeners bind to. */
  readonly listenHost: string;
  /** Address clients are told to connect to (the public IP in the cloud, loopback locally). */
  readonly advertisedHost: string;
  readonly brokerPort: number;
  readonly controllerPort: number;
  readonly logDir: string;
  readonly defaultPartitions: number;
  /** SASL_SSL with SCRAM-SHA-512 and ACLs instead of PLAINTEXT (`tickstream local up --secure`). */
  readonly security?: BrokerSecurity;
}

export interface BrokerSecurity {
  /** PEM: the broker's PKCS#8 key, its certificate and the CA. */
  readonly keystoreFile: string;
  /** PEM: the CA, which the broker trusts for its own inter-broker connections. */
  readonly truststoreFile: string;
  /** SCRAM password of the `broker` principal (inter-broker traffic). */
  readonly brokerPassword: string;
  /** PLAIN password of the `controller` principal (the controller listener, where SCRAM cannot be used). */
  readonly controllerPassword: string;
}

/** Room for the rollup's state in an offset commit's metadata (Kafka's default is 4,096 bytes). */
export const OFFSET_METADATA_MAX_BYTES = 1_048_576;

/** Principals the authorizer lets do anything; every other one needs an ACL. */
export const SUPER_USERS = ["broker", "controller", "ops"] as const;

function listenerLines(config: SingleNodeBrokerConfig): string[] {
  const { listenHost, advertisedHost, brokerPort, controllerPort, security } = config;
  if (!security) {
    return [
      `listeners=PLAINTEXT://${listenHost}:${brokerPort},CONTROLLER://${listenHost}:${controllerPort}`,
      `advertised.listeners=PLAINTEXT://${advertisedHost}:${brokerPort}`,
      "controller.listener.names=CONTROLLER",
      "inter.broker.listener.name=PLAINTEXT",
      "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
    ];
  }
  return [
    `listeners=EXTERNAL://${listenHost}:${brokerPort},CONTROLLER://${listenHost}:${controllerPort}`,
    `advertised.listeners=EXTERNAL://${advertisedHost}:${brokerPort}`,
    "controller.listener.names=CONTROLLER",
    "inter.broker.listener.name=EXTERNAL",
    "listener.security.protocol.map=EXTERNAL:SASL_SSL,CONTROLLER:SASL_PLAINTEXT",
    // Clients and the broker itself: SCRAM-SHA-512 over TLS, with the users created at format time.
    "sasl.enabled.mechanisms=SCRAM-SHA-512",
    "sasl.mechanism.inter.broker.protocol=SCRAM-SHA-512",
    `listener.name.external.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="broker" password="${security.brokerPassword}";`,
    // KRaft keeps SCRAM credentials in the metadata log, which controllers serve: they authenticate with PLAIN.
    "sasl.mechanism.controller.protocol=PLAIN",
    "listener.name.controller.sasl.enabled.mechanisms=PLAIN",
    `listener.name.controller.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required username="controller" password="${security.controllerPassword}" user_controller="${security.controllerPassword}";`,
    "ssl.keystore.type=PEM",
    `ssl.keystore.location=${security.keystoreFile}`,
    "ssl.truststore.type=PEM",
    `ssl.truststore.location=${security.truststoreFile}`,
    "ssl.endpoint.identification.algorithm=https",
    "ssl.enabled.protocols=TLSv1.3,TLSv1.2",
    "authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer",
    "allow.everyone.if.no.acl.found=false",
    `super.users=${SUPER_USERS.map((user) => `User:${user}`).join(";")}`,
  ];
}

export function renderServerProperties(config: SingleNodeBrokerConfig): string {
  const lines = [
    "# Written by tickstream; edits are replaced at the next start.",
    "process.roles=broker,controller",
    `node.id=${config.nodeId}`,
    `controller.quorum.voters=${config.nodeId}@${config.listenHost}:${config.controllerPort}`,
    ...listenerLines(config),
    `log.dirs=${config.logDir}`,
    `num.partitions=${config.defaultPartitions}`,
    // One node: the internal topics cannot have more replicas than there are brokers.
    "offsets.topic.replication.factor=1",
    "transaction.state.log.replication.factor=1",
    "transaction.state.log.min.isr=1",
    "share.coordinator.state.topic.replication.factor=1",
    "share.coordinator.state.topic.min.isr=1",
    // A lone consumer should not wait 3 s for company before its first assignment.
    "group.initial.rebalance.delay.ms=0",
    // The rollup commits its state with its offsets (apps/rollup/partition-rollup.ts): more than the 4 KiB default.
    `offset.metadata.max.bytes=${OFFSET_METADATA_MAX_BYTES}`,
    "auto.create.topics.enable=false",
    "log.retention.hours=168",
  ];
  return `${lines.join("\n")}\n`;
}

/** Logging to stdout, which the supervisor appends to the broker's log file. */
export function renderLog4j2Properties(): string {
  return [
    "status = warn",
    "appender.console.type = Console",
    "appender.console.name = STDOUT",
    "appender.console.layout.type = PatternLayout",
    "appender.console.layout.pattern = [%d] %p %m (%c)%n",
    "rootLogger.level = info",
    "rootLogger.appenderRef.stdout.ref = STDOUT",
    "logger.kafka.name = kafka",
    "logger.kafka.level = info",
    "logger.state.name = state.change.logger",
    "logger.state.level = warn",
    "logger.clients.name = org.apache.kafka",
    "logger.clients.level = warn",
    "",
  ].join("\n");
}

/**
 * A KRaft cluster id: 16 random bytes, base64url without padding, as `kafka-storage.sh random-uuid` prints.
 * Like Kafka's Uuid.randomUuid, never one that starts with "-", which the storage tool would read as an option.
 */
export function newClusterId(): string {
  for (;;) {
    const id = randomBytes(16).toString("base64url");
    if (!id.startsWith("-")) return id;
  }
}
