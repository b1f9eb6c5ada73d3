/**
 * The brokers' TLS and SCRAM material, kept in SSM Parameter Store (infra/bootstrap/security.ts reads it at boot):
 *  - a CA (P-256, ten years) whose certificate is a stack output: clients verify the brokers against it;
 *  - per broker a key and a certificate the CA signs, whose subject alternative names are the broker's Elastic IP
 *    and private IP (clients outside reach the first, brokers and apps inside the VPC the second), stored with
 *    the CA as Kafka's PEM keystore in a SecureString;
 *  - a SCRAM-SHA-512 password per principal (broker, controller, ops, producer, consumer), random, in a
 *    SecureString. `tickstream credentials rotate` replaces the apps' and ops' passwords later, in Kafka and in
 *    the parameter, so the stack never writes those values again (ignoreChanges), and a second `pulumi up`
 *    never reverts a rotation.
 * Nothing of it is in user data or a stack output in clear: the outputs name the parameters, and only the
 * brokers' role (and the quote poller's, for the producer password) may read them.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import * as tls from "@pulumi/tls";
import {
  kafkaParameterNames,
  ROTATABLE_PRINCIPALS,
  STACK_PRINCIPALS,
  type StackPrincipal,
} from "../bootstrap/security.ts";

/** A broker certificate's lifetime, and how long before its end `pulumi up` replaces it. */
export const BROKER_CERTIFICATE_VALIDITY_HOURS = 398 * 24;
export const BROKER_CERTIFICATE_RENEWAL_HOURS = 30 * 24;
export const CA_VALIDITY_HOURS = 10 * 365 * 24;

export interface BrokerSecurityArgs {
  readonly stack: string;
  readonly tags: Record<string, string>;
}

export class BrokerSecurity extends pulumi.ComponentResource {
  readonly names: ReturnType<typeof kafkaParameterNames>;
  readonly caCertificatePem: pulumi.Output<string>;
  readonly userParameters: Record<StackPrincipal, aws.ssm.Parameter>;
  readonly caParameter: aws.ssm.Parameter;
  readonly keystoreParameters: aws.ssm.Parameter[] = [];
  private readonly caKey: tls.PrivateKey;
  private readonly tags: Record<string, string>;
  private readonly componentName: string;

  constructor(name: string, args: BrokerSecurityArgs, opts?: pulumi.ComponentResourceOptions) {
    super("tickstream:broker:BrokerSecurity", name, {}, opts);
    const parent = { parent: this };
    this.tags = args.tags;
    this.componentName = name;
    this.names = kafkaParameterNames(args.stack);
    this.caKey = new tls.PrivateKey(`${name}-ca`, { algorithm: "ECDSA", ecdsaCurve: "P256" }, parent);
    const ca = new tls.SelfSignedCert(
      `${name}-ca`,
      {
        privateKeyPem: this.caKey.privateKeyPem,
        subject: { commonName: `tickstream ${args.stack} Kafka CA`, organization: "tickstream" },
        isCaCertificate: true,
        validityPeriodHours: CA_VALIDITY_HOURS,
        allowedUses: ["certSigning", "crlSigning"],
      },
      parent,
    );
    this.caCertificatePem = ca.certPem;
    this.caParameter = new aws.ssm.Parameter(
      `${name}-ca`,
      {
        name: this.names.caCertificate,
        type: "String",
        value: ca.certPem,
        description: "the CA of the Kafka brokers' certificates (public)",
        tags: args.tags,
      },
      parent,
    );
    const rotatable = new Set<string>(ROTATABLE_PRINCIPALS);
    this.userParameters = Object.fromEntries(
      STACK_PRINCIPALS.map((principal) => {
        const password = new random.RandomPassword(
          `${name}-${principal}`,
          // SCRAM passwords go into Kafka's config syntax ("[name=…,password=…]"): letters and digits only.
          { length: 32, special: false },
          parent,
        );
        const parameter = new aws.ssm.Parameter(
          `${name}-${principal}`,
          {
            name: this.names.user(principal),
            type: "SecureString",
            value: password.result,
            description: `SCRAM-SHA-512 password of the Kafka principal ${principal}`,
            tags: args.tags,
          },
          { ...parent, ignoreChanges: rotatable.has(principal) ? ["value"] : [] },
        );
        return [principal, parameter];
      }),
    ) as Record<StackPrincipal, aws.ssm.Parameter>;
    this.registerOutputs({ caCertificatePem: this.caCertificatePem });
  }

  /** Broker `nodeId`'s keystore parameter, for a certificate naming its two addresses. */
  addBroker(
    nodeId: number,
    publicIp: pulumi.Input<string>,
    privateIp: pulumi.Input<string>,
  ): aws.ssm.Parameter {
    const parent = { parent: this };
    const name = `${this.componentName}-keystore-${nodeId}`;
    const key = new tls.PrivateKey(name, { algorithm: "ECDSA", ecdsaCurve: "P256" }, parent);
    const request = new tls.CertRequest(
      name,
      {
        privateKeyPem: key.privateKeyPem,
        subject: { commonName: `tickstream broker ${nodeId}`, organization: "tickstream" },
        ipAddresses: [publicIp, privateIp],
      },
      parent,
    );
    const certificate = new tls.LocallySignedCert(
      name,
      {
        certRequestPem: request.certRequestPem,
        caPrivateKeyPem: this.caKey.privateKeyPem,
        caCertPem: this.caCertificatePem,
        validityPeriodHours: BROKER_CERTIFICATE_VALIDITY_HOURS,
        earlyRenewalHours: BROKER_CERTIFICATE_RENEWAL_HOURS,
        allowedUses: ["digitalSignature", "keyEncipherment", "keyAgreement", "serverAuth", "clientAuth"],
      },
      parent,
    );
    // Kafka's PEM keystore: a PKCS#8 key, then the certificate chain.
    const keystore = pulumi
      .all([key.privateKeyPemPkcs8, certificate.certPem, this.caCertificatePem])
      .apply((parts) => parts.map((part) => part.trim()).join("\n") + "\n");
    const parameter = new aws.ssm.Parameter(
      name,
      {
        name: this.names.keystore(nodeId),
        type: "SecureString",
        value: pulumi.secret(keystore),
        description: `Kafka PEM keystore of broker ${nodeId}`,
        tags: this.tags,
      },
      parent,
    );
    this.keystoreParameters.push(parameter);
    return parameter;
  }

  /** The ARNs the brokers' role reads. */
  brokerParameterArns(): pulumi.Output<string[]> {
    return pulumi.all([
      this.caParameter.arn,
      ...Object.values(this.userParameters).map((parameter) => parameter.arn),
      ...this.keystoreParameters.map((parameter) => parameter.arn),
    ]);
  }
}

/** The brokers' role may read their parameters (SSM decrypts with the AWS managed key aws/ssm). */
export function brokerSecretsPolicy(parameterArns: readonly string[]): string {
  return JSON.stringify({
    Version: "2012-10-17",
    Statement: [
      { Sid: "KafkaSecrets", Effect: "Allow", Action: "ssm:GetParameter", Resource: parameterArns },
    ],
  });
}
