/**
 * How long the event loop was held up, read from the sleeps the loops already make: a loop that
 * asked to wake at T and woke at T + x was held up x ms (heartbeats, reports, the local API and a
 * stop all wait on the loop). No timer of its own: an idle agent wakes only for its own work.
 * Shown in `/status` and `/metrics` for support and the bench.
 * @module
 */

/** Samples kept for "the last minute" (a sleep of the poll loop every 2 s is 30 a minute). */
const KEEP = 256;

/** Event-loop lag since the agent started: the worst, and the most recent minute's worst. */
export class LoopLag {
  #max = 0;
  #recent: { at: number; lag: number }[] = [];

  /** Records that a wake-up due at `dueAt` ran at `ranAt` (ms, one clock). */
  record(dueAt: number, ranAt: number): void {
    const lag = Math.max(0, ranAt - dueAt);
    this.#max = Math.max(this.#max, lag);
    this.#recent.push({ at: ranAt, lag });
    if (this.#recent.length > KEEP) this.#recent.shift();
  }

  /** The worst lag since start and within the minute before `now`, in ms. */
  snapshot(now: number): { max_ms: number; last_minute_max_ms: number } {
    let minute = 0;
    for (const s of this.#recent) if (now - s.at <= 60_000) minute = Math.max(minute, s.lag);
    return { max_ms: Math.round(this.#max), last_minute_max_ms: Math.round(minute) };
  }
}
