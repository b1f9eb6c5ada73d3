/** How ops starts one of the project's TypeScript entry points as its own Node process. */
import { fileURLToPath } from "node:url";

const TSX_LOADER = import.meta.resolve("tsx");

/** `node --import tsx <script> ...args`, with tsx resolved from this install, whatever the working directory. */
export function nodeScriptCommand(
  scriptUrl: URL,
  args: readonly string[],
): { command: string; args: string[] } {
  return { command: process.execPath, args: ["--import", TSX_LOADER, fileURLToPath(scriptUrl), ...args] };
}
