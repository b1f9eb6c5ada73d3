/** The local lake's Iceberg catalog: pointer files under `<home>/catalog/iceberg` (apps/iceberg/catalog.ts). */
import path from "node:path";
import { FileCatalog } from "../../apps/iceberg/catalog.ts";
import type { LocalEnvironment } from "./environment.ts";

export function localIcebergCatalog(environment: LocalEnvironment): FileCatalog {
  return new FileCatalog(path.join(environment.paths.catalogDir, "iceberg"));
}
