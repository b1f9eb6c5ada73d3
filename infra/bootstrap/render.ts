/**
 * The broker bootstrap: a bash script, rendered by a pure function into each broker's user data.
 * It is safe to run twice: every step checks before it acts, and a second run changes nothing.
 *
 * A few TICKSTREAM_* environment variables switch the steps that need a cloud host, so that the same
 * script runs for real in the test suite (root folder, IMDS endpoint, local jars instead of the download,
 * no systemd, no package installs, no data volume). On EC2 none is set and every step runs.
 */
import { createHash } from "node:crypto";
import { shellQuote } from "../../apps/shared/shell-quote.ts";
import { OFFSET_METADATA_MAX_BYTES } from "../../ops/kafka/server-properties.ts";
import { DEFAULT_KAFKA_MIRROR, DEFAULT_SCALA_VERSION, KAFKA_INSTALL_FUNCTIONS } from "./kafka-install.ts";
import {
  SECURE_LISTENER_PROPERTIES,
  securityFunctions,
  securitySettings,
  validateSecurity,
  type BootstrapSecurity,
} from "./security.ts";

export interface BootstrapVoter {
  readonly nodeId: number;
  readonly host: string;
}

export interface BootstrapParams {
  readonly nodeId: number;
  /** Controller quorum; empty for a single broker, which votes for itself on its private IP. */
  readonly voters: readonly BootstrapVoter[];
  /** The Elastic IP: the script waits until IMDS reports it, then advertises it. */
  readonly publicIp: string;
  readonly clusterId: string;
  readonly kafkaVersion: string;
  readonly scalaVersion?: string;
  readonly nodeVersion: string;
  readonly topic: string;
  /** The rollup's bar topic, created beside the tick topic (with as many partitions); none when absent. */
  readonly barsTopic?: string;
  readonly partitions: number;
  readonly replicationFactor: number;
  readonly retentionHours: number;
  readonly ports: { readonly external: number; readonly internal: number; readonly controller: number };
  /** The EBS volume (vol-…) that holds Kafka's data, found on the host by its NVMe serial. */
  readonly dataVolumeId?: string;
  /** SASL_SSL listeners, ACLs and SCRAM users from Parameter Store (security.ts); without it, PLAINTEXT. */
  readonly security?: BootstrapSecurity;
}

export const DEFAULT_BROKER_PORTS = { external: 9092, internal: 9094, controller: 9093 } as const;
export const DEFAULT_NODE_VERSION = "20.20.2";

/** A KRaft cluster id every broker of a stack shares, derived from the stack so that renders are stable. */
export function clusterIdFor(stackKey: string): string {
  // Never a leading "-", which the storage tool would read as an option (Kafka's own ids avoid it too).
  return createHash("sha256")
    .update(`tickstream:${stackKey}`)
    .digest()
    .subarray(0, 16)
    .toString("base64url")
    .replace(/^-/, "A");
}

function validate(params: BootstrapParams): void {
  const ipv4 = /^(\d{1,3}\.){3}\d{1,3}$/;
  if (!ipv4.test(params.publicIp))
    throw new Error(`bootstrap: publicIp "${params.publicIp}" is not an IPv4 address`);
  for (const voter of params.voters) {
    if (!ipv4.test(voter.host))
      throw new Error(`bootstrap: voter ${voter.nodeId} host "${voter.host}" is not an IPv4 address`);
  }
  if (params.voters.length > 0 && !params.voters.some((voter) => voter.nodeId === params.nodeId)) {
    throw new Error(`bootstrap: node ${params.nodeId} is not among the voters`);
  }
  if (!/^\d+\.\d+\.\d+$/.test(params.kafkaVersion) || !/^\d+\.\d+\.\d+$/.test(params.nodeVersion)) {
    throw new Error("bootstrap: kafkaVersion and nodeVersion must look like 4.1.1");
  }
  if (params.dataVolumeId !== undefined && !/^vol-([0-9a-f]{8}|[0-9a-f]{17})$/.test(params.dataVolumeId))
    throw new Error(`bootstrap: dataVolumeId "${params.dataVolumeId}" is not an EBS volume id`);
  if (params.barsTopic !== undefined && !/^[A-Za-z0-9._-]+$/.test(params.barsTopic))
    throw new Error(`bootstrap: barsTopic "${params.barsTopic}" is not a Kafka topic name`);
  if (!/^[A-Za-z0-9._-]+$/.test(params.topic))
    throw new Error(`bootstrap: topic "${params.topic}" is not a Kafka topic name`);
  if (params.security) validateSecurity(params.security);
}

