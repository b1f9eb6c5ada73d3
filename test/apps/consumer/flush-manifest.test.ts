import { expect } from "chai";
import {
  createManifest,
  inlineMetadata,
  MAX_INLINE_METADATA_BYTES,
  parseCommitMetadata,
  pointerMetadata,
  stagedKey,
} from "../../../apps/consumer/flush-manifest.ts";
import { tickObjectKey } from "../../../apps/lake/layout.ts";

const object = (day: number) => ({
  finalKey: tickObjectKey(`2020-01-${String(day).padStart(2, "0")}`, "stock-ticks", 4, 1_000n + BigInt(day)),
  bytes: 1234,
  md5: "0123456789abcdef0123456789abcdef",
});

describe("flush manifest in the offset commit's metadata", function () {
  it("round-trips a small flush inline, within the broker's 4,096-byte offset.metadata.max.bytes default", function () {
    const manifest = createManifest("sink", "stock-ticks", 4, "f-1", [object(1), object(2)]);
    const metadata = inlineMetadata(manifest)!;
    expect(Buffer.byteLength(metadata)).to.be.at.most(MAX_INLINE_METADATA_BYTES).and.at.most(4_096);
    expect(parseCommitMetadata(metadata)).to.deep.equal({ kind: "inline", manifest });
  });

  it("points at a manifest object when a flush's object list would not fit (a CSV replay with many dates)", function () {
    const manifest = createManifest(
      "sink",
      "stock-ticks",
      4,
      "f-2",
      Array.from({ length: 200 }, (_, i) => object(i)),
    );
    expect(inlineMetadata(manifest)).to.equal(undefined);
    const parsed = parseCommitMetadata(pointerMetadata(manifest));
    expect(parsed).to.deep.equal({ kind: "pointer", manifestKey: `${manifest.stagingPrefix}manifest.json` });
  });

  it("reads metadata that is not a tickstream flush (an older sink's commit) as no flush", function () {
    expect(parseCommitMetadata(null)).to.deep.equal({ kind: "none" });
    expect(parseCommitMetadata("")).to.deep.equal({ kind: "none" });
    expect(parseCommitMetadata("something else")).to.deep.equal({ kind: "none" });
  });

  it("stages objects outside every table prefix, under URL-safe keys (no '+' or '=' in a COPY source)", function () {
    const manifest = createManifest("group+odd=id", "stock-ticks", 4, "f-3", [object(1)]);
    const key = stagedKey(manifest.stagingPrefix, 0, object(1).finalKey);
    expect(key).to.match(/^_staging\//);
    expect(key).to.match(/^[A-Za-z0-9._\/-]+$/);
    expect(key.endsWith(".parquet")).to.equal(true);
  });
});
