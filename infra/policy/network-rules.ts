/**
 * Ingress rules of the policy pack. Every form AWS accepts is read: a security group's inline `ingress`, an
 * `aws.ec2.SecurityGroupRule` of type ingress and an `aws.vpc.SecurityGroupIngressRule`; protocol `-1` (all
 * traffic, every port), port ranges, IPv4 and IPv6 blocks. A rule is judged by the addresses its CIDRs cover,
 * never by the strings: `0.0.0.0/1` plus `128.0.0.0/1` is the whole IPv4 Internet too.
 */
import type { ResourceValidationPolicy, StackValidationPolicy } from "@pulumi/policy";
import { DEFAULT_BROKER_PORTS } from "../bootstrap/render.ts";
import { cidrContains, parseCidr, type Cidr } from "./cidr.ts";
import { RESOURCE_TYPES as T } from "./resource-types.ts";

/** SSH and every Kafka listener (client, controller, internal). */
export const ADMIN_PORTS = [
  22,
  DEFAULT_BROKER_PORTS.external,
  DEFAULT_BROKER_PORTS.controller,
  DEFAULT_BROKER_PORTS.internal,
] as const;
/**
 * The listeners meant for the VPC alone: the controllers' and the internal one. They were PLAINTEXT before the
 * secured bootstrap (a stack deployed then still has them so), and are never to be reached from outside the VPC.
 */
export const PLAINTEXT_KAFKA_PORTS = [
  DEFAULT_BROKER_PORTS.controller,
  DEFAULT_BROKER_PORTS.internal,
] as const;
/** The widest block an admin port may be open to: an office or a VPN, not a slice of the Internet. */
export const WIDEST_ADMIN_PREFIX = { 4: 16, 6: 48 } as const;

interface Ingress {
  readonly protocol: string;
  readonly fromPort: number;
  readonly toPort: number;
  readonly cidrs: readonly string[];
}

/** The ingress rules a resource declares, in one shape. */
export function ingressOf(type: string, props: Record<string, any>): Ingress[] {
  const normalize = (rule: Record<string, any>, protocol: unknown): Ingress => ({
    protocol: String(protocol ?? "tcp").toLowerCase(),
    fromPort: Number(rule.fromPort ?? 0),
    toPort: Number(rule.toPort ?? 65_535),
    cidrs: [...(rule.cidrBlocks ?? []), ...(rule.ipv6CidrBlocks ?? []), rule.cidrIpv4, rule.cidrIpv6].filter(
      (cidr): cidr is string => typeof cidr === "string" && cidr !== "",
    ),
  });
  if (type === T.securityGroup)
    return ((props.ingress ?? []) as Record<string, any>[]).map((rule) => normalize(rule, rule.protocol));
  if (type === T.securityGroupRule && props.type === "ingress") return [normalize(props, props.protocol)];
  if (type === T.ingressRule) return [normalize(props, props.ipProtocol)];
  return [];
}

/** The ports of `candidates` a rule admits: protocol -1 admits every port; only TCP carries SSH and Kafka. */
function portsReached(rule: Ingress, candidates: readonly number[]): number[] {
  if (rule.protocol === "-1" || rule.protocol === "all") return [...candidates];
  if (rule.protocol !== "tcp" && rule.protocol !== "6") return [];
  return candidates.filter((port) => rule.fromPort <= port && port <= rule.toPort);
}

export const noWideIngressToAdminPorts: ResourceValidationPolicy = {
  name: "no-wide-ingress-to-ssh-or-kafka",
  description: `No ingress to SSH or a Kafka port from a block wider than /${WIDEST_ADMIN_PREFIX[4]} (IPv4) or /${WIDEST_ADMIN_PREFIX[6]} (IPv6).`,
  enforcementLevel: "mandatory",
  validateResource: (args, report) => {
    for (const rule of ingressOf(args.type, args.props)) {
      const ports = portsReached(rule, ADMIN_PORTS);
      if (ports.length === 0) continue;
      for (const text of rule.cidrs) {
        const cidr = parseCidr(text);
        if (cidr === undefined) report(`ingress from "${text}", which is not a CIDR block`);
        else if (cidr.prefix < WIDEST_ADMIN_PREFIX[cidr.family])
          report(`port ${ports.join(", ")} open to ${text}, wider than /${WIDEST_ADMIN_PREFIX[cidr.family]}`);
      }
    }
  },
};

export const kafkaPlaintextPortsPrivate: StackValidationPolicy = {
  name: "kafka-plaintext-ports-inside-the-vpc",
  description:
    "The controller and internal Kafka listeners (PLAINTEXT on stacks bootstrapped before SASL_SSL) admit only the stack's VPC or its security groups.",
  enforcementLevel: "mandatory",
  validateStack: (args, report) => {
    const vpcs = args.resources
      .filter((resource) => resource.type === T.vpc)
      .map((vpc) => parseCidr(String(vpc.props.cidrBlock ?? "")))
      .filter((cidr): cidr is Cidr => cidr !== undefined);
    for (const resource of args.resources) {
      for (const rule of ingressOf(resource.type, resource.props)) {
        const ports = portsReached(rule, PLAINTEXT_KAFKA_PORTS);
        if (ports.length === 0) continue;
        for (const text of rule.cidrs) {
          const cidr = parseCidr(text);
          if (cidr === undefined || !vpcs.some((vpc) => cidrContains(vpc, cidr)))
            report(
              `${resource.name}: VPC-only Kafka port ${ports.join(", ")} open to ${text}, outside the VPC`,
              resource.urn,
            );
        }
      }
    }
  },
};
