/**
 * Whether the job server answers, across the three channels that talk to it (the job list, the
 * reports, the heartbeat): an outage is logged once when it starts and once when it ends.
 * @module
 */
import type { Clock } from "../core/clock.ts";
import { ServerError } from "./job_server.ts";
import { log } from "../log.ts";

/** A channel to the job server. */
export type Channel = "jobs" | "reports" | "heartbeat";

/** The job server's health as this agent sees it. */
export class ServerHealth {
  #clock: Clock;
  /** The channel whose failure started the current outage, and when; null while it answers. */
  #down: { channel: Channel; network: boolean; since: number } | null = null;
  #recoveredAt = 0;

  /** Creates a ServerHealth. */
  constructor(clock: Clock) {
    this.#clock = clock;
  }

  /** Whether the server answered the last request. */
  get reachable(): boolean {
    return !this.#down;
  }

  /** When a request is sent (pass it back to {@link failed} or {@link ok}). */
  sent(): number {
    return this.#clock.now();
  }

  /** A request on `channel`, sent at `sentAt`, failed with `e`. */
  failed(e: unknown, channel: Channel, sentAt: number): void {
    // a request sent before the last recovery failing late is old news, not a new outage
    if (this.#down || sentAt < this.#recoveredAt) return;
    const network = isNetworkError(e);
    this.#down = { channel, network, since: this.#clock.now() };
    const msg = e instanceof ServerError ? e.message : String(e);
    log.warn(
      `[OFFLINE] ${
        network ? "Cannot reach the job server" : "The job server answers wrongly"
      }: ${msg}`,
    );
  }

  /**
   * An answer on `channel` ends an outage if the outage was the network, or on that channel —
   * and only for a request sent after the outage began (a long-poll sent before it proves nothing).
   */
  ok(channel: Channel, sentAt: number): void {
    const d = this.#down;
    if (!d || (!d.network && d.channel !== channel) || sentAt <= d.since) return;
    this.#down = null;
    this.#recoveredAt = this.#clock.now();
    log.info("[ONLINE] Server connection restored");
  }
}

/** Whether an error means the server could not be reached at all (vs. answered wrongly). */
export function isNetworkError(e: unknown): boolean {
  return !(e instanceof ServerError) || e.kind === "unreachable" || e.kind === "timeout";
}
