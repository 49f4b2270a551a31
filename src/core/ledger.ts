/**
 * The ledger: the one owner of a job's fate. Every transition of a job in the journal (received,
 * invalid, in hand, PRINTING, retrying, PRINTED, FAILED, resumed or failed at start-up) is made
 * here, and nowhere else; each one that queues a status report rings {@link Ledger.reported}, so
 * the outbox never has to be woken by hand. While the journal refuses writes (disk full,
 * read-only), final outcomes are held in memory and committed when it works again.
 * @module
 */
import { Bell } from "./bell.ts";
import type { Clock } from "./clock.ts";
import type { Config } from "../config.ts";
import { AgentError, type ErrorCode, isErrorCode, toAgentError } from "../errors.ts";
import { type Job, jobLabel } from "./job.ts";
import type { JournalEntry, LedgerStore, PrintedWhere } from "../store/journal.ts";
import { log } from "../log.ts";
import type { Station } from "./station.ts";
import type { ServerClock } from "../server/server_time.ts";
import type { PrintedWith } from "../server/protocol.ts";
import type { PaperOptions } from "../render/paper.ts";

/** A job in hand this many times when the agent died or hung is quarantined at start-up. */
export const POISON_AFTER = 2;

/** The server's clock is known to within this before the reset's moment in it is kept. */
const RESET_LINE_KEEP_MS = 2000;

/** What the journal knew of a job's earlier attempts (they count across restarts). */
export interface PriorAttempts {
  /** Attempts made so far. */
  attempts: number;
  /** The last attempt's error, and the station it was on. */
  last: AgentError | null;
  /** The station the last attempt went to. */
  printer: string | null;
}

/** Counters for `/status` and `/metrics`. */
export interface Counters {
  /** Jobs printed. */
  printed: number;
  /** Jobs failed for good. */
  failed: number;
  /** Print retries. */
  retries: number;
  /** Jobs delivered again and not printed again. */
  duplicates: number;
  /** New jobs taken in. */
  received: number;
  /** Jobs listed that no station here serves (left PENDING for another agent). */
  left_alone: number;
}

/** A final outcome decided while the journal could not be written. */
interface Unsaved {
  uuid: string;
  at: number;
  failed?: { code: ErrorCode; message: string };
  where?: PrintedWhere;
}

/** The one writer of a job's fate; see the module comment. */
export class Ledger {
  readonly #store: LedgerStore;
  readonly #clock: Clock;
  readonly #config: Config;
  /** Rings when a status report was queued: the outbox delivers it. */
  readonly reported: Bell = new Bell();
  /** Rings when the journal stops or starts taking writes. */
  readonly storeChanged: Bell = new Bell();
  /** Told each job's end: printed (null) or failed for good with its code (self-update watches). */
  onOutcome: ((code: ErrorCode | null) => void) | null = null;
  /** Counters since start. */
  readonly counters: Counters = {
    printed: 0,
    failed: 0,
    retries: 0,
    duplicates: 0,
    received: 0,
    left_alone: 0,
  };
  /** Print durations in ms (most recent 1,000), for /metrics. */
  readonly durations: number[] = [];
  /** Paper printed since start, in mm, by template and variant (`template\0variant`). */
  readonly paperMm = new Map<string, number>();

  /** The experiment variant the job with this server id printed with (see LedgerStore). */
  variantOf(serverId: string): string | null | undefined {
    try {
      return this.#store.variantOf(serverId);
    } catch {
      return undefined; // the journal cannot be read: the reprint's own arm, if any
    }
  }
  #broken = false;
  /** The reset line once fixed (see {@link resetLine}). */
  #resetLine: number | undefined;
  /** Whether this run has made sure a loose reset line is kept. */
  #looseKept = false;
  #unsaved: Unsaved[] = [];

  /** Creates a Ledger. */
  constructor(store: LedgerStore, clock: Clock, config: Config) {
    this.#store = store;
    this.#clock = clock;
    this.#config = config;
  }

