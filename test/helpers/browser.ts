/**
 * A real headless Chromium (Debian's `chromium`, driven by playwright-core) for the page tests, and a look at a
 * screenshot's pixels. The flags keep Chromium from calling home: this machine's network is closed, and its
 * background connections would be refused by the dozen.
 */
import { chromium, type Browser, type Page } from "playwright-core";
import { PNG } from "pngjs";

export const CHROMIUM = process.env.TICKSTREAM_CHROMIUM ?? "/usr/bin/chromium";

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
}

/** Every console error and uncaught exception of the page, as lines. */
export function collectPageErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on("console", (message) => {
    if (message.type() === "error") errors.push(`console: ${message.text()}`);
  });
  page.on("pageerror", (error) => errors.push(`uncaught: ${error.message}`));
  page.on("requestfailed", (request) => errors.push(`request failed: ${request.url()}`));
  return errors;
}

export interface PixelSummary {
  readonly width: number;
  readonly height: number;
  readonly distinctColors: number;
  /** The share of pixels that differ from the most common colour (the background). */
  readonly nonBackgroundShare: number;
}

/** What a PNG's pixels hold: a blank page has one colour and nothing but background. */
export function summarizePng(png: Buffer): PixelSummary {
  const image = PNG.sync.read(png);
  const counts = new Map<number, number>();
  for (let offset = 0; offset < image.data.length; offset += 4) {
    const rgb = (image.data[offset]! << 16) | (image.data[offset + 1]! << 8) | image.data[offset + 2]!;
    counts.set(rgb, (counts.get(rgb) ?? 0) + 1);
  }
  const pixels = image.width * image.height;
  const background = Math.max(...counts.values());
  return {
    width: image.width,
    height: image.height,
    distinctColors: counts.size,
    nonBackgroundShare: (pixels - background) / pixels,
  };
}
