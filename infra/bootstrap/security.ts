/**
 * The secured broker's part of the bootstrap. The stack keeps the material in SSM Parameter Store, where only
 * the broker role may read it: a SecureString per SCRAM password, one per broker for its PEM keystore (PKCS#8
 * key, certificate whose SANs hold the Elastic IP and the private IP, and the CA), and the CA certificate.
 * The script reads them with the instance role's credentials from IMDS, signing with curl's SigV4; the
 * credentials and every secret go to curl through its config on stdin and to Kafka through files of mode 600,
 * so none is ever in user data, a command line or the log.
 *
 * Listeners: every one is TLS. EXTERNAL (the Elastic IPs, allowedCidrs) and INTERNAL (private IPs: brokers
 * replicating, and apps inside the VPC) are SASL_SSL with SCRAM-SHA-512, so that every principal is
 * authenticated and the ACLs apply on both; CONTROLLER is SASL_SSL with PLAIN, because KRaft keeps SCRAM
 * credentials in the metadata log that the controllers serve.
 */
import { aclCommandArguments, type AppAclScope } from "../../ops/kafka/acls.ts";
import { shellQuote } from "../../apps/shared/shell-quote.ts";
import { STACK_PRINCIPALS, type StackPrincipal } from "./principals.ts";

export {
  ROTATABLE_PRINCIPALS,
  STACK_PRINCIPALS,
  type RotatablePrincipal,
  type StackPrincipal,
} from "./principals.ts";

/**
 * Where a stack's Kafka material lives in Parameter Store. Names: letters, digits, `_.-/`, at most 15 levels
 * (https://docs.aws.amazon.com/systems-manager/latest/userguide/sysman-parameter-name-constraints.html).
 */
export function kafkaParameterNames(stack: string) {
  const prefix = `/tickstream/${stack}/kafka`;
  return {
    prefix,
    caCertificate: `${prefix}/ca-certificate`,
    keystore: (nodeId: number) => `${prefix}/brokers/${nodeId}/keystore`,
    user: (principal: StackPrincipal) => `${prefix}/users/${principal}`,
  };
}

export interface BootstrapSecurity {
  readonly caParameter: string;
  readonly keystoreParameter: string;
  readonly userParameters: Readonly<Record<StackPrincipal, string>>;
  /** The apps' topics and groups, for their ACLs. */
  readonly aclScope: AppAclScope;
}

export function validateSecurity(security: BootstrapSecurity): void {
  const names = [security.caParameter, security.keystoreParameter, ...Object.values(security.userParameters)];
  for (const name of names)
    if (!/^\/[A-Za-z0-9_.\-/]{1,1010}$/.test(name) || name.split("/").length - 1 > 15)
      throw new Error(`bootstrap: "${name}" is not an SSM parameter name`);
  for (const principal of STACK_PRINCIPALS)
    if (!security.userParameters[principal]) throw new Error(`bootstrap: no parameter for ${principal}`);
}

/** `readonly` settings of the rendered script. */
export function securitySettings(security: BootstrapSecurity): [string, string][] {
  return [
    ["CA_PARAMETER", security.caParameter],
    ["KEYSTORE_PARAMETER", security.keystoreParameter],
    ...STACK_PRINCIPALS.map(
      (principal) =>
        [`${principal.toUpperCase()}_PASSWORD_PARAMETER`, security.userParameters[principal]] as [
          string,
          string,
        ],
    ),
  ];
}

