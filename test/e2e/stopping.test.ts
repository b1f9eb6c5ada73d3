/**
 * Issue 23: every command that runs until Ctrl-C stops on SIGINT or SIGTERM at any moment of its life, within the
 * bound of a graceful stop (the `stopTimeoutMs` setting), with the conventional exit code (0 after a completed
 * graceful stop, 130/143 when something was abandoned), and the lake and the bar topic stay exact.
 *
 * Moments are chosen by what the command is doing: its output, or a fault point that freezes it (SIGSTOP) at a
 * known step; the signal is sent while it is frozen and delivered when the test thaws it (SIGCONT).
 */
import { expect } from "chai";
import { execa, type ResultPromise } from "execa";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { createServer, type Server, type Socket } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { waitFor } from "../../apps/shared/retry.ts";
import type { Tick } from "../../apps/tick/schema.ts";
import { createTopic } from "../../ops/kafka/topics.ts";
import type { LocalEnvironment } from "../../ops/local/environment.ts";
import { parseStackOutputs } from "../../ops/environments/stack-outputs.ts";
import { RemoteCluster } from "../../ops/remote/remote-cluster.ts";
import { lastJsonLine, runCli, TICKSTREAM_BIN } from "../helpers/cli.ts";
import { startSshServer, type SshServer } from "../helpers/sshd.ts";
import {
  produceTicks,
  readBars,
  readTicks,
  referenceBars,
  syntheticTicks,
  withoutRevisions,
} from "../helpers/bars.ts";
import { createTestTopic, waitForGroupCaughtUp } from "../helpers/kafka.ts";
import { countLake, readLakeSeqs } from "../helpers/lake-count.ts";
import { waitUntilFrozen } from "../helpers/process-scan.ts";
import {
  cliEnvironment,
  createTestEnvironment,
  createTestHome,
  destroyTestEnvironment,
  uniqueName,
} from "../helpers/local-environment.ts";

/** The suite's bound (the `stopTimeoutMs` setting), shorter than the default to keep the suite quick. */
const STOP_TIMEOUT_MS = 5_000;
/** "Exited within the bound", with a generous margin: the machine is loaded. */
const WITHIN_BOUND_MS = STOP_TIMEOUT_MS + 5_000;

const running = new Set<Command>();

/** One `tickstream` process, its combined output kept. */
export class Command {
  private text = "";
  readonly child: ResultPromise<{ reject: false; all: true }>;

  constructor(args: readonly string[], env: NodeJS.ProcessEnv, faultPoint = "") {
    this.child = execa(process.execPath, [TICKSTREAM_BIN, ...args], {
      env: { ...env, TICKSTREAM_FAULT_POINT: faultPoint },
      reject: false,
      all: true,
      // Not execa's SIGKILL 5 s after a SIGTERM: the test measures the command's own stop.
      forceKillAfterDelay: false,
    });
    this.child.all!.on("data", (chunk: Buffer) => (this.text += chunk.toString("utf8")));
    running.add(this);
    void this.child.finally(() => running.delete(this));
  }

  get output(): string {
    return this.text;
  }

  async waitForOutput(pattern: RegExp, timeoutMs = 90_000): Promise<void> {
    let exited = false;
    void this.child.then(() => (exited = true));
    await waitFor(() => pattern.test(this.text) || exited, {
      timeoutMs,
      intervalMs: 50,
      describe: () => `no ${pattern} in the output:\n${this.text.slice(-3_000)}`,
    });
    if (!pattern.test(this.text)) throw new Error(`exited before ${pattern}:\n${this.text.slice(-3_000)}`);
  }

  /** Sends the signal (to a frozen process: delivered when thawed) and waits at most the bound + margin. */
  async signal(signal: "SIGINT" | "SIGTERM", options: { thaw?: boolean } = {}): Promise<number | undefined> {
    if (options.thaw) await waitUntilFrozen(this.child.pid!);
    this.child.kill(signal);
    if (options.thaw) process.kill(this.child.pid!, "SIGCONT");
    return this.exitWithinBound();
  }

