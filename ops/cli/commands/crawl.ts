/** `tickstream crawl`: catalog the lake. Glue's crawler for a stack, the local crawler otherwise. */
import type { Command } from "commander";
import { commandAction, withCommonOptions } from "../command.ts";
import type { Output } from "../output.ts";

export interface CrawlOptions {
  outputs?: string;
  stack?: string;
}

export function registerCrawlCommand(program: Command): void {
  withCommonOptions(
    program
      .command("crawl")
      .description("catalog the lake: the stack's Glue crawler, or the local crawler")
      .option(
        "--stack <name>",
        "crawl in AWS for this Pulumi stack (reads its outputs; needs the Pulumi CLI)",
      )
      .option("--outputs <file>", "a stack's outputs (pulumi stack output --json): crawl in AWS"),
  ).action(
    commandAction(async (output: Output, options: CrawlOptions) =>
      (await import("../actions/crawl.ts")).run(output, options),
    ),
  );
}
