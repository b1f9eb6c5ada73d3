/**
 * The Kafka brokers: a security group, an Elastic IP per broker (allocated first and handed to the bootstrap,
 * associated separately so that the address survives stop/start), and EC2 instances with IMDSv2 required,
 * encrypted root and data volumes and the rendered KRaft bootstrap as user data.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import type { StackConfig } from "../config.ts";
import { DEFAULT_BROKER_PORTS, DEFAULT_NODE_VERSION } from "../bootstrap/render.ts";
import { brokerUserData } from "../bootstrap/user-data.ts";
import { STACK_PRINCIPALS } from "../bootstrap/security.ts";
import { brokerSecretsPolicy, type BrokerSecurity } from "./broker-security.ts";
import { hostAddress, type Network } from "./network.ts";

export interface BrokerClusterArgs {
  readonly config: StackConfig;
  readonly network: Network;
  readonly instanceProfileName: pulumi.Input<string>;
  /** The brokers' role, which alone reads their keystores and passwords. */
  readonly brokerRoleId: pulumi.Input<string>;
  readonly security: BrokerSecurity;
  /** Consumer group ids (prefixes) the lake sink's ACLs cover. */
  readonly consumerGroupPrefixes: readonly string[];
  /** The rollup's bar topic and group (prefix). */
  readonly barsTopic: string;
  readonly rollupGroupPrefix: string;
  readonly clusterId: string;
  /** Security groups of apps in the VPC that reach the internal listener (the quote poller's function). */
  readonly internalListenerClients?: readonly pulumi.Input<string>[];
  readonly topic: string;
  readonly tags: Record<string, string>;
}

/** Canonical's Ubuntu 24.04 LTS images. */

export class BrokerCluster extends pulumi.ComponentResource {
  readonly securityGroup: aws.ec2.SecurityGroup;
  readonly instances: aws.ec2.Instance[];
  readonly elasticIps: aws.ec2.Eip[];
  readonly publicIps: pulumi.Output<string[]>;
  readonly privateIps: pulumi.Output<string[]>;
  readonly instanceIds: pulumi.Output<string[]>;
  readonly bootstrapServers: pulumi.Output<string>;
  /** The INTERNAL listener on the private IPs: for apps inside the VPC (traffic to an Elastic IP from inside
   * the VPC arrives from the Elastic IP, which no security-group rule of ours admits). */
  readonly internalBootstrapServers: pulumi.Output<string>;

