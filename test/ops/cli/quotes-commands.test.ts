import { CreateFunctionCommand, LambdaClient } from "@aws-sdk/client-lambda";
import {
  CloudWatchLogsClient,
  CreateLogGroupCommand,
  CreateLogStreamCommand,
  PutLogEventsCommand,
} from "@aws-sdk/client-cloudwatch-logs";
import { expect } from "chai";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { waitFor } from "../../../apps/shared/retry.ts";
import { lastJsonLine, runCli, spawnCli } from "../../helpers/cli.ts";
import { startMoto, type MotoServer } from "../../helpers/moto.ts";
import { UNUSED_CATALOG_OUTPUTS } from "../../helpers/stack-outputs.ts";

const FUNCTION = "tickstream-test-quotes-fn";
const LOG_GROUP = `/aws/lambda/${FUNCTION}`;

/** IAM's CreateRole through moto's query API (the project has no IAM client; moto checks no signature). */
async function createRole(moto: MotoServer): Promise<string> {
  const response = await fetch(`${moto.endpoint}/`, {
    method: "POST",
    headers: {
      "content-type": "application/x-www-form-urlencoded",
      authorization:
        "AWS4-HMAC-SHA256 Credential=testing/20261201/us-east-1/iam/aws4_request, SignedHeaders=host, Signature=0",
    },
    body: new URLSearchParams({
      Action: "CreateRole",
      Version: "2010-05-08",
      RoleName: "quotes-fn",
      AssumeRolePolicyDocument: JSON.stringify({
        Version: "2012-10-17",
        Statement: [
          { Effect: "Allow", Principal: { Service: "lambda.amazonaws.com" }, Action: "sts:AssumeRole" },
        ],
      }),
    }),
  });
  return /<Arn>(.*)<\/Arn>/.exec(await response.text())![1]!;
}

describe("quotes invoke and logs against a stack's outputs, on moto's Lambda and CloudWatch Logs @integration", function () {
  let moto: MotoServer;
  let dir: string;
  let outputsFile: string;
  let env: NodeJS.ProcessEnv;
  let logs: CloudWatchLogsClient;
  const put = (message: string) =>
    logs.send(
      new PutLogEventsCommand({
        logGroupName: LOG_GROUP,
        logStreamName: "2026/12/01/[$LATEST]abc",
        logEvents: [{ timestamp: Date.now(), message }],
      }),
    );

  before(async function () {
    this.timeout(60_000);
    moto = await startMoto();
    // moto runs no function code without Docker: its invoke answers with the event it was given.
    await fetch(`${moto.endpoint}/moto-api/config`, {
      method: "POST",
      body: JSON.stringify({ lambda: { use_docker: false } }),
    });
    const lambda = new LambdaClient(moto.clientConfig);
    await lambda.send(
      new CreateFunctionCommand({
        FunctionName: FUNCTION,
        Runtime: "nodejs22.x",
        Role: await createRole(moto),
        Handler: "index.handler",
        Code: { ZipFile: new Uint8Array([80, 75, 5, 6, ...new Array(18).fill(0)]) },
      }),
    );
    lambda.destroy();
    logs = new CloudWatchLogsClient(moto.clientConfig);
    await logs.send(new CreateLogGroupCommand({ logGroupName: LOG_GROUP }));
    await logs.send(
      new CreateLogStreamCommand({ logGroupName: LOG_GROUP, logStreamName: "2026/12/01/[$LATEST]abc" }),
    );
    dir = await mkdtemp(path.join(tmpdir(), "tickstream-quotes-"));
    env = { ...process.env, ...moto.env, TICKSTREAM_HOME: dir };
    const outputs = {
      brokerPublicIps: ["198.51.100.10"],
      bootstrapServers: "198.51.100.10:9092",
      ...UNUSED_CATALOG_OUTPUTS,
      quotesFunctionName: FUNCTION,
      quotesLogGroup: LOG_GROUP,
    };
    outputsFile = path.join(dir, "outputs.json");
    await writeFile(outputsFile, JSON.stringify(outputs));
    const { quotesFunctionName: _f, quotesLogGroup: _l, ...withoutPoller } = outputs;
    await writeFile(path.join(dir, "no-poller.json"), JSON.stringify(withoutPoller));
  });
  after(async function () {
    logs?.destroy();
    await moto?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it("quotes invoke runs the stack's function once (RequestResponse) and prints its answer", async function () {
    const result = await runCli(["quotes", "invoke", "--outputs", outputsFile, "--json"], env);
    expect(result.exitCode, result.stderr).to.equal(0);
    expect(result.stderr).to.include(`invoking ${FUNCTION}...`);
    expect(lastJsonLine(result.stdout)).to.deep.include({ function: FUNCTION, statusCode: 200 });
  });

  it("quotes logs prints the function's log lines, and --follow prints lines written after it started until Ctrl-C", async function () {
    this.timeout(60_000);
    await put('{"level":"info","message":"quotes produced","produced":2}');
    const printed = await runCli(["quotes", "logs", "--outputs", outputsFile], env);
    expect(printed.exitCode, printed.stderr).to.equal(0);
    expect(printed.stdout).to.match(/^\S+Z \{"level":"info","message":"quotes produced","produced":2\}$/m);
    const following = spawnCli(
      ["quotes", "logs", "--follow", "--since", "1m", "--outputs", outputsFile],
      env,
    );
    let seen = "";
    following.stdout!.on("data", (chunk: Buffer) => (seen += chunk.toString()));
    await waitFor(() => seen.includes('"produced":2'), {
      timeoutMs: 20_000,
      describe: () => `nothing followed: ${seen}`,
    });
    await put('{"level":"warn","message":"quote failed","symbol":"LIM"}');
    await waitFor(() => seen.includes('"symbol":"LIM"'), {
      timeoutMs: 20_000,
      describe: () => `the new line did not arrive: ${seen}`,
    });
    following.kill("SIGINT");
    expect((await following).exitCode).to.equal(0);
  });

  it("says in one line when the stack has no quote poller", async function () {
    const result = await runCli(["quotes", "invoke", "--outputs", path.join(dir, "no-poller.json")], env);
    expect(result.exitCode).to.equal(1);
    expect(result.stderr.trim()).to.equal(
      "tickstream: the stack has no quote poller: set tickstream:quotePoller and tickstream:quotesApiKey, then pulumi up",
    );
  });
});
