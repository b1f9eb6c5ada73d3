import * as pulumi from "@pulumi/pulumi";
import { userDataScript } from "../../infra/bootstrap/user-data.ts";
import { expect } from "chai";
import { execa } from "execa";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import {
  declaredOptions,
  ofType,
  recorded,
  recordOptions,
  setTickstreamMocks,
  settle,
  stackFileConfig,
  valueOf,
  pem,
  type RecordedResource,
} from "./pulumi-mocks.ts";
import { validateStackConfig } from "../../infra/config.ts";
import {
  BROKER_CERTIFICATE_RENEWAL_HOURS,
  BROKER_CERTIFICATE_VALIDITY_HOURS,
} from "../../infra/components/broker-security.ts";
import { createTickstreamStack, type TickstreamOutputs } from "../../infra/stack.ts";

/** A recorded input that the program marked secret arrives wrapped: its value is inside. */
function unwrapSecret(value: unknown): unknown {
  return value && typeof value === "object" && "value" in value ? (value as { value: unknown }).value : value;
}

const T = {
  instance: "aws:ec2/instance:Instance",
  eip: "aws:ec2/eip:Eip",
  parameter: "aws:ssm/parameter:Parameter",
  password: "random:index/randomPassword:RandomPassword",
  key: "tls:index/privateKey:PrivateKey",
  request: "tls:index/certRequest:CertRequest",
  signed: "tls:index/locallySignedCert:LocallySignedCert",
  ca: "tls:index/selfSignedCert:SelfSignedCert",
  rolePolicy: "aws:iam/rolePolicy:RolePolicy",
};

