/**
 * Keeps a local copy of lake objects, synced by ETag through the S3 API. DuckDB here has no httpfs,
 * so local SQL reads these copies; an unchanged object is not downloaded again.
 */
import { GetObjectCommand, paginateListObjectsV2, type S3Client } from "@aws-sdk/client-s3";
import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import path from "node:path";

export interface MirroredObject {
  readonly key: string;
  readonly file: string;
  readonly etag: string;
  readonly size: number;
}

export interface MirrorResult {
  readonly objects: readonly MirroredObject[];
  readonly downloaded: number;
  readonly removed: number;
}

export async function listObjects(s3: S3Client, bucket: string, prefix: string) {
  const objects: { key: string; etag: string; size: number }[] = [];
  for await (const page of paginateListObjectsV2({ client: s3 }, { Bucket: bucket, Prefix: prefix })) {
    for (const item of page.Contents ?? []) {
      objects.push({ key: item.Key!, etag: item.ETag ?? "", size: item.Size ?? 0 });
    }
  }
  return objects;
}

export async function mirrorPrefix(
  s3: S3Client,
  bucket: string,
  prefix: string,
  cacheDir: string,
): Promise<MirrorResult> {
  const indexFile = path.join(cacheDir, ".etags.json");
  const index: Record<string, string> = JSON.parse(await readFile(indexFile, "utf8").catch(() => "{}"));
  const listed = await listObjects(s3, bucket, prefix);
  let downloaded = 0;
  const objects: MirroredObject[] = [];
  for (const object of listed) {
    const file = path.join(cacheDir, object.key);
    if (index[object.key] !== object.etag) {
      const response = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: object.key }));
      const body = await response.Body!.transformToByteArray();
      await mkdir(path.dirname(file), { recursive: true });
      await writeFile(file, body);
      index[object.key] = object.etag;
      downloaded++;
    }
    objects.push({ ...object, file });
  }
  const listedKeys = new Set(listed.map((object) => object.key));
  let removed = 0;
  for (const key of Object.keys(index)) {
    if (key.startsWith(prefix) && !listedKeys.has(key)) {
      await rm(path.join(cacheDir, key), { force: true });
      delete index[key];
      removed++;
    }
  }
  await mkdir(cacheDir, { recursive: true });
  await writeFile(indexFile, JSON.stringify(index));
  return { objects, downloaded, removed };
}
