import * as pulumi from "@pulumi/pulumi";
import {
  recorded,
  setTickstreamMocks,
  stackFileConfig,
  valueOf,
  settle,
  ofType,
  asPolicyResources,
  declaredOptions,
  invokes,
  recordOptions,
} from "./pulumi-mocks.ts";
import { expect } from "chai";
import { readFileSync } from "node:fs";
import { validateStackConfig } from "../../infra/config.ts";
import { RESOURCE_TYPES as T } from "../../infra/policy/rules.ts";
import { startPolicyPack } from "../helpers/policy-pack-server.ts";
import { elasticIpWarning } from "../../infra/policy/aws-limits.ts";
import { cidrContains, parseCidr } from "../../infra/policy/cidr.ts";
import { ingressOf } from "../../infra/policy/network-rules.ts";
import { createTickstreamStack, type TickstreamOutputs } from "../../infra/stack.ts";
import { newTableMetadata } from "../../apps/iceberg/table-metadata.ts";
import { ICEBERG_TABLES } from "../../apps/iceberg/table-schema.ts";
import { CRAWLER_CATALOG_ACTIONS, ICEBERG_TABLE_NAMES } from "../../infra/components/iam-policies.ts";
import {
  COMMITTED_TABLE_PROPERTIES,
  GLUE_COMPACTION_ENABLED,
} from "../../infra/components/iceberg-tables.ts";
import { STAGING_EXPIRATION_DAYS } from "../../infra/lake-retention.ts";
import {
  EC2_USER_DATA_MAX_BYTES,
  userDataRawBytes,
  userDataScript,
} from "../../infra/bootstrap/user-data.ts";

const EXPECTED_OUTPUTS = [
  "brokerPublicIps",
  "brokerPrivateIps",
  "brokerInstanceIds",
  "bootstrapServers",
  "internalBootstrapServers",
  "sshUser",
  "sshPort",
  "lakeBucket",
  "glueDatabase",
  "crawlerName",
  "athenaWorkgroup",
  "region",
  "kafkaCaCertificate",
  "kafkaCredentialParameters",
  "kafkaKeystoreParameters",
];

