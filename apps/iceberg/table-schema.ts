/**
 * A lake table as an Iceberg table (format version 2): its schema with field ids, derived from the Parquet
 * columns the encoder writes (apps/lake/lake-tables.ts), and its partition spec, `day(<event time>)` (hidden
 * partitioning: readers filter on the timestamp, never on a `dt` column).
 */
import type { LakeTableName } from "../lake/lake-tables.ts";
import { LAKE_COLUMNS } from "../lake/lake-row.ts";
import { BAR_COLUMNS } from "../lake/lake-tables.ts";

export type IcebergPrimitive = "string" | "timestamptz" | "double" | "long" | "int" | "boolean";

/**
 * Iceberg primitive types as Glue (Hive) column types, as Iceberg's IcebergToGlueConverter.toTypeString writes
 * them: what a commit through Glue (glue-catalog.ts) and the stack's tables (infra) show as columns.
 */
export const GLUE_TYPES: Record<IcebergPrimitive, string> = {
  string: "string",
  timestamptz: "timestamp",
  double: "double",
  long: "bigint",
  int: "int",
  boolean: "boolean",
};

export interface IcebergField {
  readonly id: number;
  readonly name: string;
  readonly required: boolean;
  readonly type: IcebergPrimitive;
}

export interface IcebergSchema {
  readonly type: "struct";
  readonly "schema-id": number;
  readonly fields: readonly IcebergField[];
}

export interface PartitionField {
  readonly name: string;
  readonly transform: "day";
  readonly "source-id": number;
  readonly "field-id": number;
}

export interface PartitionSpec {
  readonly "spec-id": number;
  readonly fields: readonly PartitionField[];
}

/** Partition field ids start at 1000 (Iceberg spec, "Partition Specs"). */
export const FIRST_PARTITION_FIELD_ID = 1000;

/** DuckDB column types the encoder writes, as Iceberg primitive types. */
const ICEBERG_TYPES: Record<string, IcebergPrimitive> = {
  VARCHAR: "string",
  TIMESTAMPTZ: "timestamptz",
  DOUBLE: "double",
  BIGINT: "long",
  INTEGER: "int",
  BOOLEAN: "boolean",
};

export function icebergSchema(columns: readonly (readonly [string, string])[]): IcebergSchema {
  return {
    type: "struct",
    "schema-id": 0,
    fields: columns.map(([name, duckdbType], index) => {
      const base = duckdbType.replace(/ NOT NULL$/, "");
      const type = ICEBERG_TYPES[base];
      if (!type) throw new Error(`column ${name}: no Iceberg type for ${duckdbType}`);
      return { id: index + 1, name, required: duckdbType.endsWith(" NOT NULL"), type };
    }),
  };
}

export interface IcebergTableDefinition {
  readonly name: LakeTableName;
  readonly schema: IcebergSchema;
  readonly spec: PartitionSpec;
  /** The column whose day partitions the table. */
  readonly eventTimeColumn: string;
}

function definition(
  name: LakeTableName,
  columns: readonly (readonly [string, string])[],
  eventTimeColumn: string,
): IcebergTableDefinition {
  const schema = icebergSchema(columns);
  const source = schema.fields.find((field) => field.name === eventTimeColumn)!;
  return {
    name,
    schema,
    eventTimeColumn,
    spec: {
      "spec-id": 0,
      fields: [
        {
          name: `${eventTimeColumn}_day`,
          transform: "day",
          "source-id": source.id,
          "field-id": FIRST_PARTITION_FIELD_ID,
        },
      ],
    },
  };
}

export const ICEBERG_TABLES: Record<LakeTableName, IcebergTableDefinition> = {
  ticks: definition("ticks", LAKE_COLUMNS, "ts"),
  bars_1m: definition("bars_1m", BAR_COLUMNS, "minute"),
};

/** The FIELD_IDS option of DuckDB's Parquet COPY, so that each column carries its Iceberg field id. */
export function parquetFieldIds(schema: IcebergSchema): string {
  return `{${schema.fields.map((field) => `"${field.name}": ${field.id}`).join(", ")}}`;
}

/** The day transform: days from 1970-01-01 (UTC) of a timestamp in microseconds. */
export function dayOf(micros: bigint): number {
  return Number(micros / 86_400_000_000n) - (micros < 0n && micros % 86_400_000_000n !== 0n ? 1 : 0);
}
