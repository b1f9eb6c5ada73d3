/**
 * Pulumi mocks: the program runs without the Pulumi CLI or the AWS provider plugin. Every resource the
 * program declares is recorded with its inputs; invokes (the AMI, the availability zones) are answered by token.
 * Import this before anything that declares resources.
 */
import * as pulumi from "@pulumi/pulumi";
import type { PolicyResource } from "@pulumi/policy";
import { load } from "js-yaml";
import { createHash, randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import type { RawStackConfig } from "../../infra/config.ts";

export interface RecordedResource {
  readonly type: string;
  readonly name: string;
  readonly id: string;
  readonly inputs: Record<string, any>;
  readonly state: Record<string, any>;
}

export const recorded: RecordedResource[] = [];
/** Every invoke the program made, with its arguments. */
export const invokes: { token: string; inputs: Record<string, any> }[] = [];
/** Each resource's options as the program declared them (recorded by `recordOptions`), by resource name. */
export const declaredOptions = new Map<string, pulumi.ResourceOptions>();

/** A transformation for the program's components: records the options every resource is declared with. */
export const recordOptions: pulumi.ResourceTransformation = (args) => {
  declaredOptions.set(args.name, args.opts);
  return undefined;
};
let addressCounter = 10;

/** The mocks' stand-in PEM of a key or certificate resource. */
export function pem(label: string, name: string): string {
  return `-----BEGIN ${label}-----\nmock-${name}\n-----END ${label}-----\n`;
}

function computedState(type: string, name: string, inputs: Record<string, any>): Record<string, any> {
  switch (type) {
    case "aws:s3/bucket:Bucket":
      return { bucket: `${name}-4f2a`, arn: `arn:aws:s3:::${name}-4f2a` };
    case "aws:ec2/eip:Eip":
      return { publicIp: `198.51.100.${addressCounter++}`, allocationId: `eipalloc-${name}` };
    case "aws:ebs/volume:Volume":
      return { arn: `arn:aws:ec2:us-east-1:123456789012:volume/${name}` };
    case "aws:ec2/instance:Instance":
      return {
        privateIp: inputs.privateIp ?? `10.42.1.${addressCounter++}`,
        arn: `arn:aws:ec2:us-east-1:123456789012:instance/${name}`,
      };
    case "aws:iam/role:Role":
      return { arn: `arn:aws:iam::123456789012:role/${name}`, name };
    case "aws:iam/instanceProfile:InstanceProfile":
      return { arn: `arn:aws:iam::123456789012:instance-profile/${name}`, name };
    case "aws:ec2/keyPair:KeyPair":
      return { keyName: name };
    case "aws:lambda/function:Function":
      return { arn: `arn:aws:lambda:us-east-1:123456789012:function:${inputs.name ?? name}` };
    case "aws:cloudwatch/logGroup:LogGroup":
      return { arn: `arn:aws:logs:us-east-1:123456789012:log-group:${inputs.name ?? name}` };
    case "aws:ssm/parameter:Parameter":
      return { arn: `arn:aws:ssm:us-east-1:123456789012:parameter${inputs.name ?? `/${name}`}` };
    case "aws:ec2/subnet:Subnet":
      return { arn: `arn:aws:ec2:us-east-1:123456789012:subnet/${name}-id` };
    case "aws:ec2/securityGroup:SecurityGroup":
      return { arn: `arn:aws:ec2:us-east-1:123456789012:security-group/${name}-id` };
    // @pulumi/tls and @pulumi/random: labelled stand-ins for what the providers compute, so that tests can
    // follow each key and certificate to where it goes.
    case "tls:index/privateKey:PrivateKey":
      return {
        privateKeyPem: pem("EC PRIVATE KEY", name),
        privateKeyPemPkcs8: pem("PRIVATE KEY", name),
        publicKeyPem: pem("PUBLIC KEY", name),
      };
    case "tls:index/certRequest:CertRequest":
      return { certRequestPem: pem("CERTIFICATE REQUEST", name) };
    case "tls:index/selfSignedCert:SelfSignedCert":
    case "tls:index/locallySignedCert:LocallySignedCert":
      return { certPem: pem("CERTIFICATE", name) };
    case "random:index/randomPassword:RandomPassword":
      return {
        result: randomBytes(48)
          .toString("base64url")
          .slice(0, inputs.length ?? 16),
      };
    case "random:index/randomUuid:RandomUuid": {
      const hex = createHash("sha256").update(name).digest("hex");
      return {
        result: `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-a${hex.slice(17, 20)}-${hex.slice(20, 32)}`,
      };
    }
    case "aws:glue/catalogTable:CatalogTable":
      return { arn: `arn:aws:glue:us-east-1:123456789012:table/${inputs.databaseName}/${inputs.name}` };
    case "aws:glue/crawler:Crawler":
    case "aws:athena/workgroup:Workgroup":
      return { name };
    default:
      return {};
  }
}

export function setTickstreamMocks(stack: string): void {
  pulumi.runtime.setMocks(
    {
      newResource(args) {
        const id =
          args.type === "aws:ebs/volume:Volume"
            ? `vol-${createHash("sha256").update(args.name).digest("hex").slice(0, 17)}`
            : `${args.name}-id`;
        const state = { ...args.inputs, ...computedState(args.type, args.name, args.inputs) };
        recorded.push({ type: args.type, name: args.name, id, inputs: args.inputs, state });
        return { id, state };
      },
      call(args) {
        invokes.push({ token: args.token, inputs: args.inputs });
        switch (args.token) {
          case "aws:ec2/getAmi:getAmi":
            return {
              id: "ami-0123456789abcdef0",
              architecture: "x86_64",
              name: "ubuntu-noble-24.04-amd64-server-20261101",
            };
          case "aws:index/getAvailabilityZones:getAvailabilityZones":
            return {
              names: ["us-east-1a", "us-east-1b", "us-east-1c", "us-east-1d"],
              zoneIds: ["use1-az1", "use1-az2", "use1-az4", "use1-az6"],
            };
          // us-east-1b offers neither broker type here, as some zones of a region do not (RunInstances:
          // Unsupported): the program must skip it.
          case "aws:ec2/getInstanceTypeOfferings:getInstanceTypeOfferings":
            return {
              id: "us-east-1",
              locations: ["us-east-1a", "us-east-1c", "us-east-1d"],
              locationTypes: ["availability-zone", "availability-zone", "availability-zone"],
              instanceTypes: [0, 1, 2].map(() => args.inputs.filters?.[0]?.values?.[0] ?? "t3.medium"),
            };
          // Two addresses of another stack in the region, and this stack's own when asked by its tags.
          case "aws:ec2/getEips:getEips":
            return args.inputs.tags
              ? { id: "us-east-1", allocationIds: [], publicIps: [] }
              : {
                  id: "us-east-1",
                  allocationIds: ["eipalloc-a", "eipalloc-b"],
                  publicIps: ["192.0.2.1", "192.0.2.2"],
                };
          case "aws:index/getCallerIdentity:getCallerIdentity":
            return { accountId: "123456789012", arn: "arn:aws:iam::123456789012:user/ci", userId: "AIDA" };
          case "aws:index/getRegion:getRegion":
            return { name: "us-east-1", region: "us-east-1", id: "us-east-1" };
          default:
            throw new Error(`unmocked invoke ${args.token}`);
        }
      },
    },
    "tickstream",
    stack,
    false,
  );
}

/**
 * What an operator must set before `pulumi up` (the stack files hold no placeholders, which would deploy a
 * stack nobody can reach): the networks, the SSH key and the pinned image. The tests set these, as
 * `pulumi config set` would.
 */
export const OPERATOR_CONFIG = {
  allowedCidrs: ["203.0.113.0/24"],
  sshPublicKey:
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIMg1CUdH0pZH8ebPjRmYRq0u2X2tW1uS1v5tM0e2Rz3Y ops@example",
  amiId: "ami-0123456789abcdef0",
} as const;

/** The raw config of a stack: its Pulumi.<stack>.yaml plus OPERATOR_CONFIG, as the program would read it. */
export function stackFileConfig(stack: string): RawStackConfig {
  return { ...stackFileOnly(stack), ...OPERATOR_CONFIG, allowedCidrs: [...OPERATOR_CONFIG.allowedCidrs] };
}

/** The raw config of a stack from its Pulumi.<stack>.yaml alone. */
export function stackFileOnly(stack: string): RawStackConfig {
  const file = load(readFileSync(`Pulumi.${stack}.yaml`, "utf8")) as { config: Record<string, unknown> };
  const value = (key: string) => file.config[key];
  return {
    region: value("aws:region") as string,
    instanceType: value("tickstream:instanceType") as string,
    brokerCount: value("tickstream:brokerCount") as number,
    kafkaVersion: String(value("tickstream:kafkaVersion")),
    allowedCidrs: value("tickstream:allowedCidrs"),
    sshPublicKey: value("tickstream:sshPublicKey") as string,
    topicPartitions: value("tickstream:topicPartitions") as number,
    topicRetentionHours: value("tickstream:topicRetentionHours") as number,
    crawlerSchedule: value("tickstream:crawlerSchedule") as string | undefined,
    forceDestroy: value("tickstream:forceDestroy") as boolean,
    dataVolumeGb: value("tickstream:dataVolumeGb") as number | undefined,
    amiId: value("tickstream:amiId") as string | undefined,
  };
}

/** Resolves an Output in a test. */
export function valueOf<T>(output: pulumi.Output<T> | T): Promise<T> {
  return new Promise((resolve) => pulumi.output(output).apply((value) => resolve(value as T)));
}

/** Lets every pending registration finish. */
export async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise((resolve) => setTimeout(resolve, 10));
}

