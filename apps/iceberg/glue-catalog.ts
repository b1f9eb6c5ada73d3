/**
 * The lake's Iceberg catalog in the cloud: the tables of one Glue database, committed the way Apache Iceberg's own
 * GlueCatalog commits (aws/src/main/java/org/apache/iceberg/aws/glue/GlueTableOperations.java, read at
 * apache/iceberg 7f879b1):
 *
 * - An Iceberg table in Glue is `TableType: EXTERNAL_TABLE` (GLUE_EXTERNAL_TABLE_TYPE) whose `Parameters` hold
 *   `table_type = "ICEBERG"` (prepareProperties upper-cases BaseMetastoreTableOperations.ICEBERG_TABLE_TYPE_VALUE),
 *   `metadata_location` (the current metadata file, the pointer) and `previous_metadata_location` (the one it
 *   replaced). The table's other parameters are carried over from the table as read (prepareProperties).
 * - Its StorageDescriptor has the table's location and the current schema's columns in Hive type names, each
 *   column with `iceberg.field.id`, `iceberg.field.optional`, `iceberg.field.current` and any comment the Glue
 *   table already had (IcebergToGlueConverter.setTableInputInformation / toColumns / toTypeString). Iceberg calls
 *   these informational: Athena and the other engines read the schema from the metadata file; the console and
 *   `SHOW COLUMNS` show the Glue columns, and the Location is the table's LOCATION.
 * - A commit re-reads the Glue table and refuses when its `metadata_location` is no longer the one the commit was
 *   planned on (checkMetadataLocation), then calls UpdateTable with `VersionId` (persistGlueTable: "Use Optimistic
 *   locking with table version id"), `SkipArchive: true` (AwsProperties.GLUE_CATALOG_SKIP_ARCHIVE_DEFAULT: Glue
 *   caps the archived versions of a table, and a streaming table commits all day). Glue answers a stale VersionId
 *   with ConcurrentModificationException ("Update table failed due to concurrent modifications.", as reported in
 *   apache/iceberg#8636), which Iceberg turns into CommitFailedException (handleAWSExceptions) and this catalog
 *   into `false`: the committer re-reads and retries on the winner's table (IcebergTable.commitWithRetries).
 *   A table that does not exist yet is created with CreateTable; AlreadyExistsException means another creator won.
 *
 * Why VersionId is the real guard, and the pointer check is not: the check reads the table at one moment and
 * UpdateTable writes it at a later one. Between the two, another committer can read the same pointer, pass the
 * same check and swap first; a second UpdateTable without a version would then overwrite the winner's pointer and
 * drop its snapshot (an append lost without a trace: its metadata file still exists, nothing points at it). Glue
 * compares VersionId with the table's version in the same step as the write, so of two updates from one version
 * exactly one goes through. The version named is the one `load` returned with the pointer (`expected.version`),
 * so the write is refused if anything changed the table since the committer read its base. For such a swap the
 * pointer check only spares a write that is bound to fail (tested: with the check removed every race still keeps
 * each append once; with VersionId removed the race loses appends). It carries weight in one case only: claiming
 * a Glue table that exists without a pointer (`expected` undefined), where the version is the one just read and
 * the check is what says the table had no pointer at that version, as in Iceberg's doCommit.
 * (moto, the local AWS emulator, ignores VersionId; the tests run it with test/helpers/moto-glue-versions.py.)
 */
import {
  CreateTableCommand,
  GetDatabaseCommand,
  GetTableCommand,
  GlueClient,
  UpdateTableCommand,
  type Column,
  type Table,
  type TableInput,
} from "@aws-sdk/client-glue";
import { TickstreamError } from "../shared/errors.ts";
import type { CatalogPointer, IcebergCatalog } from "./catalog.ts";
import { GLUE_TYPES, ICEBERG_TABLES, type IcebergTableDefinition } from "./table-schema.ts";

/** The parameter names Iceberg's metastore catalogs use (BaseMetastoreTableOperations). */
export const TABLE_TYPE_PROP = "table_type";
export const ICEBERG_TABLE_TYPE = "ICEBERG";
export const METADATA_LOCATION_PROP = "metadata_location";
export const PREVIOUS_METADATA_LOCATION_PROP = "previous_metadata_location";
/** Hive's EXTERNAL_TABLE: dropping the Glue table leaves the data (GlueTableOperations.GLUE_EXTERNAL_TABLE_TYPE). */
export const GLUE_EXTERNAL_TABLE_TYPE = "EXTERNAL_TABLE";

