/**
 * Kafka's own load tools, from the kafka-tools jar the project already fetches: the denominators of the bench's
 * ratios. `ProducerPerformance` sends fixed-size records as fast as it can; `ConsumerPerformance` reads a topic.
 */
import { execa } from "execa";
import path from "node:path";
import { ServiceError } from "../../apps/shared/errors.ts";
import { javaExecutable } from "../kafka/java.ts";

export interface ToolRun {
  readonly records: number;
  readonly recordsPerSecond: number;
}

function classpath(kafkaLibs: string): string {
  return path.join(kafkaLibs, "*");
}

async function runTool(kafkaLibs: string, mainClass: string, args: string[]): Promise<string> {
  const result = await execa(javaExecutable(), ["-Xmx1g", "-cp", classpath(kafkaLibs), mainClass, ...args], {
    reject: false,
    timeout: 900_000,
    all: true,
  });
  if (result.exitCode !== 0)
    throw new ServiceError(`${mainClass} failed: ${(result.all ?? "").trim().split("\n").at(-1)}`);
  return result.stdout;
}

/** `ProducerPerformance --record-size SIZE --throughput -1` with acks=all; its final line's records/sec. */
export async function javaProducerPerformance(options: {
  kafkaLibs: string;
  bootstrapServers: readonly string[];
  topic: string;
  records: number;
  recordSize: number;
}): Promise<ToolRun> {
  const stdout = await runTool(options.kafkaLibs, "org.apache.kafka.tools.ProducerPerformance", [
    "--topic",
    options.topic,
    "--num-records",
    String(options.records),
    "--record-size",
    String(options.recordSize),
    "--throughput",
    "-1",
    "--producer-props",
    `bootstrap.servers=${options.bootstrapServers.join(",")}`,
    "acks=all",
  ]);
  // "500000 records sent, 64600.3 records/sec (9.24 MB/sec), ..." is the last summary line.
  const summary = [...stdout.matchAll(/^(\d+) records sent, ([\d.]+) records\/sec/gm)].at(-1);
  if (!summary) throw new ServiceError(`ProducerPerformance printed no summary: ${stdout.slice(-300)}`);
  return { records: Number(summary[1]), recordsPerSecond: Number(summary[2]) };
}

/** `ConsumerPerformance` over the whole topic; its `nMsg.sec` (messages per second, start-up included). */
export async function javaConsumerPerformance(options: {
  kafkaLibs: string;
  bootstrapServers: readonly string[];
  topic: string;
  records: number;
}): Promise<ToolRun> {
  const stdout = await runTool(options.kafkaLibs, "org.apache.kafka.tools.ConsumerPerformance", [
    "--bootstrap-server",
    options.bootstrapServers.join(","),
    "--topic",
    options.topic,
    "--messages",
    String(options.records),
    "--timeout",
    "60000",
  ]);
  const lines = stdout.trim().split("\n");
  const header = lines.findIndex((line) => line.includes("nMsg.sec"));
  if (header < 0 || !lines[header + 1])
    throw new ServiceError(`ConsumerPerformance printed no result: ${stdout.slice(-300)}`);
  const names = lines[header]!.split(",").map((name) => name.trim());
  const values = lines[header + 1]!.split(",").map((value) => value.trim());
  const at = (name: string) => Number(values[names.indexOf(name)]);
  return { records: at("data.consumed.in.nMsg"), recordsPerSecond: at("nMsg.sec") };
}
