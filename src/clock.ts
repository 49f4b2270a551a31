/**
 * Time as an interface, so retry schedules and expiry are tested with a fake clock instead of
 * real sleeps.
 * @module
 */

/** Wall time and cancellable sleeping. */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  /** Resolves after `ms`, or early (without throwing) when `signal` aborts. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

/** The real clock. */
export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: (ms, signal) =>
    new Promise<void>((res) => {
      if (signal?.aborted) return res();
      const t = setTimeout(done, ms);
      function done() {
        clearTimeout(t);
        signal?.removeEventListener("abort", done);
        res();
      }
      signal?.addEventListener("abort", done, { once: true });
    }),
};

/** A clock for tests: time moves only when {@link FakeClock.advance} is called. */
export class FakeClock implements Clock {
  #now: number;
  #sleepers: { at: number; res: () => void }[] = [];
  /** Every sleep requested, in ms, in order: lets tests assert a schedule. */
  sleeps: number[] = [];
  constructor(start = Date.UTC(2026, 0, 23, 9, 0, 0)) {
    this.#now = start;
  }
  now(): number {
    return this.#now;
  }
  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    this.sleeps.push(ms);
    return new Promise((res) => {
      const s = { at: this.#now + ms, res };
      this.#sleepers.push(s);
      signal?.addEventListener("abort", () => res(), { once: true });
    });
  }
  /** Moves time forward and wakes every sleeper that is due. */
  async advance(ms: number): Promise<void> {
    this.#now += ms;
    const due = this.#sleepers.filter((s) => s.at <= this.#now);
    this.#sleepers = this.#sleepers.filter((s) => s.at > this.#now);
    for (const s of due) s.res();
    for (let i = 0; i < 5; i++) await Promise.resolve();
  }
  /** Number of pending sleeps. */
  get waiting(): number {
    return this.#sleepers.length;
  }
}
