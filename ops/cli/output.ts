/** How commands talk to the user: progress and warnings on stderr, results on stdout (one JSON object with --json). */
export interface OutputOptions {
  readonly json?: boolean;
}

export class Output {
  readonly json: boolean;
  private readonly interactive: boolean;
  private statusLineOpen = false;

  constructor(options: OutputOptions = {}) {
    this.json = options.json ?? false;
    this.interactive = process.stderr.isTTY === true;
  }

  /** A progress message, on stderr. */
  progress(message: string): void {
    this.endStatusLine();
    process.stderr.write(`${message}\n`);
  }

  /** A line that replaces itself on a terminal (counters); printed only on a terminal. */
  status(message: string): void {
    if (!this.interactive) return;
    process.stderr.write(`\r\x1b[2K${message}`);
    this.statusLineOpen = true;
  }

  warn(message: string): void {
    this.endStatusLine();
    process.stderr.write(`tickstream: ${message}\n`);
  }

  /** The command's result: JSON on one line with --json, else the human text. */
  result(value: unknown, human: string): void {
    this.endStatusLine();
    process.stdout.write(this.json ? `${JSON.stringify(value, bigintReplacer)}\n` : `${human}\n`);
  }

  private endStatusLine(): void {
    if (this.statusLineOpen) process.stderr.write("\n");
    this.statusLineOpen = false;
  }
}

function bigintReplacer(_key: string, value: unknown): unknown {
  return typeof value === "bigint" ? value.toString() : value;
}

/** "12,345" */
export function formatCount(value: number): string {
  return value.toLocaleString("en-US");
}

/** Aligned two-column "key  value" lines. */
export function formatPairs(pairs: readonly (readonly [string, unknown])[]): string {
  const width = Math.max(...pairs.map(([key]) => key.length));
  return pairs.map(([key, value]) => `${key.padEnd(width)}  ${value}`).join("\n");
}
