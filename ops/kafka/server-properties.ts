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
}

export function renderServerProperties(config: SingleNodeBrokerConfig): string {
  const lines = [
    "# Written by tickstream; edits are replaced at the next start.",
    "process.roles=broker,controller",
    `node.id=${config.nodeId}`,
    `controller.quorum.voters=${config.nodeId}@${config.listenHost}:${config.controllerPort}`,
    `listeners=PLAINTEXT://${config.listenHost}:${config.brokerPort},CONTROLLER://${config.listenHost}:${config.controllerPort}`,
    `advertised.listeners=PLAINTEXT://${config.advertisedHost}:${config.brokerPort}`,
    "controller.listener.names=CONTROLLER",
    "inter.broker.listener.name=PLAINTEXT",
    "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
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