for (const stack of ["dev", "prod"] as const) {
  describe(`the ${stack} stack under Pulumi mocks`, function () {
    const config = validateStackConfig(stackFileConfig(stack));
    let outputs: TickstreamOutputs;
    let resolved: Record<string, unknown>;

    before(async function () {
      recorded.length = 0;
      invokes.length = 0;
      declaredOptions.clear();
      setTickstreamMocks(stack);
      outputs = createTickstreamStack(config, stack, { transformations: [recordOptions] });
      resolved = Object.fromEntries(
        await Promise.all(Object.entries(outputs).map(async ([key, value]) => [key, await valueOf(value)])),
      );
      await settle();
    });

    it("exports every output the ops CLI reads", function () {
      expect(Object.keys(resolved)).to.have.members(EXPECTED_OUTPUTS);
      // What Pulumi exports is infra/index.ts's named exports (regression: internalBootstrapServers was missing).
      const exported = [
        ...readFileSync("infra/index.ts", "utf8").matchAll(/^export const (\w+) = outputs\.\1;$/gm),
      ].map((match) => match[1]);
      expect(exported).to.include.members(EXPECTED_OUTPUTS);
      const publicIps = resolved.brokerPublicIps as string[];
      expect(publicIps).to.have.length(config.brokerCount);
      expect(resolved.brokerInstanceIds).to.deep.equal(ofType(T.instance).map((instance) => instance.id));
      expect(resolved.bootstrapServers).to.equal(publicIps.map((ip) => `${ip}:9092`).join(","));
      expect(resolved.internalBootstrapServers).to.equal(
        (resolved.brokerPrivateIps as string[]).map((ip) => `${ip}:9094`).join(","),
      );
      expect(resolved).to.include({
        sshUser: "ubuntu",
        sshPort: 22,
        region: "us-east-1",
        glueDatabase: `tickstream_${stack}`,
      });
    });

    // VPC User Guide, "Security group rules": a rule that names the group itself admits traffic from the
    // private addresses of its members; traffic sent to an Elastic IP from inside the VPC arrives with the
    // sender's public address and matches no such rule. So apps on the brokers use the INTERNAL listener.
    it("must admit the internal listener (internalBootstrapServers) from within the security group, not via Elastic IPs", function () {
      const [group] = ofType("aws:ec2/securityGroup:SecurityGroup");
      const internal = (
        group!.inputs.ingress as { fromPort: number; toPort: number; self?: boolean; cidrBlocks?: string[] }[]
      ).find((rule) => rule.fromPort === 9094)!;
      expect(internal).to.deep.include({ toPort: 9094, self: true });
      expect(internal.cidrBlocks ?? []).to.deep.equal([]);
    });

    // VPC User Guide, "Security group rules": protocol -1 means all traffic on every port, whatever
    // fromPort/toPort say; so every rule of every group is checked, not only those that start at a port.
    it("must admit nothing from outside the VPC but SSH and the Kafka client port from allowedCidrs, in every rule of every group", function () {
      const vpcCidr = ofType("aws:ec2/vpc:Vpc")[0]!.inputs.cidrBlock as string;
      const rules = [T.securityGroup, T.securityGroupRule, T.ingressRule].flatMap((type) =>
        ofType(type).flatMap((resource) => ingressOf(type, resource.inputs as Record<string, unknown>)),
      );
      expect(rules.length).to.be.greaterThan(0);
      for (const rule of rules) {
        expect(rule.protocol, "no all-traffic ingress").to.equal("tcp");
        const outside = rule.cidrs.filter((cidr) => !cidrContains(parseCidr(vpcCidr)!, parseCidr(cidr)!));
        if (outside.length === 0) continue;
        expect([22, 9092], `port ${rule.fromPort} is open outside the VPC`).to.include(rule.fromPort);
        expect(rule.toPort).to.equal(rule.fromPort);
        expect(outside).to.deep.equal(config.allowedCidrs);
      }
    });

    it("must not open SSH or Kafka to anything but allowedCidrs", function () {
      const [group] = ofType(T.securityGroup);
      const ingress = group!.inputs.ingress as { fromPort: number; cidrBlocks?: string[]; self?: boolean }[];
      for (const port of [22, 9092]) {
        const rules = ingress.filter((rule) => rule.fromPort === port);
        expect(rules, `port ${port}`).to.have.length(1);
        expect(rules[0]!.cidrBlocks).to.deep.equal(config.allowedCidrs);
      }
      const internal = ingress.filter((rule) => rule.fromPort === 9093 || rule.fromPort === 9094);
      expect(
        internal.every((rule) => rule.self === true && rule.cidrBlocks === undefined),
        "broker-to-broker only within the group",
      ).to.equal(true);
    });

    it("must require IMDSv2 and encrypt the root volume of every broker", function () {
      const instances = ofType(T.instance);
      expect(instances).to.have.length(config.brokerCount);
      for (const instance of instances) {
        expect(instance.inputs.metadataOptions).to.include({ httpTokens: "required" });
        expect(instance.inputs.rootBlockDevice).to.include({ encrypted: true });
        expect(
          instance.inputs.ebsBlockDevices ?? [],
          "no data on a volume that dies with the instance",
        ).to.deep.equal([]);
        expect(instance.inputs.iamInstanceProfile).to.be.a("string").and.not.empty;
      }
    });

    // EC2 API Reference, AttachVolume: the volume and the instance must be in the same Availability Zone; an EBS
    // volume of its own (not a block device mapping with DeleteOnTermination) survives the instance's replacement.
    it("must keep Kafka's data on an encrypted EBS volume of its own, in the broker's zone, attached by a VolumeAttachment (it outlives a replaced instance)", function () {
      const volumes = ofType("aws:ebs/volume:Volume");
      const attachments = ofType("aws:ec2/volumeAttachment:VolumeAttachment");
      const instances = ofType(T.instance);
      expect(volumes).to.have.length(config.brokerCount);
      expect(attachments).to.have.length(config.brokerCount);
      instances.forEach((instance, index) => {
        const volume = volumes[index]!;
        expect(volume.inputs).to.include({ size: config.dataVolumeGb, type: "gp3", encrypted: true });
        const subnet = ofType("aws:ec2/subnet:Subnet").find(
          (candidate) => candidate.id === instance.inputs.subnetId,
        )!;
        expect(volume.inputs.availabilityZone, "same zone as its broker").to.equal(
          subnet.inputs.availabilityZone,
        );
        const attachment = attachments.find((candidate) => candidate.inputs.instanceId === instance.id)!;
        expect(attachment.inputs).to.include({ volumeId: volume.id, deviceName: "/dev/sdf" });
        expect(declaredOptions.get(volume.name)?.retainOnDelete ?? false).to.equal(!config.forceDestroy);
        // The bootstrap finds the volume by its id (the NVMe serial), never as "the first empty disk".
        const script = userDataScript(instance.inputs);
        expect(script).to.include(`readonly DATA_VOLUME_ID='${volume.id}'`);
        expect(script).to.include("nvme-Amazon_Elastic_Block_Store_");
        expect(script).to.not.include("lsblk");
      });
    });

    // A stack update that replaces instances must not be planned by a new image appearing: describe-images with
    // most_recent returns a new AMI whenever Canonical publishes one, and a changed ami replaces the instance.
    it("must run the AMI pinned in config, looking no image up", function () {
      expect(invokes.map((invoke) => invoke.token)).to.not.include("aws:ec2/getAmi:getAmi");
      for (const instance of ofType(T.instance)) expect(instance.inputs.ami).to.equal(config.amiId);
    });

    // EC2: a private IP address can be held by one network interface at a time (InvalidIPAddress.InUse), and a
    // gp3 volume by one instance (EBS User Guide, "Attach a volume to multiple instances with Amazon EBS
    // Multi-Attach": io1 and io2 only), so a replacement that creates first (Pulumi's default) fails with
    // VolumeInUse in dev too; an instance's user data change stops and starts it ("Work with instance user
    // data"), and cloud-init runs user data on the first boot only.
    it("must delete every broker (its attachment and address association with it) before replacing it, and never restart brokers for a user data or key change", function () {
      const replaced = [
        ...ofType(T.instance),
        ...ofType("aws:ec2/volumeAttachment:VolumeAttachment"),
        ...ofType("aws:ec2/eipAssociation:EipAssociation"),
      ];
      expect(replaced).to.have.length(3 * config.brokerCount);
      for (const resource of replaced) {
        const options = declaredOptions.get(resource.name)! as pulumi.CustomResourceOptions;
        expect(options.deleteBeforeReplace, resource.name).to.equal(true);
      }
      for (const instance of ofType(T.instance)) {
        const options = declaredOptions.get(instance.name)! as pulumi.CustomResourceOptions;
        expect(options.ignoreChanges).to.include.members(["userData", "userDataBase64", "keyName"]);
      }
    });

    // EC2 API Reference, DetachVolume: a volume mounted by a running instance can stay "busy" indefinitely;
    // the provider's VolumeAttachment stops the instance first with stopInstanceBeforeDetaching.
    it("must stop a broker before detaching its data volume (pulumi destroy, a replacement), never detach a mounted volume", function () {
      for (const attachment of ofType("aws:ec2/volumeAttachment:VolumeAttachment")) {
        expect(attachment.inputs.stopInstanceBeforeDetaching, attachment.name).to.equal(true);
        expect(attachment.inputs.forceDetach ?? false).to.equal(false);
      }
    });

    // EC2 User Guide, "Run commands when you launch an EC2 instance with user data input": "User data is limited
    // to 16 KB, in raw form, before it is base64-encoded"; cloud-init unpacks gzip (infra/bootstrap/user-data.ts).
    it("must give each broker user data within EC2's 16 KB raw limit, gzipped, with room to grow", function () {
      for (const instance of ofType(T.instance)) {
        expect(instance.inputs.userData, "the gzip form only").to.equal(undefined);
        const raw = userDataRawBytes(instance.inputs);
        expect([raw[0], raw[1]], "gzip magic").to.deep.equal([0x1f, 0x8b]);
        // Room: at least a quarter of the limit left for the bootstrap to grow.
        expect(raw.length).to.be.lessThan(EC2_USER_DATA_MAX_BYTES * 0.75);
      }
    });

    it("must allocate an Elastic IP per broker, hand its address to the bootstrap, and associate it separately", function () {
      const eips = ofType("aws:ec2/eip:Eip");
      const associations = ofType("aws:ec2/eipAssociation:EipAssociation");
      expect(eips).to.have.length(config.brokerCount);
      expect(associations).to.have.length(config.brokerCount);
      ofType(T.instance).forEach((instance, index) => {
        expect(userDataScript(instance.inputs)).to.include(
          `readonly EXPECTED_PUBLIC_IP='${eips[index]!.state.publicIp}'`,
        );
        expect(instance.inputs).to.not.have.property("associatePublicIpAddress");
        expect(associations[index]!.inputs).to.deep.equal({
          allocationId: eips[index]!.state.allocationId,
          instanceId: instance.id,
        });
      });
    });

    it(
      config.brokerCount > 1
        ? "must place a quorum on fixed private IPs in distinct subnets and zones"
        : "must run one broker that votes for itself",
      function () {
        const instances = ofType(T.instance);
        const subnets = ofType("aws:ec2/subnet:Subnet");
        if (config.brokerCount === 1) {
          expect(instances[0]!.inputs.privateIp).to.equal(undefined);
          expect(userDataScript(instances[0]!.inputs)).to.include("readonly QUORUM_VOTERS=''");
          return;
        }
        const ips = instances.map((instance) => instance.inputs.privateIp as string);
        expect(ips).to.deep.equal(["10.42.1.10", "10.42.2.10", "10.42.3.10"]);
        const voters = "1@10.42.1.10:9093,2@10.42.2.10:9093,3@10.42.3.10:9093";
        for (const instance of instances)
          expect(userDataScript(instance.inputs)).to.include(`readonly QUORUM_VOTERS='${voters}'`);
        const zones = instances.map(
          (instance) =>
            subnets.find((subnet) => subnet.id === instance.inputs.subnetId)!.inputs.availabilityZone,
        );
        expect(new Set(zones).size).to.equal(3);
        expect(instances.map((instance) => userDataScript(instance.inputs)).join()).to.include(
          "readonly REPLICATION_FACTOR='3'",
        );
      },
    );

    // EC2 API Reference, AssociateAddress: an Elastic IP can be associated with an instance in a VPC only when
    // the VPC has an internet gateway attached ("Gateway.NotAttached"); the subnets map no public IPs, so the
    // association is also the broker's only way out, and the bootstrap must wait for it before any download.
    it("must associate each Elastic IP only after the internet gateway, and the bootstrap must wait for the address before downloading", function () {
      const associations = ofType("aws:ec2/eipAssociation:EipAssociation");
      expect(associations).to.have.length(config.brokerCount);
      for (const association of associations) {
        const dependsOn = [declaredOptions.get(association.name)?.dependsOn ?? []].flat() as {
          __name?: string;
        }[];
        expect(dependsOn.map((resource) => resource.__name)).to.include(`tickstream-${stack}-igw`);
      }
      for (const instance of ofType(T.instance)) {
        const script = userDataScript(instance.inputs);
        const main = script.slice(script.indexOf("main() {"));
        expect(main.indexOf("waiting for the Elastic IP"), "waits for the Elastic IP").to.be.greaterThan(0);
        expect(main.indexOf("waiting for the Elastic IP")).to.be.lessThan(main.indexOf("install_packages"));
        expect(main.indexOf("install_packages")).to.be.lessThan(main.indexOf("install_kafka"));
      }
    });

    it("must build public subnets in distinct zones behind an internet gateway", function () {
      const subnets = ofType("aws:ec2/subnet:Subnet");
      expect(subnets).to.have.length(Math.max(2, config.brokerCount));
      expect(new Set(subnets.map((subnet) => subnet.inputs.availabilityZone)).size).to.equal(subnets.length);
      expect(subnets.every((subnet) => subnet.inputs.mapPublicIpOnLaunch === false)).to.equal(true);
      const [routes] = ofType("aws:ec2/routeTable:RouteTable");
      expect(routes!.inputs.routes).to.deep.equal([
        { cidrBlock: "0.0.0.0/0", gatewayId: ofType("aws:ec2/internetGateway:InternetGateway")[0]!.id },
      ]);
      expect(ofType("aws:ec2/routeTableAssociation:RouteTableAssociation")).to.have.length(subnets.length);
    });

    it("must block public access to, encrypt and version the lake", function () {
      const lake = ofType(T.bucket).find((bucket) => bucket.name.endsWith("-lake"))!;
      expect(lake.inputs.forceDestroy).to.equal(config.forceDestroy);
      const attached = (type: string) =>
        ofType(type).filter((resource) => resource.inputs.bucket === lake.id);
      expect(attached(T.publicAccessBlock)[0]!.inputs).to.include({
        blockPublicAcls: true,
        blockPublicPolicy: true,
        ignorePublicAcls: true,
        restrictPublicBuckets: true,
      });
      expect(attached(T.encryption)[0]!.inputs.rules[0].applyServerSideEncryptionByDefault).to.deep.equal({
        sseAlgorithm: "AES256",
      });
      expect(attached(T.versioning)[0]!.inputs.versioningConfiguration).to.deep.equal({ status: "Enabled" });
      const rules = attached("aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration")[0]!.inputs
        .rules as { id: string }[];
      expect(rules.map((rule) => rule.id)).to.include.members([
        "expire-noncurrent",
        "abort-incomplete-uploads",
      ]);
      const policy = JSON.parse(attached("aws:s3/bucketPolicy:BucketPolicy")[0]!.inputs.policy);
      expect(policy.Statement[0]).to.deep.include({
        Effect: "Deny",
        Condition: { Bool: { "aws:SecureTransport": "false" } },
      });
    });

    // IAM: an object ARN is arn:aws:s3:::bucket/key, a prefix is granted with a trailing * (S3 User Guide,
    // "Policy resources for Amazon S3"); CopyObject needs s3:GetObject on the source and s3:PutObject on the
    // target, and DeleteObjects needs s3:DeleteObject on each key (S3 API Reference, CopyObject, DeleteObjects).
    it("must let the broker role write the lake's prefixes, and delete only under _staging/ (no s3:DeleteObject on ticks/ or quarantine/)", function () {
      const lakeArn = ofType(T.bucket).find((bucket) => bucket.name.endsWith("-lake"))!.state.arn;
      const brokerPolicy = ofType(T.rolePolicy).find((policy) => policy.name.endsWith("-broker-lake"))!;
      const statements = JSON.parse(brokerPolicy.inputs.policy).Statement as {
        Action: string | string[];
        Resource: string | string[];
        Condition?: { StringLike: Record<string, string[]> };
      }[];
      const grants = statements.flatMap((statement) =>
        [statement.Action]
          .flat()
          .flatMap((action) => [statement.Resource].flat().map((resource) => `${action} ${resource}`)),
      );
      expect(grants.sort()).to.deep.equal(
        [
          `s3:AbortMultipartUpload ${lakeArn}/_staging/*`,
          `s3:AbortMultipartUpload ${lakeArn}/bars_1m/*`,
          `s3:GetObject ${lakeArn}/bars_1m/*`,
          `s3:PutObject ${lakeArn}/bars_1m/*`,
          `s3:AbortMultipartUpload ${lakeArn}/quarantine/*`,
          `s3:AbortMultipartUpload ${lakeArn}/ticks/*`,
          `s3:DeleteObject ${lakeArn}/_staging/*`,
          `s3:GetObject ${lakeArn}/_staging/*`,
          `s3:GetObject ${lakeArn}/quarantine/*`,
          `s3:GetObject ${lakeArn}/ticks/*`,
          `s3:ListBucket ${lakeArn}`,
          `s3:PutObject ${lakeArn}/_staging/*`,
          `s3:PutObject ${lakeArn}/quarantine/*`,
          `s3:PutObject ${lakeArn}/ticks/*`,
        ].sort(),
      );
      const listing = statements.find((statement) => statement.Action === "s3:ListBucket")!;
      expect(listing.Condition!.StringLike["s3:prefix"]).to.deep.equal([
        "ticks/*",
        "quarantine/*",
        "bars_1m/*",
        "_staging/*",
      ]);
    });

    // S3 lifecycle: a rule's Filter.Prefix scopes it, and Expiration.Days must be a positive integer
    // (S3 API Reference, LifecycleExpiration and LifecycleRuleFilter).
    it("must expire what crashed and fenced sink members left under _staging/ after a positive number of days", function () {
      const lake = ofType(T.bucket).find((bucket) => bucket.name.endsWith("-lake"))!;
      const lifecycle = ofType("aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration").find(
        (resource) => resource.inputs.bucket === lake.id,
      )!;
      const staging = (
        lifecycle.inputs.rules as { id: string; filter: { prefix?: string }; expiration?: { days: number } }[]
      ).find((rule) => rule.id === "expire-staging")!;
      expect(staging.filter).to.deep.equal({ prefix: "_staging/" });
      expect(Number.isInteger(staging.expiration!.days) && staging.expiration!.days > 0).to.equal(true);
    });

    // IAM: Glue authorizes table and partition calls against the catalog, database and table ARNs
    // (arn:aws:glue:region:account:catalog | database/NAME | table/DB/NAME; Glue Developer Guide, "Specifying AWS
    // Glue resource ARNs"); the managed AWSGlueServiceRole grants glue:* on * and S3 on aws-glue-* buckets.
    it("must give the crawler catalog rights on this stack's database and tables only, its log group, and read access to the lake prefixes (no managed AWSGlueServiceRole)", function () {
      expect(ofType("aws:iam/rolePolicyAttachment:RolePolicyAttachment")).to.deep.equal([]);
      const database = `tickstream_${stack}`;
      const catalog = JSON.parse(
        ofType(T.rolePolicy).find((policy) => policy.name.endsWith("-crawler-catalog"))!.inputs.policy,
      );
      const lake = JSON.parse(
        ofType(T.rolePolicy).find((policy) => policy.name.endsWith("-crawler-lake"))!.inputs.policy,
      );
      const statements = [...catalog.Statement, ...lake.Statement] as {
        Action: string | string[];
        Resource: string | string[];
      }[];
      for (const statement of statements) {
        for (const action of [statement.Action].flat())
          expect(action, "no wildcard action").to.not.include("*");
        for (const resource of [statement.Resource].flat()) {
          expect(resource, "no resource of any account or region").to.not.match(/^\*$|:\*:|::\*/);
          expect(resource).to.not.include("_staging");
        }
      }
      const allowed = statements.filter((statement) => (statement as { Effect?: string }).Effect === "Allow");
      const glueResources = allowed
        .filter((statement) => [statement.Action].flat().some((action) => action.startsWith("glue:")))
        .flatMap((statement) => [statement.Resource].flat());
      expect(glueResources.sort()).to.deep.equal(
        [
          "arn:aws:glue:us-east-1:123456789012:catalog",
          `arn:aws:glue:us-east-1:123456789012:database/${database}`,
          `arn:aws:glue:us-east-1:123456789012:table/${database}/*`,
        ].sort(),
      );
      // IAM User Guide, "Policy evaluation logic": an explicit Deny overrides any Allow. The crawler can never
      // create, update or delete the Iceberg tables' Glue entries (nor their partitions): only commits move them.
      const denied = statements.filter((statement) => (statement as { Effect?: string }).Effect === "Deny");
      expect(denied).to.have.length(1);
      expect(denied[0], "unconditional").to.not.have.property("Condition");
      expect([denied[0]!.Resource].flat().sort()).to.deep.equal([
        `arn:aws:glue:us-east-1:123456789012:table/${database}/bars_1m`,
        `arn:aws:glue:us-east-1:123456789012:table/${database}/ticks`,
      ]);
      expect([denied[0]!.Action].flat()).to.include.members([
        "glue:CreateTable",
        "glue:UpdateTable",
        "glue:DeleteTable",
        "glue:BatchCreatePartition",
      ]);
      expect([denied[0]!.Action].flat()).to.include.members(
        [...CRAWLER_CATALOG_ACTIONS].filter((action) => !/Get/.test(action)),
      );
      const logResources = statements
        .filter((statement) => [statement.Action].flat().some((action) => action.startsWith("logs:")))
        .flatMap((statement) => [statement.Resource].flat());
      expect(logResources).to.deep.equal([
        "arn:aws:logs:us-east-1:123456789012:log-group:/aws-glue/crawlers:*",
      ]);
      const s3Actions = statements
        .flatMap((statement) => [statement.Action].flat())
        .filter((action) => action.startsWith("s3:"));
      expect(s3Actions.sort()).to.deep.equal(["s3:GetObject", "s3:ListBucket"]);
      const lakeArn = ofType(T.bucket).find((bucket) => bucket.name.endsWith("-lake"))!.state.arn;
      expect(lake.Statement[0].Resource, "reads what it crawls only").to.deep.equal([
        `${lakeArn}/quarantine/*`,
      ]);
    });

    // AWS Glue Developer Guide, "Scheduling incremental crawls for adding new partitions"
    // (docs.aws.amazon.com/glue/latest/dg/incremental-crawls.html): with "crawl new folders only" the crawler's
    // update and delete behaviours must be LOG; CreateCrawler rejects UPDATE_IN_DATABASE with it.
    it("must log, not apply, schema changes when it crawls new folders only (Glue: CRAWL_NEW_FOLDERS_ONLY requires SchemaChangePolicy update and delete behaviour LOG)", function () {
      const [crawler] = ofType("aws:glue/crawler:Crawler");
      expect(crawler!.inputs.recrawlPolicy).to.deep.equal({ recrawlBehavior: "CRAWL_NEW_FOLDERS_ONLY" });
      expect(crawler!.inputs.schemaChangePolicy).to.deep.equal({
        updateBehavior: "LOG",
        deleteBehavior: "LOG",
      });
    });

    // S3 API Reference, DeleteBucket: "All objects (including all object versions and delete markers) in the
    // bucket must be deleted before the bucket itself can be deleted" (else 409 BucketNotEmpty); Pulumi deletes
    // a bucket's guards (separate resources) before the bucket, so they must be retained along with it.
    it("must keep the lake and every guard of it on destroy unless forceDestroy (S3 DeleteBucket fails with BucketNotEmpty on a bucket that holds objects)", function () {
      const lakeResources = recorded.filter(
        (resource) =>
          resource.type.startsWith("aws:s3/") && resource.name.startsWith(`tickstream-${stack}-lake`),
      );
      expect(lakeResources.map((resource) => resource.type)).to.include.members([
        T.bucket,
        T.publicAccessBlock,
        T.encryption,
        T.versioning,
        "aws:s3/bucketPolicy:BucketPolicy",
        "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration",
      ]);
      for (const resource of lakeResources) {
        expect(declaredOptions.get(resource.name)?.retainOnDelete ?? false, resource.name).to.equal(
          !config.forceDestroy,
        );
      }
    });

    // EC2 API Reference, DescribeAvailabilityZones: the result lists Availability Zones, Local Zones and
    // Wavelength Zones; the filter zone-type=availability-zone keeps only the first.
    it("must place subnets in Availability Zones only, never a Local or Wavelength Zone (DescribeAvailabilityZones filter zone-type)", function () {
      const zoneLookups = invokes.filter(
        (invoke) => invoke.token === "aws:index/getAvailabilityZones:getAvailabilityZones",
      );
      expect(zoneLookups).to.not.be.empty;
      for (const lookup of zoneLookups) {
        expect(lookup.inputs.state).to.equal("available");
        expect(lookup.inputs.filters).to.deep.equal([{ name: "zone-type", values: ["availability-zone"] }]);
      }
    });

    // EC2 API Reference, DescribeInstanceTypeOfferings: not every zone offers every type (RunInstances answers
    // Unsupported); the mocks leave us-east-1b out of the offerings, so no subnet may land there.
    it("must place subnets only in zones that offer the brokers' instance type (DescribeInstanceTypeOfferings)", function () {
      const lookups = invokes.filter(
        (invoke) => invoke.token === "aws:ec2/getInstanceTypeOfferings:getInstanceTypeOfferings",
      );
      expect(lookups.map((lookup) => lookup.inputs)).to.deep.include({
        locationType: "availability-zone",
        filters: [{ name: "instance-type", values: [config.instanceType] }],
      });
      const zones = ofType("aws:ec2/subnet:Subnet")
        .filter((subnet) => subnet.name.includes("-public-"))
        .map((subnet) => subnet.inputs.availabilityZone);
      expect(zones).to.not.include("us-east-1b");
      expect(zones).to.deep.equal(["us-east-1a", "us-east-1c", "us-east-1d"].slice(0, zones.length));
    });

    // Glue Developer Guide, "Scheduling incremental crawls": with CRAWL_NEW_FOLDERS_ONLY "you can't change the
    // Amazon S3 target data stores"; a target change (bars_1m/ added to an older stack) replaces the crawler.
    it("must replace the crawler, not update it, when its S3 targets change (an incremental crawler's targets are fixed)", function () {
      const [crawler] = ofType("aws:glue/crawler:Crawler");
      const options = declaredOptions.get(crawler!.name) as pulumi.CustomResourceOptions;
      expect(options.replaceOnChanges).to.include("s3Targets");
      expect(crawler!.inputs.name, "autonamed, so the replacement can be created first").to.equal(undefined);
    });

    // Amazon VPC quotas: 5 Elastic IPs per region by default, shared with every stack in it.
    it("must count the region's Elastic IPs held by others (DescribeAddresses) to warn of the quota at preview", function () {
      const lookups = invokes.filter((invoke) => invoke.token === "aws:ec2/getEips:getEips");
      expect(lookups.map((lookup) => lookup.inputs.tags)).to.deep.include({ project: "tickstream", stack });
      const mine = config.brokerCount;
      expect(elasticIpWarning(2, mine) !== undefined).to.equal(2 + mine > 5);
      expect(elasticIpWarning(1, 4)).to.equal(undefined);
      expect(elasticIpWarning(2, 4)).to.match(
        /^this stack needs 4 Elastic IPs and 2 are held by others in the region: 6, over the default quota of 5/,
      );
    });

    // Glue: each S3 target's folder becomes a table of the crawler's database. ticks/ and bars_1m/ are Iceberg
    // tables the stack creates: a crawl would write a Hive table over their Glue entries.
    it("must crawl quarantine/ only into the stack's Glue database, never the Iceberg tables' prefixes", function () {
      const lakeName = ofType(T.bucket).find((bucket) => bucket.name.endsWith("-lake"))!.state.bucket;
      const [crawler] = ofType("aws:glue/crawler:Crawler");
      expect(crawler!.inputs.s3Targets).to.deep.equal([{ path: `s3://${lakeName}/quarantine/` }]);
      expect(crawler!.inputs).to.not.have.property("icebergTargets");
      expect(crawler!.inputs.schedule).to.equal(config.crawlerSchedule);
      expect(ofType("aws:glue/catalogDatabase:CatalogDatabase")[0]!.inputs.name).to.equal(
        `tickstream_${stack}`,
      );
    });

    // Issue 21: the stack creates the Iceberg tables so that the optimizers can name them. Iceberg's GlueCatalog
    // makes a Glue Iceberg table an EXTERNAL_TABLE with parameters table_type=ICEBERG and metadata_location; the
    // first metadata file is the project's own newTableMetadata(): the contract's field ids, the hidden day()
    // partition spec and the name mapping (Iceberg spec, "Table Metadata", "Partition Transforms").
    it("must create the ticks and bars_1m Iceberg tables, each pointing at an initial metadata file the project's own code wrote", function () {
      expect([...ICEBERG_TABLE_NAMES]).to.deep.equal(Object.keys(ICEBERG_TABLES));
      const lakeName = ofType(T.bucket).find((bucket) => bucket.name.endsWith("-lake"))!.state.bucket;
      const tables = ofType(T.glueTable);
      expect(tables.map((table) => table.inputs.name).sort()).to.deep.equal(["bars_1m", "ticks"]);
      for (const table of tables) {
        const name = table.inputs.name as "ticks" | "bars_1m";
        const definition = ICEBERG_TABLES[name];
        const uuid = recorded.find(
          (resource) => resource.name === `tickstream-${stack}-iceberg-${name}-uuid`,
        )!.state.result as string;
        const object = ofType(T.bucketObject).find((resource) => resource.inputs.key.startsWith(`${name}/`))!;
        expect(object.inputs.bucket).to.equal(lakeName);
        expect(object.inputs.key).to.equal(`${name}/metadata/00000-${uuid}.metadata.json`);
        expect(table.inputs).to.deep.include({
          databaseName: `tickstream_${stack}`,
          tableType: "EXTERNAL_TABLE",
        });
        expect(table.inputs.parameters).to.deep.equal({
          table_type: "ICEBERG",
          metadata_location: `s3://${lakeName}/${object.inputs.key}`,
        });
        expect(table.inputs.storageDescriptor.location).to.equal(`s3://${lakeName}/${name}`);
        expect(
          table.inputs.storageDescriptor.columns.map((column: { name: string }) => column.name),
        ).to.deep.equal(definition.schema.fields.map((field) => field.name));
        expect(table.inputs).to.not.have.property("openTableFormatInput");
        const metadata = JSON.parse(object.inputs.content);
        const expected = newTableMetadata(
          definition,
          `s3://${lakeName}/${name}`,
          metadata["last-updated-ms"],
        );
        expect(metadata).to.deep.equal({ ...expected, "table-uuid": uuid });
        expect(metadata["partition-specs"][0].fields).to.deep.equal([
          {
            name: `${definition.eventTimeColumn}_day`,
            transform: "day",
            "source-id": definition.schema.fields.find((field) => field.name === definition.eventTimeColumn)!
              .id,
            "field-id": 1000,
          },
        ]);
        expect(metadata["current-snapshot-id"]).to.equal(-1);
      }
    });

    // The second pulumi up: every commit swaps metadata_location and rewrites the storage descriptor with
    // UpdateTable (apps/iceberg/glue-catalog.ts). Pulumi's ignoreChanges keeps the inputs of the last deployment
    // for those properties, so the engine plans no update; without it, UpdateTable would send the initial
    // metadata_location back and the table would lose every snapshot since. The metadata object carries the time
    // it was made, so its content differs on every run: ignored too, and it stays with the lake on destroy.
    it("must never move a table's pointer back on a later pulumi up (ignoreChanges on what commits write), and keep the initial metadata with the lake", function () {
      for (const table of ofType(T.glueTable)) {
        const options = declaredOptions.get(table.name) as pulumi.CustomResourceOptions;
        expect(options.ignoreChanges, table.name).to.include.members(["parameters", "storageDescriptor"]);
        expect(options.ignoreChanges).to.have.members([...COMMITTED_TABLE_PROPERTIES]);
        expect(options.replaceOnChanges ?? []).to.deep.equal([]);
      }
      const objects = ofType(T.bucketObject);
      expect(objects).to.have.length(2);
      for (const object of objects) {
        const options = declaredOptions.get(object.name) as pulumi.CustomResourceOptions;
        expect(options.ignoreChanges).to.deep.equal(["content"]);
        expect(options.retainOnDelete ?? false).to.equal(!config.forceDestroy);
      }
    });

    // Glue Developer Guide, "Optimizing Iceberg tables" and the Glue API's TableOptimizer: types compaction,
    // retention, orphan_file_deletion. Compaction is on (GLUE_COMPACTION_ENABLED: its snapshots do not carry the
    // sink's offsets in their summary, but the table's properties do). "Deleting orphan files": the optimizer may be pointed at a
    // sub-directory; here <table>/metadata/, never <table>/dt=…/ (Hive layout, pending appends).
    it("must declare compaction, snapshot retention and orphan-file deletion for each table, with the stack's retention settings", function () {
      const lakeName = ofType(T.bucket).find((bucket) => bucket.name.endsWith("-lake"))!.state.bucket;
      const optimizers = ofType(T.tableOptimizer);
      expect(optimizers).to.have.length(6);
      const role = (suffix: string) =>
        ofType(T.role).find((resource) => resource.name === `tickstream-${stack}-iceberg-${suffix}`)!.state
          .arn;
      for (const name of ICEBERG_TABLE_NAMES) {
        const of = (type: string) =>
          optimizers.find(
            (optimizer) => optimizer.inputs.tableName === name && optimizer.inputs.type === type,
          )!;
        for (const type of ["compaction", "retention", "orphan_file_deletion"])
          expect(of(type).inputs, `${name} ${type}`).to.deep.include({
            catalogId: "123456789012",
            databaseName: `tickstream_${stack}`,
          });
        expect(of("compaction").inputs.configuration).to.deep.include({
          enabled: GLUE_COMPACTION_ENABLED,
          roleArn: role("optimizer"),
        });
        expect(GLUE_COMPACTION_ENABLED).to.equal(true);
        expect(of("retention").inputs.configuration).to.deep.equal({
          enabled: true,
          roleArn: role("optimizer"),
          retentionConfiguration: {
            icebergConfiguration: {
              snapshotRetentionPeriodInDays: config.icebergRetention.snapshotRetentionDays,
              numberOfSnapshotsToRetain: config.icebergRetention.snapshotsToRetain,
              cleanExpiredFiles: true,
            },
          },
        });
        expect(of("orphan_file_deletion").inputs.configuration).to.deep.equal({
          enabled: true,
          roleArn: role("orphans"),
          orphanFileDeletionConfiguration: {
            icebergConfiguration: {
              orphanFileRetentionPeriodInDays: config.icebergRetention.orphanFileRetentionDays,
              location: `s3://${lakeName}/${name}/metadata/`,
            },
          },
        });
      }
      expect(config.icebergRetention).to.deep.equal({
        snapshotRetentionDays: 7,
        snapshotsToRetain: 1,
        orphanFileRetentionDays: 14,
      });
      expect(config.icebergRetention.orphanFileRetentionDays).to.be.greaterThan(STAGING_EXPIRATION_DAYS);
    });

    // Glue Developer Guide, "Table optimization prerequisites": a role trusted by glue.amazonaws.com with S3
    // read/write on the table's data, glue:UpdateTable and GetTable on the table, database and catalog, and the
    // optimizers' log groups; "The orphan file deletion optimizer doesn't require the glue:updateTable or
    // s3:putObject permissions". Lake Formation: not registered, so IAM alone decides (same page).
    it("must give the optimizers roles trusted by Glue alone that reach only the two tables (the orphan-file role only their metadata/)", function () {
      const lakeArn = ofType(T.bucket).find((bucket) => bucket.name.endsWith("-lake"))!.state.arn;
      const glue = "arn:aws:glue:us-east-1:123456789012";
      const database = `tickstream_${stack}`;
      const grants = (suffix: string) => {
        const policy = ofType(T.rolePolicy).find(
          (resource) => resource.name === `tickstream-${stack}-iceberg-${suffix}`,
        )!;
        return (
          JSON.parse(policy.inputs.policy).Statement as {
            Action: string | string[];
            Resource: string | string[];
          }[]
        )
          .flatMap((statement) =>
            [statement.Action]
              .flat()
              .flatMap((action) => [statement.Resource].flat().map((resource) => `${action} ${resource}`)),
          )
          .sort();
      };
      for (const suffix of ["optimizer", "orphans"]) {
        const trust = JSON.parse(
          ofType(T.role).find((resource) => resource.name === `tickstream-${stack}-iceberg-${suffix}`)!.inputs
            .assumeRolePolicy,
        );
        expect(trust.Statement).to.deep.equal([
          { Effect: "Allow", Principal: { Service: "glue.amazonaws.com" }, Action: "sts:AssumeRole" },
        ]);
      }
      const tables = [
        `${glue}:catalog`,
        `${glue}:database/${database}`,
        `${glue}:table/${database}/ticks`,
        `${glue}:table/${database}/bars_1m`,
      ];
      const logs = (group: string) =>
        `arn:aws:logs:us-east-1:123456789012:log-group:/aws-glue/${group}/logs:*`;
      expect(grants("optimizer")).to.deep.equal(
        [
          ...["s3:PutObject", "s3:GetObject", "s3:DeleteObject"].flatMap((action) => [
            `${action} ${lakeArn}/ticks/*`,
            `${action} ${lakeArn}/bars_1m/*`,
          ]),
          `s3:ListBucket ${lakeArn}`,
          ...["glue:UpdateTable", "glue:GetTable"].flatMap((action) =>
            tables.map((arn) => `${action} ${arn}`),
          ),
          ...["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"].flatMap((action) => [
            `${action} ${logs("iceberg-compaction")}`,
            `${action} ${logs("iceberg-retention")}`,
          ]),
        ].sort(),
      );
      expect(grants("orphans")).to.deep.equal(
        [
          ...["s3:GetObject", "s3:DeleteObject"].flatMap((action) => [
            `${action} ${lakeArn}/ticks/metadata/*`,
            `${action} ${lakeArn}/bars_1m/metadata/*`,
          ]),
          `s3:ListBucket ${lakeArn}`,
          ...tables.map((arn) => `glue:GetTable ${arn}`),
          ...["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"].map(
            (action) => `${action} ${logs("iceberg-orphan-file-deletion")}`,
          ),
        ].sort(),
      );
    });

    // The lake sink commits on the broker hosts (apps/iceberg/glue-catalog.ts): GetTable (pointer and VersionId),
    // UpdateTable (the swap), GetDatabase (a missing database told from a missing table), against the catalog,
    // database and table ARNs (Glue Developer Guide, "Specifying AWS Glue resource ARNs"); no CreateTable.
    it("must let the broker role commit the two Iceberg tables and nothing else of the catalog", function () {
      const glue = "arn:aws:glue:us-east-1:123456789012";
      const database = `tickstream_${stack}`;
      const policy = ofType(T.rolePolicy).find((resource) => resource.name.endsWith("-broker-catalog"))!;
      expect(policy.inputs.role).to.equal(
        ofType(T.role).find((role) => role.name === `tickstream-${stack}-broker`)!.id,
      );
      const grants = (
        JSON.parse(policy.inputs.policy).Statement as {
          Action: string | string[];
          Resource: string | string[];
        }[]
      )
        .flatMap((statement) =>
          [statement.Action]
            .flat()
            .flatMap((action) => [statement.Resource].flat().map((resource) => `${action} ${resource}`)),
        )
        .sort();
      const scope = [
        `${glue}:catalog`,
        `${glue}:database/${database}`,
        `${glue}:table/${database}/ticks`,
        `${glue}:table/${database}/bars_1m`,
      ];
      expect(grants).to.deep.equal(
        [
          ...scope.map((arn) => `glue:GetTable ${arn}`),
          ...scope.map((arn) => `glue:UpdateTable ${arn}`),
          `glue:GetDatabase ${glue}:catalog`,
          `glue:GetDatabase ${glue}:database/${database}`,
        ].sort(),
      );
    });

    it("must make the Athena workgroup enforce encrypted results and a scan cutoff", function () {
      const [workgroup] = ofType(T.workgroup);
      const configuration = workgroup!.inputs.configuration;
      expect(configuration).to.include({
        enforceWorkgroupConfiguration: true,
        bytesScannedCutoffPerQuery: 10 * 1024 ** 3,
      });
      expect(configuration.resultConfiguration.encryptionConfiguration).to.deep.equal({
        encryptionOption: "SSE_S3",
      });
      expect(configuration.resultConfiguration.outputLocation).to.match(
        /^s3:\/\/tickstream-.*-athena-results-4f2a\/results\/$/,
      );
    });

    // The pack as the Pulumi CLI runs it: its own process, Analyze per resource and AnalyzeStack over gRPC,
    // every resource with its declared options (deleteBeforeReplace, ignoreChanges) and property dependencies.
    it("passes every mandatory rule of the policy pack, served as Pulumi serves it", async function () {
      this.timeout(120_000);
      const pack = await startPolicyPack();
      try {
        const resources = asPolicyResources();
        expect(resources.length).to.be.greaterThan(30);
        const diagnostics = [...(await pack.analyze(resources)), ...(await pack.analyzeStack(resources))];
        const refused = diagnostics.filter((diagnostic) => diagnostic.enforcement === "mandatory");
        expect(refused.map((diagnostic) => `${diagnostic.policy}: ${diagnostic.message}`)).to.deep.equal([]);
      } finally {
        await pack.close();
      }
    });
  });
}