  /** Whether the journal refuses writes (printing and intake wait until it works again). */
  get broken(): boolean {
    return this.#broken;
  }

  /** The journal could not be written: said once, printing stops until {@link repair}. */
  storeFailed(e: AgentError): void {
    if (!this.#broken) {
      log.error(
        `[STATE] Cannot write the journal in ${this.#config.state.path}: ${e.message}. ` +
          `Printing is stopped until it can be written again (disk full? read-only folder?)`,
        { code: "STATE_STORE_UNWRITABLE" },
      );
    }
    this.#broken = true;
    this.storeChanged.ring();
  }

  /** Tries a broken journal again and commits what it could not take; true once it works. */
  repair(): boolean {
    if (!this.#broken) return true;
    try {
      this.#store.probeWritable();
      while (this.#unsaved.length) {
        const u = this.#unsaved[0]; // removed only once committed
        if (u.failed) this.#store.markFailed(u.uuid, u.failed.code, u.failed.message, u.at);
        else this.#store.markPrinted(u.uuid, u.at, u.where);
        this.#unsaved.shift();
      }
    } catch {
      return false; // still broken: the ERROR heartbeat says so
    }
    this.#broken = false;
    log.info("[STATE] The journal can be written again; printing resumes");
    this.storeChanged.ring();
    this.reported.ring();
    return true;
  }

  // ---- intake ----------------------------------------------------------------------------------

  /**
   * Records a job taken from the server or the local API (FETCHED is queued), or returns what the
   * journal already knows of its uuid.
   */
  receive(job: Job, source: string): JournalEntry | null {
    const existing = this.#store.receive(job, this.#clock.now(), source);
    if (!existing) {
      this.counters.received++;
      this.reported.ring();
    }
    return existing;
  }

  /**
   * Records an invalid job under `key` (FAILED queued for server id `id`); listed again, its
   * FAILED is sent again. Returns whether this call decided it.
   */
  invalid(key: string, id: string, code: ErrorCode, reason: string, label: string): boolean {
    const now = this.#clock.now();
    const fresh = this.#store.recordInvalid(key, id, code, reason, now);
    if (fresh) {
      const what = code === "DUPLICATE_UUID" ? "" : "Invalid job: ";
      log.error(`${label} [FAILED] ${what}${reason}`, { code });
      this.counters.failed++;
      this.reported.ring();
    } else if (this.#store.resendFinal(key, now, id)) {
      // listed again: the server missed (or lost) the FAILED report
      log.info(`${label} Already failed (${code}); re-sending FAILED`);
      this.reported.ring();
    }
    return fresh;
  }

  /** A job delivered again after its final outcome: never printed again, the outcome re-sent. */
  again(job: Job, e: JournalEntry): void {
    this.counters.duplicates++;
    if (this.#store.resendFinal(job.uuid, this.#clock.now(), String(job.id))) {
      const printed = e.state === "PRINTED";
      log.info(
        `${jobLabel(job)} Already ${printed ? "printed" : "failed"}; not printing again, ` +
          `re-sending ${printed ? "COMPLETED" : "FAILED"}`,
      );
      this.reported.ring();
    }
  }

  // ---- printing --------------------------------------------------------------------------------

  /**
   * Runs `render` with the job in hand: a death while it runs, twice, quarantines the job at the
   * next start (POISON_JOB). A job waiting for a retry or a printer is not in hand.
   */
  async inHand<T>(uuid: string, render: () => Promise<T>): Promise<T> {
    this.#store.markTaken(uuid);
    try {
      return await render();
    } finally {
      this.#store.releaseTaken(uuid);
    }
  }

  /** Keeps what the job looks like on paper (the local API's preview). */
  keepPreview(uuid: string, preview: string, bytes: Uint8Array, reader: PaperOptions): void {
    this.#store.setPreview(uuid, preview, { bytes, reader });
  }

  /** The job's earlier attempts: `max_retry` is the job's budget, not each run's. */
  prior(uuid: string): PriorAttempts {
    const e = this.#store.get(uuid);
    const last = e?.error_code && isErrorCode(e.error_code)
      ? new AgentError(e.error_code, e.error_message ?? "")
      : null;
    return { attempts: e?.attempts ?? 0, last, printer: e?.printer ?? null };
  }

  /** Attempt `n` is about to send bytes to `printer`: durable before the first byte. */
  printing(uuid: string, attempt: number, printer: string): void {
    this.#store.markPrinting(uuid, attempt, this.#clock.now(), printer);
    this.reported.ring();
  }

  /** Attempt `n` failed (or could not be made) with `err`; another may follow. */
  retrying(uuid: string, attempt: number, err: AgentError): void {
    this.#store.markRetrying(uuid, attempt, err.code, err.message);
  }

  /** A retry begins (counted for `/metrics`). */
  retryBegins(): void {
    this.counters.retries++;
  }

  /** The job is on paper, printed by `on` (the job's own station or its backup). */
  printed(
    job: Job,
    station: Station,
    on: Station,
    ms: number,
    paper?: PrintedWith,
    failoverReason?: string,
  ): void {
    this.counters.printed++;
    this.durations.push(ms);
    if (this.durations.length > 1000) this.durations.shift();
    if (paper?.template && paper.paper_mm !== undefined) {
      // paper per template and variant since start (/metrics): what an experiment costs
      const key = `${paper.template}\u0000${paper.variant ?? ""}`;
      this.paperMm.set(key, (this.paperMm.get(key) ?? 0) + paper.paper_mm);
    }
    station.jobPrinted(String(job.id), on);
    const where = {
      printedOn: on.id,
      failoverFrom: on === station ? undefined : station.id,
      failoverReason: on === station ? undefined : failoverReason,
      with: paper,
    };
    try {
      this.#store.markPrinted(job.uuid, this.#clock.now(), where);
      this.reported.ring();
    } catch (e) {
      // The paper is out; only the record failed. Keep it in memory and commit it when the
      // store works again. If the process dies first, the job is PRINTING → reported ambiguous.
      this.#unsaved.push({ uuid: job.uuid, at: this.#clock.now(), where });
      this.storeFailed(toAgentError(e, "STATE_STORE_UNWRITABLE"));
    }
    this.#tell(null);
  }

  /** Tells `onOutcome` (after the journal has the outcome: a listener's fault changes nothing). */
  #tell(code: ErrorCode | null): void {
    try {
      this.onOutcome?.(code);
    } catch { /* a watcher's problem, not the job's */ }
  }

