/**
 * The lake bucket and its IAM: the broker role that writes it (and commits its Iceberg tables) and the crawler
 * role that reads quarantine/.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { STAGING_EXPIRATION_DAYS } from "../lake-retention.ts";
import {
  assumeRolePolicy,
  brokerCatalogPolicy,
  brokerLakePolicy,
  crawlerCatalogPolicy,
  crawlerLakePolicy,
} from "./iam-policies.ts";
import { SecureBucket } from "./secure-bucket.ts";

export interface LakeArgs {
  readonly forceDestroy: boolean;
  /** The Glue database the crawler may write (and no other). */
  readonly glueDatabaseName: string;
  readonly tags: Record<string, string>;
}

export class Lake extends pulumi.ComponentResource {
  readonly bucket: SecureBucket;
  readonly brokerInstanceProfile: aws.iam.InstanceProfile;
  readonly brokerRole: aws.iam.Role;
  readonly crawlerRole: aws.iam.Role;

  constructor(name: string, args: LakeArgs, opts?: pulumi.ComponentResourceOptions) {
    super("tickstream:lake:Lake", name, {}, opts);
    const parent = { parent: this };
    this.bucket = new SecureBucket(
      `${name}-lake`,
      {
        forceDestroy: args.forceDestroy,
        versioning: true,
        lifecycleRules: [
          // Objects are overwritten on purpose (exactly-once rewrites): keep old versions a week, not forever.
          {
            id: "expire-noncurrent",
            status: "Enabled",
            filter: {},
            noncurrentVersionExpiration: { noncurrentDays: 7 },
          },
          {
            // What crashed and fenced lake sink members staged and never committed. A committed flush is
            // published within seconds; the sink's own sweep keeps any flush a commit still names.
            id: "expire-staging",
            status: "Enabled",
            filter: { prefix: "_staging/" },
            expiration: { days: STAGING_EXPIRATION_DAYS },
          },
          {
            id: "abort-incomplete-uploads",
            status: "Enabled",
            filter: {},
            abortIncompleteMultipartUpload: { daysAfterInitiation: 2 },
          },
          {
            id: "tier-old-ticks",
            status: "Enabled",
            filter: { prefix: "ticks/" },
            transitions: [{ days: 90, storageClass: "STANDARD_IA" }],
          },
          {
            id: "expire-quarantine",
            status: "Enabled",
            filter: { prefix: "quarantine/" },
            expiration: { days: 90 },
          },
        ],
        tags: args.tags,
      },
      parent,
    );

    const brokerRole = (this.brokerRole = new aws.iam.Role(
      `${name}-broker`,
      { assumeRolePolicy: assumeRolePolicy("ec2.amazonaws.com"), tags: args.tags },
      parent,
    ));
    new aws.iam.RolePolicy(
      `${name}-broker-lake`,
      { role: brokerRole.id, policy: this.bucket.arn.apply((arn) => JSON.stringify(brokerLakePolicy(arn))) },
      parent,
    );
    const caller = aws.getCallerIdentityOutput({}, parent);
    const region = aws.getRegionOutput({}, parent);
    // The lake sink commits the Iceberg tables (apps/iceberg/glue-catalog.ts): their Glue entries, nothing else.
    new aws.iam.RolePolicy(
      `${name}-broker-catalog`,
      {
        role: brokerRole.id,
        policy: pulumi
          .all([region.name, caller.accountId])
          .apply(([regionName, accountId]) =>
            JSON.stringify(brokerCatalogPolicy(regionName, accountId, args.glueDatabaseName)),
          ),
      },
      parent,
    );
    this.brokerInstanceProfile = new aws.iam.InstanceProfile(
      `${name}-broker`,
      { role: brokerRole.name, tags: args.tags },
      parent,
    );

    this.crawlerRole = new aws.iam.Role(
      `${name}-crawler`,
      { assumeRolePolicy: assumeRolePolicy("glue.amazonaws.com"), tags: args.tags },
      parent,
    );
    new aws.iam.RolePolicy(
      `${name}-crawler-catalog`,
      {
        role: this.crawlerRole.id,
        policy: pulumi
          .all([region.name, caller.accountId])
          .apply(([regionName, accountId]) =>
            JSON.stringify(crawlerCatalogPolicy(regionName, accountId, args.glueDatabaseName)),
          ),
      },
      parent,
    );
    new aws.iam.RolePolicy(
      `${name}-crawler-lake`,
      {
        role: this.crawlerRole.id,
        policy: this.bucket.arn.apply((arn) => JSON.stringify(crawlerLakePolicy(arn))),
      },
      parent,
    );
    this.registerOutputs({ bucket: this.bucket.name });
  }
}
