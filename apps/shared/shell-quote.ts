/** POSIX shell quoting: a value inside single quotes is never expanded, whatever it contains. */
export function shellQuote(value: string | number): string {
  return `'${String(value).replaceAll("'", `'"'"'`)}'`;
}

/** A command line of quoted words. */
export function shellCommand(command: string, args: readonly string[]): string {
  return [command, ...args].map(shellQuote).join(" ");
}
