import { expect } from "chai";
import { partitionDateOf, quarantineObjectKey, tickObjectKey } from "../../../apps/lake/layout.ts";

describe("lake layout", function () {
  it("names a tick object by date, topic, partition and 20-digit start offset", function () {
    expect(tickObjectKey("2026-11-25", "stock-ticks", 2, 42n)).to.equal(
      "ticks/dt=2026-11-25/stock-ticks+2+00000000000000000042.parquet",
    );
  });

  it("names quarantine objects the same way, as JSON lines", function () {
    expect(quarantineObjectKey("2026-11-25", "stock-ticks", 0, "7")).to.equal(
      "quarantine/dt=2026-11-25/stock-ticks+0+00000000000000000007.jsonl",
    );
  });

  it("reads the partition date back from a key", function () {
    expect(partitionDateOf("ticks/dt=2026-11-25/x.parquet")).to.equal("2026-11-25");
    expect(partitionDateOf("ticks/x.parquet")).to.equal(undefined);
  });
});
