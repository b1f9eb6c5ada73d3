import { expect } from "chai";
import fc from "fast-check";
import { createRequire } from "node:module";
import {
  fastReadVarLong,
  installFastKafkajsDecoding,
  kafkajsOriginals,
  memoizedFromString,
} from "../../../apps/shared/kafkajs-decoding.ts";

const require = createRequire(import.meta.url);
type Long = { toString(): string };
const Long = require("kafkajs/src/utils/long.js") as {
  fromValue(value: bigint | number | string): Long;
  fromString(value: string): Long;
};
const Encoder = require("kafkajs/src/protocol/encoder.js") as new () => {
  writeVarLong(value: Long): unknown;
  buffer: Buffer;
};
const Decoder = require("kafkajs/src/protocol/decoder.js") as {
  new (buffer: Buffer): { offset: number; readVarLong(): Long };
  prototype: { readVarLong(): Long };
};
const { RecordBatch } = require("kafkajs/src/protocol/recordBatch/v0/index.js") as {
  RecordBatch(options: object): Promise<{ buffer: Buffer }>;
};
const Record = require("kafkajs/src/protocol/recordBatch/record/v0/index.js") as (record: object) => unknown;
const decodeRecordBatch = require("kafkajs/src/protocol/recordBatch/v0/decoder.js") as (
  decoder: object,
) => Promise<{ records: Record<string, unknown>[] }>;

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const int64 = fc.oneof(
  fc.bigInt({ min: INT64_MIN, max: INT64_MAX }),
  fc.bigInt({ min: -(2n ** 49n), max: 2n ** 49n }),
  fc.constantFrom(
    0n,
    -1n,
    1n,
    2n ** 48n - 1n,
    -(2n ** 48n),
    2n ** 48n,
    -(2n ** 48n) - 1n,
    INT64_MIN,
    INT64_MAX,
  ),
);

/** What kafkajs' own code decodes, with its originals put back for the call. */
async function withKafkajsOriginals<T>(task: () => Promise<T>): Promise<T> {
  const [readVarLong, fromString] = [Decoder.prototype.readVarLong, Long.fromString];
  Decoder.prototype.readVarLong = kafkajsOriginals.readVarLong as never;
  Long.fromString = kafkajsOriginals.fromString;
  try {
    return await task();
  } finally {
    Decoder.prototype.readVarLong = readVarLong;
    Long.fromString = fromString;
  }
}

describe("kafkajs' record decoding, made faster (apps/shared/kafkajs-decoding.ts)", function () {
  it("reads every 64-bit varint as kafkajs does, value and bytes consumed, also truncated", function () {
    const fast = fastReadVarLong(kafkajsOriginals.readVarLong as never);
    fc.assert(
      fc.property(int64, fc.nat({ max: 10 }), (value, cut) => {
        const encoded = (new Encoder().writeVarLong(Long.fromValue(value)) as { buffer: Buffer }).buffer;
        const bytes = Buffer.concat([encoded, Buffer.from([7, 200])]);
        for (const buffer of [bytes, encoded.subarray(0, Math.min(cut, encoded.length))]) {
          const original = new Decoder(buffer);
          const faster = new Decoder(buffer);
          const expected = kafkajsOriginals.readVarLong.call(original as never).toString();
          expect(fast.call(faster as never).toString(), `${value}`).to.equal(expected);
          expect(faster.offset, `bytes read for ${value}`).to.equal(original.offset);
        }
      }),
      { numRuns: 5_000 },
    );
  });

  it("parses strings to the same Longs, whichever order they come in", function () {
    const memoized = memoizedFromString(kafkajsOriginals.fromString.bind(Long));
    const pool = fc.constantFrom("0", "-1", "1700000000000", "9223372036854775807", "42", "NaN");
    fc.assert(
      fc.property(fc.array(pool, { maxLength: 40 }), (values) => {
        for (const value of values)
          expect(memoized(value).toString()).to.equal(
            kafkajsOriginals.fromString.call(Long, value).toString(),
          );
      }),
    );
  });

  it("decodes whole record batches to the same records as kafkajs once installed (offsets, timestamps, keys, values, headers)", async function () {
    installFastKafkajsDecoding();
    installFastKafkajsDecoding();
    expect(Decoder.prototype.readVarLong, "installed").to.not.equal(kafkajsOriginals.readVarLong);
    const record = fc.record({
      timestampDelta: fc.oneof(
        fc.integer({ min: -5_000, max: 5_000 }),
        fc.bigInt({ min: -(2n ** 62n), max: 2n ** 62n }),
      ),
      key: fc.option(fc.uint8Array({ maxLength: 12 }), { nil: null }),
      value: fc.option(fc.uint8Array({ maxLength: 200 }), { nil: null }),
      headers: fc.dictionary(fc.string({ minLength: 1, maxLength: 5 }), fc.string({ maxLength: 8 }), {
        maxKeys: 2,
      }),
    });
    await fc.assert(
      fc.asyncProperty(
        fc.bigInt({ min: 0n, max: 2n ** 62n }),
        fc.bigInt({ min: 0n, max: 2n ** 50n }),
        fc.array(record, { minLength: 1, maxLength: 30 }),
        async (firstOffset, firstTimestamp, records) => {
          const batch = await RecordBatch({
            firstOffset: Long.fromValue(firstOffset),
            firstTimestamp: Long.fromValue(firstTimestamp),
            maxTimestamp: Long.fromValue(firstTimestamp),
            lastOffsetDelta: records.length - 1,
            records: records.map((entry, offsetDelta) =>
              Record({
                offsetDelta,
                timestampDelta: Long.fromValue(entry.timestampDelta),
                key: entry.key && Buffer.from(entry.key),
                value: entry.value && Buffer.from(entry.value),
                headers: entry.headers,
              }),
            ),
          });
          const decode = async () =>
            (await decodeRecordBatch(new Decoder(batch.buffer))).records.map(({ batchContext, ...rest }) =>
              JSON.stringify({ ...rest, context: batchContext }),
            );
          const expected = await withKafkajsOriginals(decode);
          expect(await decode()).to.deep.equal(expected);
        },
      ),
      { numRuns: 300 },
    );
  });
});