/** Bash functions: they need IMDS, imds_get, CONFIG_DIR, KAFKA_HOME, INTERNAL_PORT, write_if_changed and log. */
export function securityFunctions(security: BootstrapSecurity): string {
  const acls = aclCommandArguments(security.aclScope)
    .map((args) => `  kafka_acl "$private_ip" ${args.map((arg) => shellQuote(arg)).join(" ")}`)
    .join("\n");
  return `
# Fields of the JSON on stdin, one per line ("Parameter.Value"). python3 is part of every Ubuntu image.
json_fields() {
  python3 -c 'import json, sys
document = json.load(sys.stdin)
for path in sys.argv[1:]:
    value = document
    for key in path.split("."):
        value = value[key]
    print(value)' "$@"
}

# A parameter's decrypted value, read with the instance role's temporary credentials. The credentials reach
# curl through its config on stdin (printed by a bash builtin), never through its arguments.
ssm_get() {
  local name="$1" region role credentials key secret token
  region="$(imds_get placement/region)"
  role="$(imds_get iam/security-credentials/ | head -n 1)"
  credentials="$(imds_get "iam/security-credentials/$role" | json_fields AccessKeyId SecretAccessKey Token)"
  { read -r key; read -r secret; read -r token; } <<< "$credentials"
  printf 'user = "%s:%s"\\nheader = "x-amz-security-token: %s"\\n' "$key" "$secret" "$token" |
    curl -fsS --retry 5 --retry-connrefused -K - --aws-sigv4 "aws:amz:$region:ssm" \\
      -H 'X-Amz-Target: AmazonSSM.GetParameter' -H 'Content-Type: application/x-amz-json-1.1' \\
      --data-binary "{\\"Name\\":\\"$name\\",\\"WithDecryption\\":true}" "\${SSM_ENDPOINT:-https://ssm.$region.amazonaws.com}/" |
    json_fields Parameter.Value
}

# True when the first certificate of the PEM on stdin names IP $1 among its subject alternative names.
certificate_names_ip() {
  openssl x509 -noout -ext subjectAltName 2> /dev/null | tr ',' '\\n' | sed 's/^ *//' | grep -qx "IP Address:$1"
}

# The keystore's certificate must name this host's private IP, which the stack learns only once the instance
# exists: it writes the keystore after, so a new instance may read a predecessor's for a while. Wait for ours.
fetch_security() {
  local private_ip="$1" deadline=$((SECONDS + 900)) keystore
  until keystore="$(ssm_get "$KEYSTORE_PARAMETER" 2> /dev/null)" &&
    printf '%s\\n' "$keystore" | certificate_names_ip "$private_ip"; do
    if [ "$SECONDS" -gt "$deadline" ]; then
      log "no keystore for $private_ip in $KEYSTORE_PARAMETER after 900 s (can the broker role read it?)"
      exit 1
    fi
    log "waiting for a keystore that names $private_ip in $KEYSTORE_PARAMETER"
    sleep 5
  done
  printf '%s\\n' "$keystore" | write_if_changed "$CONFIG_DIR/broker-keystore.pem" 0600 || true
  ssm_get "$CA_PARAMETER" | write_if_changed "$CONFIG_DIR/ca.pem" 0644 || true
  BROKER_PASSWORD="$(ssm_get "$BROKER_PASSWORD_PARAMETER")"
  CONTROLLER_PASSWORD="$(ssm_get "$CONTROLLER_PASSWORD_PARAMETER")"
  OPS_PASSWORD="$(ssm_get "$OPS_PASSWORD_PARAMETER")"
  PRODUCER_PASSWORD="$(ssm_get "$PRODUCER_PASSWORD_PARAMETER")"
  CONSUMER_PASSWORD="$(ssm_get "$CONSUMER_PASSWORD_PARAMETER")"
  ROLLUP_PASSWORD="$(ssm_get "$ROLLUP_PASSWORD_PARAMETER")"
  log "read the keystore, the CA and the SCRAM credentials from Parameter Store"
}

# The client settings of Kafka's own tools on this host: the broker principal over the INTERNAL listener.
write_admin_config() {
  write_if_changed "$CONFIG_DIR/admin.properties" 0600 << EOF || true
security.protocol=SASL_SSL
sasl.mechanism=SCRAM-SHA-512
sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="broker" password="$BROKER_PASSWORD";
ssl.truststore.type=PEM
ssl.truststore.location=$CONFIG_DIR/ca.pem
EOF
}

# The storage tool's --add-scram arguments, in an argument file of mode 600 (it reads @FILE).
write_scram_arguments() {
  local file="$1"
  (
    umask 077
    printf -- '--add-scram\\nSCRAM-SHA-512=[name=%s,password=%s]\\n' \\
      broker "$BROKER_PASSWORD" ops "$OPS_PASSWORD" producer "$PRODUCER_PASSWORD" consumer "$CONSUMER_PASSWORD" \\
      rollup "$ROLLUP_PASSWORD" > "$file"
  )
}

kafka_acl() {
  java -cp "$KAFKA_HOME/libs/*" org.apache.kafka.tools.AclCommand --bootstrap-server "$1:$INTERNAL_PORT" \\
    --command-config "$CONFIG_DIR/admin.properties" "\${@:2}" > /dev/null
}

# Each app may do only its own job (ops/kafka/acls.ts); adding an ACL that exists changes nothing.
create_acls() {
  local private_ip="$1"
${acls}
  log "the apps' ACLs are in place"
}
`;
}

/** The listener and authorizer lines of server.properties (inside the script's heredoc: variables expand). */
export const SECURE_LISTENER_PROPERTIES = `listener.security.protocol.map=EXTERNAL:SASL_SSL,INTERNAL:SASL_SSL,CONTROLLER:SASL_SSL
sasl.enabled.mechanisms=SCRAM-SHA-512
sasl.mechanism.inter.broker.protocol=SCRAM-SHA-512
listener.name.internal.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="broker" password="$BROKER_PASSWORD";
listener.name.external.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="broker" password="$BROKER_PASSWORD";
sasl.mechanism.controller.protocol=PLAIN
listener.name.controller.sasl.enabled.mechanisms=PLAIN
listener.name.controller.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required username="controller" password="$CONTROLLER_PASSWORD" user_controller="$CONTROLLER_PASSWORD";
ssl.keystore.type=PEM
ssl.keystore.location=$CONFIG_DIR/broker-keystore.pem
ssl.truststore.type=PEM
ssl.truststore.location=$CONFIG_DIR/ca.pem
ssl.endpoint.identification.algorithm=https
ssl.enabled.protocols=TLSv1.3,TLSv1.2
authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer
allow.everyone.if.no.acl.found=false
super.users=User:broker;User:controller;User:ops`;
