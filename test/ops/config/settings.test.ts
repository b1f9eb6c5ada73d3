import { expect } from "chai";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { ConfigError } from "../../../apps/shared/errors.ts";
import {
  DEFAULT_LOCAL_SETTINGS,
  loadLocalSettings,
  parseLocalSettings,
} from "../../../ops/config/settings.ts";

describe("local settings", function () {
  it("defaults every setting", function () {
    expect(parseLocalSettings({})).to.deep.equal(DEFAULT_LOCAL_SETTINGS);
  });

  it("rejects an unknown key and lists the known ones", function () {
    expect(() => parseLocalSettings({ brokerPrt: 1 }, "settings.json")).to.throw(
      ConfigError,
      /^settings\.json: unknown setting "brokerPrt"; known settings: kafkaVersion, host, brokerPort/,
    );
  });

  it("names the setting whose value is wrong", function () {
    expect(() => parseLocalSettings({ brokerPort: 70_000 }, "f")).to.throw(
      ConfigError,
      /^f: setting "brokerPort" /,
    );
    expect(() => parseLocalSettings({ host: "10.0.0.1" }, "f")).to.throw(
      ConfigError,
      'setting "host" must be a loopback address',
    );
    expect(() => parseLocalSettings({ kafkaVersion: "latest" }, "f")).to.throw(
      ConfigError,
      'setting "kafkaVersion" must look like 4.4.0',
    );
    expect(() => parseLocalSettings({ brokerPort: 9000, controllerPort: 9000 }, "f")).to.throw(
      ConfigError,
      "must differ",
    );
  });

  it("reads settings.json from the home and lets TICKSTREAM_KAFKA_VERSION choose the Kafka version", async function () {
    const home = await mkdtemp(path.join(tmpdir(), "tickstream-settings-"));
    try {
      await writeFile(path.join(home, "settings.json"), JSON.stringify({ brokerPort: 12345 }));
      const settings = loadLocalSettings(home, { TICKSTREAM_KAFKA_VERSION: "3.9.1" });
      expect(settings).to.include({ brokerPort: 12345, kafkaVersion: "3.9.1" });
      await writeFile(path.join(home, "settings.json"), "{ not json");
      expect(() => loadLocalSettings(home, {})).to.throw(ConfigError, /settings\.json: not valid JSON/);
    } finally {
      await rm(home, { recursive: true, force: true });
    }
  });
});
