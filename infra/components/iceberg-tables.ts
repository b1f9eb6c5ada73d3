/**
 * The lake's Apache Iceberg tables in the Glue Data Catalog (issue 21), and the Glue table optimizers that keep
 * them: snapshot retention, orphan-file deletion, and compaction (declared, not enabled; see below).
 *
 * The stack creates each table, so that the optimizers can name it: an initial metadata file written by the
 * project's own `newTableMetadata()` (the contract's field ids, the hidden `day(ts)` / `day(minute)` partition
 * spec, the name mapping for files without field ids: exactly what a sink would write for a new table), and a
 * Glue table `EXTERNAL_TABLE` whose parameters `table_type = ICEBERG` and `metadata_location` point at it, as
 * Iceberg's GlueCatalog makes one. Glue's CreateTable could make the table itself (OpenTableFormatInput, whose
 * IcebergPartitionField takes a `day` transform), but then Glue writes the first metadata file, with its own
 * table properties and not the name mapping the migrated Hive-layout files need; one writer of metadata is
 * simpler to argue about.
 *
 * After that the table belongs to its commits: every commit of the lake sink (and of Glue's optimizers) swaps
 * `metadata_location` and rewrites the storage descriptor's columns with UpdateTable. So the Glue table ignores
 * changes to everything a commit writes: a second `pulumi up` must not move the pointer back to the initial
 * metadata, which would drop every snapshot since from the table. The initial metadata object ignores its
 * content (it carries the time it was made): rewriting it would change nothing that reads it, but nothing needs
 * it rewritten either. Its key and the table's uuid come from a RandomUuid, fixed in the stack's state.
 *
 * `pulumi destroy` deletes the optimizers, the Glue tables (EXTERNAL_TABLE: Glue's DeleteTable leaves the data)
 * and the database; the lake bucket, and with it every data and metadata file, stays unless forceDestroy. The
 * newest `<table>/metadata/*.metadata.json` is the table, and can be registered again.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { newTableMetadata } from "../../apps/iceberg/table-metadata.ts";
import { GLUE_TYPES, ICEBERG_TABLES } from "../../apps/iceberg/table-schema.ts";
import type { IcebergRetention } from "../config.ts";
import {
  assumeRolePolicy,
  ICEBERG_TABLE_NAMES,
  orphanFileDeletionPolicy,
  tableOptimizerPolicy,
} from "./iam-policies.ts";

export interface IcebergTablesArgs {
  readonly database: aws.glue.CatalogDatabase;
  readonly lakeBucketName: pulumi.Input<string>;
  readonly lakeBucketArn: pulumi.Input<string>;
  readonly retention: IcebergRetention;
  /** The lake's forceDestroy: the initial metadata objects are the lake's, kept with it. */
  readonly forceDestroy: boolean;
  readonly tags: Record<string, string>;
}

/**
 * Glue compaction is on. It commits a `replace` snapshot through Iceberg's own code, whose summary carries forward
 * only the totals (SnapshotProducer.summary: `total-*` from the previous summary, nothing else), so the
 * `tickstream.offset.*` record is not in that snapshot's summary; it is in the table's properties too, which
 * every Iceberg commit carries into the next metadata file, and publishedOffsets (apps/iceberg/table-metadata.ts)
 * reads both, so a republished flush is still known to be in the table (test/apps/iceberg/iceberg-table.test.ts,
 * "another engine"). A compaction racing a sink's append loses or wins by the catalog's VersionId like any
 * commit; Glue retries on the new base.
 */
export const GLUE_COMPACTION_ENABLED = true;

/** Glue table optimizer types (Glue API, TableOptimizer.Type: compaction | retention | orphan_file_deletion). */
export type OptimizerType = "compaction" | "retention" | "orphan_file_deletion";

/** What every commit's UpdateTable rewrites (apps/iceberg/glue-catalog.ts tableInput; Iceberg's GlueCatalog). */
export const COMMITTED_TABLE_PROPERTIES = [
  "parameters",
  "storageDescriptor",
  "description",
  "owner",
  "tableType",
] as const;

/** The table's location, as the writer names it (apps/iceberg/iceberg-table.ts: `s3://<bucket>/<table>`). */
export const tableLocation = (bucket: string, table: string) => `s3://${bucket}/${table}`;

export class IcebergTables extends pulumi.ComponentResource {
  readonly tables: Record<string, aws.glue.CatalogTable> = {};
  readonly optimizers: aws.glue.CatalogTableOptimizer[] = [];
  readonly optimizerRole: aws.iam.Role;
  readonly orphanFileRole: aws.iam.Role;

