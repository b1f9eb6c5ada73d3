/**
 * A stand-in for the EC2 instance metadata service (IMDSv2) on loopback: a token from PUT /latest/api/token,
 * required on every GET. It hands out loopback addresses as the instance's public and private IPs, a region,
 * and the instance role's temporary credentials.
 */
import { createServer, type Server } from "node:http";
import { randomUUID } from "node:crypto";

/** The instance's region and role, as IMDS reports them (the role's credentials are moto's "testing"). */
export const IMDS_REGION = "us-east-1";
export const IMDS_ROLE = "tickstream-broker";

export interface ImdsStub {
  readonly endpoint: string;
  /** Requests made, as "METHOD path status". */
  readonly requests: string[];
  close(): Promise<void>;
}

export async function startImdsStub(options: {
  publicIp: string;
  privateIp: string;
  /** Answer this many public-ipv4 reads with another address first, as before the Elastic IP is associated. */
  publicIpLaterAfter?: number;
  ephemeralPublicIp?: string;
}): Promise<ImdsStub> {
  const tokens = new Set<string>();
  const requests: string[] = [];
  let publicReads = 0;
  const server: Server = createServer((request, response) => {
    const answer = (status: number, body = "") => {
      requests.push(`${request.method} ${request.url} ${status}`);
      response.writeHead(status, { "content-type": "text/plain" }).end(body);
    };
    if (request.method === "PUT" && request.url === "/latest/api/token") {
      if (!request.headers["x-aws-ec2-metadata-token-ttl-seconds"]) return answer(400);
      const token = randomUUID();
      tokens.add(token);
      return answer(200, token);
    }
    if (request.method !== "GET") return answer(405);
    if (!tokens.has(String(request.headers["x-aws-ec2-metadata-token"] ?? ""))) return answer(401);
    if (request.url === "/latest/meta-data/local-ipv4") return answer(200, options.privateIp);
    if (request.url === "/latest/meta-data/placement/region") return answer(200, IMDS_REGION);
    if (request.url === "/latest/meta-data/iam/security-credentials/") return answer(200, IMDS_ROLE);
    if (request.url === `/latest/meta-data/iam/security-credentials/${IMDS_ROLE}`)
      return answer(
        200,
        JSON.stringify({
          Code: "Success",
          Type: "AWS-HMAC",
          AccessKeyId: "testing",
          SecretAccessKey: "testing",
          Token: "testing-session-token",
          Expiration: new Date(Date.now() + 3_600_000).toISOString(),
        }),
      );
    if (request.url === "/latest/meta-data/public-ipv4") {
      publicReads++;
      const early = publicReads <= (options.publicIpLaterAfter ?? 0);
      return answer(200, early ? (options.ephemeralPublicIp ?? "127.0.0.99") : options.publicIp);
    }
    return answer(404);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  return {
    endpoint: `http://127.0.0.1:${port}`,
    requests,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
