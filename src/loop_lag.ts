/**
 * How long the event loop was held up: a timer asks to run every {@link TICK_MS} and records how
 * late it ran. Heartbeats, reports, the local API and a stop all wait on the loop, so a late tick
 * is time they could not run. Shown in `/status` and `/metrics` for support and the bench.
 * @module
 */

const TICK_MS = 50;

/** Event-loop lag since the agent started: the worst, and the most recent minute's worst. */
export class LoopLag {
  #max = 0;
  #minute: number[] = [];
  #timer: ReturnType<typeof setInterval>;
  #last = performance.now();

  constructor() {
    this.#timer = setInterval(() => {
      const now = performance.now();
      const lag = Math.max(0, now - this.#last - TICK_MS);
      this.#last = now;
      this.#max = Math.max(this.#max, lag);
      this.#minute.push(lag);
      if (this.#minute.length > 60_000 / TICK_MS) this.#minute.shift();
    }, TICK_MS);
  }

  /** The worst lag since start and within the last minute, in ms. */
  snapshot(): { max_ms: number; last_minute_max_ms: number } {
    return {
      max_ms: Math.round(this.#max),
      last_minute_max_ms: Math.round(Math.max(0, ...this.#minute)),
    };
  }

  /** Stops measuring. */
  stop(): void {
    clearInterval(this.#timer);
  }
}