describe("the brokers' TLS and SCRAM material under Pulumi mocks (prod: three brokers)", function () {
  let outputs: TickstreamOutputs;
  let resolvedOutputs: string;
  const parameter = (name: string): RecordedResource => {
    const found = ofType(T.parameter).find((resource) => resource.inputs.name === name);
    expect(found, name).to.not.equal(undefined);
    return found!;
  };
  const userData = () => ofType(T.instance).map((instance) => userDataScript(instance.inputs));

  before(async function () {
    this.timeout(60_000);
    recorded.length = 0;
    declaredOptions.clear();
    setTickstreamMocks("prod");
    outputs = createTickstreamStack(validateStackConfig(stackFileConfig("prod")), "prod", {
      transformations: [recordOptions],
    });
    resolvedOutputs = JSON.stringify(
      await Promise.all(Object.values(outputs).map((output) => valueOf(output as pulumi.Output<unknown>))),
    );
    await settle();
  });

  // Kafka's listener.security.protocol.map: SASL_SSL = TLS plus SASL; StandardAuthorizer is KRaft's authorizer.
  it("must make EXTERNAL and INTERNAL SASL_SSL with SCRAM-SHA-512, the controllers SASL_SSL, and deny what no ACL allows", function () {
    for (const script of userData()) {
      expect(script).to.include(
        "listener.security.protocol.map=EXTERNAL:SASL_SSL,INTERNAL:SASL_SSL,CONTROLLER:SASL_SSL",
      );
      expect(script).to.include("sasl.enabled.mechanisms=SCRAM-SHA-512");
      expect(script).to.include(
        "authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer",
      );
      expect(script).to.include("allow.everyone.if.no.acl.found=false");
      expect(script).to.include("super.users=User:broker;User:controller;User:ops");
      expect(script).to.not.match(/:PLAINTEXT/);
      // The bootstrap creates the apps' ACLs with Kafka's AclCommand.
      expect(script).to.include(
        `kafka_acl "$private_ip" '--add' '--allow-principal' 'User:producer' '--operation' 'Write' '--operation' 'Describe' '--topic' 'stock-ticks'`,
      );
    }
  });

  it("renders a secured bootstrap that passes shellcheck", async function () {
    this.timeout(60_000);
    const dir = await mkdtemp(path.join(tmpdir(), "tickstream-sc-"));
    try {
      const file = path.join(dir, "user-data.sh");
      await writeFile(file, userData()[0]!);
      const result = await execa("shellcheck", [file], { reject: false, all: true });
      expect(result.exitCode, result.all).to.equal(0);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  // RFC 5280 §4.2.1.6: a TLS client matches an address against the certificate's iPAddress SANs; clients outside
  // reach a broker by its Elastic IP, brokers and apps inside the VPC by its private IP.
  it("must sign each broker's certificate with the stack's CA for its Elastic IP and private IP", async function () {
    const [ca] = ofType(T.ca);
    expect(ca!.inputs).to.include({ isCaCertificate: true });
    expect(ca!.inputs.allowedUses).to.have.members(["certSigning", "crlSigning"]);
    const eips = ofType(T.eip);
    const instances = ofType(T.instance);
    const requests = ofType(T.request);
    expect(requests).to.have.length(3);
    for (let index = 0; index < 3; index++) {
      const request = requests.find((candidate) => candidate.name.endsWith(`-keystore-${index + 1}`))!;
      expect(request.inputs.ipAddresses).to.deep.equal([
        eips[index]!.state.publicIp,
        instances[index]!.state.privateIp,
      ]);
    }
    for (const signed of ofType(T.signed)) {
      expect(signed.inputs.caCertPem).to.equal(ca!.state.certPem);
      expect(signed.inputs.allowedUses).to.include.members(["serverAuth", "clientAuth"]);
      expect(signed.inputs.validityPeriodHours).to.equal(BROKER_CERTIFICATE_VALIDITY_HOURS);
      expect(signed.inputs.earlyRenewalHours).to.equal(BROKER_CERTIFICATE_RENEWAL_HOURS);
    }
    expect(await valueOf(outputs.kafkaCaCertificate)).to.equal(ca!.state.certPem);
  });

  // SSM PutParameter: a standard-tier value holds at most 4 KB; SecureString values are encrypted with KMS
  // (https://docs.aws.amazon.com/systems-manager/latest/APIReference/API_PutParameter.html).
  it("must keep each keystore (PKCS#8 key, certificate, CA) and each password in a SecureString of at most 4 KB", function () {
    for (let nodeId = 1; nodeId <= 3; nodeId++) {
      const keystore = parameter(`/tickstream/prod/kafka/brokers/${nodeId}/keystore`);
      expect(keystore.inputs.type).to.equal("SecureString");
      const value = String(unwrapSecret(keystore.inputs.value));
      expect(
        value.startsWith(pem("PRIVATE KEY", `tickstream-prod-kafka-keystore-${nodeId}`)),
        "the PKCS#8 key first",
      ).to.equal(true);
      expect(value).to.include(`mock-tickstream-prod-kafka-keystore-${nodeId}\n-----END CERTIFICATE-----`);
      expect(value.trim()).to.match(/mock-tickstream-prod-kafka-ca\n-----END CERTIFICATE-----$/);
      expect(Buffer.byteLength(value)).to.be.below(4096);
    }
    for (const principal of ["broker", "controller", "ops", "producer", "consumer", "rollup"]) {
      const user = parameter(`/tickstream/prod/kafka/users/${principal}`);
      expect(user.inputs.type).to.equal("SecureString");
      const password = ofType(T.password).find(
        (resource) => resource.name === `tickstream-prod-kafka-${principal}`,
      )!;
      expect(unwrapSecret(user.inputs.value)).to.equal(password.state.result);
      // SCRAM passwords go into Kafka's "[name=…,password=…]" syntax: no brackets, commas or equals signs.
      expect(password.inputs).to.include({ length: 32, special: false });
    }
    expect(parameter("/tickstream/prod/kafka/ca-certificate").inputs.type).to.equal("String");
  });

  // The second `pulumi up`: a rotated password lives in Kafka and in its parameter; the stack must not write
  // the first random value back over it. The cluster's own principals are the stack's to keep.
  it("must never write a rotated password back (ignoreChanges value on ops, producer and consumer)", function () {
    for (const principal of ["ops", "producer", "consumer", "rollup"])
      expect(
        declaredOptions.get(`tickstream-prod-kafka-${principal}`)?.ignoreChanges,
        principal,
      ).to.deep.equal(["value"]);
    for (const principal of ["broker", "controller"])
      expect(declaredOptions.get(`tickstream-prod-kafka-${principal}`)?.ignoreChanges ?? []).to.deep.equal(
        [],
      );
  });

  // IAM: ssm:GetParameter on the exact parameter ARNs (the AWS managed key aws/ssm lets any principal of the
  // account decrypt, so IAM on the parameters is what limits readers:
  // https://docs.aws.amazon.com/systems-manager/latest/userguide/ps-restrict-decryption.html).
  it("must let only the brokers' role read the brokers' parameters", function () {
    const arns = ofType(T.parameter)
      .filter((resource) => String(resource.inputs.name).startsWith("/tickstream/prod/kafka/"))
      .map((resource) => resource.state.arn);
    expect(arns).to.have.length(10);
    const readers = ofType(T.rolePolicy).filter((policy) => String(policy.inputs.policy).includes("ssm:"));
    expect(readers.map((policy) => policy.name)).to.deep.equal(["tickstream-prod-broker-kafka-secrets"]);
    const statements = JSON.parse(readers[0]!.inputs.policy).Statement;
    expect(statements).to.deep.equal(
      [{ Sid: "KafkaSecrets", Effect: "Allow", Action: "ssm:GetParameter", Resource: arns.sort() }].map(
        (statement) => ({ ...statement, Resource: statements[0].Resource }),
      ),
    );
    expect([...statements[0].Resource].sort()).to.deep.equal(arns.sort());
    const role = ofType("aws:iam/role:Role").find(
      (candidate) => candidate.name === "tickstream-prod-broker",
    )!;
    expect(readers[0]!.inputs.role).to.equal(`${role.name}-id`);
  });

  it("must keep every password and private key out of user data and the stack's outputs", function () {
    const secrets = [
      ...ofType(T.password).map((resource) => String(resource.state.result)),
      ...ofType(T.key).map((resource) => String(resource.state.privateKeyPemPkcs8)),
      ...ofType(T.key).map((resource) => String(resource.state.privateKeyPem)),
    ];
    expect(secrets).to.have.length(6 + 4 + 4);
    for (const script of userData()) for (const secret of secrets) expect(script).to.not.include(secret);
    for (const secret of secrets) expect(resolvedOutputs).to.not.include(secret);
    expect(JSON.parse(resolvedOutputs)).to.deep.include({
      ops: "/tickstream/prod/kafka/users/ops",
      producer: "/tickstream/prod/kafka/users/producer",
      consumer: "/tickstream/prod/kafka/users/consumer",
      rollup: "/tickstream/prod/kafka/users/rollup",
    });
  });
});
