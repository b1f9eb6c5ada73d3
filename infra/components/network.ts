/** The VPC: public subnets in distinct availability zones, an internet gateway and the default route. */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";

export interface NetworkArgs {
  readonly cidrBlock: string;
  /** The brokers' instance type: subnets go only to zones that offer it. */
  readonly instanceType: string;
  readonly subnetCount: number;
  readonly tags: Record<string, string>;
}

/** The i-th /24 of an IPv4 block of /16 to /20: 10.42.0.0/16 -> 10.42.1.0/24, 10.42.2.0/24, ... */
export function subnetCidr(vpcCidr: string, index: number): string {
  const [address] = vpcCidr.split("/");
  const octets = address!.split(".").map(Number);
  const base = ((octets[0]! << 24) | (octets[1]! << 16) | (octets[2]! << 8)) >>> 0;
  const subnet = base + (index + 1) * 256;
  return `${subnet >>> 24}.${(subnet >>> 16) & 255}.${(subnet >>> 8) & 255}.0/24`;
}

/** A fixed address inside a subnet, for brokers of a quorum (their voters list names them). */
export function hostAddress(subnet: string, host: number): string {
  return subnet.replace(/\.0\/24$/, `.${host}`);
}

export class Network extends pulumi.ComponentResource {
  readonly vpc: aws.ec2.Vpc;
  readonly subnets: aws.ec2.Subnet[];
  readonly subnetCidrs: string[];
  /** What gives the subnets a way out; an Elastic IP can be associated only once it is attached. */
  readonly internetGateway: aws.ec2.InternetGateway;

  constructor(name: string, args: NetworkArgs, opts?: pulumi.ComponentResourceOptions) {
    super("tickstream:network:Network", name, {}, opts);
    const parent = { parent: this };
    // Availability Zones only: Local Zones and Wavelength Zones are listed too, and lack instance types we use.
    const zones = aws.getAvailabilityZonesOutput(
      { state: "available", filters: [{ name: "zone-type", values: ["availability-zone"] }] },
      parent,
    );
    // Not every zone offers every instance type (RunInstances: "Unsupported"): keep the zones, in AWS's order,
    // whose offerings include the brokers' type (EC2 API Reference, DescribeInstanceTypeOfferings).
    const offered = aws.ec2.getInstanceTypeOfferingsOutput(
      {
        locationType: "availability-zone",
        filters: [{ name: "instance-type", values: [args.instanceType] }],
      },
      parent,
    );
    const usable = pulumi.all([zones.names, offered.locations]).apply(([names, locations]) => {
      const offering = names.filter((zone) => locations.includes(zone));
      const needed = Math.min(args.subnetCount, names.length);
      if (offering.length < needed)
        throw new Error(
          `only ${offering.length} Availability Zones of this region offer ${args.instanceType} (${offering.join(", ") || "none"}); the stack needs ${needed}: choose another instanceType`,
        );
      return offering;
    });
    this.vpc = new aws.ec2.Vpc(
      `${name}-vpc`,
      {
        cidrBlock: args.cidrBlock,
        enableDnsHostnames: true,
        enableDnsSupport: true,
        tags: { ...args.tags, Name: `${name}-vpc` },
      },
      parent,
    );
    const gateway = (this.internetGateway = new aws.ec2.InternetGateway(
      `${name}-igw`,
      { vpcId: this.vpc.id, tags: args.tags },
      parent,
    ));
    const routes = new aws.ec2.RouteTable(
      `${name}-public`,
      { vpcId: this.vpc.id, routes: [{ cidrBlock: "0.0.0.0/0", gatewayId: gateway.id }], tags: args.tags },
      parent,
    );
    this.subnetCidrs = Array.from({ length: args.subnetCount }, (_, index) =>
      subnetCidr(args.cidrBlock, index),
    );
    this.subnets = this.subnetCidrs.map((cidrBlock, index) => {
      const subnet = new aws.ec2.Subnet(
        `${name}-public-${index + 1}`,
        {
          vpcId: this.vpc.id,
          cidrBlock,
          availabilityZone: usable.apply((names) => names[index % names.length]!),
          // Brokers get Elastic IPs; nothing else in these subnets should be public by accident.
          mapPublicIpOnLaunch: false,
          tags: { ...args.tags, Name: `${name}-public-${index + 1}` },
        },
        parent,
      );
      new aws.ec2.RouteTableAssociation(
        `${name}-public-${index + 1}`,
        { subnetId: subnet.id, routeTableId: routes.id },
        parent,
      );
      return subnet;
    });
    this.registerOutputs({ vpcId: this.vpc.id, subnetIds: this.subnets.map((subnet) => subnet.id) });
  }
}
