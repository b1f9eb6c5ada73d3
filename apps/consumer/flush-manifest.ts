/**
 * What a committed flush holds, as the lake sink writes it into the Kafka offset commit's metadata.
 *
 * The metadata names the flush (a random id, so only the member that staged it can have written its objects)
 * and lists each object's final key, size and MD5. When the list does not fit in the broker's offset metadata
 * limit (`offset.metadata.max.bytes`, 4,096 by default; a CSV replay can put thousands of dates in one flush),
 * the list goes to a manifest object inside the flush's own staging folder and the metadata names that.
 */
import { stagingFlushPrefix } from "../lake/layout.ts";

export interface StagedObject {
  /** Where the object is published: the deterministic name of DESIGN.md's lake layout. */
  readonly finalKey: string;
  readonly bytes: number;
  /** Hex MD5 of the body: the ETag S3 reports for a single-part PUT or COPY of it. */
  readonly md5: string;
  /** Rows it holds (what an Iceberg append records); absent in manifests of sinks before Iceberg. */
  readonly records?: number;
}

/**
 * An earlier flush of the partition, committed and published (its objects at their final names) but not yet
 * known to be in the Iceberg table: the next commit carries it, so that whoever publishes that commit appends it
 * too. A flush therefore stays named by the partition's committed offset until the table holds it.
 */
export interface CarriedFlush {
  /** The partition's committed offset after that flush: its append's idempotency key. */
  readonly endOffset: bigint;
  /** Its objects of the table (not quarantine), at their final names. */
  readonly objects: readonly StagedObject[];
}

export interface FlushManifest {
  readonly flushId: string;
  /** The staging folder, `_staging/<group>/<topic>+<partition>/<flushId>/`. */
  readonly stagingPrefix: string;
  readonly objects: readonly StagedObject[];
  /** Earlier flushes not yet known to be in the Iceberg table, oldest first (none without Iceberg). */
  readonly carried?: readonly CarriedFlush[];
}

const METADATA_TAG = "tickstream-flush/1 ";
/** Below the broker's default 4,096-byte limit, with room to spare. */
export const MAX_INLINE_METADATA_BYTES = 3_500;

export function createManifest(
  groupId: string,
  topic: string,
  partition: number,
  flushId: string,
  objects: readonly StagedObject[],
  carried: readonly CarriedFlush[] = [],
): FlushManifest {
  return {
    flushId,
    stagingPrefix: stagingFlushPrefix(groupId, topic, partition, flushId),
    objects,
    ...(carried.length > 0 ? { carried } : {}),
  };
}

/**
 * The staged key of the flush's object number `index`: `<staging folder><index>.<extension of the final key>`.
 * Final keys hold `+` and `=`, which a COPY source would have to encode, so staged keys do not reuse them.
 */
export function stagedKey(stagingPrefix: string, index: number, finalKey: string): string {
  return `${stagingPrefix}${index}${/\.[a-z]+$/.exec(finalKey)?.[0] ?? ""}`;
}

export function manifestObjectKey(manifest: Pick<FlushManifest, "stagingPrefix">): string {
  return `${manifest.stagingPrefix}manifest.json`;
}

/** The manifest's JSON, as a manifest object holds it. */
export function manifestBody(manifest: FlushManifest): string {
  return JSON.stringify({
    flushId: manifest.flushId,
    stagingPrefix: manifest.stagingPrefix,
    objects: manifest.objects.map(objectTuple),
    ...(manifest.carried?.length
      ? {
          carried: manifest.carried.map((flush) => [
            flush.endOffset.toString(),
            flush.objects.map(objectTuple),
          ]),
        }
      : {}),
  });
}

type ObjectTuple = [string, number, string, number?];

function objectTuple(object: StagedObject): ObjectTuple {
  return object.records === undefined
    ? [object.finalKey, object.bytes, object.md5]
    : [object.finalKey, object.bytes, object.md5, object.records];
}

function fromTuple([finalKey, bytes, md5, records]: ObjectTuple): StagedObject {
  return records === undefined ? { finalKey, bytes, md5 } : { finalKey, bytes, md5, records };
}

/** The offset metadata for the manifest: the whole manifest inline, or `undefined` when it needs an object. */
export function inlineMetadata(manifest: FlushManifest): string | undefined {
  const metadata = METADATA_TAG + manifestBody(manifest);
  return Buffer.byteLength(metadata) <= MAX_INLINE_METADATA_BYTES ? metadata : undefined;
}

/** The offset metadata that points at a manifest object. */
export function pointerMetadata(manifest: FlushManifest): string {
  return METADATA_TAG + JSON.stringify({ manifestKey: manifestObjectKey(manifest) });
}

export type CommittedFlush =
  | { readonly kind: "none" }
  | { readonly kind: "inline"; readonly manifest: FlushManifest }
  | { readonly kind: "pointer"; readonly manifestKey: string };

/** Reads a committed offset's metadata: none (an older sink, or no flush yet), a manifest, or a pointer to one. */
export function parseCommitMetadata(metadata: string | null | undefined): CommittedFlush {
  if (!metadata || !metadata.startsWith(METADATA_TAG)) return { kind: "none" };
  const parsed = JSON.parse(metadata.slice(METADATA_TAG.length)) as Record<string, unknown>;
  if (typeof parsed.manifestKey === "string") return { kind: "pointer", manifestKey: parsed.manifestKey };
  return { kind: "inline", manifest: parseManifestBody(JSON.stringify(parsed)) };
}

export function parseManifestBody(body: string): FlushManifest {
  const parsed = JSON.parse(body) as {
    flushId: string;
    stagingPrefix: string;
    objects: ObjectTuple[];
    carried?: [string, ObjectTuple[]][];
  };
  if (typeof parsed.flushId !== "string" || typeof parsed.stagingPrefix !== "string") {
    throw new Error("not a tickstream flush manifest");
  }
  return {
    flushId: parsed.flushId,
    stagingPrefix: parsed.stagingPrefix,
    objects: parsed.objects.map(fromTuple),
    ...(parsed.carried?.length
      ? {
          carried: parsed.carried.map(([endOffset, objects]) => ({
            endOffset: BigInt(endOffset),
            objects: objects.map(fromTuple),
          })),
        }
      : {}),
  };
}
