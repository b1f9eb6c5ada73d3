/** `tickstream demo`: the whole pipeline locally, then a summary. */
import type { Command } from "commander";
import { commandAction, withCommonOptions } from "../command.ts";
import { positiveInteger } from "../options.ts";
import type { Output } from "../output.ts";
import { addSourceOptions } from "./produce.ts";

export interface DemoCommandOptions {
  count: number;
  source: string;
  rate?: number;
  seed?: string;
}

export function registerDemoCommand(program: Command): void {
  withCommonOptions(
    addSourceOptions(
      program
        .command("demo")
        .description("run the whole pipeline locally (broker, S3, producer, lake sink) and audit the lake"),
    ).option("--count <n>", "how many ticks", positiveInteger, 100_000),
  ).action(
    commandAction(async (output: Output, options: DemoCommandOptions) =>
      (await import("../actions/demo.ts")).run(output, options),
    ),
  );
}
