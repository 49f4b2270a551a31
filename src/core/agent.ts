/**
 * The agent's loops: take jobs (long-poll with a plain-poll fallback) and route each to its
 * station, run one print loop per station (station.ts: render → PRINTING → bytes → PRINTED),
 * deliver status reports from the outbox, and send heartbeats. The journal decides what may be
 * printed; this module only asks.
 * @module
 */
import { type Clock, systemClock } from "./clock.ts";
import type { Config } from "../config.ts";
import { AgentError, type ErrorCode, toAgentError } from "../errors.ts";
import { type Job, jobLabel, validateJob } from "./job.ts";
import { type JobServer, ServerError } from "../server/job_server.ts";
import { Bell } from "./bell.ts";
import { ReportPump } from "../server/outbox.ts";
import { ServerHealth } from "../server/server_health.ts";
import type { JobStore, JournalEntry, PrintedWhere } from "../store/journal.ts";
import { log, LogOnce } from "../log.ts";
import { LoopLag } from "./loop_lag.ts";
import { faultPoint } from "./fault.ts";
import type { Printer, PrinterStatusReport } from "../printers/printer.ts";
import type { Renderer } from "../render/render.ts";
import { type PrintContext, printJob, Station, type StationSnapshot } from "./station.ts";
import { type AgentSnapshot, heartbeatBody } from "../server/protocol.ts";
import { isNaive, ServerClock } from "../server/server_time.ts";

export { statusError } from "./station.ts";

/** Agent status as sent in heartbeats. */
export type AgentStatus = "READY" | "PRINTING" | "ERROR" | "STOPPED";

/** Everything the agent works with; tests pass fakes for the printer and clock. */
export interface AgentDeps {
  config: Config;
  journal: JobStore;
  server: JobServer;
  /** One printer and renderer per configured station, in `config.stations` order. */
  stations?: { printer: Printer; renderer: Renderer }[];
  /** The single station's printer and renderer (when `stations` is not given). */
  printer?: Printer;
  renderer?: Renderer;
  version: string;
  clock?: Clock;
}

/** What {@link Agent.accept} did with one job from the server or the local API. */
export type AcceptResult =
  | { outcome: "queued" | "resumed"; uuid: string }
  | { outcome: "duplicate"; uuid: string; state: string }
  | {
    outcome: "rejected";
    uuid: string | null;
    code: ErrorCode;
    reason: string;
    /** Whether this call decided it (false: known before, or not reportable at all). */
    fresh: boolean;
  }
  | { outcome: "ignored" | "deferred"; uuid: string; reason: string };

/** How long a stop spends delivering the last reports. */
const STOP_FLUSH_MS = 3_000;

/** Longest stretch of job intake before the event loop gets a turn (ms). */
const INTAKE_SLICE_MS = 20;

/** A job in hand this many times when the agent died or hung is quarantined at start-up. */
const POISON_AFTER = 2;

/** One agent: one terminal identity, one journal, one or more stations (printers). */
export class Agent {
  readonly config: Config;
  readonly journal: JobStore;
  /** The stations, in configuration order; the first is the seed's single printer. */
  readonly stations: Station[];
  readonly version: string;
  readonly clock: Clock;
  readonly startedAt: number;
  #server: JobServer;
  #ac = new AbortController();
  #workBell = new Bell();

  #stateBell = new Bell();

