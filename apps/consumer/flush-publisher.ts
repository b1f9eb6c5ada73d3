/**
 * The lake sink's S3 side of a flush: stage its objects, publish a committed flush to the final names, sweep
 * what zombies and crashes left in staging. Every call retries S3 with backoff until it succeeds or the sink
 * is abandoned; what may be retried is idempotent (a PUT or COPY of the same bytes, a DELETE).
 */
import {
  CopyObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type S3Client,
} from "@aws-sdk/client-s3";
import { createHash } from "node:crypto";
import { LakeWriteError, errorMessage } from "../shared/errors.ts";
import { retry } from "../shared/retry.ts";
import { STAGING_PREFIX } from "../lake/layout.ts";
import {
  manifestBody,
  manifestObjectKey,
  parseManifestBody,
  stagedKey,
  type FlushManifest,
  type StagedObject,
} from "./flush-manifest.ts";
import { faultPoint } from "./fault-points.ts";

export interface FlushPublisherOptions {
  readonly s3: S3Client;
  readonly bucket: string;
  readonly signal: AbortSignal;
  readonly onWarning: (message: string) => void;
}

/** S3 error names that mean "this object is not there". */
const NOT_FOUND = new Set(["NoSuchKey", "NotFound"]);

export class FlushPublisher {
  constructor(private readonly options: FlushPublisherOptions) {}

  private get bucket(): string {
    return this.options.bucket;
  }

  /** Runs one S3 call until it succeeds; "not found" is not retried (callers decide what it means). */
  private async send<T>(what: string, call: () => Promise<T>, heartbeat?: () => Promise<void>): Promise<T> {
    return retry(
      async () => {
        try {
          return await call();
        } catch (error) {
          throw new LakeWriteError(`${what} failed: ${errorMessage(error) || (error as Error).name}`, {
            retriable: !NOT_FOUND.has((error as Error).name),
            cause: error,
          });
        }
      },
      {
        retries: Infinity,
        signal: this.options.signal,
        isRetriable: (error) => (error as LakeWriteError).retriable,
        onRetry: (error, attempt, delayMs) => {
          this.options.onWarning(
            `${errorMessage(error)}; retry ${attempt} in ${delayMs} ms, nothing committed`,
          );
          heartbeat?.().catch(() => {});
        },
      },
    );
  }

  /** PUTs one object of a flush under its staging folder. */
  async stage(
    stagingPrefix: string,
    index: number,
    finalKey: string,
    body: Buffer,
    contentType: string,
    heartbeat?: () => Promise<void>,
    records?: number,
  ): Promise<StagedObject> {
    const key = stagedKey(stagingPrefix, index, finalKey);
    await this.send(
      `writing s3://${this.bucket}/${key}`,
      () =>
        this.options.s3.send(
          new PutObjectCommand({ Bucket: this.bucket, Key: key, Body: body, ContentType: contentType }),
        ),
      heartbeat,
    );
    return {
      finalKey,
      bytes: body.length,
      md5: createHash("md5").update(body).digest("hex"),
      ...(records === undefined ? {} : { records }),
    };
  }

  async writeManifest(manifest: FlushManifest, heartbeat?: () => Promise<void>): Promise<void> {
    const key = manifestObjectKey(manifest);
    await this.send(
      `writing s3://${this.bucket}/${key}`,
      () =>
        this.options.s3.send(
          new PutObjectCommand({
            Bucket: this.bucket,
            Key: key,
            Body: manifestBody(manifest),
            ContentType: "application/json",
          }),
        ),
      heartbeat,
    );
  }

  async readManifest(manifestKey: string): Promise<FlushManifest> {
    const body = await this.send(`reading s3://${this.bucket}/${manifestKey}`, async () => {
      const response = await this.options.s3.send(
        new GetObjectCommand({ Bucket: this.bucket, Key: manifestKey }),
      );
      return response.Body!.transformToString();
    });
    return parseManifestBody(body);
  }

  /**
   * Copies every object of a committed flush to its final name, then deletes the staged copies. Idempotent, and
   * safe to run by two members at once: both copy the same bytes to the same names. A staged object that is gone
   * was deleted by an earlier publish of this flush, which deletes only after every copy is done; that is checked
   * (the final object must hold the manifest's MD5) rather than assumed.
   */
  async publish(
    manifest: FlushManifest,
    heartbeat?: () => Promise<void>,
    /** Runs once every object is at its final name, before the staged copies go (the Iceberg append). */
    afterCopies?: () => Promise<void>,
  ): Promise<void> {
    if (!(await this.copy(manifest, heartbeat))) return;
    if (afterCopies) {
      await afterCopies();
      faultPoint("appended");
    }
    await this.deleteStaged(manifest);
  }

