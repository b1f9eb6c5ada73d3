/** What `tickstream quotes invoke|logs` does (commands/quotes.ts registers it): the stack's quote poller. */
import { CloudWatchLogsClient, FilterLogEventsCommand } from "@aws-sdk/client-cloudwatch-logs";
import { InvokeCommand, LambdaClient } from "@aws-sdk/client-lambda";
import { ConfigError, ServiceError } from "../../../apps/shared/errors.ts";
import { sleep } from "../../../apps/shared/retry.ts";
import { loadStackOutputs, type StackOutputs } from "../../environments/stack-outputs.ts";
import type { LogsOptions, StackOptions } from "../commands/quotes.ts";
import { formatPairs, type Output } from "../output.ts";
import { untilStopped } from "../signals.ts";

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

export async function invoke(output: Output, options: StackOptions): Promise<void> {
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
}

export async function logs(output: Output, options: LogsOptions): Promise<number> {
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
          .send(new FilterLogEventsCommand({ logGroupName: poller.quotesLogGroup, startTime, nextToken }), {
            abortSignal: lifecycle.stop,
          })
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
}
