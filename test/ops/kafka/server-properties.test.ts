import { expect } from "chai";
import { renderServerProperties } from "../../../ops/kafka/server-properties.ts";
import { appAcls } from "../../../ops/kafka/acls.ts";

const base = {
  nodeId: 1,
  listenHost: "127.0.0.1",
  advertisedHost: "127.0.0.1",
  brokerPort: 19092,
  controllerPort: 19093,
  logDir: "/data",
  defaultPartitions: 3,
};

describe("broker settings", function () {
  it("are PLAINTEXT without security, as the quick start's broker", function () {
    const lines = renderServerProperties(base).split("\n");
    expect(lines).to.include("listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT");
    expect(lines.some((line) => line.startsWith("authorizer.class.name"))).to.equal(false);
  });

  it("with security: SASL_SSL SCRAM-SHA-512 for clients and brokers, PLAIN for controllers, StandardAuthorizer denying what no ACL allows", function () {
    const lines = renderServerProperties({
      ...base,
      security: {
        keystoreFile: "/k.pem",
        truststoreFile: "/ca.pem",
        brokerPassword: "bp",
        controllerPassword: "cp",
      },
    }).split("\n");
    expect(lines).to.include.members([
      "listeners=EXTERNAL://127.0.0.1:19092,CONTROLLER://127.0.0.1:19093",
      "listener.security.protocol.map=EXTERNAL:SASL_SSL,CONTROLLER:SASL_PLAINTEXT",
      "sasl.enabled.mechanisms=SCRAM-SHA-512",
      "sasl.mechanism.inter.broker.protocol=SCRAM-SHA-512",
      "ssl.keystore.type=PEM",
      "ssl.keystore.location=/k.pem",
      "authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer",
      "allow.everyone.if.no.acl.found=false",
      "super.users=User:broker;User:controller;User:ops",
    ]);
  });

  it("grant the producer write and the consumer read on each topic, the consumer its groups and fence ids, and nobody else anything", function () {
    const acls = appAcls({ topics: ["stock-ticks"], groupPrefixes: ["tickstream-lake-sink"] });
    const summary = acls.map(
      (acl) =>
        `${acl.principal} ${acl.operation} ${acl.resourceType}:${acl.resourceName}:${acl.resourcePatternType}`,
    );
    expect(new Set(acls.map((acl) => acl.principal))).to.deep.equal(
      new Set(["User:producer", "User:consumer"]),
    );
    expect(acls.every((acl) => acl.permissionType === 3 && acl.host === "*")).to.equal(true);
    expect(summary).to.have.length(9);
    expect(summary).to.include.members([
      "User:producer 4 2:stock-ticks:3", // WRITE on TOPIC, LITERAL
      "User:consumer 3 2:stock-ticks:3", // READ on TOPIC
      "User:consumer 3 3:tickstream-lake-sink:4", // READ on GROUP, PREFIXED
      "User:consumer 4 5:tickstream.tickstream-lake-sink:4", // WRITE on TRANSACTIONAL_ID, PREFIXED
      "User:consumer 12 4:kafka-cluster:3", // IDEMPOTENT_WRITE on CLUSTER
    ]);
  });
});
