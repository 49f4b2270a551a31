/**
 * The outbox pump: delivers the status reports the journal keeps, in order within each job and
 * independently across jobs, with a backoff per job and one for the server as a whole.
 * @module
 */
import { Bell } from "../core/bell.ts";
import type { Clock } from "../core/clock.ts";
import type { Config } from "../config.ts";
import { toAgentError } from "../errors.ts";
import { faultPoint } from "../core/fault.ts";
import { type JobServer, ServerError } from "./job_server.ts";
import type { OutboxEntry, OutboxStore } from "../store/journal.ts";
import { log } from "../log.ts";
import type { StatusReport } from "./protocol.ts";
import { isNetworkError, type ServerHealth } from "./server_health.ts";
import type { AgentError } from "../errors.ts";

/** Backoff for delivering reports and reconnecting: 1, 2, 5, 10, 30 s. */
export const SERVER_BACKOFF_MS = [1000, 2000, 5000, 10_000, 30_000];

/** Reports read from the outbox per round, and jobs whose reports go out at the same time. */
const OUTBOX_BATCH = 200;
const REPORT_LANES = 4;

/** What one round of delivery found. */
export interface Delivery {
  /** Nothing is waiting. */
  done: boolean;
  /** The server could not be reached: back off as a whole. */
  serverDown: boolean;
  /** When some jobs are held back: ms until the first may be tried again. */
  nextHoldMs: number;
}

/** What the pump needs. */
export interface ReportPumpDeps {
  /** Where reports wait. */
  journal: OutboxStore;
  /** Where reports go. */
  server: JobServer;
  /** The clock everything times itself by (a fake one in tests). */
  clock: Clock;
  /** The validated configuration. */
  config: Config;
  /** Whether the job server answers. */
  health: ServerHealth;
  /** Rings `reported` when a report is queued; told when the journal cannot be written. */
  ledger: { readonly reported: Bell; storeFailed(e: AgentError): void };
}

/** Delivers the outbox; the ledger's `reported` wakes it, `drained` rings when FETCHED reports land. */
export class ReportPump {
  #d: ReportPumpDeps;
  /** Rings when FETCHED reports were delivered (the poll loop waits for them). */
  readonly drained: Bell = new Bell();
  /** Jobs whose report failed, held back until `until`: one never blocks another. */
  #holds = new Map<string, { tries: number; until: number }>();
  /** The longest Retry-After the server asked for in the last round (ms). */
  #retryAfter = 0;

  /** Creates a ReportPump. */
  constructor(d: ReportPumpDeps) {
    this.#d = d;
  }

  /** The pump's loop, until `signal` aborts. */
  async run(signal: AbortSignal): Promise<void> {
    const { clock } = this.#d;
    let failures = 0;
    while (!signal.aborted) {
      let r: Delivery;
      try {
        r = await this.deliver();
      } catch (e) {
        this.#d.ledger.storeFailed(toAgentError(e, "STATE_STORE_UNWRITABLE"));
        r = { done: false, serverDown: true, nextHoldMs: 0 };
      }
      if (r.serverDown) {
        const asked = this.#retryAfter;
        this.#retryAfter = 0;
        const ms = Math.max(asked, SERVER_BACKOFF_MS[Math.min(failures++, 4)]);
        // a Retry-After pause is not cut short by new reports
        if (asked > 0) await clock.sleep(ms, signal);
        else await this.#d.ledger.reported.wait(clock, ms, signal);
        continue;
      }
      failures = 0;
      // all delivered: sleep until rung; some jobs held back: until the first hold ends
      await this.#d.ledger.reported.wait(clock, r.done ? 30_000 : r.nextHoldMs, signal);
    }
  }

