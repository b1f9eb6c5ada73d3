/**
 * The Glue database, the crawler over quarantine/, and an Athena workgroup that enforces its own settings. The
 * database also holds the Iceberg tables `ticks` and `bars_1m` (infra/components/iceberg-tables.ts), which no
 * crawler touches.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { CRAWLED_PREFIXES } from "./iam-policies.ts";
import { SecureBucket } from "./secure-bucket.ts";

export interface CatalogArgs {
  readonly databaseName: string;
  readonly lakeBucketName: pulumi.Input<string>;
  readonly crawlerRoleArn: pulumi.Input<string>;
  readonly crawlerSchedule?: string;
  readonly forceDestroy: boolean;
  /** Athena cancels a query that would scan more than this. */
  readonly bytesScannedCutoffPerQuery: number;
  readonly tags: Record<string, string>;
}

export class Catalog extends pulumi.ComponentResource {
  readonly database: aws.glue.CatalogDatabase;
  readonly crawler: aws.glue.Crawler;
  readonly workgroup: aws.athena.Workgroup;
  readonly resultsBucket: SecureBucket;

  constructor(name: string, args: CatalogArgs, opts?: pulumi.ComponentResourceOptions) {
    super("tickstream:catalog:Catalog", name, {}, opts);
    const parent = { parent: this };
    this.database = new aws.glue.CatalogDatabase(`${name}-db`, { name: args.databaseName }, parent);
    this.crawler = new aws.glue.Crawler(
      `${name}-crawler`,
      {
        databaseName: this.database.name,
        role: args.crawlerRoleArn,
        schedule: args.crawlerSchedule,
        // quarantine/ only (JSON lines, Hive layout). ticks/ and bars_1m/ are Iceberg tables the stack creates and
        // the sink's commits move: a crawl of them would write a Hive table over the Iceberg table's Glue entry (or,
        // with Iceberg targets, register whichever metadata file it finds, a lost commit's among them), so they
        // are no crawler's target, and the crawler's role is denied every write to their Glue entries.
        s3Targets: CRAWLED_PREFIXES.map((prefix) => ({
          path: pulumi.interpolate`s3://${args.lakeBucketName}/${prefix}`,
        })),
        // Each run reads only the dt= folders added since the last, so a new day is queryable after one cheap
        // crawl; Glue accepts that only with both schema-change behaviours LOG (a changed schema is logged, not
        // applied: widen a table with a one-off CRAWL_EVERYTHING run). Chosen over partition projection, which
        // would need the table's columns declared here and kept in step with the sink by hand.
        schemaChangePolicy: { updateBehavior: "LOG", deleteBehavior: "LOG" },
        recrawlPolicy: { recrawlBehavior: "CRAWL_NEW_FOLDERS_ONLY" },
        configuration: JSON.stringify({
          Version: 1.0,
          CrawlerOutput: { Partitions: { AddOrUpdateBehavior: "InheritFromTable" } },
          Grouping: { TableGroupingPolicy: "CombineCompatibleSchemas" },
        }),
        tags: args.tags,
      },
      // Glue Developer Guide, "Scheduling incremental crawls": with CRAWL_NEW_FOLDERS_ONLY "you can't change the
      // Amazon S3 target data stores", so UpdateCrawler would refuse a target change (ticks/ and bars_1m/ left to
      // the Iceberg tables on a stack made before them): a new crawler replaces the old one instead; its tables
      // stay in the database (a crawled Hive `ticks` must be dropped before the Iceberg table can be created).
      { ...parent, replaceOnChanges: ["s3Targets"] },
    );
    this.resultsBucket = new SecureBucket(
      `${name}-athena-results`,
      {
        forceDestroy: true,
        versioning: false,
        lifecycleRules: [{ id: "expire-results", status: "Enabled", filter: {}, expiration: { days: 30 } }],
        tags: args.tags,
      },
      parent,
    );
    this.workgroup = new aws.athena.Workgroup(
      `${name}-workgroup`,
      {
        forceDestroy: args.forceDestroy,
        configuration: {
          enforceWorkgroupConfiguration: true,
          publishCloudwatchMetricsEnabled: true,
          bytesScannedCutoffPerQuery: args.bytesScannedCutoffPerQuery,
          engineVersion: { selectedEngineVersion: "Athena engine version 3" },
          resultConfiguration: {
            outputLocation: pulumi.interpolate`s3://${this.resultsBucket.name}/results/`,
            encryptionConfiguration: { encryptionOption: "SSE_S3" },
          },
        },
        tags: args.tags,
      },
      parent,
    );
    this.registerOutputs({
      database: this.database.name,
      crawler: this.crawler.name,
      workgroup: this.workgroup.name,
    });
  }
}
