/**
 * A small wake-up signal between loops: one loop rings, the others stop waiting. No
 * AbortSignal.any: its dependents outlive the wait (the agent's signal lives for hours).
 * @module
 */
import type { Clock } from "./clock.ts";

/** Why a wait's timer is cancelled: a reason given, so no DOMException (a stack) is made each time. */
const DONE = "done";

/** Wakes every loop waiting on it. */
export class Bell {
  #waiters = new Set<() => void>();
  #also: Bell[] = [];

  /** Wakes everyone waiting now, here and on the bells this one forwards to. */
  ring(): void {
    for (const f of [...this.#waiters]) f();
    for (const b of this.#also) b.ring();
  }

  /** Rings `other` too whenever this bell rings. */
  forward(other: Bell): void {
    this.#also.push(other);
  }

  /** Resolves when rung, after `ms`, or when `signal` aborts, whichever comes first. */
  wait(clock: Clock, ms: number, signal: AbortSignal): Promise<void> {
    return new Promise<void>((res) => {
      const timer = new AbortController();
      let done = false;
      const finish = () => {
        if (done) return;
        done = true;
        timer.abort(DONE);
        signal.removeEventListener("abort", finish);
        this.#waiters.delete(finish);
        res();
      };
      if (signal.aborted) return finish();
      this.#waiters.add(finish);
      signal.addEventListener("abort", finish, { once: true });
      clock.sleep(ms, timer.signal).then(finish);
    });
  }
}