export function ofType(type: string): RecordedResource[] {
  return recorded.filter((resource) => resource.type === type);
}

/** A resource's declared options in the shape the policy engine hands to rules. */
function policyOptions(declared: pulumi.ResourceOptions | undefined): PolicyResource["opts"] {
  const custom = (declared ?? {}) as pulumi.CustomResourceOptions;
  return {
    protect: custom.protect ?? false,
    ignoreChanges: custom.ignoreChanges ?? [],
    ...(custom.deleteBeforeReplace !== undefined ? { deleteBeforeReplace: custom.deleteBeforeReplace } : {}),
    aliases: [],
    customTimeouts: { createSeconds: 0, updateSeconds: 0, deleteSeconds: 0 },
    additionalSecretOutputs: custom.additionalSecretOutputs ?? [],
  };
}

/** The recorded resources as the policy engine would see them, with property dependencies rebuilt from ids. */
export function asPolicyResources(resources: readonly RecordedResource[] = recorded): PolicyResource[] {
  const byId = new Map<string, PolicyResource>();
  const policyResources = resources.map((resource) => {
    const policyResource = {
      type: resource.type,
      name: resource.name,
      urn: `urn:pulumi:test::tickstream::${resource.type}::${resource.name}`,
      props: resource.state,
      opts: policyOptions(declaredOptions.get(resource.name)),
      dependencies: [],
      propertyDependencies: {},
    } as unknown as PolicyResource;
    byId.set(resource.id, policyResource);
    return policyResource;
  });
  resources.forEach((resource, index) => {
    for (const [key, value] of Object.entries(resource.inputs)) {
      if (typeof value === "string" && byId.has(value))
        policyResources[index]!.propertyDependencies[key] = [byId.get(value)!];
    }
  });
  return policyResources;
}