  /**
   * The first half of publishing: copies every object of a committed flush to its final name. False when its
   * staged copies are gone already: an earlier publish finished (copies, append, deletes) and nothing is left.
   */
  async copy(manifest: FlushManifest, heartbeat?: () => Promise<void>): Promise<boolean> {
    const sources = stagedKeys(manifest);
    for (const [index, object] of manifest.objects.entries()) {
      const source = sources[index]!;
      try {
        await this.send(
          `publishing s3://${this.bucket}/${object.finalKey}`,
          () =>
            this.options.s3.send(
              new CopyObjectCommand({
                Bucket: this.bucket,
                Key: object.finalKey,
                CopySource: `${this.bucket}/${source}`, // URL-safe by construction (layout.ts)
              }),
            ),
          heartbeat,
        );
      } catch (error) {
        if (!NOT_FOUND.has(((error as LakeWriteError).cause as Error)?.name)) throw error;
        await this.verifyPublished(manifest, source, object);
        // An earlier publish of this flush finished every copy (and its append) before deleting any staged object.
        return false;
      }
      if (index === 0 && manifest.objects.length > 1) faultPoint("published-partly");
    }
    faultPoint("published");
    return true;
  }

  /**
   * Checks that the earlier flushes a manifest carries are at their final names with their bytes: they were
   * copied before the commit that carries them, and are appended with it.
   */
  async verifyCarried(manifest: FlushManifest): Promise<void> {
    for (const flush of manifest.carried ?? [])
      for (const object of flush.objects) await this.verifyPublished(manifest, undefined, object);
  }

  /** The last step of publishing: deletes the flush's staged copies (after its append, with Iceberg). */
  async deleteStaged(manifest: FlushManifest): Promise<void> {
    await this.deleteKeys(stagedKeys(manifest));
  }

  private async verifyPublished(
    manifest: FlushManifest,
    source: string | undefined,
    object: StagedObject,
  ): Promise<void> {
    const head = await this.send(`checking s3://${this.bucket}/${object.finalKey}`, () =>
      this.options.s3.send(new HeadObjectCommand({ Bucket: this.bucket, Key: object.finalKey })),
    ).catch(() => undefined);
    const etag = head?.ETag?.replaceAll('"', "");
    if (etag !== object.md5 || head?.ContentLength !== object.bytes) {
      throw new LakeWriteError(
        `committed flush ${manifest.flushId}: ${source === undefined ? "the earlier flush it carries is published, but" : `staged ${source} is gone and`} ` +
          `${object.finalKey} does not hold it (ETag ${etag ?? "none"}, want ${object.md5}); was ${source === undefined ? "it deleted" : "staging swept"}?`,
        { retriable: false },
      );
    }
  }

  /** Best effort: deletes what an uncommitted flush staged (a sweep would get it later anyway). */
  async discard(manifest: FlushManifest): Promise<void> {
    const keys = [...stagedKeys(manifest), manifestObjectKey(manifest)];
    try {
      await this.options.s3.send(
        new DeleteObjectsCommand({
          Bucket: this.bucket,
          Delete: { Objects: keys.map((Key) => ({ Key })), Quiet: true },
        }),
      );
    } catch (error) {
      this.options.onWarning(`could not discard staged flush ${manifest.flushId}: ${errorMessage(error)}`);
    }
  }

  private async deleteKeys(keys: readonly string[]): Promise<void> {
    for (let start = 0; start < keys.length; start += 1_000) {
      const batch = keys.slice(start, start + 1_000);
      await this.send(`deleting ${batch.length} staged objects`, () =>
        this.options.s3.send(
          new DeleteObjectsCommand({
            Bucket: this.bucket,
            Delete: { Objects: batch.map((Key) => ({ Key })), Quiet: true },
          }),
        ),
      );
    }
  }

  /**
   * Deletes staged flushes of a group whose newest object is older than `olderThanMs` and that no committed
   * offset names (`keep`: staging folders of the committed flushes). Returns how many flushes went.
   */
  async sweep(groupId: string, olderThanMs: number, keep: ReadonlySet<string>): Promise<number> {
    const prefix = `${STAGING_PREFIX}${groupId}/`;
    const newestByFlush = new Map<string, { newest: number; keys: string[] }>();
    let token: string | undefined;
    do {
      const page = await this.options.s3.send(
        new ListObjectsV2Command({ Bucket: this.bucket, Prefix: prefix, ContinuationToken: token }),
      );
      for (const object of page.Contents ?? []) {
        // _staging/<group>/<topic>/<partition>/<flushId>/...
        const flushPrefix = object.Key!.split("/").slice(0, 5).join("/") + "/";
        const entry = newestByFlush.get(flushPrefix) ?? { newest: 0, keys: [] };
        entry.newest = Math.max(entry.newest, object.LastModified?.getTime() ?? Date.now());
        entry.keys.push(object.Key!);
        newestByFlush.set(flushPrefix, entry);
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    let swept = 0;
    const cutoff = Date.now() - olderThanMs;
    for (const [flushPrefix, entry] of newestByFlush) {
      if (keep.has(flushPrefix) || entry.newest > cutoff) continue;
      await this.deleteKeys(entry.keys);
      swept++;
    }
    return swept;
  }
}

function stagedKeys(manifest: FlushManifest): string[] {
  return manifest.objects.map((object, index) => stagedKey(manifest.stagingPrefix, index, object.finalKey));
}
