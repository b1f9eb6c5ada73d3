/** `tickstream quotes invoke|logs --stack NAME`: the stack's scheduled quote poller (infra/components/quote-poller.ts). */
import { CloudWatchLogsClient, FilterLogEventsCommand } from "@aws-sdk/client-cloudwatch-logs";
import { InvokeCommand, LambdaClient } from "@aws-sdk/client-lambda";
import type { Command } from "commander";
import { ConfigError, ServiceError } from "../../../apps/shared/errors.ts";
import { sleep } from "../../../apps/shared/retry.ts";
import { loadStackOutputs, type StackOutputs } from "../../environments/stack-outputs.ts";
import { commandAction, withCommonOptions } from "../command.ts";
import { duration } from "../options.ts";
import { formatPairs, type Output } from "../output.ts";
import { untilStopped } from "../signals.ts";

interface StackOptions {
  stack?: string;
  outputs?: string;
}

function withStackOptions(command: Command): Command {
  return withCommonOptions(command)
    .option("--stack <name>", "the Pulumi stack (reads its outputs; needs the Pulumi CLI)")
    .option("--outputs <file>", "a stack's outputs (pulumi stack output --json)");
}

async function pollerOf(
  options: StackOptions,
): Promise<StackOutputs & { quotesFunctionName: string; quotesLogGroup: string }> {
  const outputs = await loadStackOutputs(options);
  if (!outputs.quotesFunctionName || !outputs.quotesLogGroup)
    throw new ConfigError(
      "the stack has no quote poller: set tickstream:quotePoller and tickstream:quotesApiKey, then pulumi up",
    );
  return outputs as StackOutputs & { quotesFunctionName: string; quotesLogGroup: string };
}

export function registerQuotesCommands(program: Command): void {
  const quotes = program.command("quotes").description("the stack's scheduled quote poller (a Lambda)");
  withStackOptions(
    quotes.command("invoke").description("run the poller once now and print what it produced"),
  ).action(
    commandAction(async (output: Output, options: StackOptions) => {
      const poller = await pollerOf(options);
      const lambda = new LambdaClient({ region: poller.region });
      try {
        output.progress(`invoking ${poller.quotesFunctionName}...`);
        const answer = await lambda.send(
          new InvokeCommand({
            FunctionName: poller.quotesFunctionName,
            InvocationType: "RequestResponse",
            // What the handler gets from the schedule, marked as coming from the CLI.
            Payload: Buffer.from(
              JSON.stringify({ source: "tickstream.cli", "detail-type": "Manual invocation" }),
            ),
          }),
        );
        const text = answer.Payload ? Buffer.from(answer.Payload).toString("utf8") : "";
        if (answer.FunctionError) {
          const reason = (() => {
            try {
              return (JSON.parse(text) as { errorMessage?: string }).errorMessage ?? text;
            } catch {
              return text;
            }
          })();
          throw new ServiceError(`${poller.quotesFunctionName} failed: ${reason.split("\n")[0]}`);
        }
        let result: unknown = text;
        try {
          result = JSON.parse(text);
        } catch {
          // not JSON: printed as it came
        }
        const fields =
          typeof result === "object" && result !== null
            ? formatPairs(
                Object.entries(result as Record<string, unknown>).map(([key, value]) => [
                  key,
                  typeof value === "object" ? JSON.stringify(value) : value,
                ]),
              )
            : String(result);
        output.result({ function: poller.quotesFunctionName, statusCode: answer.StatusCode, result }, fields);
      } finally {
        lambda.destroy();
      }
    }),
  );
  withStackOptions(
    quotes
      .command("logs")
      .description("the poller's CloudWatch logs")
      .option("--since <duration>", "how far back (e.g. 1h, 30m)", duration, 3_600_000)
      .option("--follow", "keep printing new lines until Ctrl-C"),
  ).action(
    commandAction(async (output: Output, options: StackOptions & { since: number; follow?: boolean }) => {
      // Following runs until a signal: stopping is bounded, whatever CloudWatch is doing (see signals.ts).
      const lifecycle = untilStopped(output, "stopping");
      lifecycle.doing("reading the stack's outputs");
      const poller = await pollerOf(options);
      output.progress(`${poller.quotesLogGroup}${options.follow ? " (following; Ctrl-C to stop)" : ""}`);
      const logs = new CloudWatchLogsClient({ region: poller.region });
      lifecycle.running(`reading ${poller.quotesLogGroup}`);
      const seen = new Set<string>();
      let startTime = Date.now() - options.since;
      try {
        do {
          let nextToken: string | undefined;
          do {
            // A signal cancels the request in flight: there is nothing to finish.
            const page = await logs
              .send(
                new FilterLogEventsCommand({ logGroupName: poller.quotesLogGroup, startTime, nextToken }),
                {
                  abortSignal: lifecycle.stop,
                },
              )
              .catch((error: unknown) => {
                if (lifecycle.stop.aborted) return undefined;
                throw error;
              });
            if (!page) break;
            for (const event of page.events ?? []) {
              if (event.eventId && seen.has(event.eventId)) continue;
              if (event.eventId) seen.add(event.eventId);
              process.stdout.write(
                `${new Date(event.timestamp ?? 0).toISOString()} ${(event.message ?? "").trimEnd()}\n`,
              );
              startTime = Math.max(startTime, event.timestamp ?? 0);
            }
            nextToken = page.nextToken;
          } while (nextToken && !lifecycle.stop.aborted);
          if (options.follow) await sleep(2_000, lifecycle.stop);
        } while (options.follow && !lifecycle.stop.aborted);
      } finally {
        lifecycle.dispose();
        logs.destroy();
      }
      return lifecycle.finish();
    }),
  );
}
