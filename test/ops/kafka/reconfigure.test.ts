import { expect } from "chai";
import { ConfigError } from "../../../apps/shared/errors.ts";
import { applySettings, parseSettings } from "../../../ops/kafka/reconfigure.ts";

describe("broker reconfigure: settings", function () {
  it("replaces a setting where it is and appends a new one, leaving every other line as it was", function () {
    const before = "# written by the bootstrap\nnode.id=1\nlog.retention.hours=168\nnum.partitions=3\n";
    const after = applySettings(before, parseSettings(["log.retention.hours=24", "compression.type=zstd"]));
    expect(after).to.equal(
      "# written by the bootstrap\nnode.id=1\nlog.retention.hours=24\nnum.partitions=3\ncompression.type=zstd\n",
    );
    expect(
      applySettings(after, parseSettings(["log.retention.hours=24"])),
      "a second run changes nothing",
    ).to.equal(after);
  });

  it("refuses what the bootstrap owns (identity, listeners, quorum, storage) and malformed pairs, in one line each", function () {
    expect(() => parseSettings(["node.id=5"])).to.throw(ConfigError, /^--set node\.id: set by the bootstrap/);
    expect(() => parseSettings(["advertised.listeners=PLAINTEXT://x:1"])).to.throw(
      ConfigError,
      /split the cluster$/,
    );
    expect(() => parseSettings(["log.retention.hours"])).to.throw(
      ConfigError,
      /^--set log\.retention\.hours: expected KEY=VALUE/,
    );
    expect(() => parseSettings(["Bad Key=1"])).to.throw(ConfigError, /expected KEY=VALUE/);
    expect(() => parseSettings([])).to.throw(ConfigError, /at least one --set/);
  });
});
