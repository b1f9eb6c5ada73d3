import { recorded, setTickstreamMocks, stackFileConfig, stackFileOnly, settle } from "./pulumi-mocks.ts";
import { expect } from "chai";
import { load } from "js-yaml";
import { readFileSync } from "node:fs";
import { ConfigError } from "../../apps/shared/errors.ts";
import { validateStackConfig, type RawStackConfig } from "../../infra/config.ts";
import { declareTickstream } from "../../infra/stack.ts";

const dev = stackFileConfig("dev");

describe("stack config validation", function () {
  before(() => setTickstreamMocks("dev"));

  it("has a project file that names the program and runs it as TypeScript modules", function () {
    const project = load(readFileSync("Pulumi.yaml", "utf8")) as {
      name: string;
      main: string;
      runtime: { name: string; options: { nodeargs: string } };
    };
    expect(project).to.deep.include({ name: "tickstream", main: "infra/index.ts" });
    expect(project.runtime).to.deep.include({ name: "nodejs" });
    expect(project.runtime.options.nodeargs).to.equal("--import tsx");
  });

  it("refuses the stack files alone, naming what the operator must set (no placeholder key, networks or image)", function () {
    for (const stack of ["dev", "prod"]) {
      const raw = stackFileOnly(stack);
      expect(raw.allowedCidrs, stack).to.equal(undefined);
      expect(raw.sshPublicKey, stack).to.equal(undefined);
      expect(raw.amiId, stack).to.equal(undefined);
      expect(() => validateStackConfig(raw)).to.throw(
        ConfigError,
        /^config tickstream:allowedCidrs is required/,
      );
      expect(() => validateStackConfig({ ...raw, allowedCidrs: ["203.0.113.0/24"] })).to.throw(
        ConfigError,
        /^config tickstream:sshPublicKey is required/,
      );
    }
  });

  it("requires a pinned AMI id, with the command that looks the current Ubuntu 24.04 image up", function () {
    const { amiId: _pinned, ...unpinned } = dev;
    expect(() => validateStackConfig(unpinned)).to.throw(
      ConfigError,
      /^config tickstream:amiId is required \(the brokers' image is pinned, never looked up\); pulumi config set tickstream:amiId "\$\(aws ec2 describe-images --owners 099720109477 /,
    );
    expect(() => validateStackConfig({ ...dev, amiId: "ubuntu-latest" })).to.throw(
      ConfigError,
      /^config tickstream:amiId "ubuntu-latest" is not an AMI id/,
    );
  });

  it("accepts the dev and prod stack files with the operator's settings", function () {
    expect(validateStackConfig(dev)).to.include({ brokerCount: 1, replicationFactor: 1 });
    expect(validateStackConfig(stackFileConfig("prod"))).to.include({
      brokerCount: 3,
      replicationFactor: 3,
      crawlerSchedule: "cron(15 * * * ? *)",
    });
  });

  const cases: [string, Partial<RawStackConfig>, RegExp][] = [
    [
      "a missing region",
      { region: undefined },
      /^config aws:region is not set; set it with: pulumi config set aws:region/,
    ],
    [
      "no allowedCidrs",
      { allowedCidrs: undefined },
      /^config tickstream:allowedCidrs is required \(there is no open default\); list the networks/,
    ],
    [
      "an open allowedCidrs",
      { allowedCidrs: ["0.0.0.0/0"] },
      /^config tickstream:allowedCidrs has 0\.0\.0\.0\/0, which opens Kafka and SSH to the whole Internet/,
    ],
    ["an open IPv6 allowedCidrs", { allowedCidrs: ["::/0"] }, /has ::\/0, which opens/],
    [
      "a malformed CIDR",
      { allowedCidrs: ["10.0.0.300/8"] },
      /^config tickstream:allowedCidrs has "10\.0\.0\.300\/8", which is not a CIDR block/,
    ],
    [
      "an even broker count",
      { brokerCount: 2 },
      /^config tickstream:brokerCount must be 1, or an odd number from 3 to 9 for a KRaft quorum, got 2/,
    ],
    [
      "a tiny instance",
      { instanceType: "t3.micro" },
      /^config tickstream:instanceType t3\.micro has too little memory/,
    ],
    ["a missing SSH key", { sshPublicKey: undefined }, /^config tickstream:sshPublicKey is required/],
    [
      "a bad SSH key",
      { sshPublicKey: "not a key" },
      /^config tickstream:sshPublicKey is not an OpenSSH public key/,
    ],
    [
      "a bad schedule",
      { crawlerSchedule: "hourly" },
      /^config tickstream:crawlerSchedule "hourly" is not a Glue schedule/,
    ],
    [
      "zero partitions",
      { topicPartitions: 0 },
      /^config tickstream:topicPartitions must be a whole number from 1 to 1000, got 0/,
    ],
    [
      "a bad Kafka version",
      { kafkaVersion: "latest" },
      /^config tickstream:kafkaVersion "latest" is not a Kafka release/,
    ],
  ];

  for (const [what, change, message] of cases) {
    it(`refuses ${what} with a named error, declaring no resource`, async function () {
      recorded.length = 0;
      expect(() => declareTickstream({ ...dev, ...change }, "dev")).to.throw(ConfigError, message);
      await settle();
      expect(recorded).to.deep.equal([]);
    });
  }
});
