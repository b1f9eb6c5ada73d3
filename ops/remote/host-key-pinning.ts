/**
 * Pins the brokers' SSH host keys from a source SSH cannot spoof: the instances' console output, read through
 * the authenticated EC2 API, where cloud-init prints the host's public keys at first boot. The keys go into a
 * known_hosts file, which the ops commands then verify every connection against.
 */
import { EC2Client, GetConsoleOutputCommand } from "@aws-sdk/client-ec2";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { ServiceError } from "../../apps/shared/errors.ts";
import type { StackOutputs } from "../environments/stack-outputs.ts";
import { knownHostFingerprints } from "../hosts/known-hosts.ts";

const KEY_TYPES = /^(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp(?:256|384|521)) [A-Za-z0-9+/=]+/;

/** The public keys in cloud-init's "SSH HOST KEY KEYS" block (the last one, if the host booted more than once). */
export function hostKeysFromConsole(consoleText: string): string[] {
  const blocks = consoleText.split("-----BEGIN SSH HOST KEY KEYS-----");
  if (blocks.length < 2) return [];
  const block = blocks.at(-1)!.split("-----END SSH HOST KEY KEYS-----")[0]!;
  return block
    .split("\n")
    .map((line) => line.replace(/^.*?(?=(ssh-ed25519|ssh-rsa|ecdsa-sha2-))/, "").trim())
    .map((line) => KEY_TYPES.exec(line)?.[0])
    .filter((key): key is string => key !== undefined);
}

function knownHostsName(address: string, port: number): string {
  return port === 22 ? address : `[${address}]:${port}`;
}

/** Replaces the host's entries in a known_hosts file with `keys`; returns their fingerprints. */
export async function writeKnownHosts(
  file: string,
  address: string,
  port: number,
  keys: readonly string[],
): Promise<string[]> {
  const name = knownHostsName(address, port);
  const existing = await readFile(file, "utf8").catch(() => "");
  const kept = existing.split("\n").filter((line) => line.trim() !== "" && line.split(/\s+/)[0] !== name);
  const text = [...kept, ...keys.map((key) => `${name} ${key}`)].join("\n") + "\n";
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(file, text, { mode: 0o600 });
  return knownHostFingerprints(text, address, port);
}

export interface PinnedHost {
  readonly nodeId: number;
  readonly address: string;
  readonly instanceId: string;
  readonly fingerprints: string[];
}

export async function pinBrokerHostKeys(
  outputs: StackOutputs,
  knownHostsFile: string,
  ec2: EC2Client = new EC2Client({ region: outputs.region }),
): Promise<PinnedHost[]> {
  const instanceIds = outputs.brokerInstanceIds ?? [];
  if (instanceIds.length !== outputs.brokerPublicIps.length) {
    throw new ServiceError(
      "the stack outputs have no brokerInstanceIds for every broker: update the stack (pulumi up) first",
    );
  }
  const pinned: PinnedHost[] = [];
  for (const [index, instanceId] of instanceIds.entries()) {
    const response = await ec2.send(new GetConsoleOutputCommand({ InstanceId: instanceId, Latest: true }));
    const text = Buffer.from(response.Output ?? "", "base64").toString("utf8");
    const keys = hostKeysFromConsole(text);
    if (keys.length === 0) {
      throw new ServiceError(
        `no SSH host keys in the console output of ${instanceId} yet: cloud-init prints them at first boot; try again in a minute`,
      );
    }
    const address = outputs.brokerPublicIps[index]!;
    pinned.push({
      nodeId: index + 1,
      address,
      instanceId,
      fingerprints: await writeKnownHosts(knownHostsFile, address, outputs.sshPort, keys),
    });
  }
  return pinned;
}
