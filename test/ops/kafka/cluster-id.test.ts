import { expect } from "chai";
import { execa } from "execa";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { clusterIdFor } from "../../../infra/bootstrap/render.ts";
import { newClusterId, renderServerProperties } from "../../../ops/kafka/server-properties.ts";
import { kafkaLibsForTests } from "../../helpers/bootstrapped-broker.ts";

describe("KRaft cluster ids", function () {
  it("never start with '-' (regression: the storage tool read such an id as an option, 1 run in 64)", function () {
    for (let i = 0; i < 5_000; i++) expect(newClusterId()).to.match(/^[A-Za-z0-9_][A-Za-z0-9_-]{21}$/);
    expect(clusterIdFor("dev")).to.match(/^[A-Za-z0-9_][A-Za-z0-9_-]{21}$/);
    expect(clusterIdFor("dev")).to.equal(clusterIdFor("dev"));
  });

  it("are passed to the storage tool in a form it accepts even when one starts with '-' @integration", async function () {
    const dir = await mkdtemp(path.join(tmpdir(), "tickstream-format-"));
    try {
      const properties = path.join(dir, "server.properties");
      await writeFile(
        properties,
        renderServerProperties({
          nodeId: 1,
          listenHost: "127.0.0.1",
          advertisedHost: "127.0.0.1",
          brokerPort: 1,
          controllerPort: 2,
          logDir: path.join(dir, "data"),
          defaultPartitions: 1,
        }),
      );
      const libs = await kafkaLibsForTests();
      const result = await execa(
        "java",
        [
          "-cp",
          path.join(libs, "*"),
          "kafka.tools.StorageTool",
          "format",
          "--cluster-id=-AAAAAAAAAAAAAAAAAAAAA",
          "-c",
          properties,
        ],
        { reject: false, all: true },
      );
      expect(result.exitCode, result.all).to.equal(0);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
