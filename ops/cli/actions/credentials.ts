/** What `tickstream credentials rotate` does (commands/credentials.ts registers it). */
import type { RotatablePrincipal } from "../../../infra/bootstrap/principals.ts";
import { loadStackOutputs } from "../../environments/stack-outputs.ts";
import { useStackSecurity } from "../../environments/stack-security.ts";
import { RemoteCluster } from "../../remote/remote-cluster.ts";
import { rotateCredentials } from "../../remote/rotate-credentials.ts";
import type { CredentialsOptions } from "../commands/credentials.ts";
import type { Output } from "../output.ts";

export async function rotate(
  output: Output,
  options: CredentialsOptions,
  principal: RotatablePrincipal,
): Promise<void> {
  const outputs = await loadStackOutputs(options);
  await useStackSecurity(outputs);
  const cluster = new RemoteCluster(outputs, {
    identityFile: options.identity,
    knownHostsFile: options.knownHosts,
  });
  try {
    const result = await rotateCredentials(cluster, principal, (message) => output.progress(message));
    const restarted = result.hosts.filter((host) => host.restarted).map((host) => `broker ${host.nodeId}`);
    output.result(
      result,
      `${principal}: new password in Kafka and in its SSM parameter` +
        (principal === "ops"
          ? ""
          : restarted.length > 0
            ? `; ${principal} restarted on ${restarted.join(", ")}`
            : `; no running ${principal} to restart`),
    );
  } finally {
    cluster.close();
  }
}