export function renderBootstrap(params: BootstrapParams): string {
  validate(params);
  const scala = params.scalaVersion ?? DEFAULT_SCALA_VERSION;
  const security = params.security;
  const voters = params.voters
    .map((voter) => `${voter.nodeId}@${voter.host}:${params.ports.controller}`)
    .join(",");
  const settings = [
    ["NODE_ID", params.nodeId],
    ["EXPECTED_PUBLIC_IP", params.publicIp],
    ["QUORUM_VOTERS", voters],
    ["CLUSTER_ID", params.clusterId],
    ["KAFKA_VERSION", params.kafkaVersion],
    ["SCALA_VERSION", scala],
    ["NODE_VERSION", params.nodeVersion],
    ["TOPIC", params.topic],
    ["BARS_TOPIC", params.barsTopic ?? ""],
    ["PARTITIONS", params.partitions],
    ["REPLICATION_FACTOR", params.replicationFactor],
    ["RETENTION_MS", params.retentionHours * 3_600_000],
    ["EXTERNAL_PORT", params.ports.external],
    ["INTERNAL_PORT", params.ports.internal],
    ["CONTROLLER_PORT", params.ports.controller],
    ["DATA_VOLUME_ID", params.dataVolumeId ?? ""],
    ...(security ? securitySettings(security) : []),
  ]
    .map(([name, value]) => `readonly ${name}=${shellQuote(value!)}`)
    .join("\n");
  return `#!/bin/bash
# tickstream broker bootstrap, rendered by infra/bootstrap/render.ts. Safe to run again: it changes nothing
# that is already in place. Its log: /var/log/tickstream-bootstrap.log (and the cloud-init output).
set -euo pipefail

${settings}

# Switches for running this script outside EC2 (the test suite); unset on a broker host.
readonly ROOT="\${TICKSTREAM_BOOTSTRAP_ROOT:-}"
readonly IMDS="\${TICKSTREAM_IMDS_ENDPOINT:-http://169.254.169.254}"
readonly LOCAL_KAFKA_LIBS="\${TICKSTREAM_KAFKA_LIBS:-}"
readonly KAFKA_MIRROR="\${TICKSTREAM_KAFKA_MIRROR:-${DEFAULT_KAFKA_MIRROR}}"
readonly SERVICE_MANAGER="\${TICKSTREAM_SERVICE_MANAGER:-systemd}"
readonly SKIP_PACKAGES="\${TICKSTREAM_SKIP_PACKAGES:-0}"
readonly DATA_DEVICE="\${TICKSTREAM_DATA_DEVICE:-auto}"
readonly DISK_BY_ID="\${TICKSTREAM_DISK_BY_ID:-/dev/disk/by-id}"
readonly DATA_VOLUME_WAIT_S="\${TICKSTREAM_DATA_VOLUME_WAIT_S:-600}"
readonly EXTERNAL_BIND="\${TICKSTREAM_EXTERNAL_BIND:-0.0.0.0}"
${security ? 'readonly SSM_ENDPOINT="${TICKSTREAM_SSM_ENDPOINT:-}"' : ""}

readonly KAFKA_HOME="$ROOT/opt/kafka"
readonly CONFIG_DIR="$ROOT/etc/kafka"
readonly DATA_DIR="$ROOT/var/lib/kafka"
readonly LOG_DIR="$ROOT/var/log/kafka"
readonly STATE_DIR="$ROOT/var/lib/tickstream"

log() { printf '%s tickstream-bootstrap: %s\\n' "$(date -u +%FT%TZ)" "$*" >&2; }

# Everything this script prints also goes to its log file (cloud-init keeps a copy in its own output).
readonly BOOTSTRAP_LOG="$ROOT/var/log/tickstream-bootstrap.log"
mkdir -p "$(dirname "$BOOTSTRAP_LOG")"
exec > >(tee -a "$BOOTSTRAP_LOG") 2>&1

# Writes stdin to a file only when the content differs, so that a second run leaves files untouched.
write_if_changed() {
  local target="$1" mode="$2" tmp
  tmp="$(mktemp)"
  cat > "$tmp"
  if [ -f "$target" ] && cmp -s "$tmp" "$target"; then
    rm -f "$tmp"
    return 1
  fi
  mkdir -p "$(dirname "$target")"
  install -m "$mode" "$tmp" "$target"
  rm -f "$tmp"
  log "wrote $target"
  return 0
}

imds_token() {
  curl -fsS --retry 5 --retry-connrefused -X PUT "$IMDS/latest/api/token" \\
    -H 'X-aws-ec2-metadata-token-ttl-seconds: 300'
}

imds_get() {
  curl -fsS --retry 5 --retry-connrefused -H "X-aws-ec2-metadata-token: $(imds_token)" "$IMDS/latest/meta-data/$1"
}

install_packages() {
  if [ "$SKIP_PACKAGES" = 1 ]; then
    log "skipping package installation (TICKSTREAM_SKIP_PACKAGES=1)"
    return
  fi
  if ! command -v java > /dev/null || ! command -v mkfs.xfs > /dev/null; then
    log "installing Java 17, xfsprogs and curl"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q
    apt-get install -y -q openjdk-17-jre-headless xfsprogs curl ca-certificates
  fi
  if [ "$(node --version 2> /dev/null || true)" != "v$NODE_VERSION" ]; then
    log "installing Node.js $NODE_VERSION"
    local dir archive
    dir="$(mktemp -d)"
    archive="node-v$NODE_VERSION-linux-x64.tar.xz"
    curl -fsSL -o "$dir/$archive" "https://nodejs.org/dist/v$NODE_VERSION/$archive"
    curl -fsSL -o "$dir/SHASUMS256.txt" "https://nodejs.org/dist/v$NODE_VERSION/SHASUMS256.txt"
    (cd "$dir" && grep " $archive\\$" SHASUMS256.txt | sha256sum -c -)
    tar -xJf "$dir/$archive" -C /usr/local --strip-components=1
    rm -rf "$dir"
  fi
  if ! id kafka > /dev/null 2>&1; then
    useradd --system --home-dir "$DATA_DIR" --shell /usr/sbin/nologin kafka
  fi
}

${KAFKA_INSTALL_FUNCTIONS}${security ? securityFunctions(security) : ""}
# First boot only: unpack the stack's version and make it the active one. Later version changes are
# \`tickstream broker reconfigure --kafka-version\`'s, so running this script again never moves the version back.
install_kafka() {
  fetch_kafka "$KAFKA_VERSION"
  if [ -z "$(kafka_active_version)" ]; then
    activate_kafka "$KAFKA_VERSION"
  fi
}

# The data volume's device, found by its EBS volume id: on Nitro instances an EBS volume is an NVMe device whose
# serial is the volume id without its dash. Never "the first empty disk": on instance-store types that is
# ephemeral. The attachment may come after boot, so wait for it.
data_device() {
  local link="$DISK_BY_ID/nvme-Amazon_Elastic_Block_Store_\${DATA_VOLUME_ID//-/}"
  local deadline=$((SECONDS + DATA_VOLUME_WAIT_S))
  until [ -e "$link" ]; do
    if [ "$SECONDS" -gt "$deadline" ]; then
      log "data volume $DATA_VOLUME_ID is not attached ($link missing after \${DATA_VOLUME_WAIT_S} s)"
      exit 1
    fi
    log "waiting for data volume $DATA_VOLUME_ID to be attached"
    sleep 2
  done
  readlink -f "$link"
}

mount_data_volume() {
  mkdir -p "$DATA_DIR"
  if [ "$DATA_DEVICE" = none ]; then
    return
  fi
  if mountpoint -q "$DATA_DIR"; then
    return
  fi
  local device="$DATA_DEVICE"
  if [ "$device" = auto ]; then
    if [ -z "$DATA_VOLUME_ID" ]; then
      log "no data volume id; keeping Kafka's data on the root volume"
      return
    fi
    device="$(data_device)"
  fi
  if ! blkid "$device" > /dev/null 2>&1; then
    log "formatting $device as xfs"
    mkfs.xfs -q "$device"
  fi
  local uuid
  uuid="$(blkid -s UUID -o value "$device")"
  if ! grep -q "UUID=$uuid" /etc/fstab; then
    echo "UUID=$uuid $DATA_DIR xfs defaults,nofail,noatime 0 2" >> /etc/fstab
  fi
  mount "$DATA_DIR"
}

heap_mb() {
  local total_kb
  total_kb="$(awk '/^MemTotal:/ {print $2}' /proc/meminfo)"
  # A quarter of the memory (the page cache serves Kafka better than heap), between 512 MiB and 6 GiB.
  local heap=$((total_kb / 4096))
  if [ "$heap" -lt 512 ]; then heap=512; fi
  if [ "$heap" -gt 6144 ]; then heap=6144; fi
  echo "$heap"
}

write_config() {
  local public_ip="$1" private_ip="$2" voters="$QUORUM_VOTERS"
  if [ -z "$voters" ]; then
    voters="$NODE_ID@$private_ip:$CONTROLLER_PORT"
  fi
  write_if_changed "$CONFIG_DIR/server.properties" ${security ? "0600" : "0644"} << EOF || true
# Written by the tickstream bootstrap.
process.roles=broker,controller
node.id=$NODE_ID
controller.quorum.voters=$voters
listeners=EXTERNAL://$EXTERNAL_BIND:$EXTERNAL_PORT,INTERNAL://$private_ip:$INTERNAL_PORT,CONTROLLER://$private_ip:$CONTROLLER_PORT
advertised.listeners=EXTERNAL://$public_ip:$EXTERNAL_PORT,INTERNAL://$private_ip:$INTERNAL_PORT
${security ? SECURE_LISTENER_PROPERTIES : "listener.security.protocol.map=EXTERNAL:PLAINTEXT,INTERNAL:PLAINTEXT,CONTROLLER:PLAINTEXT"}
inter.broker.listener.name=INTERNAL
controller.listener.names=CONTROLLER
log.dirs=$DATA_DIR/data
num.partitions=$PARTITIONS
default.replication.factor=$REPLICATION_FACTOR
min.insync.replicas=$(( REPLICATION_FACTOR > 1 ? 2 : 1 ))
offsets.topic.replication.factor=$REPLICATION_FACTOR
transaction.state.log.replication.factor=$REPLICATION_FACTOR
transaction.state.log.min.isr=$(( REPLICATION_FACTOR > 1 ? 2 : 1 ))
share.coordinator.state.topic.replication.factor=$REPLICATION_FACTOR
share.coordinator.state.topic.min.isr=$(( REPLICATION_FACTOR > 1 ? 2 : 1 ))
auto.create.topics.enable=false
offset.metadata.max.bytes=${OFFSET_METADATA_MAX_BYTES}
log.retention.ms=$RETENTION_MS
EOF
  write_if_changed "$CONFIG_DIR/log4j2.properties" 0644 << EOF || true
status = warn
appender.file.type = RollingFile
appender.file.name = FILE
appender.file.fileName = $LOG_DIR/server.log
appender.file.filePattern = $LOG_DIR/server.log.%i
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d] %p %m (%c)%n
appender.file.policies.type = Policies
appender.file.policies.size.type = SizeBasedTriggeringPolicy
appender.file.policies.size.size = 100MB
appender.file.strategy.type = DefaultRolloverStrategy
appender.file.strategy.max = 10
rootLogger.level = info
rootLogger.appenderRef.file.ref = FILE
EOF
}

format_storage() {
  mkdir -p "$DATA_DIR/data" "$LOG_DIR" "$STATE_DIR"
  if [ -f "$DATA_DIR/data/meta.properties" ]; then
    return
  fi
  log "formatting KRaft storage in $DATA_DIR/data (cluster $CLUSTER_ID)"
${
  security
    ? `  # The SCRAM users go into the first metadata, through an argument file of mode 600.
  local scram="$CONFIG_DIR/format-scram.args"
  write_scram_arguments "$scram"
  # It prints the records it writes: the SCRAM ones (salts and derived keys) stay out of the log.
  { java -cp "$KAFKA_HOME/libs/*" kafka.tools.StorageTool format --cluster-id="$CLUSTER_ID" -c "$CONFIG_DIR/server.properties" --ignore-formatted "@$scram" 2>&1; } |
    sed '/ScramCredential/d' || { rm -f "$scram"; exit 1; }
  rm -f "$scram"`
    : `  java -cp "$KAFKA_HOME/libs/*" kafka.tools.StorageTool format --cluster-id="$CLUSTER_ID" -c "$CONFIG_DIR/server.properties" --ignore-formatted`
}
}

start_broker() {
  local java_command=(java -Xms512m "-Xmx$(heap_mb)m" -XX:+UseG1GC -Djava.awt.headless=true
    "-Dlog4j2.configurationFile=$CONFIG_DIR/log4j2.properties" -cp "$KAFKA_HOME/libs/*"
    kafka.Kafka "$CONFIG_DIR/server.properties")
  if [ "$SERVICE_MANAGER" = systemd ]; then
    chown -R kafka:kafka "$DATA_DIR" "$LOG_DIR"${security ? '\n    chown kafka:kafka "$CONFIG_DIR/server.properties" "$CONFIG_DIR/broker-keystore.pem"' : ""}
    local unit_changed=0
    write_if_changed /etc/systemd/system/kafka.service 0644 << EOF && unit_changed=1
[Unit]
Description=Apache Kafka broker (KRaft), installed by tickstream
Wants=network-online.target
After=network-online.target

[Service]
User=kafka
Group=kafka
ExecStart=$(command -v java) -Xms512m -Xmx$(heap_mb)m -XX:+UseG1GC -Djava.awt.headless=true -Dlog4j2.configurationFile=$CONFIG_DIR/log4j2.properties -cp "$KAFKA_HOME/libs/*" kafka.Kafka $CONFIG_DIR/server.properties
Restart=on-failure
RestartSec=5
LimitNOFILE=100000
TimeoutStopSec=120

[Install]
WantedBy=multi-user.target
EOF
    if [ "$unit_changed" = 1 ]; then systemctl daemon-reload; fi
    systemctl enable --now kafka.service
    return
  fi
  # No systemd (the test sandbox): a plain background process with a pid file, described in a file the
  # ops CLI reads to stop, start and inspect the same process (ops/remote/remote-broker.ts).
  local pid_file="$STATE_DIR/kafka.pid" args_json="" word
  for word in "\${java_command[@]:1}"; do args_json="$args_json\${args_json:+,}\\"$word\\""; done
  write_if_changed "$STATE_DIR/kafka.service.json" 0644 << EOF || true
{"name":"kafka","command":"$(command -v java)","args":[$args_json],"pidFile":"$pid_file","logFile":"$LOG_DIR/stdout.log","commandMarker":"$CONFIG_DIR/server.properties"}
EOF
  if [ -f "$pid_file" ] && kill -0 "$(cat "$pid_file")" 2> /dev/null; then
    return
  fi
  log "starting the broker in the background (TICKSTREAM_SERVICE_MANAGER=$SERVICE_MANAGER)"
  nohup "\${java_command[@]}" >> "$LOG_DIR/stdout.log" 2>&1 &
  echo $! > "$pid_file"
}

kafka_tool() {
  java -cp "$KAFKA_HOME/libs/*" org.apache.kafka.tools.TopicCommand --bootstrap-server "$1:$INTERNAL_PORT"${security ? ' --command-config "$CONFIG_DIR/admin.properties"' : ""} "\${@:2}"
}

wait_and_create_topic() {
  local private_ip="$1" deadline=$((SECONDS + 300))
  until kafka_tool "$private_ip" --list > /dev/null 2>&1; do
    if [ "$SECONDS" -gt "$deadline" ]; then
      log "the broker did not answer on $private_ip:$INTERNAL_PORT within 300 s; see $LOG_DIR"
      exit 1
    fi
    sleep 2
  done
  log "the broker answers on $private_ip:$INTERNAL_PORT"
  # With a quorum, creation waits until enough brokers have joined for the replication factor.
  local topic
  for topic in "$TOPIC" $BARS_TOPIC; do
    until kafka_tool "$private_ip" --create --if-not-exists --topic "$topic" --partitions "$PARTITIONS" \\
      --replication-factor "$REPLICATION_FACTOR" --config "retention.ms=$RETENTION_MS" > /dev/null 2>&1; do
      if [ "$SECONDS" -gt "$deadline" ]; then
        log "could not create topic $topic within 300 s"
        exit 1
      fi
      sleep 5
    done
    log "topic $topic is in place"
  done
}

main() {
  local public_ip private_ip deadline=$((SECONDS + 600))
  # First the Elastic IP: the subnets map no public IPs, so until the association there is no way out to the
  # Internet, and every download below would fail.
  private_ip="$(imds_get local-ipv4)"
  # The Elastic IP is associated after the instance starts: advertise it only once IMDS reports it.
  until public_ip="$(imds_get public-ipv4 2> /dev/null)" && [ "$public_ip" = "$EXPECTED_PUBLIC_IP" ]; do
    if [ "$SECONDS" -gt "$deadline" ]; then
      log "IMDS still reports public IP '\${public_ip:-none}', not the Elastic IP $EXPECTED_PUBLIC_IP"
      exit 1
    fi
    log "waiting for the Elastic IP $EXPECTED_PUBLIC_IP (IMDS says '\${public_ip:-none}')"
    sleep 2
  done
  log "node $NODE_ID: public $public_ip, private $private_ip"
  install_packages
  install_kafka
  mount_data_volume${security ? '\n  fetch_security "$private_ip"\n  write_admin_config' : ""}
  write_config "$public_ip" "$private_ip"
  format_storage
  start_broker
  wait_and_create_topic "$private_ip"${security ? '\n  create_acls "$private_ip"' : ""}
  log "done"
}

main "$@"
`;
}