  /** The job's final failure (kept in memory if the journal cannot take it). */
  failed(job: Job, station: Station, code: ErrorCode, message: string): void {
    try {
      this.#store.markFailed(job.uuid, code, message, this.#clock.now());
      this.reported.ring();
    } catch (e) {
      // The outcome is decided; only the record failed. Never requeue (the job may be on paper
      // or in a spooler queue): keep it and commit it when the journal works again.
      this.#unsaved.push({ uuid: job.uuid, at: this.#clock.now(), failed: { code, message } });
      this.storeFailed(toAgentError(e, "STATE_STORE_UNWRITABLE"));
    }
    this.counters.failed++;
    station.jobFailed(String(job.id), isPrinterFault(code));
    this.#tell(code);
  }

  /**
   * When the journal was replaced, at the latest, in the server's clock (ms), or null when it
   * never was. Fixed once the server's clock is known closely (kept in the journal). Until then,
   * the first line any known clock gave is kept too (`reset_server_at_loose`): a later run that
   * has not heard the server yet judges by it, not by the unknown-clock margin, so a job received
   * and journalled before a crash is not failed for being within 15 minutes of the reset. Only
   * with neither is the reset taken as late as an unknown clock allows.
   */
  resetLine(serverClock: ServerClock): number | null {
    if (this.#resetLine !== undefined) return this.#resetLine;
    const kept = this.#store.getMeta("reset_server_at");
    if (kept) return this.#resetLine = Number(kept);
    const resetAt = this.#store.getMeta("reset_at");
    if (!resetAt) return null;
    if (!serverClock.known) {
      const loose = this.#store.getMeta("reset_server_at_loose");
      return loose ? Number(loose) : serverClock.latestAt(Date.parse(resetAt));
    }
    const line = serverClock.latestAt(Date.parse(resetAt));
    // kept once the clock is known closely (a slow server's late Date headers widen the bounds
    // until more answers narrow them); the first loose line is kept for the next run
    if (serverClock.uncertaintyMs <= RESET_LINE_KEEP_MS) {
      this.#store.setMeta("reset_server_at", String(line));
      this.#resetLine = line;
    } else if (!this.#looseKept) {
      if (!this.#store.getMeta("reset_server_at_loose")) {
        this.#store.setMeta("reset_server_at_loose", String(line));
      }
      this.#looseKept = true;
    }
    return line;
  }

  // ---- start-up --------------------------------------------------------------------------------

  /**
   * Resolves jobs left open by a previous run (crash, power loss, kill): quarantines poison,
   * fails or (by policy) reprints interrupted ones. Returns the jobs to queue again, in order.
   */
  recover(): Job[] {
    const resume: Job[] = [];
    for (const e of this.#store.openJobs()) {
      const job = JSON.parse(e.payload ?? "null") as Job | null;
      const label = `[JOB ${e.server_id}]`;
      if (!job) continue;
      // only a death while the job's own rendering ran counts (inHand); a job whose printer
      // was failing is never poison, whatever the count says
      if (e.taken >= POISON_AFTER && !isPrinterFault(e.error_code)) {
        const msg = `the agent died or hung ${e.taken} times while this job was in hand; ` +
          `it is not taken up again (check the job's content, then send it again)`;
        log.error(`${label} [FAILED] [QUARANTINED] ${msg}`, { code: "POISON_JOB" });
        this.#failOpen(e.uuid, "POISON_JOB", msg);
        continue;
      }
      if (e.state === "RECEIVED") {
        log.info(`${label} Resuming: received before the last stop, not printed yet`);
        resume.push(job);
        continue;
      }
      const where = e.printer ? ` on printer ${e.printer}` : "";
      // PRINTING at start-up: bytes may or may not have reached the paper.
      if ((this.#config.jobs.reprint_interrupted as string[]).includes(e.job_type)) {
        log.warn(
          `${label} [INTERRUPTED] The agent stopped while printing this ${e.job_type} job; ` +
            `policy jobs.reprint_interrupted prints it again (it may appear twice)`,
          { code: "INTERRUPTED_MAY_HAVE_PRINTED" },
        );
        this.#store.markRetrying(
          e.uuid,
          e.attempts,
          "INTERRUPTED_MAY_HAVE_PRINTED",
          "reprinted by policy",
        );
        resume.push(job);
        continue;
      }
      const msg = `the agent stopped while printing (attempt ${e.attempts}${where}); it may be ` +
        `on paper: check the printer and send a reprint if it is missing`;
      log.error(`${label} [FAILED] [INTERRUPTED] ${msg}`, { code: "INTERRUPTED_MAY_HAVE_PRINTED" });
      this.#failOpen(e.uuid, "INTERRUPTED_MAY_HAVE_PRINTED", msg);
    }
    return resume;
  }

  #failOpen(uuid: string, code: ErrorCode, msg: string): void {
    this.#store.markFailed(uuid, code, msg, this.#clock.now());
    this.counters.failed++;
    this.reported.ring();
  }
}

/** Whether a journal error code says the printer, not the job, was at fault. */
function isPrinterFault(code: string | null): boolean {
  return code !== null && /^(PRINTER_|SPOOLER_|PRINT_STUCK)/.test(code);
}
