import { expect } from "chai";
import { execa } from "execa";

const fixture = new URL("../../fixtures/exit-while-encoding.ts", import.meta.url).pathname;

async function exitWhileEncoding(exitBy: "exit" | "throw", afterMs: number) {
  return execa("node", ["--import", "tsx", fixture], {
    env: { EXIT_BY: exitBy, EXIT_AFTER_MS: String(afterMs) },
    reject: false,
    timeout: 60_000,
  });
}

describe("the lake sink's encode worker @integration", function () {
  this.timeout(300_000);

  // A worker terminated inside a DuckDB call aborts the process (worker-exit-gate.ts): CI saw a second SIGTERM
  // end the sink with SIGABRT instead of 143.
  for (const exitBy of ["exit", "throw"] as const) {
    it(`keeps the code the process exits with (${exitBy === "exit" ? "process.exit(143)" : "an uncaught error: 1"}) while the worker is encoding, at 12 moments`, async function () {
      const expected = exitBy === "exit" ? 143 : 1;
      for (let run = 0; run < 12; run++) {
        const result = await exitWhileEncoding(exitBy, 50 + run * 37);
        expect(result.signal, `run ${run}: ${result.stderr.slice(-500)}`).to.equal(undefined);
        expect(result.exitCode, `run ${run}: ${result.stderr.slice(-500)}`).to.equal(expected);
        expect(result.stderr).not.to.match(/terminate called/);
      }
    });
  }
});
