/**
 * Faster decoding of fetched records in kafkajs 2.2.4 (no longer released). kafkajs decodes each record's
 * timestamp delta with a 64-bit varint read through its BigInt-backed Long, one Long per byte and several for
 * the zigzag step, and parses the batch's first offset and first timestamp from their decimal strings again
 * for every record. Decoding is most of what the lake sink's thread is busy with (README, "Performance").
 * Two of kafkajs' methods are replaced here by equivalents that return the same values:
 *  - `Decoder.readVarLong`: a varint of up to 7 bytes (49 bits, exact in a double) is summed as a number and
 *    turned into one Long; a longer one (a timestamp delta over 8,900 years) goes to kafkajs' own code;
 *  - `Long.fromString`: the last two strings parsed return the Long made for them (a Long is never changed in
 *    place: every operation returns a new one), so a batch's first offset and first timestamp are parsed once.
 * test/apps/shared/kafkajs-decoding.test.ts checks both against kafkajs' originals, value by value and on
 * whole record batches.
 */
import Decoder from "kafkajs/src/protocol/decoder.js";
import Long from "kafkajs/src/utils/long.js";

/** kafkajs' own methods, as loaded (for the tests that compare the two). */
export const kafkajsOriginals = {
  readVarLong: Decoder.prototype.readVarLong,
  fromString: Long.fromString,
} as const;

let installed = false;

/** Installs the faster decoding, process-wide; idempotent. */
export function installFastKafkajsDecoding(): void {
  if (installed) return;
  installed = true;
  Decoder.prototype.readVarLong = fastReadVarLong(kafkajsOriginals.readVarLong);
  Long.fromString = memoizedFromString(kafkajsOriginals.fromString.bind(Long));
}

/** Reads a zigzag varint of up to 7 bytes as a number; a longer or truncated one is read by `original`. */
export function fastReadVarLong(original: (this: Decoder) => Long): (this: Decoder) => Long {
  return function readVarLong(this: Decoder): Long {
    const buffer = this.buffer;
    let offset = this.offset;
    let unsigned = 0;
    let multiplier = 1;
    for (let index = 0; index < 7 && offset < buffer.length; index++) {
      const byte = buffer[offset++]!;
      unsigned += (byte & 0x7f) * multiplier;
      if (byte < 0x80) {
        this.offset = offset;
        return Long.fromNumber(unsigned % 2 === 0 ? unsigned / 2 : -(unsigned + 1) / 2);
      }
      multiplier *= 128;
    }
    return original.call(this);
  };
}

/** `fromString` that returns the Long it made for either of the last two strings it parsed. */
export function memoizedFromString(fromString: (value: string) => Long): (value: string) => Long {
  let newer: string | undefined;
  let newerLong: Long | undefined;
  let older: string | undefined;
  let olderLong: Long | undefined;
  return (value: string): Long => {
    if (value === newer) return newerLong!;
    if (value === older) {
      [older, olderLong, newer, newerLong] = [newer, newerLong, older, olderLong];
      return newerLong!;
    }
    const long = fromString(value);
    [older, olderLong, newer, newerLong] = [newer, newerLong, value, long];
    return long;
  };
}
