import { expect } from "chai";
import { benchHeading } from "../../ops/bench/run-bench.ts";
import type { SideBySide } from "../../ops/bench/side-by-side.ts";

describe("the bench report's heading", function () {
  it("names the Node version the bench ran on, beside the cores and the records compared", function () {
    const heading = benchHeading({
      machine: { cpus: 2, node: process.version },
      sideBySide: { records: 2_000_000 } as SideBySide,
    });
    expect(heading).to.equal(
      `tickstream bench: Node ${process.version}, 2 cores, one local broker, 2,000,000 records side by side`,
    );
  });
});
