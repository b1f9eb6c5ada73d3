import { expect } from "chai";
import { EventEmitter } from "node:events";
import { signalExitCode, UntilStopped } from "../../../apps/shared/until-stopped.ts";

/** An UntilStopped on a private emitter (not the process's signals), its exit and its lines recorded. */
function lifecycle(stopTimeoutMs = 60_000) {
  const events = new EventEmitter();
  const lines: string[] = [];
  const exits: number[] = [];
  let onExit: (() => void) | undefined;
  const exited = new Promise<void>((resolve) => (onExit = resolve));
  const subject = new UntilStopped({
    stopTimeoutMs,
    events: events as unknown as NodeJS.Process,
    say: (line) => lines.push(line),
    exit: (code) => {
      exits.push(code);
      onExit!();
    },
    onStopping: (signal) => lines.push(`stopping on ${signal}`),
  });
  return { subject, events, lines, exits, exited };
}

describe("UntilStopped: stopping as a guarantee (#23)", function () {
  it("exit codes by convention: 130 after SIGINT, 143 after SIGTERM", function () {
    expect([signalExitCode("SIGINT"), signalExitCode("SIGTERM")]).to.deep.equal([130, 143]);
  });

  it("a signal during start-up abandons at once, naming the step, with 130/143", function () {
    const { subject, events, lines, exits } = lifecycle();
    subject.doing("loading the lake's history");
    let hook = false;
    subject.onAbandon(() => (hook = true));
    events.emit("SIGINT", "SIGINT");
    expect(exits).to.deep.equal([130]);
    expect(hook).to.equal(true);
    expect(lines).to.deep.equal(["tickstream: SIGINT during start-up: abandoned loading the lake's history"]);
  });

  it("once running, the first signal asks for a graceful stop; finishing in time exits 0 and abandons nothing", async function () {
    const { subject, events, lines, exits } = lifecycle();
    subject.running();
    events.emit("SIGTERM", "SIGTERM");
    await subject.stopped();
    expect(subject.stop.aborted).to.equal(true);
    expect(subject.finish()).to.equal(0);
    events.emit("SIGTERM", "SIGTERM");
    expect(exits).to.deep.equal([]);
    expect(lines).to.deep.equal(["stopping on SIGTERM"]);
  });

  it("a second signal while stopping abandons at once", function () {
    const { subject, events, lines, exits } = lifecycle();
    subject.running();
    events.emit("SIGTERM", "SIGTERM");
    subject.doing("3 buffered records");
    events.emit("SIGINT", "SIGINT");
    expect(exits).to.deep.equal([143]);
    expect(subject.force.aborted).to.equal(true);
    expect(lines.at(-1)).to.equal("tickstream: second SIGINT while stopping: abandoned 3 buffered records");
  });

  it("a stop that outlasts the bound is abandoned, naming the setting and what was left", async function () {
    const { subject, events, lines, exits, exited } = lifecycle(50);
    subject.running();
    events.emit("SIGINT", "SIGINT");
    subject.doing("the open transactions");
    await exited;
    expect(exits).to.deep.equal([130]);
    expect(lines.at(-1)).to.equal(
      "tickstream: SIGINT and the stop took over 0.1 s (stopTimeoutMs): abandoned the open transactions",
    );
  });
});
