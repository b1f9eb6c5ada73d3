/**
 * A poll of the quote API produced into Kafka through the same producer as every other source: the quotes
 * newer than what the shared state says was sent (same symbol, same quote time: not again), sent with acks=all,
 * then the state moved on. Used by `tickstream produce --source quotes:PROVIDER` and by the cloud function.
 */
import type { S3Client } from "@aws-sdk/client-s3";
import { runProducer } from "../producer/producer.ts";
import type { SourceTick, TickSource } from "../producer/sources/index.ts";
import { pollQuotes, type QuotePollOptions, type SymbolError } from "./quote-poller.ts";
import { readQuoteState, writeQuoteState } from "./quote-state.ts";

export interface ProduceQuotesOptions extends QuotePollOptions {
  readonly bootstrapServers: readonly string[];
  readonly topic: string;
  /** Where the shared state lives: the lake bucket. */
  readonly s3: S3Client;
  readonly bucket: string;
  readonly producerId: string;
  readonly firstSeq?: number;
}

export interface QuotesProduced {
  readonly producerId: string;
  readonly produced: number;
  /** Quotes already produced by an earlier poll (same symbol and quote time). */
  readonly unchanged: number;
  readonly errors: readonly SymbolError[];
}

function arraySource(name: string, ticks: readonly SourceTick[]): TickSource {
  return {
    name,
    historical: false,
    async *ticks() {
      yield* ticks;
    },
  };
}

export async function produceQuotes(options: ProduceQuotesOptions): Promise<QuotesProduced> {
  const provider = options.provider.name;
  const state = await readQuoteState(options.s3, options.bucket, provider);
  const poll = await pollQuotes(options);
  const fresh = poll.ticks.filter(
    (tick) => state[tick.symbol] === undefined || tick.ts > state[tick.symbol]!,
  );
  let produced = 0;
  if (fresh.length > 0) {
    const summary = await runProducer({
      bootstrapServers: options.bootstrapServers,
      topic: options.topic,
      source: arraySource(`quotes:${provider}`, fresh),
      producerId: options.producerId,
      firstSeq: options.firstSeq,
    });
    produced = summary.produced;
    for (const tick of fresh) state[tick.symbol] = tick.ts;
    await writeQuoteState(options.s3, options.bucket, provider, state);
  }
  return {
    producerId: options.producerId,
    produced,
    unchanged: poll.ticks.length - fresh.length,
    errors: poll.errors,
  };
}
