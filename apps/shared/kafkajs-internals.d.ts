/** kafkajs 2.2.4's internal modules that kafkajs-decoding.ts replaces methods of (they ship without types). */
declare module "kafkajs/src/utils/long.js" {
  class Long {
    constructor(value: bigint);
    readonly value: bigint;
    static fromNumber(value: number): Long;
    static fromString(value: string): Long;
    static fromValue(value: bigint | number | string | Long): Long;
    toString(): string;
  }
  export = Long;
}

declare module "kafkajs/src/protocol/decoder.js" {
  import type Long from "kafkajs/src/utils/long.js";
  class Decoder {
    constructor(buffer: Buffer);
    buffer: Buffer;
    offset: number;
    readVarLong(): Long;
    readVarInt(): number;
  }
  export = Decoder;
}
