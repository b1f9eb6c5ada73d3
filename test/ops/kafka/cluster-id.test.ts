import { expect } from "chai";
import { execa } from "execa";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { clusterIdFor } from "../../../infra/bootstrap/render.ts";
import { renderTestBootstrap, scriptFunction, scriptSettingsAndLog } from "../../helpers/bootstrap-script.ts";
import { storageFormatArgs } from "../../../ops/kafka/broker.ts";
import {
  newClusterId,
  renderLog4j2Properties,
  renderServerProperties,
} from "../../../ops/kafka/server-properties.ts";
import { kafkaLibsForTests } from "../../helpers/bootstrapped-broker.ts";

const DASH_ID = "-AAAAAAAAAAAAAAAAAAAAA";

describe("KRaft cluster ids", function () {
  let dir: string;
  let properties: string;
  beforeEach(async function () {
    dir = await mkdtemp(path.join(tmpdir(), "tickstream-format-"));
    properties = path.join(dir, "server.properties");
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
  });
  afterEach(async () => rm(dir, { recursive: true, force: true }));

  it("never start with '-' (regression: the storage tool read such an id as an option, 1 run in 64)", function () {
    for (let i = 0; i < 5_000; i++) expect(newClusterId()).to.match(/^[A-Za-z0-9_][A-Za-z0-9_-]{21}$/);
    expect(clusterIdFor("dev")).to.match(/^[A-Za-z0-9_][A-Za-z0-9_-]{21}$/);
    expect(clusterIdFor("dev")).to.equal(clusterIdFor("dev"));
  });

  it("reach the storage tool through the local broker's own format call in a form it accepts, even one starting with '-' @integration", async function () {
    const log4j = path.join(dir, "log4j2.properties");
    await writeFile(log4j, renderLog4j2Properties());
    const classpath = path.join(await kafkaLibsForTests(), "*");
    const args = storageFormatArgs(classpath, `-Dlog4j2.configurationFile=${log4j}`, DASH_ID, properties);
    const result = await execa("java", args, { reject: false, all: true });
    expect(result.exitCode, result.all).to.equal(0);
    expect(await readFile(path.join(dir, "data", "meta.properties"), "utf8")).to.include(
      `cluster.id=${DASH_ID}`,
    );
  });

  it("reach the storage tool through the bootstrap's own format_storage in a form it accepts, even one starting with '-' @integration", async function () {
    const script = renderTestBootstrap({ clusterId: DASH_ID });
    const libs = await kafkaLibsForTests();
    const home = path.join(dir, "kafka");
    await mkdir(home);
    await execa("ln", ["-s", libs, path.join(home, "libs")]);
    const configDir = path.join(dir, "config");
    await mkdir(configDir);
    await writeFile(path.join(configDir, "server.properties"), await readFile(properties, "utf8"));
    // The script's own lines, run alone: its CLUSTER_ID setting, its log() and its format_storage().
    const harness = [
      ...scriptSettingsAndLog(script, ["CLUSTER_ID"]),
      scriptFunction(script, "format_storage"),
      "format_storage",
    ].join("\n");
    const result = await execa("bash", ["-euo", "pipefail", "-c", harness], {
      reject: false,
      all: true,
      env: {
        ...process.env,
        KAFKA_HOME: home,
        DATA_DIR: dir,
        LOG_DIR: path.join(dir, "log"),
        STATE_DIR: path.join(dir, "state"),
        CONFIG_DIR: configDir,
      },
    });
    expect(result.exitCode, result.all).to.equal(0);
    expect(await readFile(path.join(dir, "data", "meta.properties"), "utf8")).to.include(
      `cluster.id=${DASH_ID}`,
    );
  });
});