  #loops: Promise<void>[] = [];
  #stopping = false;
  readonly health: ServerHealth;
  /** The job server's clock, read from its answers' Date headers. */
  readonly serverClock: ServerClock = new ServerClock();
  #naiveLogged = false;
  #retryAfterLogged = false;
  #roleList: string | null = null;
  /** Jobs listed that no station here serves, by role, since the last line saying so. */
  #leftAlone = new Map<string, number>();
  #leftAloneLog: LogOnce;
  /** Delivers the outbox's reports. */
  readonly reports: ReportPump;
  #storeBroken = false;
  /** Final outcomes decided while the journal could not be written, committed when it can. */
  #unsaved: {
    uuid: string;
    at: number;
    failed?: { code: ErrorCode; message: string };
    where?: PrintedWhere;
  }[] = [];
  #noLongPollLogged = false;

  /** Listed jobs that cannot be reported (no id): each logged once an hour. */
  #unreportable: LogOnce;

  /** Counters for /status and /metrics. */
  readonly counters = {
    printed: 0,
    failed: 0,
    retries: 0,
    duplicates: 0,
    received: 0,
    /** Jobs listed that no station here serves (left PENDING for another agent). */
    left_alone: 0,
  };
  /** How late the event loop ran (heartbeats, reports and the local API wait on it). */
  #loopLag = new LoopLag();
  /** Print durations in ms (most recent 1,000), for /metrics. */
  readonly durations: number[] = [];

  constructor(d: AgentDeps) {
    this.config = d.config;
    this.journal = d.journal;
    const parts = d.stations ?? [{ printer: d.printer!, renderer: d.renderer! }];
    if (parts.length !== d.config.stations.length || parts.some((p) => !p.printer)) {
      throw new Error(
        `Agent: ${d.config.stations.length} station(s) configured, ${parts.length} given`,
      );
    }
    const agingMs = d.config.jobs.priority_aging_seconds * 1000;
    this.stations = d.config.stations.map((c, i) =>
      new Station(c, parts[i].printer, parts[i].renderer, agingMs)
    );
    for (const st of this.stations) {
      st.backup = this.stations.find((b) => b.id === st.config.backup) ?? null;
    }
    this.version = d.version;
    this.clock = d.clock ?? systemClock;
    this.#server = d.server;
    this.startedAt = this.clock.now();
    this.health = new ServerHealth(this.clock);
    this.reports = new ReportPump({
      journal: this.journal,
      server: this.#server,
      clock: this.clock,
      config: this.config,
      health: this.health,
      storeFailed: (e) => this.#storeFailed(e),
    });
    this.#unreportable = new LogOnce(this.clock, 3_600_000);
    this.#leftAloneLog = new LogOnce(this.clock, 3_600_000);
  }

  /** The first station's printer (the seed's single printer). */
  get printer(): Printer {
    return this.stations[0].printer;
  }

  /** The first station's renderer. */
  get renderer(): Renderer {
    return this.stations[0].renderer;
  }

  /** The first station's last printer status (the seed's heartbeat fields). */
  get printerStatus(): PrinterStatusReport {
    return this.stations[0].printerStatus;
  }

  /** The first station's last job. */
  get lastJobId(): string | null {
    return this.stations[0].lastJobId;
  }

  /** The first station's failures in a row. */
  get consecutiveErrors(): number {
    return this.stations[0].consecutiveErrors;
  }

  /** READY, PRINTING, ERROR (state store broken or a station's last job failed) or STOPPED. */
  get status(): AgentStatus {
    const printing = this.stations.some((s) => s.printing);
    if (this.#stopping && !printing) return "STOPPED";
    if (this.#storeBroken) return "ERROR";
    if (printing) return "PRINTING";
    return this.stations.some((s) => s.consecutiveErrors > 0) ? "ERROR" : "READY";
  }

  /** Jobs waiting to print, all stations. */
  get queueDepth(): number {
    return this.stations.reduce((n, s) => n + s.queue.length, 0);
  }

  /** Every station's state (heartbeat `printers`, `/status`, `/metrics`, the status page). */
  stationSnapshots(): StationSnapshot[] {
    return this.stations.map((s) => s.snapshot());
  }

  /** The station a job is for: by `printer_role`, else by `job_type`, else the first; or null. */
  route(job: Pick<Job, "printer_role" | "job_type">): Station | null {
    if (job.printer_role) {
      return this.stations.find((s) => s.roles.includes(job.printer_role!)) ?? null;
    }
    return this.stations.find((s) => s.roles.includes(job.job_type)) ?? this.stations[0];
  }

  /** Whether a job is waiting or printing at any station. */
  #inHand(uuid: string): boolean {
    return this.stations.some((s) => s.printing === uuid || s.queue.has(uuid));
  }

  /** Whether the job server answered the last request. */
  get serverReachable(): boolean {
    return this.health.reachable;
  }

  /** Resolves pending work from before a restart, then starts the loops. */
  start(): void {
    this.#recover();
    const loops: [string, () => Promise<void>][] = [
      ["poll", () => this.#pollLoop()],
      ...this.stations.map((st) =>
        [`print (${st.id})`, () => this.#printLoop(st)] as [string, () => Promise<void>]
      ),
      ["outbox", () => this.reports.run(this.#ac.signal)],
      ["heartbeat", () => this.#heartbeatLoop()],
      ["maintenance", () => this.#maintenanceLoop()],
    ];
    for (const [name, fn] of loops) {
      this.#loops.push(
        fn().catch((e) => {
          log.error(`[AGENT] The ${name} loop stopped unexpectedly: ${e?.stack ?? e}`, {
            code: "INTERNAL_ERROR",
          });
        }),
      );
    }
  }

  /** Finishes the job in hand, flushes reports, sends a STOPPED heartbeat. */
  async stop(): Promise<void> {
    if (this.#stopping) return;
    log.info("[STOP] Stopping Print Agent...");
    this.#stopping = true;
    this.#ac.abort();
    this.#workBell.ring();
    this.reports.queued();
    await Promise.all(this.#loops);
    // the last reports get a few seconds, whatever is waiting (the rest go out at the next start)
    await this.reports.deliver(this.clock.now() + STOP_FLUSH_MS).catch(() => {});
    await this.#sendHeartbeat().catch(() => {});
    for (const st of this.stations) await st.printer.close?.();
  }

  /** The event loop's worst lag (ms) since start and in the last minute. */
  loopLag(): { max_ms: number; last_minute_max_ms: number } {
    return this.#loopLag.snapshot(this.clock.now());
  }

  /** Sleeps on the agent's clock and records how late the wake-up ran (event-loop lag). */
  async #sleep(ms: number, signal: AbortSignal): Promise<void> {
    const due = this.clock.now() + ms;
    await this.clock.sleep(ms, signal);
    if (!signal.aborted) this.#loopLag.record(due, this.clock.now());
  }

  // ---- accepting jobs ------------------------------------------------------------------------

  /** Takes one job item (unvalidated) from the server or the local API. */
  accept(item: unknown, source = "server", o: { station?: string } = {}): AcceptResult {
    const now = this.clock.now();
    if (!o.station) {
      // another agent's work is left alone before anything else looks at it
      const other = this.#otherWork(item);
      if (other) {
        const uuid = String((item as { uuid?: unknown }).uuid ?? "?");
        if (other.terminal !== undefined) {
          return { outcome: "ignored", uuid, reason: `for terminal ${other.terminal}` };
        }
        this.#leftAlone.set(other.role!, (this.#leftAlone.get(other.role!) ?? 0) + 1);
        const reason = `for printer role ${other.role}, which no printer here serves`;
        return { outcome: "ignored", uuid, reason };
      }
    }
    const v = validateJob(item, this.config.limits);
    if ("invalid" in v) {
      const { id, uuid, code, reason } = v.invalid;
      if (id === null) {
        // nothing to report it under (a report goes to a job id): logged once an hour, skipped
        this.#unreportable.note(uuid ?? reason, () =>
          log.error(
            `[JOB ${uuid ?? "?"}] The server listed a job without a usable id; it cannot be ` +
              `reported and is skipped (logged once an hour): ${reason}`,
            { code },
          ));
        return { outcome: "rejected", uuid: null, code, reason, fresh: false };
      }
      const key = uuid ?? `id-${id}`;
      const fresh = this.journal.recordInvalid(key, String(id), code, reason, now);
      if (fresh) {
        log.error(`${jobLabel({ id, uuid })} [FAILED] Invalid job: ${reason}`, { code });
        this.counters.failed++;
        this.reports.queued();
      } else if (this.journal.resendFinal(key, now, String(id))) {
        // listed again: the server missed (or lost) the FAILED report
        log.info(`${jobLabel({ id, uuid })} Already failed as invalid; re-sending FAILED`);
        this.reports.queued();
      }
      return { outcome: "rejected", uuid: key, code, reason, fresh };
    }
    const job = v.job;
    const me = this.config.terminal_identity;
    if (job.terminal_id && job.terminal_id !== me.terminal_id) {
      return { outcome: "ignored", uuid: job.uuid, reason: `for terminal ${job.terminal_id}` };
    }
    const station = o.station
      ? this.stations.find((s) => s.id === o.station) ?? null
      : this.route(job);
    if (!station) {
      const reason = o.station
        ? `no station "${o.station}" here`
        : `for printer role ${job.printer_role}, which no printer here serves`;
      return { outcome: "ignored", uuid: job.uuid, reason };
    }
    if (job.created_at && !this.#naiveLogged && isNaive(job.created_at)) {
      this.#naiveLogged = true;
      const zone = this.config.server.naive_time_zone;
      log.info(
        `[TIME] The server writes created_at without a time zone (${
          JSON.stringify(job.created_at)
        }); read as ${zone === "local" ? "this PC's local time" : zone} (server.naive_time_zone)`,
      );
    }
    if (source === "server" && station.queue.length >= this.config.limits.queue) {
      // not taken (no FETCHED): it stays PENDING on the server until this printer has room
      return { outcome: "deferred", uuid: job.uuid, reason: `printer ${station.id} is full` };
    }
    const existing = this.journal.receive(job, now, source);
    if (existing && existing.server_id !== String(job.id) && existing.source === "server") {
      return this.#uuidReused(job, existing, now);
    }
    if (existing) return this.#known(job, existing, station);
    faultPoint("after_fetch");
    this.counters.received++;
    log.info(`${jobLabel(job)} Received: ${job.job_type}`);
    this.reports.queued();
    if (!(this.config.jobs.accepted_types as string[]).includes(job.job_type)) {
      const reason = `job_type "${job.job_type}" is not accepted here (accepted: ${
        this.config.jobs.accepted_types.join(", ")
      })`;
      this.#fail(job, station, "UNSUPPORTED_JOB_TYPE", reason);
      return {
        outcome: "rejected",
        uuid: job.uuid,
        code: "UNSUPPORTED_JOB_TYPE",
        reason,
        fresh: true,
      };
    }
    this.#enqueue(job, station);
    return { outcome: "queued", uuid: job.uuid };
  }

  /**
   * A second job id carrying a uuid another id already has: never printed (the uuid is the
   * promise's key), reported FAILED to its own id, naming the first.
   */
  #uuidReused(job: Job, first: JournalEntry, now: number): AcceptResult {
    const reason = `uuid ${job.uuid} already belongs to job ${first.server_id} ` +
      `(${first.state.toLowerCase()}); job ${job.id} is not printed`;
    const fresh = this.journal.recordInvalid(
      `${job.uuid}@${job.id}`,
      String(job.id),
      "DUPLICATE_UUID",
      reason,
      now,
    );
    if (fresh) {
      log.error(`${jobLabel(job)} [FAILED] ${reason}`, { code: "DUPLICATE_UUID" });
      this.counters.failed++;
      this.reports.queued();
    }
    return { outcome: "rejected", uuid: job.uuid, code: "DUPLICATE_UUID", reason, fresh };
  }

  #known(job: Job, e: JournalEntry, station: Station): AcceptResult {
    if (e.state === "PRINTED" || e.state === "FAILED") {
      this.counters.duplicates++;
      if (this.journal.resendFinal(job.uuid, this.clock.now(), String(job.id))) {
        log.info(
          `${jobLabel(job)} Already ${
            e.state === "PRINTED" ? "printed" : "failed"
          }; not printing again, ` +
            `re-sending ${e.state === "PRINTED" ? "COMPLETED" : "FAILED"}`,
        );
        this.reports.queued();
      }
      return { outcome: "duplicate", uuid: job.uuid, state: e.state };
    }
    if (e.state === "RECEIVED" && !this.#inHand(job.uuid)) {
      this.#enqueue(JSON.parse(e.payload ?? "null") ?? job, station);
      return { outcome: "resumed", uuid: job.uuid };
    }
    return { outcome: "duplicate", uuid: job.uuid, state: e.state };
  }

  #enqueue(job: Job, station: Station) {
    station.queue.push(job, this.clock.now());
    this.#workBell.ring();
  }

  /** Resolves jobs left open by a previous run (crash, power loss, kill). */
  #recover() {
    for (const e of this.journal.openJobs()) {
      const job = JSON.parse(e.payload ?? "null") as Job | null;
      const label = `[JOB ${e.server_id}]`;
      if (!job) continue;
      const station = this.route(job) ?? this.stations[0];
      // only a death while the job's own rendering ran counts (station.ts); a job whose printer
      // was failing is never poison, whatever the count says
      if (e.taken >= POISON_AFTER && !isPrinterFault(e.error_code)) {
        const msg = `the agent died or hung ${e.taken} times while this job was in hand; ` +
          `it is not taken up again (check the job's content, then send it again)`;
        log.error(`${label} [FAILED] [QUARANTINED] ${msg}`, { code: "POISON_JOB" });
        this.journal.markFailed(e.uuid, "POISON_JOB", msg, this.clock.now());
        this.counters.failed++;
        continue;
      }
      if (e.state === "RECEIVED") {
        log.info(`${label} Resuming: received before the last stop, not printed yet`);
        this.#enqueue(job, station);
        continue;
      }
      const where = e.printer ? ` on printer ${e.printer}` : "";
      // PRINTING at start-up: bytes may or may not have reached the paper.
      if ((this.config.jobs.reprint_interrupted as string[]).includes(e.job_type)) {
        log.warn(
          `${label} [INTERRUPTED] The agent stopped while printing this ${e.job_type} job; ` +
            `policy jobs.reprint_interrupted prints it again (it may appear twice)`,
          { code: "INTERRUPTED_MAY_HAVE_PRINTED" },
        );
        this.journal.markRetrying(
          e.uuid,
          e.attempts,
          "INTERRUPTED_MAY_HAVE_PRINTED",
          "reprinted by policy",
        );
        this.#enqueue(job, station);
        continue;
      }
      const msg = `the agent stopped while printing (attempt ${e.attempts}${where}); it may be ` +
        `on paper: check the printer and send a reprint if it is missing`;
      log.error(`${label} [FAILED] [INTERRUPTED] ${msg}`, { code: "INTERRUPTED_MAY_HAVE_PRINTED" });
      this.journal.markFailed(e.uuid, "INTERRUPTED_MAY_HAVE_PRINTED", msg, this.clock.now());
      this.counters.failed++;
    }
  }

  // ---- printing ------------------------------------------------------------------------------

  /** What the print pipeline needs from the agent (station.ts). */
  get #ctx(): PrintContext {
    return {
      journal: this.journal,
      clock: this.clock,
      config: this.config,
      serverClock: this.serverClock,
      signal: this.#ac.signal,
      stopping: () => this.#stopping,
      fail: (job, station, code, message) => this.#fail(job, station, code, message),
      printed: (job, station, on, ms) => this.#recordPrinted(job, station, on, ms),
      reported: () => this.reports.queued(),
      retried: () => this.counters.retries++,
    };
  }

  /** One station's loop: its own queue, its own printer, never waiting for another station. */
  async #printLoop(station: Station): Promise<void> {
    const signal = this.#ac.signal;
    while (!this.#stopping) {
      const job = this.#storeBroken ? undefined : station.queue.shift(this.clock.now());
      if (!job) {
        await this.#workBell.wait(this.clock, 5000, signal);
        continue;
      }
      station.printing = job.uuid;
      try {
        await printJob(this.#ctx, station, job);
      } catch (e) {
        if (e instanceof AgentError && e.code === "STATE_STORE_UNWRITABLE") {
          this.#storeFailed(e);
          station.queue.push(job, 0); // not lost: first in line once the journal works again
          continue;
        }
        log.error(`${jobLabel(job)} Unexpected error: ${(e as Error)?.stack ?? e}`, {
          code: "INTERNAL_ERROR",
        });
        try {
          this.#fail(job, station, "INTERNAL_ERROR", String((e as Error)?.message ?? e));
        } catch { /* the journal itself is failing; the store check reports it */ }
      } finally {
        station.printing = null;
      }
    }
  }

  #fail(job: Job, station: Station, code: ErrorCode, message: string) {
    try {
      this.journal.markFailed(job.uuid, code, message, this.clock.now());
    } catch (e) {
      // The outcome is decided; only the record failed. Never requeue (the job may be on paper
      // or in a spooler queue): keep it and commit it when the journal works again.
      this.#unsaved.push({ uuid: job.uuid, at: this.clock.now(), failed: { code, message } });
      this.#storeFailed(toAgentError(e, "STATE_STORE_UNWRITABLE"));
    }
    this.counters.failed++;
    station.consecutiveErrors++;
    station.lastJobId = String(job.id);
    this.reports.queued();
  }

  /** Prints one job on its station (tests drive this directly). */
  processJob(job: Job): Promise<void> {
    return printJob(this.#ctx, this.route(job) ?? this.stations[0], job);
  }

  #recordPrinted(job: Job, station: Station, on: Station, ms: number) {
    this.counters.printed++;
    station.lastJobId = String(job.id);
    this.durations.push(ms);
    if (this.durations.length > 1000) this.durations.shift();
    on.printerStatus = { status: "OK", detail: "last job printed" };
    on.consecutiveErrors = 0;
    if (on === station) {
      station.consecutiveErrors = 0;
      station.failoverActive = false;
    }
    const where = { printedOn: on.id, failoverFrom: on === station ? undefined : station.id };
    try {
      this.journal.markPrinted(job.uuid, this.clock.now(), where);
      this.reports.queued();
    } catch (e) {
      // The paper is out; only the record failed. Keep it in memory and commit it when the
      // store works again. If the process dies first, the job is PRINTING → reported ambiguous.
      this.#unsaved.push({ uuid: job.uuid, at: this.clock.now(), where });
      this.#storeFailed(toAgentError(e, "STATE_STORE_UNWRITABLE"));
    }
  }

  #storeFailed(e: AgentError) {
    if (!this.#storeBroken) {
      log.error(
        `[STATE] Cannot write the journal in ${this.config.state.path}: ${e.message}. ` +
          `Printing is stopped until it can be written again (disk full? read-only folder?)`,
        { code: "STATE_STORE_UNWRITABLE" },
      );
    }
    this.#storeBroken = true;
    this.#stateBell.ring();
    this.#sendHeartbeat().catch(() => {});
  }

  // ---- the server side -----------------------------------------------------------------------

  /**
   * Accepts a listed page of jobs while the queue has room; the rest stays PENDING on the server
   * for a later poll. Yields to the event loop every few milliseconds, so a huge list never
   * holds up heartbeats, reports, the local API or a stop. Returns how many were new.
   */
  async #intake(items: unknown[]): Promise<number> {
    let fresh = 0;
    let slice = this.clock.now();
    for (const item of items) {
      if (this.#stopping || this.#room() === 0) break;
      const r = this.accept(item);
      if (r.outcome === "queued" || (r.outcome === "rejected" && r.fresh)) fresh++;
      if (this.clock.now() - slice > INTAKE_SLICE_MS) {
        await new Promise((r) => setTimeout(r, 0));
        slice = this.clock.now();
      }
    }
    return fresh;
  }

  /**
   * Jobs the stations can still take: each station holds at most `limits.queue`, so a printer that
   * is down and piling up jobs never stops the intake for the others.
   */
  #room(): number {
    const max = this.config.limits.queue;
    return this.stations.reduce((n, s) => n + Math.max(0, max - s.queue.length), 0);
  }

  /**
   * Whether a listed item is one this agent would take (or fail): for this terminal and a role a
   * station serves. Jobs for others do not count against what a poll reads, so however many stand
   * in front, the poll reads on to the jobs that are ours.
   */
  #takes(item: unknown): boolean {
    return this.#otherWork(item) === null;
  }

  /** Whose a listed item is, when it is not ours: another terminal's, or a role not served here. */
  #otherWork(item: unknown): { terminal?: string; role?: string } | null {
    if (!item || typeof item !== "object" || Array.isArray(item)) return null; // ours to fail
    const o = item as Record<string, unknown>;
    const me = this.config.terminal_identity.terminal_id;
    if (typeof o.terminal_id === "string" && o.terminal_id && o.terminal_id !== me) {
      return { terminal: o.terminal_id };
    }
    const role = typeof o.printer_role === "string" && o.printer_role ? o.printer_role : null;
    if (role && !this.stations.some((s) => s.roles.includes(role))) return { role };
    return null;
  }

  /** Logs (once an hour for each set of roles) the jobs listed that no station here serves. */
  #noteLeftAlone(): void {
    if (this.#leftAlone.size === 0) return;
    const roles = [...this.#leftAlone].sort(([a], [b]) => a.localeCompare(b));
    this.#leftAlone.clear();
    const n = roles.reduce((k, [, c]) => k + c, 0);
    this.counters.left_alone += n;
    this.#leftAloneLog.note(roles.map(([r]) => r).join(","), () =>
      log.info(
        `[POLL] Leaving alone ${n} listed job(s) for printer role(s) no printer here serves: ${
          roles.map(([r, c]) => `${r} (${c})`).join(", ")
        }; they stay PENDING for another agent (logged once an hour)`,
      ));
  }

  /** Every role of every station, as the list request names them: `cashier,kitchen`. */
  #roles(): string {
    return this.#roleList ??= [...new Set(this.stations.flatMap((s) => s.roles))].join(",");
  }

  async #pollLoop(): Promise<void> {
    const s = this.config.server;
    const me = this.config.terminal_identity;
    const signal = this.#ac.signal;
    let failures = 0;
    let waitAsked = 0;
    while (!this.#stopping) {
      const limits = this.config.limits;
      if (this.#storeBroken || this.#room() === 0) {
        await this.#sleep(s.poll_interval * 1000, signal); // do not take jobs we cannot hold
        continue;
      }
      const t0 = this.clock.now();
      const sent = this.health.sent();
      let fresh = 0;
      try {
        const list = await this.#server.listPending({
          terminal: me.terminal_id,
          role: this.#roles(),
          waitS: s.long_poll_wait,
          maxItems: this.#room(),
          maxPages: limits.pages_per_poll,
          takes: (item) => this.#takes(item),
          signal,
        });
        failures = 0;
        this.serverClock.observe(list.serverDate, t0, this.clock.now());
        this.health.ok("jobs", sent);
        fresh = await this.#intake(list.items);
        this.#noteLeftAlone();
        if (
          list.items.length === 0 && s.long_poll_wait > 0 && this.clock.now() - t0 < 500 &&
          !this.#noLongPollLogged
        ) {
          this.#noLongPollLogged = true;
          log.info(
            `[POLL] The server answers at once (no long-poll); polling every ${s.poll_interval}s`,
          );
        }
      } catch (e) {
        if (this.#stopping) return;
        if (e instanceof AgentError && e.code === "STATE_STORE_UNWRITABLE") {
          this.#storeFailed(e);
          continue;
        }
        this.health.failed(e, "jobs", sent);
        failures++;
        waitAsked = e instanceof ServerError ? e.retryAfterMs ?? 0 : 0;
      }
      // The server lists a job until our FETCHED report lands: wait for those reports (briefly)
      // rather than being handed the same jobs again.
      if (failures === 0 && this.#fetchedPending() > 0) {
        const until = this.clock.now() + 2_000;
        while (
          this.#fetchedPending() > 0 && this.clock.now() < until && !this.#stopping
        ) {
          // woken as FETCHED reports land: no polling of our own
          await this.reports.drained.wait(this.clock, until - this.clock.now(), signal);
        }
        // at once again only for new work; otherwise at the configured pace (below)
        if (fresh > 0 && this.#fetchedPending() === 0) continue;
      }
      // Sleep unless the server held the request (long-poll) or handed us new work.
      const elapsed = this.clock.now() - t0;
      const base = s.poll_interval * 1000;
      const backoff = failures > 0 ? Math.min(base * 2 ** Math.min(failures - 1, 4), 30_000) : base;
      // a 429/503 with Retry-After is honoured (bounded: job_server.ts), and said once
      const pause = Math.max(backoff, waitAsked);
      if (waitAsked > 0 && !this.#retryAfterLogged) {
        this.#retryAfterLogged = true;
        log.warn(
          `[POLL] The server asks the agent to wait ${Math.round(waitAsked / 1000)} s ` +
            `(Retry-After); polling resumes then (said once per start)`,
        );
      }
      if (waitAsked > 0) {
        // counted from the answer, not from when the request left
        await this.#sleep(waitAsked, signal);
        waitAsked = 0;
        continue;
      }
      if (fresh === 0 && elapsed < base) await this.#sleep(pause - elapsed, signal);
      else if (failures > 0) await this.#sleep(pause, signal);
    }
  }

  /** Age of the oldest report still waiting, in seconds (0 when none). */
  oldestReportAge(): number {
    return this.reports.oldestAge();
  }

  /** The agent at this moment: one snapshot feeds the heartbeat, `/status` and `/metrics`. */
  snapshot(): AgentSnapshot {
    const me = this.config.terminal_identity;
    return {
      terminal_id: me.terminal_id,
      location_id: me.location_id,
      agent_status: this.status,
      printers: this.stationSnapshots(),
      queue_depth: this.queueDepth,
      outbox_depth: safe(() => this.journal.outboxDepth(), -1),
      reports_refused: safe(() => this.journal.refusedSince(this.clock.now() - 86_400_000), 0),
      oldest_report_age_seconds: this.oldestReportAge(),
      state_store: this.#storeBroken ? "UNWRITABLE" : "OK",
      version: this.version,
      uptime_seconds: Math.round((this.clock.now() - this.startedAt) / 1000),
      at: this.clock.now(),
    };
  }

  /** The heartbeat body (docs/protocol.md). */
  heartbeatBody(): Record<string, unknown> {
    return heartbeatBody(this.snapshot());
  }

  async #sendHeartbeat(): Promise<void> {
    const sent = this.health.sent();
    try {
      const date = await this.#server.heartbeat(this.heartbeatBody());
      this.serverClock.observe(date, sent, this.clock.now());
      this.health.ok("heartbeat", sent);
    } catch (e) {
      this.health.failed(e, "heartbeat", sent);
    }
  }

  async #heartbeatLoop(): Promise<void> {
    const signal = this.#ac.signal;
    while (!this.#stopping) {
      await Promise.all(this.stations.map(async (st) => {
        if (!st.printing) st.printerStatus = await st.printer.status();
      }));
      await this.#sendHeartbeat();
      await this.#sleep(this.config.server.heartbeat_interval * 1000, signal);
    }
  }

  /** Probes a broken store, commits what could not be saved, prunes old history. */
  async #maintenanceLoop(): Promise<void> {
    const signal = this.#ac.signal;
    let nextPrune = this.clock.now() + 10_000;
    while (!this.#stopping) {
      await this.#stateBell.wait(this.clock, this.#storeBroken ? 2_000 : 60_000, signal);
      if (this.#stopping) return;
      if (this.#storeBroken) {
        try {
          this.journal.probeWritable();
          while (this.#unsaved.length) {
            const u = this.#unsaved[0]; // removed only once committed
            if (u.failed) this.journal.markFailed(u.uuid, u.failed.code, u.failed.message, u.at);
            else this.journal.markPrinted(u.uuid, u.at, u.where);
            this.#unsaved.shift();
          }
          this.#storeBroken = false;
          log.info("[STATE] The journal can be written again; printing resumes");
          this.#workBell.ring();
          this.reports.queued();
        } catch { /* still broken: the ERROR heartbeat says so */ }
        continue;
      }
      if (this.clock.now() >= nextPrune) {
        nextPrune = this.clock.now() + 3_600_000;
        await this.prune();
      }
    }
  }

  /** FETCHED reports not yet delivered (0 when the journal cannot be read). */
  #fetchedPending(): number {
    return safe(() => this.journal.pendingReports("FETCHED"), 0);
  }

  /** Deletes history past the retention, in small batches between jobs. */
  async prune(): Promise<number> {
    const st = this.config.state;
    let total = 0;
    for (let i = 0; i < 1000; i++) {
      const n = safe(
        () => this.journal.prune(this.clock.now(), st.retention_days * 86_400_000, st.max_rows),
        0,
      );
      total += n;
      if (n < 500) break;
      await new Promise((r) => setTimeout(r, 0)); // let a waiting job go first
    }
    if (total) log.debug(`[STATE] Pruned ${total} old journal rows`);
    return total;
  }
}

/** Whether a journal error code says the printer, not the job, was at fault. */
function isPrinterFault(code: string | null): boolean {
  return code !== null && /^(PRINTER_|SPOOLER_)/.test(code);
}

function safe<T>(f: () => T, fallback: T): T {
  try {
    return f();
  } catch {
    return fallback;
  }
}