  constructor(name: string, args: IcebergTablesArgs, opts?: pulumi.ComponentResourceOptions) {
    super("tickstream:iceberg:IcebergTables", name, {}, opts);
    const parent = { parent: this };
    const caller = aws.getCallerIdentityOutput({}, parent);
    const region = aws.getRegionOutput({}, parent);
    const databaseName = args.database.name;

    // Two roles, each only what its optimizers do (Glue Developer Guide, "Table optimization prerequisites"):
    // trusted by glue.amazonaws.com alone, as AWS documents (no condition keys are documented for this role).
    const optimizerRole = (this.optimizerRole = new aws.iam.Role(
      `${name}-optimizer`,
      { assumeRolePolicy: assumeRolePolicy("glue.amazonaws.com"), tags: args.tags },
      parent,
    ));
    const optimizerPolicy = new aws.iam.RolePolicy(
      `${name}-optimizer`,
      {
        role: optimizerRole.id,
        policy: pulumi
          .all([args.lakeBucketArn, region.name, caller.accountId, databaseName])
          .apply(([lakeArn, regionName, accountId, database]) =>
            JSON.stringify(tableOptimizerPolicy(lakeArn, regionName, accountId, database)),
          ),
      },
      parent,
    );
    const orphanFileRole = (this.orphanFileRole = new aws.iam.Role(
      `${name}-orphans`,
      { assumeRolePolicy: assumeRolePolicy("glue.amazonaws.com"), tags: args.tags },
      parent,
    ));
    const orphanFilePolicy = new aws.iam.RolePolicy(
      `${name}-orphans`,
      {
        role: orphanFileRole.id,
        policy: pulumi
          .all([args.lakeBucketArn, region.name, caller.accountId, databaseName])
          .apply(([lakeArn, regionName, accountId, database]) =>
            JSON.stringify(orphanFileDeletionPolicy(lakeArn, regionName, accountId, database)),
          ),
      },
      parent,
    );

    for (const table of ICEBERG_TABLE_NAMES) {
      const definition = ICEBERG_TABLES[table];
      const location = pulumi.output(args.lakeBucketName).apply((bucket) => tableLocation(bucket, table));
      const uuid = new random.RandomUuid(`${name}-${table}-uuid`, {}, parent);
      const initialMetadata = new aws.s3.BucketObject(
        `${name}-lake-${table}-metadata`,
        {
          bucket: args.lakeBucketName,
          // As the writer names a new table's first metadata file: <table>/metadata/00000-<uuid>.metadata.json.
          key: pulumi.interpolate`${table}/metadata/00000-${uuid.result}.metadata.json`,
          content: pulumi.all([args.lakeBucketName, uuid.result]).apply(([bucket, tableUuid]) =>
            JSON.stringify({
              ...newTableMetadata(definition, tableLocation(bucket, table), Date.now()),
              "table-uuid": tableUuid,
            }),
          ),
          contentType: "application/json",
          tags: args.tags,
        },
        { ...parent, retainOnDelete: !args.forceDestroy, ignoreChanges: ["content"] },
      );
      const glueTable = (this.tables[table] = new aws.glue.CatalogTable(
        `${name}-${table}`,
        {
          name: table,
          databaseName,
          tableType: "EXTERNAL_TABLE",
          parameters: {
            table_type: "ICEBERG",
            metadata_location: pulumi.interpolate`s3://${args.lakeBucketName}/${initialMetadata.key}`,
          },
          storageDescriptor: {
            location: location,
            columns: definition.schema.fields.map((field) => ({
              name: field.name,
              type: GLUE_TYPES[field.type],
              parameters: {
                "iceberg.field.id": String(field.id),
                "iceberg.field.optional": String(!field.required),
                "iceberg.field.current": "true",
              },
            })),
          },
        },
        { ...parent, ignoreChanges: [...COMMITTED_TABLE_PROPERTIES] },
      ));

      const optimizer = (
        type: OptimizerType,
        configuration: object,
        role: aws.iam.Role,
        after: pulumi.Resource,
      ) =>
        this.optimizers.push(
          new aws.glue.CatalogTableOptimizer(
            `${name}-${table}-${type.replaceAll("_", "-")}`,
            {
              catalogId: caller.accountId,
              databaseName,
              tableName: glueTable.name,
              type,
              configuration: {
                enabled: type === "compaction" ? GLUE_COMPACTION_ENABLED : true,
                roleArn: role.arn,
                ...configuration,
              },
            },
            // Glue assumes the role when the optimizer is made: its policy first.
            { ...parent, dependsOn: [after] },
          ),
        );
      optimizer(
        "compaction",
        { compactionConfiguration: { icebergConfiguration: { strategy: "binpack" } } },
        optimizerRole,
        optimizerPolicy,
      );
      optimizer(
        "retention",
        {
          retentionConfiguration: {
            icebergConfiguration: {
              snapshotRetentionPeriodInDays: args.retention.snapshotRetentionDays,
              numberOfSnapshotsToRetain: args.retention.snapshotsToRetain,
              // Reachability, never listing: only files that expired snapshots alone referenced (a small file a
              // compaction replaced). A file no snapshot ever referenced is never a candidate.
              cleanExpiredFiles: true,
            },
          },
        },
        optimizerRole,
        optimizerPolicy,
      );
      optimizer(
        "orphan_file_deletion",
        {
          orphanFileDeletionConfiguration: {
            icebergConfiguration: {
              orphanFileRetentionPeriodInDays: args.retention.orphanFileRetentionDays,
              // Only the table's own metadata: never `<table>/dt=…/`, where the Hive-layout objects and the
              // sink's published flushes (copied to their final names before their append) live.
              location: pulumi.interpolate`${location}/metadata/`,
            },
          },
        },
        orphanFileRole,
        orphanFilePolicy,
      );
    }
    this.registerOutputs({
      tables: Object.fromEntries(Object.entries(this.tables).map(([k, t]) => [k, t.name])),
    });
  }
}
