/**
 * A rolling restart: one broker at a time, each time waiting until it is back in the cluster and no partition
 * is under-replicated before the next, stopping at the first failure. With replication factor 3 and
 * min.insync.replicas 2, producers with acks=all keep writing throughout.
 */
import { ServiceError, errorMessage } from "../../apps/shared/errors.ts";
import { sleep } from "../../apps/shared/retry.ts";
import type { ServiceManager } from "../services/service-manager.ts";
import { clusterHealth } from "./cluster-health.ts";

export interface RestartableBroker {
  readonly nodeId: number;
  readonly service: ServiceManager;
}

export interface RollingRestartOptions {
  readonly bootstrapServers: readonly string[];
  /** How long each broker may take to rejoin and the cluster to heal. */
  readonly healTimeoutMs?: number;
  readonly onProgress?: (message: string) => void;
}

export async function waitUntilHealthy(
  bootstrapServers: readonly string[],
  nodeId: number,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = "no answer yet";
  while (Date.now() < deadline) {
    try {
      const health = await clusterHealth(bootstrapServers);
      const present = health.brokers.some((broker) => broker.nodeId === nodeId);
      if (present && health.controller !== null && health.underReplicatedPartitions === 0) return;
      last = present
        ? `${health.underReplicatedPartitions} under-replicated partitions`
        : `broker ${nodeId} not in the cluster yet`;
    } catch (error) {
      last = errorMessage(error);
    }
    await sleep(1_000);
  }
  throw new ServiceError(
    `broker ${nodeId} did not rejoin a healthy cluster within ${timeoutMs / 1000} s (${last}); stopping the rolling restart`,
  );
}

export async function rollingRestart(
  brokers: readonly RestartableBroker[],
  options: RollingRestartOptions,
): Promise<void> {
  const timeoutMs = options.healTimeoutMs ?? 300_000;
  options.onProgress?.("checking that the cluster is healthy before the first restart");
  await waitUntilHealthy(options.bootstrapServers, brokers[0]!.nodeId, timeoutMs);
  for (const broker of brokers) {
    options.onProgress?.(`restarting broker ${broker.nodeId}`);
    await broker.service.stop();
    const started = await broker.service.start();
    options.onProgress?.(
      `broker ${broker.nodeId} started (pid ${started.pid}); waiting until it is back and nothing is under-replicated`,
    );
    await waitUntilHealthy(options.bootstrapServers, broker.nodeId, timeoutMs);
    options.onProgress?.(`broker ${broker.nodeId} is back`);
  }
}
