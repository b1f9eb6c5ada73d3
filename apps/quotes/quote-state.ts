/**
 * What the quote poller has produced: per symbol, the time of the newest quote sent. It lives in the lake bucket
 * under `_state/quotes/<provider>.json` (never read as data: only ticks/, bars_1m/ and quarantine/ are), so the
 * local poller and every invocation of the cloud function share it. It is written after the broker has
 * acknowledged the poll's ticks: a crash between the two sends that poll's quotes again at the next poll (at
 * least once, with the same symbol and quote time, so a reader can drop them).
 */
import { GetObjectCommand, PutObjectCommand, type S3Client } from "@aws-sdk/client-s3";

export type QuoteState = Record<string, string>;

export function quoteStateKey(provider: string): string {
  return `_state/quotes/${provider}.json`;
}

export async function readQuoteState(s3: S3Client, bucket: string, provider: string): Promise<QuoteState> {
  try {
    const object = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: quoteStateKey(provider) }));
    const state = JSON.parse(await object.Body!.transformToString()) as unknown;
    return typeof state === "object" && state !== null ? (state as QuoteState) : {};
  } catch (error) {
    if ((error as Error).name === "NoSuchKey" || (error as Error).name === "NotFound") return {};
    // S3 answers a missing key with 403 to a reader that may not list it (S3 API Reference, GetObject).
    if ((error as Error).name === "AccessDenied")
      throw new Error(
        `reading s3://${bucket}/${quoteStateKey(provider)} was refused (AccessDenied): the poller's role needs s3:GetObject on _state/quotes/* and s3:ListBucket of that prefix (else a missing state answers 403)`,
        { cause: error },
      );
    throw error;
  }
}

export async function writeQuoteState(
  s3: S3Client,
  bucket: string,
  provider: string,
  state: QuoteState,
): Promise<void> {
  await s3.send(
    new PutObjectCommand({
      Bucket: bucket,
      Key: quoteStateKey(provider),
      Body: JSON.stringify(state),
      ContentType: "application/json",
    }),
  );
}