  constructor(name: string, args: BrokerClusterArgs, opts?: pulumi.ComponentResourceOptions) {
    super("tickstream:broker:BrokerCluster", name, {}, opts);
    const parent = { parent: this };
    const { config, network, security } = args;
    const ports = DEFAULT_BROKER_PORTS;
    const allowed = {
      cidrBlocks: config.allowedCidrs.filter((cidr) => !cidr.includes(":")),
      ipv6CidrBlocks: config.allowedCidrs.filter((cidr) => cidr.includes(":")),
    };

    this.securityGroup = new aws.ec2.SecurityGroup(
      `${name}-sg`,
      {
        vpcId: network.vpc.id,
        description:
          "tickstream brokers: Kafka and SSH from allowedCidrs only, broker-to-broker inside the group",
        ingress: [
          {
            description: "Kafka clients (SASL_SSL)",
            protocol: "tcp",
            fromPort: ports.external,
            toPort: ports.external,
            ...allowed,
          },
          { description: "SSH for the ops CLI", protocol: "tcp", fromPort: 22, toPort: 22, ...allowed },
          {
            description: "KRaft controllers",
            protocol: "tcp",
            fromPort: ports.controller,
            toPort: ports.controller,
            self: true,
          },
          {
            description: "inter-broker replication, and the apps on the brokers (internalBootstrapServers)",
            protocol: "tcp",
            fromPort: ports.internal,
            toPort: ports.internal,
            self: true,
          },
          // Every rule of this group is inline: a standalone rule on a group with inline rules is revoked by
          // the group's next update (the provider's aws.ec2.SecurityGroup documentation: do not mix them).
          ...((args.internalListenerClients ?? []).length > 0
            ? [
                {
                  description: "apps in the VPC by security group: the quote poller (internal listener)",
                  protocol: "tcp",
                  fromPort: ports.internal,
                  toPort: ports.internal,
                  securityGroups: [...args.internalListenerClients!],
                },
              ]
            : []),
        ],
        // Packages, the Kafka and Node.js downloads, S3.
        egress: [
          { description: "outbound", protocol: "-1", fromPort: 0, toPort: 0, cidrBlocks: ["0.0.0.0/0"] },
        ],
        tags: args.tags,
      },
      parent,
    );

    const keyPair = new aws.ec2.KeyPair(
      `${name}-ssh`,
      { publicKey: config.sshPublicKey, tags: args.tags },
      parent,
    );

    const quorum = config.brokerCount > 1;
    const voters = quorum
      ? Array.from({ length: config.brokerCount }, (_, index) => ({
          nodeId: index + 1,
          host: hostAddress(
            network.subnetCidrs[index % network.subnetCidrs.length]!,
            10 + Math.floor(index / network.subnetCidrs.length),
          ),
        }))
      : [];

    this.elasticIps = [];
    this.instances = [];
    for (let index = 0; index < config.brokerCount; index++) {
      const nodeId = index + 1;
      const brokerName = `${name}-${nodeId}`;
      const elasticIp = new aws.ec2.Eip(
        `${brokerName}-eip`,
        { domain: "vpc", tags: { ...args.tags, Name: brokerName } },
        parent,
      );
      const subnet = network.subnets[index % network.subnets.length]!;
      // Kafka's data lives on its own volume, which outlives any replacement of the instance.
      const dataVolume = new aws.ebs.Volume(
        `${brokerName}-data`,
        {
          availabilityZone: subnet.availabilityZone,
          size: config.dataVolumeGb,
          type: "gp3",
          encrypted: true,
          tags: { ...args.tags, Name: `${brokerName}-data` },
        },
        { ...parent, retainOnDelete: !config.forceDestroy },
      );
      const instance = new aws.ec2.Instance(
        brokerName,
        {
          ami: config.amiId,
          instanceType: config.instanceType,
          subnetId: subnet.id,
          privateIp: quorum ? voters[index]!.host : undefined,
          vpcSecurityGroupIds: [this.securityGroup.id],
          iamInstanceProfile: args.instanceProfileName,
          keyName: keyPair.keyName,
          metadataOptions: { httpTokens: "required", httpEndpoint: "enabled", httpPutResponseHopLimit: 1 },
          rootBlockDevice: { encrypted: true, volumeType: "gp3", volumeSize: 20, deleteOnTermination: true },
          // Gzipped: the script is ~23 KB, EC2 takes 16 KB raw (infra/bootstrap/user-data.ts).
          userDataBase64: pulumi.all([elasticIp.publicIp, dataVolume.id]).apply(([publicIp, dataVolumeId]) =>
            brokerUserData({
              nodeId,
              dataVolumeId,
              voters,
              publicIp,
              clusterId: args.clusterId,
              kafkaVersion: config.kafkaVersion,
              nodeVersion: DEFAULT_NODE_VERSION,
              topic: args.topic,
              barsTopic: args.barsTopic,
              partitions: config.topicPartitions,
              replicationFactor: config.replicationFactor,
              retentionHours: config.topicRetentionHours,
              ports,
              security: {
                caParameter: security.names.caCertificate,
                keystoreParameter: security.names.keystore(nodeId),
                userParameters: Object.fromEntries(
                  STACK_PRINCIPALS.map((principal) => [principal, security.names.user(principal)]),
                ) as Record<(typeof STACK_PRINCIPALS)[number], string>,
                aclScope: {
                  topics: [args.topic],
                  groupPrefixes: args.consumerGroupPrefixes,
                  barsTopics: [args.barsTopic],
                  rollupGroupPrefixes: [args.rollupGroupPrefix],
                },
              },
            }),
          ),
          tags: { ...args.tags, Name: brokerName },
        },
        {
          ...parent,
          // Delete the old broker first: its data volume (gp3: no Multi-Attach, EBS User Guide) and, in a
          // quorum, its fixed private IP can be held by one instance at a time (VolumeInUse, InvalidIPAddress.InUse).
          deleteBeforeReplace: true,
          // The user data only bootstraps a new instance: a change would stop and start every broker at once
          // and cloud-init would not run it again. Settings and versions of a running stack change by a rolling
          // restart over SSH; a new SSH key is added to authorized_keys over SSH, not by a new instance.
          // Both forms are ignored: stacks created before the gzip form hold `userData`, newer ones
          // `userDataBase64`, and moving an existing broker from one to the other must not restart it.
          ignoreChanges: ["userData", "userDataBase64", "keyName"],
        },
      );
      // DetachVolume on a volume mounted by a running instance can stay "busy" indefinitely (EC2 API Reference,
      // DetachVolume): stop the broker first (Kafka shuts down cleanly with the instance), then detach.
      new aws.ec2.VolumeAttachment(
        `${brokerName}-data-attachment`,
        {
          deviceName: "/dev/sdf",
          volumeId: dataVolume.id,
          instanceId: instance.id,
          stopInstanceBeforeDetaching: true,
        },
        { ...parent, deleteBeforeReplace: true },
      );
      // AssociateAddress fails on a VPC without an attached internet gateway; and until this association the
      // broker has no way out (its bootstrap waits for it before downloading anything).
      new aws.ec2.EipAssociation(
        `${brokerName}-eip`,
        { allocationId: elasticIp.allocationId, instanceId: instance.id },
        { ...parent, dependsOn: [args.network.internetGateway], deleteBeforeReplace: true },
      );
      // Its certificate names both addresses; the bootstrap waits for the keystore, written once both are known.
      security.addBroker(nodeId, elasticIp.publicIp, instance.privateIp);
      this.elasticIps.push(elasticIp);
      this.instances.push(instance);
    }
    new aws.iam.RolePolicy(
      `${name}-kafka-secrets`,
      { role: args.brokerRoleId, policy: security.brokerParameterArns().apply(brokerSecretsPolicy) },
      parent,
    );
    this.publicIps = pulumi.all(this.elasticIps.map((eip) => eip.publicIp));
    this.privateIps = pulumi.all(this.instances.map((instance) => instance.privateIp));
    this.instanceIds = pulumi.all(this.instances.map((instance) => instance.id));
    this.bootstrapServers = this.publicIps.apply((ips) =>
      ips.map((ip) => `${ip}:${ports.external}`).join(","),
    );
    this.internalBootstrapServers = this.privateIps.apply((ips) =>
      ips.map((ip) => `${ip}:${ports.internal}`).join(","),
    );
    this.registerOutputs({
      publicIps: this.publicIps,
      privateIps: this.privateIps,
      bootstrapServers: this.bootstrapServers,
      internalBootstrapServers: this.internalBootstrapServers,
    });
  }
}