/** A Glue call that failed for a reason a swap cannot answer with true or false. */
export class GlueCatalogError extends TickstreamError {
  constructor(message: string, options: { retriable?: boolean; cause?: unknown } = {}) {
    super("GLUE_CATALOG", message, options);
  }
}

export interface GlueCatalogOptions {
  readonly database: string;
  /** A client of the caller's; else one is made from region, endpoint and credentials. */
  readonly glue?: GlueClient;
  readonly region?: string;
  /** A Glue-compatible endpoint (moto in the tests); absent for AWS. */
  readonly endpoint?: string;
  readonly credentials?: { readonly accessKeyId: string; readonly secretAccessKey: string };
  /** Table name → definition, for the Glue columns; the lake's tables by default. */
  readonly tables?: Readonly<Record<string, IcebergTableDefinition>>;
}

export class GlueCatalog implements IcebergCatalog {
  readonly database: string;
  /** The Glue client (exposed so tests can watch or hold its calls with middleware). */
  readonly client: GlueClient;
  private readonly tables: Readonly<Record<string, IcebergTableDefinition>>;

  constructor(options: GlueCatalogOptions) {
    this.database = options.database;
    this.tables = options.tables ?? ICEBERG_TABLES;
    this.client =
      options.glue ??
      new GlueClient({
        region: options.region,
        endpoint: options.endpoint,
        // A copy: the SDK annotates the credentials object it is given.
        credentials: options.credentials && { ...options.credentials },
        maxAttempts: 3,
      });
  }

  describe(): string {
    return `glue:${this.database}`;
  }

  async load(table: string): Promise<CatalogPointer | undefined> {
    const glueTable = await this.getTable(table);
    if (!glueTable) return undefined;
    const metadataLocation = glueTable.Parameters?.[METADATA_LOCATION_PROP];
    // A Glue table without a pointer yet (made by hand or by a stack before any commit): the first commit sets it.
    if (!metadataLocation) return undefined;
    return { metadataLocation, version: this.versionOf(glueTable, table) };
  }

  async swap(
    table: string,
    expected: CatalogPointer | undefined,
    metadataLocation: string,
  ): Promise<boolean> {
    const current = await this.getTable(table);
    const currentLocation = current?.Parameters?.[METADATA_LOCATION_PROP] || undefined;
    // Iceberg's checkMetadataLocation: the table must still point where the commit's base was read.
    if (currentLocation !== expected?.metadataLocation) return false;
    const input = this.tableInput(table, current, metadataLocation, expected?.metadataLocation);
    try {
      if (current === undefined) {
        await this.client.send(new CreateTableCommand({ DatabaseName: this.database, TableInput: input }));
      } else {
        // A Glue table without a pointer (expected undefined) is claimed at the version just read, as Iceberg's
        // persistGlueTable updates an existing Glue table that has no metadata_location yet.
        const version = expected?.version ?? this.versionOf(current, table);
        await this.client.send(
          new UpdateTableCommand({
            DatabaseName: this.database,
            TableInput: input,
            VersionId: version,
            SkipArchive: true,
          }),
        );
      }
      return true;
    } catch (error) {
      if (isLostRace(error)) {
        // Our own earlier attempt may have gone through before a retry of the same call was refused (Iceberg's
        // checkCommitStatus): metadata locations are unique, so a pointer at ours means this swap won.
        const now = await this.getTable(table).catch(() => undefined);
        return now?.Parameters?.[METADATA_LOCATION_PROP] === metadataLocation;
      }
      throw this.failure(error, current === undefined ? "CreateTable" : "UpdateTable", table);
    }
  }

  private async getTable(table: string): Promise<Table | undefined> {
    try {
      const { Table: glueTable } = await this.client.send(
        new GetTableCommand({ DatabaseName: this.database, Name: table }),
      );
      if (!glueTable) return undefined;
      // Iceberg's checkIfTableIsIceberg: a Glue table of another kind (the crawler's Hive table of the same name)
      // is not this table, and must not be taken over or read as one.
      const type = glueTable.Parameters?.[TABLE_TYPE_PROP];
      if (type?.toUpperCase() !== ICEBERG_TABLE_TYPE)
        throw new GlueCatalogError(
          `glue table ${this.database}.${table} is not an Iceberg table (table_type ${type === undefined ? "not set" : `"${type}"`}; a Hive table of the crawler?): drop or rename it, then commit again`,
        );
      return glueTable;
    } catch (error) {
      if (error instanceof GlueCatalogError) throw error;
      if ((error as Error).name === "EntityNotFoundException") {
        await this.requireDatabase(error);
        return undefined;
      }
      throw this.failure(error, "GetTable", table);
    }
  }

