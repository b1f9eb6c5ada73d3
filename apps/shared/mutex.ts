/** A FIFO async lock: one holder at a time, waiters served in order. */
export class Mutex {
  private tail: Promise<void> = Promise.resolve();

  /** Resolves with a release function once the lock is held. */
  acquire(): Promise<() => void> {
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    const acquired = this.tail.then(() => release);
    this.tail = this.tail.then(() => held);
    return acquired;
  }

  /**
   * Acquires the lock while a consumer group member waits for it inside a batch: keeps heartbeating, so that
   * waiting behind a long flush or commit never costs the member its session.
   */
  async acquireHeartbeating(heartbeat: () => Promise<void>, everyMs = 2_000): Promise<() => void> {
    const keepAlive = setInterval(() => heartbeat().catch(() => {}), everyMs);
    try {
      return await this.acquire();
    } finally {
      clearInterval(keepAlive);
    }
  }

  async runExclusive<T>(task: () => Promise<T>): Promise<T> {
    const release = await this.acquire();
    try {
      return await task();
    } finally {
      release();
    }
  }
}
