/**
 * The agent's loops: take jobs (long-poll with a plain-poll fallback) and route each to its
 * station, run one print loop per station (station.ts: render → PRINTING → bytes → PRINTED),
 * deliver status reports from the outbox, and send heartbeats. The journal decides what may be
 * printed; this module only asks.
 * @module
 */
import { type Clock, systemClock } from "./clock.ts";
import type { Config } from "../config.ts";
import { AgentError } from "../errors.ts";
import { jobLabel } from "./job.ts";
import { type JobServer, ServerError } from "../server/job_server.ts";
import { Bell } from "./bell.ts";
import { ReportPump } from "../server/outbox.ts";
import { ServerHealth } from "../server/server_health.ts";
import type { JobStore } from "../store/journal.ts";
import { log, LogOnce } from "../log.ts";
import { LoopLag } from "./loop_lag.ts";
import type { Printer } from "../printers/printer.ts";
import type { Renderer } from "../render/render.ts";
import { type PrintEnv, printJob, Station } from "./station.ts";
import { type AgentSnapshot, type AgentStatus, heartbeatBody } from "../server/protocol.ts";
import type { ConfigReport } from "../site/remote_config.ts";
import type { UpdateReport } from "../site/updater.ts";
import { ServerClock } from "../server/server_time.ts";
import { type Counters, Ledger } from "./ledger.ts";
import { type AcceptResult, Intake } from "./intake.ts";

export type { AcceptResult, AgentStatus };

/** Everything the agent works with; tests pass fakes for the printers and clock. */
export interface AgentDeps {
  /** The validated configuration. */
  config: Config;
  /** The durable store. */
  journal: JobStore;
  /** The job server client. */
  server: JobServer;
  /** One printer and renderer per configured station, in `config.stations` order. */
  stations: { printer: Printer; renderer: Renderer }[];
  /** The agent's version. */
  version: string;
  /** The clock (default: the system clock). */
  clock?: Clock;
  /** Remote configuration: its state for the heartbeat, and what the server answered. */
  remote?: RemoteHooks;
}

/** What the agent tells remote configuration (site/remote_config.ts) and asks of it. */
export interface RemoteHooks {
  /** The state each heartbeat carries. */
  report(): ConfigReport;
  /** The body of a heartbeat's answer (an offer of a new configuration may be in it). */
  onReply(reply: unknown): void;
  /** Self-update's state for the heartbeat (site/updater.ts). */
  updateReport?(): UpdateReport;
  /** Whether a heartbeat reached the server (a new version is watched by it). */
  onHeartbeat?(ok: boolean): void;
  /** A job ended: printed (null) or failed for good with a code. */
  onJob?(code: string | null): void;
}

/** The heartbeat's `update` when nothing was ever offered. */
const NO_UPDATE: UpdateReport = { state: "idle", target: null, error: null };

/** Longest a station's print loop sleeps with nothing queued (it is rung for new work). */
const IDLE_PRINT_WAKE_MS = 60_000;

/** How long a stop spends delivering the last reports. */
const STOP_FLUSH_MS = 3_000;

/**
 * One agent: one terminal identity, one journal, one or more stations (printers), and the loops
 * that drive them. What happens to a job is decided by the intake (intake.ts), the print
 * pipeline (station.ts) and recorded by the ledger (ledger.ts); this class only runs the loops.
 */
export class Agent {
  /** The validated configuration. */
  readonly config: Config;
  /** The durable store. */
  readonly journal: JobStore;
  /** The stations, in configuration order; the first is the seed's single printer. */
  readonly stations: Station[];
  /** The agent's version. */
  readonly version: string;
  /** The clock (default: the system clock). */
  readonly clock: Clock;
  /** When the agent started (ms). */
  readonly startedAt: number;
  /** The one writer of every job's fate. */
  readonly ledger: Ledger;
  /** Takes jobs in: routing, validation, duplicates. */
  readonly intake: Intake;
  /** Delivers the outbox's reports. */
  readonly reports: ReportPump;
  /** Whether the job server answers. */
  readonly health: ServerHealth;
  /** The job server's clock, read from its answers' Date headers. */
  readonly serverClock: ServerClock = new ServerClock();
  #server: JobServer;
  #remote: RemoteHooks | null;
  #ac = new AbortController();
  /** Rung when a job is queued or the journal works again: the print loops wait on it. */
  #workBell = new Bell();
  /** Wakes the heartbeat loop: the journal broke or mended, a printer's status changed. */
  #beatBell = new Bell();
  #statusChanged = false;
  #loops: Promise<void>[] = [];
  #stopping = false;
  #retryAfterLogged = false;
  #noLongPollLogged = false;
  #foreignNextLog: LogOnce;
  /** How late the event loop ran (heartbeats, reports and the local API wait on it). */
  #loopLag = new LoopLag();

