/** A controllable clock for tests: time moves only when told to. */
import type { Clock } from "../../src/core/clock.ts";

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
