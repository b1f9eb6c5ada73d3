import { expect } from "chai";
import { createServer, type Server } from "node:net";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { execa } from "execa";
import { tmpdir } from "node:os";
import path from "node:path";
import { HostError } from "../../apps/shared/errors.ts";
import { SshHost, type SshTarget } from "../../ops/hosts/ssh-host.ts";
import { PlainSupervisor } from "../../ops/services/plain-supervisor.ts";
import { freePort } from "../helpers/ports.ts";
import { startSshServer, type SshServer } from "../helpers/sshd.ts";

describe("SSH host against a real OpenSSH server @integration", function () {
  let sshd: SshServer;
  let host: SshHost;
  let scratch: string;
  const target = (overrides: Partial<SshTarget> = {}): SshTarget => ({
    host: sshd.host,
    port: sshd.port,
    username: sshd.username,
    hostKeyFingerprints: [sshd.hostKeyFingerprint],
    privateKey: sshd.clientKey,
    ...overrides,
  });

  before(async function () {
    sshd = await startSshServer();
    host = await SshHost.connect(target());
    scratch = await mkdtemp(path.join(tmpdir(), "tickstream-ssh-scratch-"));
  });
  after(async function () {
    host?.close();
    await sshd?.stop();
    await rm(scratch, { recursive: true, force: true });
  });

  it("runs a command and returns its exit code, stdout and stderr", async function () {
    const result = await host.exec("sh", ["-c", "echo out; echo err >&2; exit 3"]);
    expect(result).to.deep.equal({ exitCode: 3, stdout: "out\n", stderr: "err\n" });
  });

  it("is not fooled by values containing ;, $() or quotes", async function () {
    const marker = path.join(scratch, "injected");
    const values = [
      `a; touch ${marker}`,
      `$(touch ${marker})`,
      `\`touch ${marker}\``,
      `it's "quoted" && touch ${marker}`,
      "| touch x",
      "*",
    ];
    const result = await host.exec("printf", ["%s\\n", ...values], {
      env: { VALUE: `$(touch ${marker})` },
      cwd: scratch,
    });
    expect(result.stdout.split("\n").slice(0, -1)).to.deep.equal(values);
    expect(existsSync(marker), "nothing was injected").to.equal(false);
    const written = path.join(scratch, "a file; with $(odd) 'name'");
    await host.writeFile(written, "content");
    expect(await host.readFile(written)).to.equal("content");
    expect(existsSync(marker)).to.equal(false);
  });

  it("reads, writes and tests files, over SFTP and commands", async function () {
    const file = path.join(scratch, "dir/settings.env");
    await host.writeFile(file, "A=1\n", { mode: 0o600 });
    expect(await host.readFile(file)).to.equal("A=1\n");
    expect(await host.pathExists(file)).to.equal(true);
    expect(await host.readFile(path.join(scratch, "missing"))).to.equal(undefined);
    await host.removePath(path.join(scratch, "dir"));
    expect(await host.pathExists(file)).to.equal(false);
  });

  it("supervises a background process that outlives the SSH session", async function () {
    const spec = {
      name: "sleeper",
      command: "sleep",
      args: ["300"],
      pidFile: path.join(scratch, "sleeper.pid"),
      logFile: path.join(scratch, "sleeper.log"),
      commandMarker: "sleep",
      // A working directory too: the process, not the `cd`, must be what runs in the background.
      cwd: scratch,
    };
    const launching = await SshHost.connect(target());
    const started = await new PlainSupervisor(launching, spec).start();
    expect(started.started).to.equal(true);
    expect(
      (await new PlainSupervisor(launching, spec).start()).started,
      "a second start starts nothing",
    ).to.equal(false);
    // End the session that launched it, then look from a new one: the process must still be there.
    launching.close();
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    const looking = await SshHost.connect(target());
    try {
      const supervisor = new PlainSupervisor(looking, spec);
      expect(await supervisor.status()).to.include({ running: true, pid: started.pid });
      expect(await supervisor.stop({ graceMs: 5_000 })).to.deep.equal({ stopped: true, killed: false });
      expect((await supervisor.status()).running).to.equal(false);
    } finally {
      looking.close();
    }
  });

  // The test's login user is root, so sudo is forced: what is checked is that every path (commands, files,
  // background processes) goes through the real `sudo -n`, which sets SUDO_USER in what it runs.
  it("runs commands, writes files and starts background processes through sudo -n when told to (a non-root login user)", async function () {
    const sudoHost = await SshHost.connect(target({ sudo: true }));
    try {
      expect((await sudoHost.exec("printenv", ["SUDO_USER"])).stdout.trim()).to.equal(sshd.username);
      // mktemp's files: the upload goes through one each, removed after `sudo install`.
      const temporaryFiles = async () =>
        (await execa("sh", ["-c", "ls -d /tmp/tmp.* 2>/dev/null | sort || true"])).stdout;
      const before = await temporaryFiles();
      const file = path.join(scratch, "root-owned/server.properties");
      await sudoHost.writeFile(file, "a=1\n", { mode: 0o600 });
      await sudoHost.writeFile(file, "a=2\n", { mode: 0o640 });
      expect(await sudoHost.readFile(file)).to.equal("a=2\n");
      expect((await execa("stat", ["-c", "%a %U", file])).stdout).to.equal("640 root");
      expect(await temporaryFiles(), "the temporary files were removed").to.equal(before);
      const pid = await sudoHost.launch({
        command: "sleep",
        args: ["120"],
        logFile: path.join(scratch, "root-owned/sleep.log"),
      });
      // The pid echoed execs nohup, then setsid, then sleep: read its environment once it is sleep, since
      // /proc/PID/environ is empty while an exec is half done (the kernel reports no environment until the new
      // image's is set up; seen in CI).
      const deadline = Date.now() + 10_000;
      while ((await readFile(`/proc/${pid}/cmdline`, "utf8")).split("\0")[0] !== "sleep") {
        expect(Date.now(), "the launched process became sleep within 10 s").to.be.below(deadline);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      const environ = await readFile(`/proc/${pid}/environ`, "utf8");
      expect(environ.split("\0"), "the process itself (not sudo) was started by sudo").to.include(
        `SUDO_USER=${sshd.username}`,
      );
      await sudoHost.signal(pid, "SIGKILL");
    } finally {
      sudoHost.close();
    }
  });

  it("refuses a host whose key does not match, having executed nothing", async function () {
    const marker = path.join(scratch, "should-not-exist");
    const wrong = "SHA256:" + "A".repeat(43);
    const error = await SshHost.connect(target({ hostKeyFingerprints: [wrong] })).then(
      (connected) => connected.exec("touch", [marker]).then(() => undefined),
      (caught: Error) => caught,
    );
    expect(error).to.be.instanceOf(HostError);
    expect(error!.message).to.equal(
      `host key mismatch for ${sshd.username}@127.0.0.1:${sshd.port}: it offered ${sshd.hostKeyFingerprint}, expected ${wrong}; nothing was run`,
    );
    expect(existsSync(marker)).to.equal(false);
  });

  it("refuses to connect without a pinned host key", async function () {
    const error = await SshHost.connect(target({ hostKeyFingerprints: [] })).catch((caught: Error) => caught);
    expect((error as Error).message).to.match(/^no pinned host key for .*: refusing to connect without one$/);
  });

  it("reports a closed port at once and a silent host within its timeout", async function () {
    const closed = await SshHost.connect(target({ port: await freePort() })).catch((caught: Error) => caught);
    expect((closed as Error).message).to.match(/^cannot reach .*: ECONNREFUSED$/);

    // A listener that accepts and never speaks SSH, like a host behind a broken proxy.
    // Its accepted sockets are destroyed after: unread, one would sit in CLOSE-WAIT and keep mocha alive.
    const accepted: import("node:net").Socket[] = [];
    const silent: Server = createServer((socket) => void accepted.push(socket));
    await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
    const { port } = silent.address() as { port: number };
    const startedAt = Date.now();
    const error = await SshHost.connect(target({ port, connectTimeoutMs: 1_500 })).catch(
      (caught: Error) => caught,
    );
    const elapsed = Date.now() - startedAt;
    for (const socket of accepted) socket.destroy();
    silent.close();
    expect((error as Error).message).to.equal(
      `${sshd.username}@127.0.0.1:${port} did not answer within 1500 ms`,
    );
    expect(elapsed).to.be.lessThan(10_000);
  });

  it("refuses a key the server does not authorize", async function () {
    const strangerFile = path.join(scratch, "stranger");
    await execa("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", strangerFile]);
    const error = await SshHost.connect(target({ privateKey: await readFile(strangerFile, "utf8") })).catch(
      (caught: Error) => caught,
    );
    expect((error as Error).message).to.equal(
      `${sshd.username}@127.0.0.1:${sshd.port} refused our SSH key (user ${sshd.username})`,
    );
    const garbage = await SshHost.connect(target({ privateKey: "not a key" })).catch(
      (caught: Error) => caught,
    );
    expect((garbage as Error).message).to.match(
      /^the SSH key for .* cannot be used: Cannot parse privateKey/,
    );
  });
});
