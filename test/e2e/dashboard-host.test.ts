/**
 * What the dashboard promises about where it can be reached: it binds loopback unless told otherwise, says so in
 * a warning when told to bind anything else, and refuses (421) a request whose Host header is not its own, so
 * that a web page elsewhere cannot read it through DNS rebinding (the browser sends the attacker's host name).
 */
import { expect } from "chai";
import type { ResultPromise } from "execa";
import { request } from "node:http";
import { printedUrl, spawnCli } from "../helpers/cli.ts";
import { createTestTopic } from "../helpers/kafka.ts";
import { cliEnvironment, useLocalEnvironment } from "../helpers/local-environment.ts";

interface Answer {
  readonly status: number;
  readonly body: string;
}

/** A GET to 127.0.0.1:port with the Host header given, as a browser sends it after a DNS rebinding. */
function get(port: number, path: string, host: string): Promise<Answer> {
  return new Promise<Answer>((resolve, reject) => {
    const req = request({ host: "127.0.0.1", port, path, method: "GET", headers: { host } }, (response) => {
      let body = "";
      response.setEncoding("utf8");
      response.on("data", (chunk: string) => (body += chunk));
      response.on("end", () => resolve({ status: response.statusCode!, body }));
    });
    req.on("error", reject);
    req.end();
  });
}

describe("the dashboard's Host check and its --host warning @integration", function () {
  const environment = useLocalEnvironment();
  const env = () => cliEnvironment(environment());

  before(async function () {
    this.timeout(60_000);
    await createTestTopic(environment().bootstrapServers, environment().settings.topic);
  });

  async function serve(args: readonly string[]): Promise<{ dashboard: ResultPromise; port: number }> {
    const dashboard = spawnCli(["dashboard", "--port", "0", "--json", ...args], env());
    const url = await printedUrl(dashboard);
    return { dashboard, port: Number(new URL(url).port) };
  }

  async function stop(dashboard: ResultPromise): Promise<string> {
    dashboard.kill("SIGTERM");
    const result = await dashboard;
    expect(result.exitCode, String(result.all)).to.equal(0);
    return String(result.all);
  }

  it("answers its own names and refuses a foreign Host header with 421, for the page and for its state", async function () {
    this.timeout(60_000);
    const { dashboard, port } = await serve([]);
    for (const host of [`127.0.0.1:${port}`, `localhost:${port}`]) {
      const page = await get(port, "/", host);
      expect(page.status, host).to.equal(200);
      expect(page.body, host).to.match(/<html/i);
      const state = await get(port, "/api/state", host);
      expect(state.status, host).to.equal(200);
      expect(JSON.parse(state.body), host).to.have.property("info");
    }
    const symbolsOrTopic = environment().settings.topic;
    for (const host of [
      `rebind.attacker.example:${port}`,
      "rebind.attacker.example",
      `127.0.0.1:${port + 1}`,
      `localhost.attacker.example:${port}`,
    ])
      for (const path of ["/", "/api/state", "/api/events", "/dashboard.js"]) {
        const answer = await get(port, path, host);
        expect(answer.status, `Host "${host}" ${path}`).to.equal(421);
        expect(answer.body, `Host "${host}" ${path}`).to.equal("misdirected request\n");
        expect(answer.body).not.to.include(symbolsOrTopic);
      }
    const output = await stop(dashboard);
    expect(output, "no warning on loopback").not.to.match(/binding|readable by anyone/);
  });

  it("warns when told to bind an address other than loopback (--host 0.0.0.0), and still refuses a foreign Host", async function () {
    this.timeout(60_000);
    const { dashboard, port } = await serve(["--host", "0.0.0.0"]);
    expect((await get(port, "/", `127.0.0.1:${port}`)).status).to.equal(200);
    expect((await get(port, "/api/state", `rebind.attacker.example:${port}`)).status).to.equal(421);
    const output = await stop(dashboard);
    expect(output).to.include(
      "binding 0.0.0.0: the page (prices, topic names, lag; never a credential) is readable by anyone who can reach this address",
    );
  });
});
