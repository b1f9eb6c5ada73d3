import { expect } from "chai";
import { ConfigError } from "../../apps/shared/errors.ts";
import { describeTeardown, teardown, type StackWorkspace } from "../../ops/teardown/teardown.ts";
import { runCli } from "../helpers/cli.ts";

const OUTPUTS = {
  brokerPublicIps: ["198.51.100.10"],
  lakeBucket: "tickstream-dev-lake-4f2a",
  glueDatabase: "tickstream_dev",
  crawlerName: "tickstream-dev-crawler",
  athenaWorkgroup: "tickstream-dev-workgroup",
};

/** Stands in for the Automation API, which needs the Pulumi CLI; it records what teardown asks of it. */
function recordingWorkspace(calls: string[], forceDestroy: string | undefined): StackWorkspace {
  return {
    stackName: "dev",
    outputs: async () => (calls.push("outputs"), OUTPUTS),
    config: async (key) => (calls.push(`config ${key}`), forceDestroy),
    destroy: async (onOutput) => {
      calls.push("destroy");
      onOutput("Resources: 42 deleted");
    },
    removeStack: async () => void calls.push("removeStack"),
  };
}

describe("teardown", function () {
  it("says what it deletes: the lake's data when forceDestroy is true, and that the lake and its guards are kept when it is false", function () {
    const plan = describeTeardown("dev", OUTPUTS, true);
    expect(plan).to.include("1 broker instance(s) (198.51.100.10)");
    expect(plan).to.include(
      "the lake bucket s3://tickstream-dev-lake-4f2a AND ALL ITS DATA (forceDestroy is true)",
    );
    expect(describeTeardown("dev", OUTPUTS, false)).to.include(
      "NOT the lake bucket s3://tickstream-dev-lake-4f2a: forceDestroy is false, so the bucket, its data and its guards",
    );
  });

  it("stops the apps, then destroys the stack, then removes it", async function () {
    const calls: string[] = [];
    const progress: string[] = [];
    const result = await teardown({
      workspace: recordingWorkspace(calls, "true"),
      yes: true,
      stopApps: async () => (calls.push("stopApps"), ["consumer on broker 1"]),
      onProgress: (message) => progress.push(message),
    });
    expect(calls).to.deep.equal([
      "outputs",
      "config tickstream:forceDestroy",
      "stopApps",
      "destroy",
      "removeStack",
    ]);
    expect(result).to.deep.equal({
      stack: "dev",
      appsStopped: ["consumer on broker 1"],
      lakeDataDeleted: true,
      destroyed: true,
      removed: true,
    });
    expect(progress).to.include("Resources: 42 deleted");
  });

  it("asks for the stack's name and goes on only when it is typed", async function () {
    const calls: string[] = [];
    let asked = "";
    await teardown({
      workspace: recordingWorkspace(calls, "false"),
      yes: false,
      confirm: async (question) => ((asked = question), "dev\n"),
      stopApps: async () => (calls.push("stopApps"), []),
    });
    expect(asked).to.match(/^Tearing down stack dev deletes:/);
    expect(asked).to.match(/Type the stack name \(dev\) to confirm: $/);
    expect(calls.slice(-3)).to.deep.equal(["stopApps", "destroy", "removeStack"]);
  });

  it("changes nothing when the typed name is wrong", async function () {
    const calls: string[] = [];
    const error = await teardown({
      workspace: recordingWorkspace(calls, "true"),
      yes: false,
      confirm: async () => "prod",
      stopApps: async () => (calls.push("stopApps"), []),
    }).catch((caught) => caught);
    expect(error).to.be.instanceOf(ConfigError);
    expect(error.message).to.equal('teardown cancelled: "prod" is not dev; nothing was changed');
    expect(calls).to.deep.equal(["outputs", "config tickstream:forceDestroy"]);
  });

  it("refuses without a terminal to ask on and without --yes", async function () {
    const calls: string[] = [];
    const error = await teardown({
      workspace: recordingWorkspace(calls, "true"),
      yes: false,
      stopApps: async () => [],
    }).catch((caught) => caught);
    expect(error.message).to.equal(
      "refusing to tear down without a confirmation: run it in a terminal, or pass --yes",
    );
    expect(calls).to.not.include("destroy");
  });

  it("destroys even when the broker hosts cannot be reached to stop the apps", async function () {
    const calls: string[] = [];
    const progress: string[] = [];
    await teardown({
      workspace: recordingWorkspace(calls, "false"),
      yes: true,
      stopApps: async () => {
        throw new Error("cannot reach ubuntu@198.51.100.10:22: ETIMEDOUT");
      },
      onProgress: (message) => progress.push(message),
    });
    expect(progress).to.include(
      "could not stop the apps (cannot reach ubuntu@198.51.100.10:22: ETIMEDOUT); destroying anyway",
    );
    expect(calls.slice(-2)).to.deep.equal(["destroy", "removeStack"]);
  });

  it("says clearly that it needs the Pulumi CLI when it is absent", async function () {
    const result = await runCli(["teardown", "--stack", "dev", "--yes"], {
      ...process.env,
      PATH: "/usr/bin:/bin",
    });
    expect(result.exitCode).to.equal(1);
    expect(result.stderr.trim()).to.match(
      /^tickstream: the Pulumi CLI is needed to read or destroy a stack and was not found on PATH/,
    );
  });
});
