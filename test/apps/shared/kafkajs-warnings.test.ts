import { expect } from "chai";
import { createRequire } from "node:module";
import {
  ignoreKafkajsNegativeTimeouts,
  isKafkajsNegativeTimeout,
} from "../../../apps/shared/kafkajs-warnings.ts";

const require = createRequire(import.meta.url);

describe("kafkajs' negative timer delay (a TimeoutNegativeWarning on Node 24)", function () {
  it("is still there in kafkajs, and warns nothing once the filter is installed", async function () {
    ignoreKafkajsNegativeTimeouts();
    ignoreKafkajsNegativeTimeouts();
    const RequestQueue = require("kafkajs/src/network/requestQueue/index.js") as new (options: object) => {
      scheduleCheckPendingRequests(): void;
      throttleCheckTimeoutId: NodeJS.Timeout | null;
    };
    const queue = new RequestQueue({
      maxInFlightRequests: null,
      requestTimeout: 1_000,
      enforceRequestTimeout: true,
      clientId: "test",
      broker: "127.0.0.1:9",
      logger: { debug() {}, info() {}, warn() {}, error() {} },
    });
    const warnings: Error[] = [];
    const onWarning = (warning: Error) => warnings.push(warning);
    const delays: number[] = [];
    const realSetTimeout = globalThis.setTimeout;
    globalThis.setTimeout = ((callback: () => void, delay?: number) => {
      delays.push(delay ?? 0);
      return realSetTimeout(callback, delay);
    }) as typeof setTimeout;
    process.on("warning", onWarning);
    try {
      queue.scheduleCheckPendingRequests();
      clearTimeout(queue.throttleCheckTimeoutId!);
      await new Promise((resolve) => setImmediate(resolve));
    } finally {
      globalThis.setTimeout = realSetTimeout;
      process.off("warning", onWarning);
    }
    expect(delays, "kafkajs still arms its first throttle check with a negative delay").to.have.length(1);
    expect(delays[0]).to.be.below(0);
    expect(warnings.map((warning) => warning.name)).to.not.include("TimeoutNegativeWarning");
  });

  it("drops that warning only when kafkajs' request queue raised it", function () {
    const kafkajsStack =
      "Error\n    at RequestQueue.scheduleCheckPendingRequests (node_modules/kafkajs/src/x.js:1:1)";
    expect(isKafkajsNegativeTimeout("TimeoutNegativeWarning", kafkajsStack)).to.equal(true);
    expect(
      isKafkajsNegativeTimeout("TimeoutNegativeWarning", "Error\n    at flush (apps/consumer/x.ts:1:1)"),
    ).to.equal(false);
    expect(isKafkajsNegativeTimeout("TimeoutOverflowWarning", kafkajsStack)).to.equal(false);
    expect(isKafkajsNegativeTimeout(undefined, kafkajsStack)).to.equal(false);
  });
});
