/**
 * A Kafka download mirror on loopback, laid out as archive.apache.org/dist/kafka is:
 * <version>/kafka_2.13-<version>.tgz and its .sha512 in Apache's format ("name: HEX HEX ..." over several lines).
 * The archive is a real tarball of the release's jars from Maven Central.
 */
import { execa } from "execa";
import { createHash } from "node:crypto";
import { mkdir, mkdtemp, readFile, rm, symlink } from "node:fs/promises";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";

export interface KafkaMirror {
  readonly url: string;
  /** When set, the .sha512 served names other bytes than the archive's. */
  corruptChecksum: boolean;
  /**
   * How many more .sha512 requests get the true checksum before every later one gets a wrong one (default
   * Infinity): with one download per broker, in order, N makes the download of broker N+1 fail its check.
   */
  trueChecksumsLeft: number;
  readonly requests: string[];
  close(): Promise<void>;
}

/** Apache's checksum layout, as `gpg --print-md SHA512` writes it. */
export function apacheSha512(name: string, body: Buffer): string {
  const groups = createHash("sha512").update(body).digest("hex").toUpperCase().match(/.{8}/g)!;
  const lines: string[] = [];
  for (let index = 0; index < groups.length; index += 4) lines.push(groups.slice(index, index + 4).join(" "));
  return `${name}: ${lines.join("\n" + " ".repeat(name.length + 2))}\n`;
}

export async function startKafkaMirror(version: string, libsDir: string): Promise<KafkaMirror> {
  const work = await mkdtemp(path.join(tmpdir(), "tickstream-mirror-"));
  const release = `kafka_2.13-${version}`;
  await mkdir(path.join(work, release));
  await symlink(libsDir, path.join(work, release, "libs"));
  const archive = path.join(work, `${release}.tgz`);
  await execa("tar", ["-czhf", archive, "-C", work, release]);
  const body = await readFile(archive);
  const checksum = apacheSha512(`${release}.tgz`, body);
  const mirror: KafkaMirror = {
    url: "",
    corruptChecksum: false,
    trueChecksumsLeft: Infinity,
    requests: [],
    async close() {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await rm(work, { recursive: true, force: true });
    },
  };
  const server = http.createServer((request, response) => {
    mirror.requests.push(request.url ?? "");
    if (request.url === `/${version}/${release}.tgz`) {
      response.writeHead(200, { "content-type": "application/gzip" }).end(body);
    } else if (request.url === `/${version}/${release}.tgz.sha512`) {
      const corrupt = mirror.corruptChecksum || mirror.trueChecksumsLeft <= 0;
      if (!corrupt) mirror.trueChecksumsLeft--;
      const served = corrupt ? apacheSha512(`${release}.tgz`, Buffer.from("other")) : checksum;
      response.writeHead(200, { "content-type": "text/plain" }).end(served);
    } else {
      response.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  (mirror as { url: string }).url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return mirror;
}
