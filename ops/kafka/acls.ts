/**
 * The ACLs of a secured cluster: each app may do only its own job. With `allow.everyone.if.no.acl.found=false`
 * and StandardAuthorizer, a principal without an ACL may do nothing; the brokers, the controllers and ops are
 * super users (server-properties.ts). Operations as Kafka's authorizer names them (KIP-679: the idempotent
 * producer needs WRITE on a topic, no cluster right):
 *  - producer: WRITE and DESCRIBE on the tick topics;
 *  - rollup: READ and DESCRIBE on the tick topics, WRITE and DESCRIBE on the bar topics, its groups and
 *    transactional ids, IDEMPOTENT_WRITE on the cluster (as the consumer's, below); the consumer also reads the
 *    bar topics (its `bars_1m` sink);
 *  - consumer (the lake sink): READ and DESCRIBE on the tick topics; READ and DESCRIBE on its groups; WRITE
 *    and DESCRIBE on its transactional ids (`tickstream.<group>.…`, the partition fence's commits); and
 *    IDEMPOTENT_WRITE on the cluster, because kafkajs' transactional producer first asks for a plain idempotent
 *    producer id at connect (InitProducerId without a transactional id), which needs that right or WRITE on
 *    some topic; it lets the sink write nothing.
 */
import kafkajs, { type AclEntry } from "kafkajs";
import { connectToBroker, createKafka } from "../../apps/shared/kafka-client.ts";

// kafkajs is CommonJS and Node finds no named export for these enums: take them from the default export.
const { AclOperationTypes, AclPermissionTypes, AclResourceTypes, ResourcePatternTypes } = kafkajs;
type AclResourceTypes = kafkajs.AclResourceTypes;
type ResourcePatternTypes = kafkajs.ResourcePatternTypes;
type AclOperationTypes = kafkajs.AclOperationTypes;

export interface AppAclScope {
  /** Tick topics: the producer writes them, the lake sink and the rollup read them (literal names). */
  readonly topics: readonly string[];
  /** The lake sink's group ids (and their prefixes: `tickstream-lake-sink` covers `tickstream-lake-sink-bars`). */
  readonly groupPrefixes: readonly string[];
  /** Bar topics: the rollup writes them, the lake sink reads them. */
  readonly barsTopics?: readonly string[];
  /** The rollup's group ids (prefixes). */
  readonly rollupGroupPrefixes?: readonly string[];
}

type Acl = AclEntry & {
  resourceType: AclResourceTypes;
  resourceName: string;
  resourcePatternType: ResourcePatternTypes;
};

function allow(
  principal: string,
  resourceType: AclResourceTypes,
  resourceName: string,
  resourcePatternType: ResourcePatternTypes,
  operations: readonly AclOperationTypes[],
): Acl[] {
  return operations.map((operation) => ({
    principal: `User:${principal}`,
    host: "*",
    operation,
    permissionType: AclPermissionTypes.ALLOW,
    resourceType,
    resourceName,
    resourcePatternType,
  }));
}

export function appAcls(scope: AppAclScope): Acl[] {
  const { READ, WRITE, DESCRIBE } = AclOperationTypes;
  const { LITERAL, PREFIXED } = ResourcePatternTypes;
  return [
    ...scope.topics.flatMap((topic) => [
      ...allow("producer", AclResourceTypes.TOPIC, topic, LITERAL, [WRITE, DESCRIBE]),
      ...allow("consumer", AclResourceTypes.TOPIC, topic, LITERAL, [READ, DESCRIBE]),
      ...((scope.rollupGroupPrefixes ?? []).length > 0
        ? allow("rollup", AclResourceTypes.TOPIC, topic, LITERAL, [READ, DESCRIBE])
        : []),
    ]),
    ...(scope.barsTopics ?? []).flatMap((topic) => [
      ...allow("rollup", AclResourceTypes.TOPIC, topic, LITERAL, [WRITE, DESCRIBE]),
      ...allow("consumer", AclResourceTypes.TOPIC, topic, LITERAL, [READ, DESCRIBE]),
    ]),
    ...(scope.rollupGroupPrefixes ?? []).flatMap((group) => [
      ...allow("rollup", AclResourceTypes.GROUP, group, PREFIXED, [READ, DESCRIBE]),
      ...allow("rollup", AclResourceTypes.TRANSACTIONAL_ID, `tickstream.${group}`, PREFIXED, [
        WRITE,
        DESCRIBE,
      ]),
      ...allow("rollup", AclResourceTypes.CLUSTER, "kafka-cluster", LITERAL, [
        AclOperationTypes.IDEMPOTENT_WRITE,
      ]),
    ]),
    ...allow("consumer", AclResourceTypes.CLUSTER, "kafka-cluster", LITERAL, [
      AclOperationTypes.IDEMPOTENT_WRITE,
    ]),
    ...scope.groupPrefixes.flatMap((group) => [
      ...allow("consumer", AclResourceTypes.GROUP, group, PREFIXED, [READ, DESCRIBE]),
      ...allow("consumer", AclResourceTypes.TRANSACTIONAL_ID, `tickstream.${group}`, PREFIXED, [
        WRITE,
        DESCRIBE,
      ]),
    ]),
  ];
}

/** Creates the apps' ACLs (CreateAcls is idempotent: an existing binding is left as it is). */
export async function applyAppAcls(bootstrapServers: readonly string[], scope: AppAclScope): Promise<number> {
  const admin = createKafka(bootstrapServers, "tickstream-ops").admin();
  await connectToBroker(admin, bootstrapServers);
  try {
    const acl = appAcls(scope);
    await admin.createAcls({ acl });
    return acl.length;
  } finally {
    await admin.disconnect();
  }
}

const OPERATION_NAMES: Partial<Record<AclOperationTypes, string>> = {
  [AclOperationTypes.READ]: "Read",
  [AclOperationTypes.WRITE]: "Write",
  [AclOperationTypes.DESCRIBE]: "Describe",
  [AclOperationTypes.IDEMPOTENT_WRITE]: "IdempotentWrite",
};

/** The same ACLs as arguments of Kafka's `AclCommand --add` (what the broker bootstrap runs), one list each. */
export function aclCommandArguments(scope: AppAclScope): string[][] {
  const byBinding = new Map<string, { acl: Acl; operations: string[] }>();
  for (const acl of appAcls(scope)) {
    const key = [acl.principal, acl.resourceType, acl.resourceName, acl.resourcePatternType].join("|");
    const entry = byBinding.get(key) ?? { acl, operations: [] };
    entry.operations.push(OPERATION_NAMES[acl.operation]!);
    byBinding.set(key, entry);
  }
  return [...byBinding.values()].map(({ acl, operations }) => {
    const resource =
      acl.resourceType === AclResourceTypes.CLUSTER
        ? ["--cluster"]
        : acl.resourceType === AclResourceTypes.TOPIC
          ? ["--topic", acl.resourceName]
          : acl.resourceType === AclResourceTypes.GROUP
            ? ["--group", acl.resourceName]
            : ["--transactional-id", acl.resourceName];
    const pattern = acl.resourcePatternType === ResourcePatternTypes.PREFIXED ? "prefixed" : "literal";
    return [
      "--add",
      "--allow-principal",
      acl.principal,
      ...operations.flatMap((operation) => ["--operation", operation]),
      ...resource,
      "--resource-pattern-type",
      pattern,
    ];
  });
}
