import { expect } from "chai";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import {
  kafkaRoleOf,
  kafkaSecurityConfig,
  registerClusterSecurity,
  unregisterClusterSecurity,
} from "../../../apps/shared/kafka-security.ts";
import { ConfigError } from "../../../apps/shared/errors.ts";

describe("Kafka client security", function () {
  const brokers = ["127.0.0.9:9092"];
  const cluster = {
    caPem: "CA",
    credentials: {
      producer: { username: "producer", password: "p" },
      consumer: { username: "consumer", password: "c" },
      ops: { username: "ops", password: "o" },
    },
  };
  afterEach(() => unregisterClusterSecurity(brokers));

  it("gives each client the principal of its role: producer, lake sink (consumer), everything else ops", function () {
    expect(kafkaRoleOf("tickstream-producer-host-1")).to.equal("producer");
    expect(kafkaRoleOf("tickstream-producer-metadata")).to.equal("producer");
    expect(kafkaRoleOf("tickstream-lake-sink")).to.equal("consumer");
    expect(kafkaRoleOf("tickstream-ops")).to.equal("ops");
    registerClusterSecurity(brokers, cluster);
    expect(kafkaSecurityConfig(brokers, "tickstream-lake-sink", {})).to.deep.equal({
      ssl: { ca: ["CA"] },
      sasl: { mechanism: "scram-sha-512", username: "consumer", password: "c" },
    });
  });

  it("uses nothing for a cluster that is neither registered nor named by the environment (plaintext)", function () {
    expect(kafkaSecurityConfig(["127.0.0.8:9092"], "tickstream-ops", {})).to.deep.equal({});
  });

  it("lets an app's env file name its one principal and CA, over what the process registered", async function () {
    const dir = await mkdtemp(path.join(tmpdir(), "tickstream-ca-"));
    try {
      await writeFile(path.join(dir, "ca.pem"), "FILE CA");
      registerClusterSecurity(brokers, cluster);
      const env = {
        TICKSTREAM_KAFKA_CA_FILE: path.join(dir, "ca.pem"),
        TICKSTREAM_KAFKA_USERNAME: "producer",
        TICKSTREAM_KAFKA_PASSWORD: "from-env",
      };
      expect(kafkaSecurityConfig(brokers, "tickstream-ops", env)).to.deep.equal({
        ssl: { ca: ["FILE CA"] },
        sasl: { mechanism: "scram-sha-512", username: "producer", password: "from-env" },
      });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("refuses a user without a password, and a CA file that cannot be read, naming the variable", function () {
    expect(() => kafkaSecurityConfig(brokers, "x", { TICKSTREAM_KAFKA_USERNAME: "ops" }))
      .to.throw(ConfigError)
      .with.property(
        "message",
        "set both TICKSTREAM_KAFKA_USERNAME and TICKSTREAM_KAFKA_PASSWORD, or neither",
      );
    expect(() => kafkaSecurityConfig(brokers, "x", { TICKSTREAM_KAFKA_CA_FILE: "/nonexistent/ca.pem" }))
      .to.throw(ConfigError)
      .with.property(
        "message",
        "TICKSTREAM_KAFKA_CA_FILE=/nonexistent/ca.pem: cannot read the CA certificate",
      );
  });
});