  /** The exit code, once it has exited; undefined (after a SIGKILL) if it was still running past the bound. */
  async exitWithinBound(): Promise<number | undefined> {
    let timer: NodeJS.Timeout | undefined;
    const outcome = await Promise.race([
      this.child.then((result) => result),
      new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), WITHIN_BOUND_MS))),
    ]);
    clearTimeout(timer);
    if (outcome === undefined) {
      this.child.kill("SIGKILL");
      await this.child;
      return undefined;
    }
    if (outcome.exitCode === undefined)
      throw new Error(`ended by ${outcome.signal}:\n${this.text.slice(-3_000)}`);
    return outcome.exitCode;
  }
}

function expectExit(command: Command, code: number | undefined, expected: number): void {
  expect(
    code,
    `exit code (undefined: still running ${WITHIN_BOUND_MS} ms after the signal)\n${command.output.slice(-3_000)}`,
  ).to.equal(expected);
}

describe("every long-running command stops on a signal, at any moment (#23) @integration", function () {
  let environment: LocalEnvironment;
  const env = () => cliEnvironment(environment);
  const brokers = () => environment.bootstrapServers;
  /** Ticks acknowledged into the tick topic, per producerId: what the lake must hold exactly once at the end. */
  const produced = new Map<string, number>();
  const SYMBOLS = ["AAPL", "MSFT", "AMZN", "GOOGL", "NVDA", "META", "TSLA", "JPM"];
  let clockMs = Date.UTC(2026, 11, 1, 14, 0, 0);
  /** A fresh batch of ticks, later in event time than every earlier batch (so none is too late for its bar). */
  async function produceBatch(producerId: string, count = 3_000): Promise<void> {
    const ticks: Tick[] = syntheticTicks({
      startMs: clockMs,
      count,
      stepMs: 20,
      symbols: SYMBOLS,
      producerId,
    });
    clockMs += count * 20 + 60_000;
    await produceTicks(brokers(), environment.settings.topic, ticks);
    produced.set(producerId, count);
  }
  /** Every lake sink of the suite, so that a wrong count shows what each of them said. */
  const sinks: Command[] = [];
  const sinkCommand = (environmentVariables: NodeJS.ProcessEnv, faultPoint = "") => {
    const sink = new Command(consumeArgs, environmentVariables, faultPoint);
    sinks.push(sink);
    return sink;
  };
  const consumeArgs = [
    "consume",
    "--flush-records",
    "500",
    "--flush-interval-ms",
    "300",
    "--session-timeout-ms",
    "6000",
  ];
  const rollupArgs = ["rollup", "--idle-close", "1s", "--session-timeout-ms", "6000"];

  before(async function () {
    this.timeout(180_000);
    environment = await createTestEnvironment({ stopTimeoutMs: STOP_TIMEOUT_MS });
    await environment.up();
    await createTestTopic(environment.bootstrapServers, environment.settings.topic);
    await createTopic(brokers(), {
      topic: environment.settings.barsTopic,
      partitions: 3,
      replicationFactor: 1,
    });
    await createTestTopic(brokers(), "produced-by-the-cli");
  });
  after(async function () {
    this.timeout(60_000);
    await destroyTestEnvironment(environment);
  });
  afterEach(async function () {
    for (const command of running) command.child.kill("SIGKILL");
    await Promise.allSettled([...running].map((command) => command.child));
  });

  describe("dashboard", function () {
    for (const signal of ["SIGTERM", "SIGINT"] as const) {
      it(`${signal} while it loads the lake's history: exits at once with ${signal === "SIGINT" ? 130 : 143}, serving nothing`, async function () {
        const dashboard = new Command(
          ["dashboard", "--port", "0", "--json"],
          env(),
          "dashboard-history:1:SIGSTOP",
        );
        await dashboard.waitForOutput(/fault point dashboard-history #1 reached/);
        const code = await dashboard.signal(signal, { thaw: true });
        expectExit(dashboard, code, signal === "SIGINT" ? 130 : 143);
        expect(dashboard.output).to.match(/abandoned loading the lake's history/);
        expect(dashboard.output).not.to.match(/"url"/);
        expect(existsSync(environment.paths.dashboardFile)).to.equal(false);
      });
    }
  });

  describe("while running, the broker and the S3 server up", function () {
    it("dashboard: SIGINT while serving: the graceful stop completes, exit 0, its state file removed", async function () {
      const dashboard = new Command(["dashboard", "--port", "0", "--json"], env());
      await dashboard.waitForOutput(/"url"/);
      expect(existsSync(environment.paths.dashboardFile)).to.equal(true);
      expectExit(dashboard, await dashboard.signal("SIGINT"), 0);
      expect(existsSync(environment.paths.dashboardFile)).to.equal(false);
    });

    it("consume: SIGTERM mid-flush (staged, not committed): the flush and what is buffered are committed, exit 0", async function () {
      await produceBatch("sink-graceful");
      const sink = sinkCommand(env(), "staged:1:SIGSTOP");
      await sink.waitForOutput(/fault point staged #1 reached/);
      expectExit(sink, await sink.signal("SIGTERM", { thaw: true }), 0);
      expect(sink.output).to.match(/^partition \d+: .* committed \d+$/m);
    });

    it("rollup: SIGTERM mid-transaction (bars sent, not committed): the transaction commits, exit 0", async function () {
      const rollup = new Command(rollupArgs, env(), "records-sent:1:SIGSTOP");
      await rollup.waitForOutput(/fault point records-sent #1 reached/);
      expectExit(rollup, await rollup.signal("SIGTERM", { thaw: true }), 0);
      expect(rollup.output).to.match(/^partition \d+: \d+ bars/m);
    });

    it("produce: SIGINT while producing: stops after the batch in flight, exit 0", async function () {
      const producer = new Command(["produce", "--topic", "produced-by-the-cli", "--rate", "500"], env());
      await producer.waitForOutput(/^producing to produced-by-the-cli$/m);
      expectExit(producer, await producer.signal("SIGINT"), 0);
      expect(producer.output).to.match(/stopping after the current batch/);
    });
  });

  describe("the broker stopped", function () {
    const frozen: Record<string, Command> = {};

    before(async function () {
      this.timeout(180_000);
      // Each command at its moment, then the broker goes.
      await produceBatch("sink-broker-gone");
      frozen.sink = sinkCommand(env(), "staged:1:SIGSTOP");
      frozen.rollup = new Command(rollupArgs, env(), "records-sent:1:SIGSTOP");
      frozen.dashboard = new Command(["dashboard", "--port", "0", "--json"], env());
      frozen.producer = new Command(["produce", "--topic", "produced-by-the-cli", "--rate", "500"], env());
      await frozen.sink.waitForOutput(/fault point staged #1 reached/);
      await frozen.rollup.waitForOutput(/fault point records-sent #1 reached/);
      await frozen.dashboard.waitForOutput(/"url"/);
      await frozen.producer.waitForOutput(/^producing to /m);
      expect((await environment.broker.stop()).stopped).to.equal(true);
    });
    after(async function () {
      this.timeout(120_000);
      for (const command of Object.values(frozen)) command.child.kill("SIGKILL");
      await environment.broker.start();
    });
    // The commands of this block are signalled one by one: afterEach must not kill the others.
    const keep = () => Object.values(frozen).forEach((command) => running.delete(command));

    // First: with the broker gone, the producer gives up on its own once its retries run out (exit 1, one
    // line), so it is signalled while its sends are still being retried.
    it("produce: SIGINT while sends are retried: exits within the bound with 130", async function () {
      keep();
      const producer = frozen.producer!;
      expectExit(producer, await producer.signal("SIGINT"), 130);
      expect(producer.output).to.match(
        /^tickstream: SIGINT and the stop took over 5 s \(stopTimeoutMs\): abandoned the ticks in flight/m,
      );
    });

    it("dashboard: SIGTERM while serving: exits within the bound with 143, naming the live feed it abandoned", async function () {
      keep();
      const dashboard = frozen.dashboard!;
      expectExit(dashboard, await dashboard.signal("SIGTERM"), 143);
      expect(dashboard.output).to.match(
        /^tickstream: SIGTERM and the stop took over 5 s \(stopTimeoutMs\): abandoned closing the live feed/m,
      );
      expect(existsSync(environment.paths.dashboardFile)).to.equal(false);
    });

    it("consume: SIGTERM mid-flush: exits within the bound with 143, naming the buffered records it abandoned", async function () {
      keep();
      const sink = frozen.sink!;
      expectExit(sink, await sink.signal("SIGTERM", { thaw: true }), 143);
      expect(sink.output).to.match(
        /^tickstream: SIGTERM and the stop took over 5 s \(stopTimeoutMs\): abandoned [\d,]+ buffered records/m,
      );
    });

    it("rollup: SIGINT mid-transaction: exits within the bound with 130, naming the open transactions", async function () {
      keep();
      const rollup = frozen.rollup!;
      expectExit(rollup, await rollup.signal("SIGINT", { thaw: true }), 130);
      expect(rollup.output).to.match(
        /^tickstream: SIGINT and the stop took over 5 s \(stopTimeoutMs\): abandoned committing the open transactions/m,
      );
    });

    it("consume: SIGTERM while joining its group (start-up): exits at once with 143", async function () {
      const sink = sinkCommand(env());
      await sink.waitForOutput(/^joining group /m);
      expectExit(sink, await sink.signal("SIGTERM"), 143);
      expect(sink.output).to.match(
        /^tickstream: SIGTERM during start-up: abandoned connecting to the broker and joining group /m,
      );
    });

    it("start-up: rollup, produce and the dashboard, SIGTERM while connecting: exit at once with 143", async function () {
      const rollup = new Command(rollupArgs, env());
      const producer = new Command(["produce", "--topic", "produced-by-the-cli"], env());
      const dashboard = new Command(
        ["dashboard", "--port", "0", "--json"],
        env(),
        "dashboard-feed:1:SIGSTOP",
      );
      await rollup.waitForOutput(/^connecting to the broker at /m);
      await producer.waitForOutput(/^connecting to the broker at /m);
      await dashboard.waitForOutput(/fault point dashboard-feed #1 reached/);
      const [rollupCode, producerCode, dashboardCode] = await Promise.all([
        rollup.signal("SIGTERM"),
        producer.signal("SIGTERM"),
        dashboard.signal("SIGTERM", { thaw: true }),
      ]);
      expectExit(rollup, rollupCode, 143);
      expectExit(producer, producerCode, 143);
      expectExit(dashboard, dashboardCode, 143);
      expect(rollup.output).to.match(/^tickstream: SIGTERM during start-up: abandoned creating topic /m);
      expect(producer.output).to.match(
        /^tickstream: SIGTERM during start-up: abandoned connecting to the broker$/m,
      );
      expect(dashboard.output).to.match(
        /^tickstream: SIGTERM during start-up: abandoned connecting the live feed/m,
      );
    });
  });

  describe("the S3 server stopped", function () {
    after(async function () {
      this.timeout(60_000);
      await environment.s3.start();
    });

    it("consume: SIGTERM while publishing to a lake that is gone: exits within the bound with 143", async function () {
      await produceBatch("sink-s3-gone");
      const sink = sinkCommand(env(), "staged:1:SIGSTOP");
      await sink.waitForOutput(/fault point staged #1 reached/);
      await waitUntilFrozen(sink.child.pid!);
      expect((await environment.s3.stop()).stopped).to.equal(true);
      expectExit(sink, await sink.signal("SIGTERM", { thaw: true }), 143);
      expect(sink.output).to.match(
        /^tickstream: SIGTERM and the stop took over 5 s \(stopTimeoutMs\): abandoned /m,
      );
    });

    it("consume: a second SIGTERM while the stop waits for the lake: exits at once with 143", async function () {
      await environment.s3.start();
      await produceBatch("sink-second-signal");
      const sink = sinkCommand(env(), "staged:1:SIGSTOP");
      await sink.waitForOutput(/fault point staged #1 reached/);
      await waitUntilFrozen(sink.child.pid!);
      expect((await environment.s3.stop()).stopped).to.equal(true);
      sink.child.kill("SIGTERM");
      process.kill(sink.child.pid!, "SIGCONT");
      await sink.waitForOutput(/^flushing what is buffered/m);
      expectExit(sink, await sink.signal("SIGTERM"), 143);
      expect(sink.output).to.match(/^tickstream: second SIGTERM while stopping: abandoned /m);
    });
  });

  describe("afterwards, nothing lost and nothing twice", function () {
    it("the lake holds every acknowledged tick exactly once (counted with an independent Parquet reader)", async function () {
      this.timeout(240_000);
      const sink = sinkCommand(env());
      await sink.waitForOutput(/^lake sink consuming /m);
      await waitForGroupCaughtUp(
        brokers(),
        environment.settings.consumerGroup,
        environment.settings.topic,
        180_000,
      );
      expectExit(sink, await sink.signal("SIGTERM"), 0);
      const count = await countLake(environment.lake, produced);
      const total = [...produced.values()].reduce((sum, each) => sum + each, 0);
      // What was lost, per producer and as offset gaps per partition, and what each command said.
      const { counts, ranges } = await readLakeSeqs(environment.lake);
      const lostBy = [...produced].map(([producerId, each]) => {
        let missing = 0;
        for (let seq = 0; seq < each; seq++) if (!counts.has(`${producerId}#${seq}`)) missing++;
        return `${producerId}: ${missing} of ${each} missing`;
      });
      const sorted = [...ranges].sort((a, b) =>
        a.partition !== b.partition ? a.partition - b.partition : Number(a.firstOffset - b.firstOffset),
      );
      const gaps = sorted.flatMap((range, index) => {
        const previous = sorted[index - 1];
        return previous &&
          previous.partition === range.partition &&
          range.firstOffset > previous.lastOffset + 1n
          ? [
              `partition ${range.partition}: offsets ${previous.lastOffset + 1n}..${range.firstOffset - 1n} missing before ${range.key}`,
            ]
          : [];
      });
      expect(
        { landed: count.landed, lost: count.lost, duplicated: count.duplicated },
        [
          ...count.overlaps,
          ...lostBy,
          ...gaps,
          ...sinks.map((each, index) => `--- sink ${index + 1}:\n${each.output.slice(-2_500)}`),
        ].join("\n"),
      ).to.deep.equal({
        landed: total,
        lost: 0,
        duplicated: 0,
      });
    });

    it("the bar topic holds every bar once, equal to bars computed from the ticks", async function () {
      this.timeout(240_000);
      const total = [...produced.values()].reduce((sum, each) => sum + each, 0);
      const ticks = await readTicks(brokers(), environment.settings.topic, total);
      const reference = referenceBars(ticks);
      const rollup = new Command(rollupArgs, env());
      await rollup.waitForOutput(/^rollup: /m);
      await waitForGroupCaughtUp(
        brokers(),
        environment.settings.rollupGroup,
        environment.settings.topic,
        180_000,
      );
      await waitFor(
        async () =>
          (await readBars(brokers(), environment.settings.barsTopic, 1_000)).latest.size >= reference.size,
        {
          timeoutMs: 90_000,
          intervalMs: 2_000,
          describe: () => `not every bar came out:\n${rollup.output.slice(-2_000)}`,
        },
      );
      expectExit(rollup, await rollup.signal("SIGTERM"), 0);
      const bars = await readBars(brokers(), environment.settings.barsTopic);
      expect(bars.duplicates, "a bar emitted twice").to.deep.equal([]);
      expect(withoutRevisions(bars.latest)).to.deep.equal(reference);
    });
  });

  describe("the services on a stack's host, over the real sshd", function () {
    let sshd: SshServer;
    let hostRoot: string;
    let outputsFile: string;
    let outputs: Record<string, unknown>;
    const topic = uniqueName("services");
    const cli = (...args: string[]) =>
      runCli([...args, "--outputs", outputsFile, "--identity", sshd.clientKeyFile], process.env, 180_000);

    before(async function () {
      this.timeout(240_000);
      sshd = await startSshServer();
      hostRoot = await mkdtemp(path.join(tmpdir(), "tickstream-stophost-"));
      await createTestTopic(brokers(), topic);
      outputs = {
        brokerPublicIps: [sshd.host],
        bootstrapServers: "127.0.0.1:1",
        internalBootstrapServers: brokers().join(","),
        sshUser: sshd.username,
        sshPort: sshd.port,
        brokerHostKeys: [sshd.hostKeyFingerprint],
        lakeBucket: environment.lake.bucket,
        glueDatabase: "tickstream_test",
        crawlerName: "tickstream-test-crawler",
        athenaWorkgroup: "tickstream-test",
        region: environment.lake.region,
        hostRoot,
      };
      outputsFile = path.join(hostRoot, "outputs.json");
      await writeFile(outputsFile, JSON.stringify(outputs));
      const common = [
        `TICKSTREAM_TOPIC=${topic}`,
        `TICKSTREAM_S3_ENDPOINT=${environment.lake.endpoint}`,
        `AWS_ACCESS_KEY_ID=${environment.lake.credentials!.accessKeyId}`,
        `AWS_SECRET_ACCESS_KEY=${environment.lake.credentials!.secretAccessKey}`,
        `TICKSTREAM_STOP_TIMEOUT_MS=${STOP_TIMEOUT_MS}`,
        // The stack's Glue catalog in production (app deploy names it); this home's local one here.
        `TICKSTREAM_ICEBERG_CATALOG=file:${path.join(environment.home, "catalog", "iceberg")}`,
      ];
      const apps = {
        consumer: [
          `TICKSTREAM_GROUP=${uniqueName("services-sink")}`,
          "TICKSTREAM_FAULT_POINT=staged:1:SIGSTOP",
        ],
        rollup: [
          `TICKSTREAM_BARS_TOPIC=${uniqueName("services-bars")}`,
          `TICKSTREAM_ROLLUP_GROUP=${uniqueName("services-rollup")}`,
          "TICKSTREAM_ROLLUP_IDLE_CLOSE_MS=1000",
          "TICKSTREAM_FAULT_POINT=records-sent:1:SIGSTOP",
        ],
      };
      for (const [app, lines] of Object.entries(apps)) {
        const file = path.join(hostRoot, `${app}.settings.env`);
        await writeFile(file, [...common, ...lines].join("\n"));
        const deployed = await cli("app", "deploy", app, "--env-file", file);
        expect(deployed.exitCode, deployed.stderr).to.equal(0);
      }
    });
    after(async function () {
      this.timeout(120_000);
      const cluster = new RemoteCluster(parseStackOutputs(outputs, "test"), {
        identityFile: sshd.clientKeyFile,
      });
      await cluster.stopApps().catch(() => []);
      cluster.close();
      await sshd?.stop();
      await rm(hostRoot, { recursive: true, force: true });
      await environment.broker.start();
    });

    /** True once the process has a SIGTERM pending (sent while it is frozen). */
    async function sigtermPending(pid: number): Promise<boolean> {
      const status = await readFile(`/proc/${pid}/status`, "utf8").catch(() => "");
      const masks = [...status.matchAll(/^(?:SigPnd|ShdPnd):\s*([0-9a-f]+)$/gm)].map((match) =>
        BigInt(`0x${match[1]}`),
      );
      return masks.some((mask) => (mask & (1n << 14n)) !== 0n);
    }

    it("consumer mid-flush and rollup mid-transaction, the broker gone: `app stop` ends each before the unit's TimeoutStopSec, unkilled, each naming what it abandoned", async function () {
      this.timeout(240_000);
      await produceTicks(
        brokers(),
        topic,
        syntheticTicks({
          startMs: Date.UTC(2026, 11, 2, 14),
          count: 3_000,
          stepMs: 20,
          symbols: SYMBOLS,
          producerId: "services",
        }),
      );
      const pids: Record<string, number> = {};
      for (const app of ["consumer", "rollup"]) {
        expect((await cli("app", "start", app)).exitCode).to.equal(0);
        pids[app] = lastJsonLine<{ pid: number }>((await cli("app", "status", app, "--json")).stdout).pid;
      }
      for (const [app, step] of [
        ["consumer", "staged"],
        ["rollup", "records-sent"],
      ] as const)
        await waitFor(
          async () =>
            (await cli("app", "logs", app, "--lines", "100")).stdout.includes(
              `fault point ${step} #1 reached`,
            ),
          {
            timeoutMs: 90_000,
            intervalMs: 500,
            describe: () => `${app} never reached ${step}`,
          },
        );
      expect((await environment.broker.stop()).stopped).to.equal(true);
      const unit = await readFile(
        path.join(hostRoot, "var/lib/tickstream/apps/consumer.service.json"),
        "utf8",
      );
      expect(unit).to.include("consumer");
      for (const app of ["consumer", "rollup"]) {
        const stopping = cli("app", "stop", app, "--json");
        await waitFor(() => sigtermPending(pids[app]!), {
          timeoutMs: 60_000,
          intervalMs: 50,
          describe: () => `${app} got no SIGTERM`,
        });
        process.kill(pids[app]!, "SIGCONT");
        const stopped = await stopping;
        expect(stopped.exitCode, stopped.stderr).to.equal(0);
        expect(
          lastJsonLine(stopped.stdout),
          `${app}: killed after the grace period (TimeoutStopSec)`,
        ).to.deep.equal({ stopped: true, killed: false });
        const logs = (await cli("app", "logs", app, "--lines", "100")).stdout;
        expect(logs, logs).to.match(
          new RegExp(
            `${app}: SIGTERM and the stop took over 5 s \\(TICKSTREAM_STOP_TIMEOUT_MS\\): abandoned `,
          ),
        );
      }
    });
  });

  describe("logs --follow and quote polling, the other side silent", function () {
    /** A TCP server that accepts and never answers (a host or an endpoint that hangs); counts its connections. */
    let silent: Server;
    const sockets = new Set<Socket>();
    let dir: string;
    before(async function () {
      silent = createServer((socket) => sockets.add(socket));
      await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
      dir = await mkdtemp(path.join(tmpdir(), "tickstream-silent-"));
      await execa("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", path.join(dir, "key")]);
    });
    after(async function () {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => silent.close(() => resolve()));
      await rm(dir, { recursive: true, force: true });
    });
    const silentPort = () => (silent.address() as { port: number }).port;
    const connected = (before: number) =>
      waitFor(() => sockets.size > before, {
        timeoutMs: 60_000,
        intervalMs: 50,
        describe: () => "no connection came",
      });

    it("quotes logs --follow: SIGTERM while a CloudWatch request hangs: cancels it, exit 0", async function () {
      const outputsFile = path.join(dir, "quotes-outputs.json");
      await writeFile(
        outputsFile,
        JSON.stringify({
          brokerPublicIps: ["198.51.100.10"],
          bootstrapServers: "198.51.100.10:9092",
          lakeBucket: "tickstream-test",
          glueDatabase: "tickstream_test",
          crawlerName: "tickstream-test-crawler",
          athenaWorkgroup: "tickstream-test",
          region: "us-east-1",
          quotesFunctionName: "tickstream-quotes",
          quotesLogGroup: "/aws/lambda/tickstream-quotes",
        }),
      );
      const before = sockets.size;
      const following = new Command(["quotes", "logs", "--follow", "--outputs", outputsFile], {
        ...env(),
        AWS_ENDPOINT_URL: `http://127.0.0.1:${silentPort()}`,
        AWS_ACCESS_KEY_ID: "testing",
        AWS_SECRET_ACCESS_KEY: "testing",
        AWS_REGION: "us-east-1",
      });
      await following.waitForOutput(/following; Ctrl-C to stop/);
      await connected(before);
      expectExit(following, await following.signal("SIGTERM"), 0);
    });

    it("produce --source quotes:finnhub: SIGTERM while a poll's request hangs: the poll is cancelled, exit 0", async function () {
      // Another home on the same broker and S3 server, whose quote API is the silent server.
      const home = await createTestHome({
        brokerPort: environment.settings.brokerPort,
        controllerPort: environment.settings.controllerPort,
        s3Port: environment.settings.s3Port,
        quotesBaseUrl: `http://127.0.0.1:${silentPort()}`,
        stopTimeoutMs: STOP_TIMEOUT_MS,
      });
      try {
        const before = sockets.size;
        const polling = new Command(
          [
            "produce",
            "--source",
            "quotes:finnhub",
            "--symbols",
            "AAPL,MSFT",
            "--topic",
            "produced-by-the-cli",
          ],
          { ...process.env, TICKSTREAM_HOME: home, TICKSTREAM_QUOTES_API_KEY: "test-key" },
        );
        await connected(before);
        expectExit(polling, await polling.signal("SIGTERM"), 0);
        expect(polling.output).to.match(/stopping after the current poll/);
      } finally {
        await rm(home, { recursive: true, force: true });
      }
    });

    it("broker logs --follow: SIGINT while the SSH handshake hangs (start-up): exit 130 at once", async function () {
      const outputsFile = path.join(dir, "ssh-outputs.json");
      await writeFile(
        outputsFile,
        JSON.stringify({
          brokerPublicIps: ["127.0.0.1"],
          bootstrapServers: "127.0.0.1:1",
          sshUser: "nobody",
          sshPort: silentPort(),
          brokerHostKeys: ["SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"],
          lakeBucket: "tickstream-test",
          glueDatabase: "tickstream_test",
          crawlerName: "tickstream-test-crawler",
          athenaWorkgroup: "tickstream-test",
          region: "us-east-1",
        }),
      );
      const before = sockets.size;
      const following = new Command(
        ["broker", "logs", "--follow", "--outputs", outputsFile, "--identity", path.join(dir, "key")],
        env(),
      );
      await following.waitForOutput(/^connecting to .* over SSH/m);
      await connected(before);
      expectExit(following, await following.signal("SIGINT"), 130);
      expect(following.output).to.match(
        /^tickstream: SIGINT during start-up: abandoned connecting to .* over SSH$/m,
      );
    });
  });
});