  /** GetTable answers EntityNotFoundException for a missing table and a missing database alike. */
  private async requireDatabase(cause: unknown): Promise<void> {
    try {
      await this.client.send(new GetDatabaseCommand({ Name: this.database }));
    } catch (error) {
      if ((error as Error).name === "EntityNotFoundException")
        throw new GlueCatalogError(
          `glue database ${this.database} does not exist (is the stack up, and TICKSTREAM_ICEBERG_CATALOG its glueDatabase output?)`,
          { cause },
        );
      throw this.failure(error, "GetDatabase");
    }
  }

  private versionOf(glueTable: Table, table: string): string {
    if (glueTable.VersionId === undefined)
      throw new GlueCatalogError(
        `glue table ${this.database}.${table} has no VersionId: a commit could not be guarded, so none is made`,
      );
    return glueTable.VersionId;
  }

  /** The Glue table for a commit (GlueTableOperations.persistGlueTable + IcebergToGlueConverter). */
  private tableInput(
    table: string,
    current: Table | undefined,
    metadataLocation: string,
    previousLocation: string | undefined,
  ): TableInput {
    const parameters: Record<string, string> = {
      ...current?.Parameters,
      [TABLE_TYPE_PROP]: ICEBERG_TABLE_TYPE,
      [METADATA_LOCATION_PROP]: metadataLocation,
    };
    if (previousLocation) parameters[PREVIOUS_METADATA_LOCATION_PROP] = previousLocation;
    else delete parameters[PREVIOUS_METADATA_LOCATION_PROP];
    const comments = new Map(
      (current?.StorageDescriptor?.Columns ?? [])
        .filter((column) => column.Comment !== undefined)
        .map((column) => [column.Name, column.Comment]),
    );
    const definition = this.tables[table];
    const columns: Column[] | undefined = definition?.schema.fields.map((field) => ({
      Name: field.name,
      Type: GLUE_TYPES[field.type],
      ...(comments.has(field.name) ? { Comment: comments.get(field.name) } : {}),
      Parameters: {
        "iceberg.field.id": String(field.id),
        "iceberg.field.optional": String(!field.required),
        "iceberg.field.current": "true",
      },
    }));
    return {
      Name: table,
      TableType: GLUE_EXTERNAL_TABLE_TYPE,
      ...(current?.Description !== undefined ? { Description: current.Description } : {}),
      Parameters: parameters,
      StorageDescriptor: {
        // Iceberg's layout: the metadata lives in <table location>/metadata/.
        Location: tableLocation(metadataLocation),
        ...(columns ? { Columns: columns } : {}),
      },
    };
  }

  private failure(error: unknown, action: string, table?: string): Error {
    const name = (error as Error).name ?? "Error";
    const message = ((error as Error).message ?? String(error)).split("\n")[0];
    const target = table ? `${this.database}.${table}` : this.database;
    if (name === "AccessDeniedException" || name === "AccessDenied")
      return new GlueCatalogError(
        `glue:${action} on ${target} was refused (${name}): the sink's role needs glue:GetDatabase, glue:GetTable, glue:CreateTable and glue:UpdateTable on this database and its tables`,
        { cause: error },
      );
    const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
    return new GlueCatalogError(`glue:${action} on ${target} failed (${name}: ${message})`, {
      cause: error,
      retriable: status === undefined || status >= 500 || name === "ThrottlingException",
    });
  }
}

/** Glue's answers to a swap that lost: a stale VersionId, or a table another creator made first. */
function isLostRace(error: unknown): boolean {
  const name = (error as Error).name;
  return (
    name === "ConcurrentModificationException" ||
    name === "AlreadyExistsException" ||
    /version.*mismatch|mismatch.*version/i.test((error as Error).message ?? "")
  );
}

/** `s3://b/ticks/metadata/00001-….metadata.json` → `s3://b/ticks` (Iceberg: metadata under <location>/metadata/). */
export function tableLocation(metadataLocation: string): string {
  const index = metadataLocation.lastIndexOf("/metadata/");
  return index > 0
    ? metadataLocation.slice(0, index)
    : metadataLocation.slice(0, metadataLocation.lastIndexOf("/"));
}
