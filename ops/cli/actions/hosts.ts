/** What `tickstream hosts pin` does (commands/hosts.ts registers it). */
import { loadStackOutputs } from "../../environments/stack-outputs.ts";
import { pinBrokerHostKeys } from "../../remote/host-key-pinning.ts";
import type { PinOptions } from "../commands/hosts.ts";
import { formatPairs, type Output } from "../output.ts";

export async function pin(output: Output, options: PinOptions): Promise<void> {
  const pinned = await pinBrokerHostKeys(await loadStackOutputs(options), options.knownHosts);
  output.result(
    pinned,
    formatPairs(
      pinned.map((host) => [
        `broker ${host.nodeId} (${host.address}, ${host.instanceId})`,
        host.fingerprints.join(" "),
      ]),
    ) + `\nwritten to ${options.knownHosts}`,
  );
}
