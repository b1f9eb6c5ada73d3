/** The S3 client every lake reader and writer uses, against AWS or a local S3-compatible endpoint. */
import { S3Client } from "@aws-sdk/client-s3";

export interface LakeLocation {
  readonly bucket: string;
  readonly region: string;
  /** A local S3-compatible server (http://127.0.0.1:4568); absent for AWS. */
  readonly endpoint?: string;
  /** Absent for AWS, where the default credential chain applies (instance profile, env, profile). */
  readonly credentials?: { readonly accessKeyId: string; readonly secretAccessKey: string };
}

export function createS3Client(location: LakeLocation, options: { maxAttempts?: number } = {}): S3Client {
  return new S3Client({
    region: location.region,
    endpoint: location.endpoint,
    // Local servers are addressed by path (http://host:port/bucket/key), not by a bucket subdomain.
    forcePathStyle: location.endpoint !== undefined,
    // A copy: the SDK annotates the credentials object it is given.
    credentials: location.credentials && { ...location.credentials },
    maxAttempts: options.maxAttempts ?? 3,
    requestHandler: { connectionTimeout: 3_000, requestTimeout: 30_000 },
  });
}
