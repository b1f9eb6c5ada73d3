import { expect } from "chai";
import {
  AuthenticationError,
  MultipleErrors,
  NetworkError,
  ProtocolError,
  UserError,
} from "@platformatic/kafka";
import { Partitioners } from "kafkajs";
import { partitionForKey, sendMayBeRetried } from "../../../apps/producer/producer.ts";
import { rootError } from "../../../apps/shared/kafka-client.ts";

describe("the producer on @platformatic/kafka", function () {
  it("puts each key on the partition kafkajs' default (Java) partitioner gave it", function () {
    const kafkajs = Partitioners.DefaultPartitioner();
    for (const partitions of [1, 3, 6, 12]) {
      const partitionMetadata = Array.from({ length: partitions }, (_, partitionId) => ({
        partitionId,
        leader: 1,
        partitionErrorCode: 0,
        replicas: [1],
        isr: [1],
      }));
      for (const key of [
        "AAPL",
        "MSFT",
        "GOOG",
        "BRK.B",
        "^GSPC",
        "X",
        "ÄÖÜ",
        "a-much-longer-symbol-name-1234",
      ]) {
        const expected = kafkajs({ topic: "t", partitionMetadata, message: { key, value: "" } });
        expect(partitionForKey(key, partitions), `${key} of ${partitions}`).to.equal(expected);
      }
    }
  });

  it("retries a send after a lost connection or a moved leader, never after a refusal or a sequence error", function () {
    const wrap = (error: Error) => new MultipleErrors("produce failed 4 times.", [error, error]);
    expect(sendMayBeRetried(wrap(new NetworkError("Connection to 127.0.0.1:1 failed.")))).to.equal(true);
    expect(sendMayBeRetried(wrap(new ProtocolError("NOT_LEADER_OR_FOLLOWER")))).to.equal(true);
    expect(sendMayBeRetried(wrap(new ProtocolError("NOT_ENOUGH_REPLICAS")))).to.equal(true);
    expect(sendMayBeRetried(wrap(new ProtocolError("TOPIC_AUTHORIZATION_FAILED")))).to.equal(false);
    expect(sendMayBeRetried(wrap(new ProtocolError("OUT_OF_ORDER_SEQUENCE_NUMBER")))).to.equal(false);
    expect(sendMayBeRetried(wrap(new ProtocolError("UNKNOWN_PRODUCER_ID")))).to.equal(false);
    expect(sendMayBeRetried(new AuthenticationError("SASL authentication failed."))).to.equal(false);
    expect(sendMayBeRetried(new UserError("Unknown topic t."))).to.equal(false);
  });

  it("finds the innermost reason through MultipleErrors and causes", function () {
    const refused = Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:1"), { code: "ECONNREFUSED" });
    const error = new MultipleErrors("metadata failed 3 times.", [
      new MultipleErrors("Cannot connect to any broker.", [
        new NetworkError("Connection to 127.0.0.1:1 failed.", { cause: refused }),
      ]),
    ]);
    expect(rootError(error)).to.equal(refused);
  });
});
