/**
 * A real OpenSSH server (Debian's openssh-server) on a free loopback port, with a fresh host key and a fresh
 * authorized client key, standing in for a broker host. Its host key is pinned by fingerprint, as in a stack's outputs.
 */
import { execa, type ResultPromise } from "execa";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { userInfo, tmpdir } from "node:os";
import path from "node:path";
import { connect } from "node:net";
import { waitFor } from "../../apps/shared/retry.ts";
import { freePort } from "./ports.ts";

export interface SshServer {
  readonly host: string;
  readonly port: number;
  readonly username: string;
  /** `SHA256:…` of the server's host key, as `ssh-keygen -lf` prints it. */
  readonly hostKeyFingerprint: string;
  readonly clientKeyFile: string;
  readonly clientKey: string;
  readonly dir: string;
  stop(): Promise<void>;
}

async function keygen(file: string): Promise<void> {
  await execa("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "tickstream-test", "-f", file]);
}

export async function fingerprintOf(publicKeyFile: string): Promise<string> {
  const { stdout } = await execa("ssh-keygen", ["-lf", publicKeyFile]);
  return stdout.split(" ")[1]!;
}

export interface SshServerOptions {
  readonly listenAddress?: string;
  /** Default a free port; several servers on different loopback addresses may share one, as a stack's hosts do. */
  readonly port?: number;
  /** Authorize this existing client key (its `.pub` beside it) instead of a fresh one: one key for several hosts. */
  readonly clientKeyFile?: string;
  /**
   * The host's own files: sshd runs in a mount namespace of its own (`unshare --mount`, root only) where `source`
   * is bind-mounted at `target`, so everything run over this server (and every process it starts) sees its own
   * folder at the same path. Several servers so set up are separate hosts with their own root on one machine.
   */
  readonly bindMount?: { readonly source: string; readonly target: string };
}

export async function startSshServer(options: SshServerOptions = {}): Promise<SshServer> {
  const listenAddress = options.listenAddress ?? "127.0.0.1";
  const dir = await mkdtemp(path.join(tmpdir(), "tickstream-sshd-"));
  const port = options.port ?? (await freePort());
  await keygen(path.join(dir, "host_key"));
  const clientKeyFile = options.clientKeyFile ?? path.join(dir, "client_key");
  if (options.clientKeyFile === undefined) await keygen(clientKeyFile);
  await writeFile(path.join(dir, "authorized_keys"), await readFile(`${clientKeyFile}.pub`), {
    mode: 0o600,
  });
  await writeFile(
    path.join(dir, "sshd_config"),
    [
      `Port ${port}`,
      `ListenAddress ${listenAddress}`,
      `HostKey ${dir}/host_key`,
      `PidFile ${dir}/sshd.pid`,
      `AuthorizedKeysFile ${dir}/authorized_keys`,
      "PasswordAuthentication no",
      "KbdInteractiveAuthentication no",
      "PubkeyAuthentication yes",
      "PermitRootLogin prohibit-password",
      "StrictModes no",
      "UsePAM no",
      "Subsystem sftp internal-sftp",
      "LogLevel VERBOSE",
      "",
    ].join("\n"),
  );
  // sshd's privilege separation directory, which a machine without a running sshd may lack.
  await mkdir("/run/sshd", { recursive: true, mode: 0o755 });
  const sshd = ["/usr/sbin/sshd", "-D", "-e", "-f", path.join(dir, "sshd_config")];
  const server: ResultPromise = options.bindMount
    ? // sh mounts in the new namespace, then becomes sshd (same pid, so kill and exit code are sshd's).
      execa(
        "unshare",
        [
          "--mount",
          "--propagation",
          "private",
          "--",
          "/bin/sh",
          "-c",
          'mount --bind "$1" "$2" && shift 2 && exec "$@"',
          "sh",
          options.bindMount.source,
          options.bindMount.target,
          ...sshd,
        ],
        { reject: false, all: true },
      )
    : execa(sshd[0]!, sshd.slice(1), { reject: false, all: true });
  await waitFor(
    async () => {
      if (server.exitCode !== null && server.exitCode !== undefined)
        throw new Error(`sshd exited: ${(await server).all}`);
      return new Promise<boolean>((resolve) => {
        const socket = connect(port, listenAddress, () => {
          socket.destroy();
          resolve(true);
        }).on("error", () => resolve(false));
      });
    },
    {
      timeoutMs: 20_000,
      intervalMs: 100,
      describe: () => `sshd did not listen on ${listenAddress}:${port} (is openssh-server installed?)`,
    },
  );
  return {
    host: listenAddress,
    port,
    username: userInfo().username,
    hostKeyFingerprint: await fingerprintOf(path.join(dir, "host_key.pub")),
    clientKeyFile,
    clientKey: await readFile(clientKeyFile, "utf8"),
    dir,
    async stop() {
      server.kill("SIGTERM");
      await server;
      await rm(dir, { recursive: true, force: true });
    },
  };
}