  /**
   * One round: in order within each job, jobs independent of each other (a few at a time). A job
   * whose report failed is held back with its own backoff; a report older than
   * `server.report_expiry_hours` that still fails is dropped with one ERROR line. `until` bounds
   * the time (a stop).
   */
  async deliver(until = Infinity): Promise<Delivery> {
    const { journal, clock, server, health } = this.#d;
    const batch = journal.outboxPeek(OUTBOX_BATCH);
    if (batch.length === 0) {
      this.drained.ring();
      return { done: true, serverDown: false, nextHoldMs: 0 };
    }
    const now = clock.now();
    const lanes = new Map<string, OutboxEntry[]>();
    for (const e of batch) {
      const key = `${e.job_uuid}\u0000${e.server_id}`;
      if ((this.#holds.get(key)?.until ?? 0) > now) continue;
      lanes.set(key, [...(lanes.get(key) ?? []), e]);
    }
    let serverDown = false;
    let held = false;
    const deliverLane = async (key: string, lane: OutboxEntry[]) => {
      for (const e of lane) {
        if (serverDown || clock.now() > until) return;
        const sent = health.sent();
        try {
          faultPoint("before_ack");
          await server.report(e.server_id, JSON.parse(e.body) as StatusReport);
          faultPoint("after_ack");
          health.ok("reports", sent);
          this.#holds.delete(key);
        } catch (err) {
          if (err instanceof ServerError && err.permanent) {
            log.error(
              `[JOB ${e.server_id}] The server refused status ${e.status} and will keep refusing ` +
                `it: ${err.message}; dropping this report (sent again at most once an hour while ` +
                `the server lists the job)`,
              { code: "REPORT_REFUSED" },
            );
            journal.outboxRefused(e.seq, clock.now());
            this.#holds.delete(key);
          } else if (this.#expired(e, err)) {
            journal.outboxDrop(e.seq);
            this.#holds.delete(key);
            continue;
          } else {
            journal.outboxTried(e.seq);
            if (isNetworkError(err)) serverDown = true;
            health.failed(err, "reports", sent);
            const tries = (this.#holds.get(key)?.tries ?? 0) + 1;
            const asked = err instanceof ServerError ? err.retryAfterMs ?? 0 : 0;
            if (asked > 0) serverDown = true; // the server as a whole asks for a pause
            this.#retryAfter = Math.max(this.#retryAfter, asked);
            this.#holds.set(key, {
              tries,
              until: clock.now() + Math.max(asked, SERVER_BACKOFF_MS[Math.min(tries - 1, 4)]),
            });
            held = true;
            return; // this job's later reports wait for this one
          }
        }
        journal.outboxDone(e.seq);
        if (e.status === "FETCHED") this.drained.ring();
      }
    };
    const keys = [...lanes.keys()];
    const workers = Array.from({ length: Math.min(REPORT_LANES, keys.length) }, async () => {
      for (let k = keys.shift(); k !== undefined; k = keys.shift()) {
        await deliverLane(k, lanes.get(k)!);
      }
    });
    await Promise.all(workers);
    if (lanes.size === 0) held = true;
    const holds = [...this.#holds.values()].map((h) => h.until - clock.now());
    const nextHoldMs = Math.max(50, Math.min(30_000, ...holds));
    if (!held && !serverDown && batch.length < OUTBOX_BATCH && clock.now() <= until) {
      // everything in this batch went out; more may have arrived meanwhile
      if (journal.outboxDepth() > 0) return { done: false, serverDown: false, nextHoldMs: 0 };
      this.drained.ring();
      return { done: true, serverDown: false, nextHoldMs: 0 };
    }
    return { done: false, serverDown, nextHoldMs: held ? nextHoldMs : 0 };
  }

  /** A report too old to keep trying: logged once, as it is dropped. */
  #expired(e: OutboxEntry, err: unknown): boolean {
    const hours = this.#d.config.server.report_expiry_hours;
    if (this.#d.clock.now() - e.created_at < hours * 3_600_000) return false;
    log.error(
      `[JOB ${e.server_id}] Dropping status ${e.status}: the server has not accepted it for ` +
        `${hours} h (server.report_expiry_hours); last answer: ${(err as Error)?.message ?? err}`,
      { code: "REPORT_UNDELIVERED" },
    );
    return true;
  }

  /** Age of the oldest report still waiting, in seconds (0 when none or unreadable). */
  oldestAge(): number {
    let t: number | null = null;
    try {
      t = this.#d.journal.oldestReportAt();
    } catch { /* a broken store shows in state_store */ }
    return t === null ? 0 : Math.max(0, Math.round((this.#d.clock.now() - t) / 1000));
  }
}