  /** Creates a Agent. */
  constructor(d: AgentDeps) {
    this.config = d.config;
    this.journal = d.journal;
    const parts = d.stations;
    if (parts.length !== d.config.stations.length || parts.some((p) => !p.printer)) {
      throw new Error(
        `Agent: ${d.config.stations.length} station(s) configured, ${parts.length} given`,
      );
    }
    const agingMs = d.config.jobs.priority_aging_seconds * 1000;
    this.clock = d.clock ?? systemClock;
    this.stations = d.config.stations.map((c, i) =>
      new Station(c, parts[i].printer, parts[i].renderer, agingMs, () => this.clock.now())
    );
    Station.wire(this.stations);
    for (const st of this.stations) {
      st.onStatusChange = () => {
        this.#statusChanged = true;
        this.#beatBell.ring();
        // a balanced printer back from a failure claims the orders waiting on its siblings now,
        // not at the next new order
        if (st.config.balance) this.#workBell.ring();
      };
    }
    this.version = d.version;
    this.#server = d.server;
    this.#remote = d.remote ?? null;
    this.startedAt = this.clock.now();
    this.health = new ServerHealth(this.clock);
    this.ledger = new Ledger(this.journal, this.clock, this.config);
    if (this.#remote?.onJob) this.ledger.onOutcome = this.#remote.onJob.bind(this.#remote);
    this.intake = new Intake(this.config, this.stations, this.ledger, this.clock, this.#workBell);
    this.#foreignNextLog = new LogOnce(this.clock, 3_600_000);
    this.reports = new ReportPump({
      journal: this.journal,
      server: this.#server,
      clock: this.clock,
      config: this.config,
      health: this.health,
      ledger: this.ledger,
    });
  }

  /** Counters for /status and /metrics. */
  get counters(): Readonly<Counters> {
    return this.ledger.counters;
  }

  /** Print durations in ms (most recent 1,000), for /metrics. */
  get durations(): readonly number[] {
    return this.ledger.durations;
  }

  /** Paper printed since start, mm, by `template\0variant` (see {@link Ledger.paperMm}). */
  get paperMm(): ReadonlyMap<string, number> {
    return this.ledger.paperMm;
  }

  /** READY, PRINTING, ERROR (state store broken or a station's last job failed) or STOPPED. */
  get status(): AgentStatus {
    const printing = this.stations.some((s) => s.printing);
    if (this.#stopping && !printing) return "STOPPED";
    if (this.ledger.broken) return "ERROR";
    if (printing) return "PRINTING";
    return this.stations.some((s) => s.consecutiveErrors > 0) ? "ERROR" : "READY";
  }

  /** Whether the job server answered the last request. */
  get serverReachable(): boolean {
    return this.health.reachable;
  }

  /** Takes one job item (unvalidated) from the server or the local API: see {@link Intake}. */
  accept(item: unknown, source = "server", o: { station?: string } = {}): AcceptResult {
    return this.intake.accept(item, source, o);
  }

  /** The station a job is for (see {@link Intake.route}). */
  route(job: Parameters<Intake["route"]>[0]): Station | null {
    return this.intake.route(job);
  }

  /** The stations a job may print on (see {@link Intake.stationsFor}). */
  stationsFor(job: Parameters<Intake["stationsFor"]>[0]): Station[] {
    return this.intake.stationsFor(job);
  }

  /** Resolves pending work from before a restart, then starts the loops. */
  start(): void {
    if (this.stations.some((s) => s.config.balance)) {
      // balanced roles: each recent order's printer, so its follow-ups keep to it after a restart
      this.intake.recall(safe(() => this.journal.recent(ORDERS_RECALLED), []));
    }
    for (const job of this.ledger.recover()) {
      this.intake.enqueue(job, this.route(job) ?? this.stations[0]);
    }
    const loops: [string, () => Promise<void>][] = [
      ["poll", () => this.#pollLoop()],
      ...this.stations.map((st) =>
        [`print (${st.id})`, () => this.#printLoop(st)] as [string, () => Promise<void>]
      ),
      ["outbox", () => this.reports.run(this.#ac.signal)],
      ["heartbeat", () => this.#heartbeatLoop()],
      ["printer status", () => this.#probeLoop()],
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

  /** What the print pipeline reads around it. */
  get #env(): PrintEnv {
    return {
      clock: this.clock,
      config: this.config,
      serverClock: this.serverClock,
      signal: this.#ac.signal,
    };
  }

  /** One station's loop: its own queue, its own printer, never waiting for another station. */
  async #printLoop(station: Station): Promise<void> {
    const signal = this.#ac.signal;
    while (!this.#stopping) {
      const job = this.ledger.broken ? undefined : this.intake.take(station, this.clock.now());
      if (!job) {
        // woken when a job is queued or the journal works again; the timeout is a safety net
        // only (an idle store PC should sleep, not poll its own queues)
        await this.#workBell.wait(this.clock, IDLE_PRINT_WAKE_MS, signal);
        continue;
      }
      try {
        await printJob(job, station, this.ledger, this.#env);
      } catch (e) {
        if (e instanceof AgentError && e.code === "STATE_STORE_UNWRITABLE") {
          this.ledger.storeFailed(e);
          station.queue.push(job, 0); // not lost: first in line once the journal works again
          continue;
        }
        log.error(`${jobLabel(job)} Unexpected error: ${(e as Error)?.stack ?? e}`, {
          code: "INTERNAL_ERROR",
        });
        try {
          this.ledger.failed(job, station, "INTERNAL_ERROR", String((e as Error)?.message ?? e));
        } catch { /* the journal itself is failing; the store check reports it */ }
      } finally {
        station.put();
      }
      // a balanced station that is failing hands its waiting jobs to its healthy siblings
      if (station.config.balance && !station.healthy) this.intake.handOff(station);
    }
  }

  // ---- the server side -----------------------------------------------------------------------

  async #pollLoop(): Promise<void> {
    const s = this.config.server;
    const me = this.config.terminal_identity;
    const signal = this.#ac.signal;
    let failures = 0;
    let waitAsked = 0;
    while (!this.#stopping) {
      const limits = this.config.limits;
      if (this.ledger.broken || this.intake.room() === 0) {
        await this.#sleep(s.poll_interval * 1000, signal); // do not take jobs we cannot hold
        continue;
      }
      const t0 = this.clock.now();
      const sent = this.health.sent();
      let fresh = 0;
      try {
        const list = await this.#server.listPending({
          terminal: me.terminal_id,
          role: this.intake.roles(),
          waitS: s.long_poll_wait,
          maxItems: this.intake.room(),
          maxPages: limits.pages_per_poll,
          takes: (item) => this.intake.takes(item),
          signal,
        });
        failures = 0;
        this.serverClock.observe(list.serverDate, t0, this.clock.now());
        // jobs arrive: fix the journal reset's line in the server clock while this answer's
        // Date is at hand, so a crash before they print does not leave the next run guessing
        if (list.items.length) this.#keepResetLine();
        this.health.ok("jobs", sent);
        if (list.foreignNext) this.#foreignNext(list.foreignNext);
        fresh = await this.intake.page(list.items, signal);
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
          this.ledger.storeFailed(e);
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

  /** A `next` page on another origin: never followed (the token stays home), said once an hour. */
  #foreignNext(next: string): void {
    this.#foreignNextLog.note("next", () =>
      log.warn(
        `[POLL] The server's next page ${next} is not on server.base_url ` +
          `(${this.config.server.base_url}); it is not followed, so only the first page is read. ` +
          `Behind a reverse proxy, pass the original Host (nginx: proxy_set_header Host $host) ` +
          `or set Django's USE_X_FORWARDED_HOST (said once an hour)`,
        { code: "SERVER_NEXT_ORIGIN" },
      ));
  }

  /** The agent at this moment: one snapshot feeds the heartbeat, `/status` and `/metrics`. */
  snapshot(): AgentSnapshot {
    const me = this.config.terminal_identity;
    return {
      terminal_id: me.terminal_id,
      location_id: me.location_id,
      agent_status: this.status,
      printers: this.stations.map((s) => s.snapshot()),
      queue_depth: this.stations.reduce((n, s) => n + s.queue.length, 0),
      outbox_depth: safe(() => this.journal.outboxDepth(), -1),
      reports_refused: safe(() => this.journal.refusedSince(this.clock.now() - 86_400_000), 0),
      oldest_report_age_seconds: this.reports.oldestAge(),
      state_store: this.ledger.broken ? "UNWRITABLE" : "OK",
      version: this.version,
      uptime_seconds: Math.round((this.clock.now() - this.startedAt) / 1000),
      at: this.clock.now(),
      ...(this.#remote ? { config: this.#remote.report() } : {}),
      update: this.#remote?.updateReport?.() ?? NO_UPDATE,
    };
  }

  #keepResetLine(): void {
    try {
      this.ledger.resetLine(this.serverClock);
    } catch { /* the journal's fault is met (and reported) when the jobs are journalled */ }
  }

  /** The fleet state last written to the journal (each change is one entry). */
  #fleetKept = "";

  #keepFleetChange(s: AgentSnapshot): void {
    if (!this.#remote) return;
    const now = JSON.stringify({ config: s.config, update: s.update });
    if (now === this.#fleetKept) return;
    try {
      this.journal.recordFleet(this.clock.now(), { config: s.config, update: s.update });
      this.#fleetKept = now;
    } catch { /* the journal's fault is reported by the jobs' path; tried again next beat */ }
  }

  async #sendHeartbeat(): Promise<void> {
    const sent = this.health.sent();
    try {
      const snap = this.snapshot();
      this.#keepFleetChange(snap);
      const date = await this.#server.heartbeat(heartbeatBody(snap));
      this.serverClock.observe(date, sent, this.clock.now());
      this.health.ok("heartbeat", sent);
      this.heartbeatOkAt = this.clock.now();
      this.#remote?.onReply(this.#server.lastHeartbeatReply);
      this.#remote?.onHeartbeat?.(true);
    } catch (e) {
      this.health.failed(e, "heartbeat", sent);
      this.#remote?.onHeartbeat?.(false);
    }
  }

  /** When a heartbeat last reached the server (ms; null: none yet in this run). */
  heartbeatOkAt: number | null = null;

  /** Sends a heartbeat soon (remote configuration's state changed). */
  heartbeatSoon(): void {
    this.#statusChanged = true;
    this.#beatBell.ring();
  }

  /**
   * Every `heartbeat_interval`, at once when the journal stops taking writes, and at once (at
   * most one a second) when a printer's status changes: the server hears of a paper-out within
   * the probe interval, not half a minute later.
   */
  async #heartbeatLoop(): Promise<void> {
    const signal = this.#ac.signal;
    this.ledger.storeChanged.forward(this.#beatBell);
    let broken = false;
    let scheduled = true;
    while (!this.#stopping) {
      // a beat for a status change carries what the probe just found: no second round of probes
      // printers the probe loop asks are not asked again once they have answered: its answer is
      // at most an interval old (and a silent one would hold the beat for its timeout)
      if (scheduled) {
        const ask = this.stations.filter((st) => !probed(st) || !st.asked);
        await Promise.all(ask.map((st) => st.check()));
      }
      this.#statusChanged = false;
      const sentAt = this.clock.now();
      await this.#sendHeartbeat();
      const due = sentAt + this.config.server.heartbeat_interval * 1000;
      scheduled = true;
      while (!this.#stopping && this.clock.now() < due) {
        await this.#beatBell.wait(this.clock, due - this.clock.now(), signal);
        if (this.ledger.broken !== broken) {
          broken = this.ledger.broken;
          if (broken) break; // the server hears of a broken journal at once
        }
        if (this.#statusChanged && !this.#stopping) {
          const gap = sentAt + 1000 - this.clock.now();
          if (gap > 0) await this.clock.sleep(gap, signal);
          scheduled = false;
          break;
        }
      }
      if (!signal.aborted && !broken && scheduled) this.#loopLag.record(due, this.clock.now());
    }
  }

  /**
   * Asks printers that can answer (`tcp`, a serial or USB device) how they are every
   * `status_interval` seconds while nothing is queued for them or in hand, so a paper-out or an
   * open cover reaches the heartbeat within that time. Printers that cannot answer are asked only
   * with the heartbeat.
   *
   * The loop does not wait for the answers: each question runs until the printer answers or the
   * next round, when one still open is given up (`until`). So the loop's own sleep is the only
   * timer an idle probe sets: a timer wakes the process at its time even when cleared (#21).
   */
  async #probeLoop(): Promise<void> {
    const candidates = this.stations.filter((st) => st.config.status_interval > 0);
    if (!candidates.length) return;
    const open = new Map<Station, AbortController>();
    const asked = new Set<Promise<unknown>>();
    const giveUp = (st: Station) => {
      open.get(st)?.abort();
      open.delete(st);
    };
    try {
      await this.#probeRounds(candidates, open, asked, giveUp);
    } finally {
      // stopping: the questions still open end now, and are waited for
      [...open.keys()].forEach(giveUp);
      await Promise.allSettled(asked);
    }
  }

  async #probeRounds(
    candidates: Station[],
    open: Map<Station, AbortController>,
    asked: Set<Promise<unknown>>,
    giveUp: (st: Station) => void,
  ): Promise<void> {
    const signal = this.#ac.signal;
    const next = new Map(candidates.map((st) => [st, 0]));
    while (!this.#stopping) {
      // looked at each round: a winspool printer's USB channel is found by its first check, and
      // a device that stopped answering is asked with the heartbeat only
      const answering = candidates.filter(probed);
      if (!answering.length) {
        await this.clock.sleep(this.config.server.heartbeat_interval * 1000, signal);
        continue;
      }
      const now = this.clock.now();
      for (const st of answering) {
        if (now < next.get(st)!) continue;
        // the last round's question, if the printer never answered it (also while a job is in
        // hand: a retry's recheck shares it)
        giveUp(st);
        if (!st.idle) continue;
        next.set(st, now + st.config.status_interval * 1000);
        if (st.asking) continue; // the heartbeat's question, still open: it answers for both
        // a long interval would leave a question unanswered that long (and the heartbeat and a
        // retry share it): those keep the transport's own timeouts
        const ac = st.config.status_interval <= UNTIL_NEXT_ROUND_S ? new AbortController() : null;
        if (ac) open.set(st, ac);
        const q = st.check(ac ? { until: ac.signal } : {}).finally(() => {
          if (ac && open.get(st) === ac) open.delete(st);
          asked.delete(q);
        });
        asked.add(q);
      }
      // the next one due among the idle; while every one is busy, look again in half a second
      const idle = answering.filter((st) => st.idle);
      const wait = idle.length
        ? Math.max(Math.min(...idle.map((st) => next.get(st)!)) - this.clock.now(), 50)
        : 500;
      await this.clock.sleep(wait, signal);
    }
  }

  /** Probes a broken store, commits what could not be saved, prunes old history. */
  async #maintenanceLoop(): Promise<void> {
    const signal = this.#ac.signal;
    let nextPrune = this.clock.now() + 10_000;
    while (!this.#stopping) {
      await this.ledger.storeChanged.wait(this.clock, this.ledger.broken ? 2_000 : 60_000, signal);
      if (this.#stopping) return;
      if (this.ledger.broken) {
        if (this.ledger.repair()) this.#workBell.ring();
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

/** Whether the probe loop asks this station's printer (every `status_interval` while idle). */
function probed(st: Station): boolean {
  return st.config.status_interval > 0 && !!st.printer.answersStatus;
}

/**
 * Status intervals (s) up to which an idle probe's question runs until the next round rather than
 * on timers of its own (see `#probeLoop`).
 */
const UNTIL_NEXT_ROUND_S = 3;

/** Recent journal rows read at start for the orders of balanced roles. */
const ORDERS_RECALLED = 2_000;

function safe<T>(f: () => T, fallback: T): T {
  try {
    return f();
  } catch {
    return fallback;
  }
}
