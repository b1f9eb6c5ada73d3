/**
 * Keeps a worker thread out of native code while the process exits.
 *
 * Exiting (process.exit, or an uncaught error) terminates the process's worker threads. A worker terminated while
 * a DuckDB call of its own is under way aborts the whole process: node-addon-api cannot throw into an environment
 * that is being torn down and calls std::terminate (`terminate called after throwing an instance of
 * 'Napi::Error'`, exit 134 instead of the code asked for). Measured: a worker running DuckDB statements back to
 * back aborted 30 of 30 exits; test/apps/consumer/encode-thread.test.ts exits beside the encode worker.
 *
 * So the worker marks its native work busy (`WorkerSide.busy`) and looks at each step between native calls
 * whether the process is exiting (`checkpoint`): if it is, the worker parks there (blocks in Atomics.wait, which
 * termination interrupts cleanly). The process's 'exit' listener (`ProcessSide`) raises the flag and waits,
 * bounded, until the worker is idle or parked. Sequentially consistent atomics on both sides (the flag is stored
 * before the state is read, the state before the flag) mean no native call starts once the exit has looked.
 */
const STOP = 0;
const STATE = 1;
const IDLE = 0;
const BUSY = 1;
const PARKED = 2;

/** How long an exit waits for the worker to reach its next checkpoint before it exits regardless. */
export const EXIT_GATE_BOUND_MS = 3_000;

/** The process's side: created with the worker, its `state` handed over in workerData. */
export class ProcessSide {
  readonly state = new Int32Array(new SharedArrayBuffer(2 * Int32Array.BYTES_PER_ELEMENT));
  private readonly onExit = () => this.holdForExit();

  /** Holds every exit of the process (process.exit, an uncaught error) until the worker is out of native code. */
  guardExit(): void {
    process.on("exit", this.onExit);
  }

  release(): void {
    process.off("exit", this.onExit);
  }

  /** Stops the worker at its next checkpoint; true once it is idle or parked, false past the bound. */
  holdForExit(boundMs = EXIT_GATE_BOUND_MS): boolean {
    Atomics.store(this.state, STOP, 1);
    const deadline = Date.now() + boundMs;
    while (Atomics.load(this.state, STATE) === BUSY) {
      const left = deadline - Date.now();
      if (left <= 0) return false;
      Atomics.wait(this.state, STATE, BUSY, left);
    }
    return true;
  }
}

/** The worker's side, over the `state` it was given. */
export class WorkerSide {
  constructor(private readonly state: Int32Array) {}

  /** Runs `work` (which makes native calls, with a checkpoint between them) marked busy. */
  async busy<T>(work: () => Promise<T>): Promise<T> {
    Atomics.store(this.state, STATE, BUSY);
    try {
      this.checkpoint();
      return await work();
    } finally {
      Atomics.store(this.state, STATE, IDLE);
      Atomics.notify(this.state, STATE);
    }
  }

  /** Parks the thread for good if the process is exiting (the exit terminates it there); returns otherwise. */
  checkpoint(): void {
    if (Atomics.load(this.state, STOP) === 0) return;
    Atomics.store(this.state, STATE, PARKED);
    Atomics.notify(this.state, STATE);
    for (;;) Atomics.wait(this.state, STOP, 1);
  }
}
