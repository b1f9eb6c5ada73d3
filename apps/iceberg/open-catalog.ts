/** Opens the Iceberg catalog a location names (catalog-location.ts): the local pointer files, or Glue. */
import type { ServiceEnvironment } from "../shared/service-environment.ts";
import { FileCatalog, type IcebergCatalog } from "./catalog.ts";
import { parseCatalogLocation, type OpenCatalogOptions } from "./catalog-location.ts";
import { GlueCatalog } from "./glue-catalog.ts";

export function openCatalog(location: string, options: OpenCatalogOptions): IcebergCatalog {
  const parsed = parseCatalogLocation(location);
  if (parsed.kind === "file") return new FileCatalog(parsed.folder);
  return new GlueCatalog({
    database: parsed.database,
    region: options.region,
    endpoint: options.endpoint,
    credentials: options.credentials,
  });
}

/** The Iceberg catalog TICKSTREAM_ICEBERG_CATALOG names, or undefined when it is not set. */
export function icebergCatalogFromEnvironment(env: ServiceEnvironment): IcebergCatalog | undefined {
  if (!env.TICKSTREAM_ICEBERG_CATALOG) return undefined;
  const credentials =
    env.TICKSTREAM_GLUE_ENDPOINT && env.AWS_ACCESS_KEY_ID && env.AWS_SECRET_ACCESS_KEY
      ? { accessKeyId: env.AWS_ACCESS_KEY_ID, secretAccessKey: env.AWS_SECRET_ACCESS_KEY }
      : undefined;
  return openCatalog(env.TICKSTREAM_ICEBERG_CATALOG, {
    region: env.AWS_REGION,
    endpoint: env.TICKSTREAM_GLUE_ENDPOINT,
    credentials,
  });
}
