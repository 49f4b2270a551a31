/**
 * A station: one printer of this terminal with the roles it serves, its own queue, print loop,
 * printer health and retry timers, and an optional backup station. A station whose printer is
 * down never holds up another station's jobs.
 *
 * {@link printJob} is the one place where a job goes render → PRINTING (durable) → bytes →
 * PRINTED, with retries and failover to the backup printer.
 * @module
 */
import type { Clock } from "./clock.ts";
import type { Config, StationConfig } from "../config.ts";
import { AgentError, toAgentError } from "../errors.ts";
import { type Job, jobLabel } from "./job.ts";
import type { Ledger } from "./ledger.ts";
import { log } from "../log.ts";
import { faultPoint } from "./fault.ts";
import {
  printable,
  type Printer,
  type PrinterStatus,
  type PrinterStatusReport,
  statusError,
  statusOf,
  type StatusOptions,
} from "../printers/printer.ts";
import type { Rendered, Renderer } from "../render/render.ts";
import type { PrintedWith } from "../server/protocol.ts";
import type { PrinterBeat } from "../server/protocol.ts";
import { parseServerTime, type ServerClock } from "../server/server_time.ts";

/** Job types a customer takes away: they fail over only where a station allows it. */
const RECEIPT_TYPES = new Set(["receipt", "reprint", "raw"]);

/**
 * How long a station whose job failed (or went to the backup) waits for new work when its printer
 * cannot say it is back (status `UNKNOWN`): after this, the next order may be its trial.
 */
export const RETRY_AFTER_FAILURE_MS = 60_000;

/** A waiting job and when it arrived. */
interface Waiting {
  job: Job;
  at: number;
  seq: number;
}

/**
 * A station's queue: cash-drawer kicks first, then higher priority, then the oldest; a waiting
 * job gains one priority level per `agingMs`, so none waits for ever behind newer urgent jobs.
 */
export class JobQueue {
  #items: Waiting[] = [];
  #seq = 0;
  #agingMs: number;

  /** Creates a JobQueue. */
  constructor(agingMs: number) {
    this.#agingMs = agingMs;
  }

  /** Adds a job that arrived at `at` (ms). */
  push(job: Job, at: number): void {
    this.#items.push({ job, at, seq: this.#seq++ });
  }

  /** Takes the job to print next at time `now`. */
  shift(now: number): Job | undefined {
    if (this.#items.length === 0) return undefined;
    let best = 0;
    for (let i = 1; i < this.#items.length; i++) {
      if (this.#before(this.#items[i], this.#items[best], now)) best = i;
    }
    return this.#items.splice(best, 1)[0].job;
  }

  #before(a: Waiting, b: Waiting, now: number): boolean {
    const drawer = (w: Waiting) => w.job.job_type === "drawer" ? 1 : 0;
    if (drawer(a) !== drawer(b)) return drawer(a) > drawer(b);
    const level = (w: Waiting) => w.job.priority + Math.floor((now - w.at) / this.#agingMs);
    if (level(a) !== level(b)) return level(a) > level(b);
    return a.at !== b.at ? a.at < b.at : a.seq < b.seq;
  }

  /** Takes out every waiting job `keep` says no to, with when each arrived. */
  takeOut(keep: (job: Job) => boolean): { job: Job; at: number }[] {
    const out = this.#items.filter((w) => !keep(w.job));
    this.#items = this.#items.filter((w) => keep(w.job));
    return out.map(({ job, at }) => ({ job, at }));
  }

  /** The jobs waiting, in the order they arrived. */
  waiting(): Job[] {
    return this.#items.map((w) => w.job);
  }

  /** Whether a job with this uuid is waiting. */
  has(uuid: string): boolean {
    return this.#items.some((w) => w.job.uuid === uuid);
  }

  /** Jobs waiting. */
  get length(): number {
    return this.#items.length;
  }
}

/** What heartbeats, `/status` and `/metrics` show of a station. */
export interface StationSnapshot extends PrinterBeat {
  /** The printer's status. */
  status: PrinterStatus;
}

/** One printer of the terminal, with its queue and health; only its own methods change it. */
export class Station {
  /** The station's id (its `printers[]` id). */
  readonly id: string;
  /** The printer roles it serves. */
  readonly roles: string[];
  /** The station's settings. */
  readonly config: StationConfig;
  /** The station's printer. */
  readonly printer: Printer;
  /** Renders jobs for this station's printer and paper. */
  readonly renderer: Renderer;
  /** Jobs waiting for this station. */
  readonly queue: JobQueue;
  #backup: Station | null = null;
  #printing: string | null = null;
  #printerStatus: PrinterStatusReport = { status: "UNKNOWN", detail: "not checked yet" };
  /** When the printer's status became what it is (ms, the agent's clock). */
  #statusSince: number;
  #now: () => number;
  /** Called when the printer's status changes (the agent tells the server at once). */
  onStatusChange: ((st: Station) => void) | null = null;
  #lastJobId: string | null = null;
  #consecutiveErrors = 0;
  #failoverActive = false;
  /** When a job here last failed on the printer or went to the backup; null once it printed. */
  #failedAt: number | null = null;
  /** When the idle printer was last asked a question it answered with a printable status (ms). */
  #answeredOkAt = -Infinity;
  /** The job in hand went to the backup. */
  #jobFailedOver = false;
  #lock: Promise<unknown> = Promise.resolve();

  /** Creates a Station. */
  constructor(
    config: StationConfig,
    printer: Printer,
    renderer: Renderer,
    agingMs: number,
    now: () => number = Date.now,
  ) {
    this.#now = now;
    this.#statusSince = now();
    this.id = config.id;
    this.roles = config.roles;
    this.config = config;
    this.printer = printer;
    this.renderer = renderer;
    this.queue = new JobQueue(agingMs);
  }

  /**
   * Wires each station's backup (by `backup` id) once all stations exist; a balanced station
   * without one is backed up by the next station balancing a role with it.
   */
  static wire(stations: Station[]): void {
    for (const st of stations) {
      st.#backup = stations.find((b) => b.id === st.config.backup) ??
        st.siblings(stations)[0] ?? null;
    }
  }

  /** The other stations balancing one of this station's roles with it (config order, after it). */
  siblings(stations: readonly Station[]): Station[] {
    if (!this.config.balance) return [];
    const at = stations.indexOf(this);
    return [...stations.slice(at + 1), ...stations.slice(0, at)].filter((s) =>
      s !== this && s.config.balance && s.roles.some((r) => this.roles.includes(r))
    );
  }

  /**
   * Whether new work should come here: its printer not known to be failing and, if a job failed
   * here or went to the backup since it last printed, back since: the idle printer was asked how
   * it is after that and answered OK (or paper near end), or, where it cannot say (`UNKNOWN`),
   * {@link RETRY_AFTER_FAILURE_MS} have passed (the next order is its trial).
   */
  get healthy(): boolean {
    const s = this.#printerStatus.status;
    if (!printable(s)) return false;
    const failed = this.#failedAt;
    return failed === null || this.#answeredOkAt > failed ||
      this.#now() - failed >= RETRY_AFTER_FAILURE_MS;
  }

  /** Work queued here, the job in hand included, per unit of `weight`. */
  get load(): number {
    return (this.queue.length + (this.#printing ? 1 : 0)) / this.config.weight;
  }

  /** Where this station's jobs go when its printer fails. */
  get backup(): Station | null {
    return this.#backup;
  }

  /** The job in hand, if any. */
  get printing(): string | null {
    return this.#printing;
  }

  /** The printer's last known status. */
  get printerStatus(): PrinterStatusReport {
    return this.#printerStatus;
  }

  /** The server id of the station's last finished job. */
  get lastJobId(): string | null {
    return this.#lastJobId;
  }

  /** The station's jobs failed in a row. */
  get consecutiveErrors(): number {
    return this.#consecutiveErrors;
  }

  /** This station's last job went to the backup; cleared when its own printer prints again. */
  get failoverActive(): boolean {
    return this.#failoverActive;
  }

  /** Takes the next job off the queue into hand, or undefined when none is waiting. */
  take(now: number): Job | undefined {
    const job = this.queue.shift(now);
    this.#printing = job?.uuid ?? null;
    this.#jobFailedOver = false;
    return job;
  }

  /** The job in hand left it (finished, failed, or queued again). */
  put(): void {
    this.#printing = null;
  }

  #setStatus(r: PrinterStatusReport): void {
    const changed = r.status !== this.#printerStatus.status;
    this.#printerStatus = r;
    if (!changed) return;
    this.#statusSince = this.#now();
    this.onStatusChange?.(this);
  }

  /** When the printer's status became what it is (ms). */
  get statusSince(): number {
    return this.#statusSince;
  }

  /** Whether nothing is queued here or in hand: the printer may be asked without disturbing a job. */
  get idle(): boolean {
    return !this.#printing && this.queue.length === 0;
  }

  /** The status question in flight: the heartbeat and the probe loop share it, never ask twice. */
  #asking: Promise<PrinterStatusReport> | null = null;

  /** When the question in flight was asked while idle (ms; -Infinity: asked with a job in hand). */
  #askedAt = -Infinity;

  #ask(o?: StatusOptions): Promise<PrinterStatusReport> {
    if (!this.#asking) {
      this.#askedAt = this.#printing ? -Infinity : this.#now();
      this.#asking = this.printer.status(o).finally(() => {
        this.#asking = null;
        this.#asked = true;
      });
    }
    return this.#asking;
  }

  #asked = false;

  /** Whether a status question is in flight. */
  get asking(): boolean {
    return this.#asking !== null;
  }

  /** Whether the printer has been asked how it is at least once. */
  get asked(): boolean {
    return this.#asked;
  }

  /**
   * Asks the printer how it is (skipped while a job is in hand: the job says). `o` goes to the
   * printer when this starts the question (one already in flight is shared).
   */
  async check(o?: StatusOptions): Promise<PrinterStatusReport> {
    if (!this.#printing) {
      const question = this.#ask(o);
      const askedAt = this.#askedAt;
      const r = await question;
      if (!this.#printing) this.#answered(r, askedAt); // a job taken meanwhile says better
    }
    return this.#printerStatus;
  }

  /** The idle printer's own answer to a status question asked at `askedAt`. */
  #answered(r: PrinterStatusReport, askedAt: number): void {
    if (r.status === "OK" || r.status === "PAPER_NEAR_END") {
      this.#answeredOkAt = Math.max(this.#answeredOkAt, askedAt);
    }
    this.#setStatus(r);
  }

  /** Asks the printer how it is, in hand or not (before a retry). */
  async recheck(): Promise<PrinterStatusReport> {
    // in hand, an answer says the printer is reachable, not that it prints: only an idle
    // printer's answer (check) brings a failed station back
    this.#setStatus(await this.#ask());
    return this.#printerStatus;
  }

  /** A print on this station's printer failed with `err`: shown until it is checked again. */
  printFailed(err: AgentError): void {
    this.#setStatus({ status: statusOf(err.code), detail: err.message, code: err.code });
  }

  /** One of this station's jobs goes to its backup. */
  failingOver(): void {
    this.#failoverActive = true;
    this.#failedAt = this.#now();
    this.#jobFailedOver = true;
  }

  /** One of this station's jobs printed, on `on` (this station or its backup). */
  jobPrinted(jobId: string, on: Station): void {
    this.#lastJobId = jobId;
    // a printer that said its paper is nearly out still says so after printing
    on.#setStatus(
      on.#printerStatus.status === "PAPER_NEAR_END"
        ? on.#printerStatus
        : { status: "OK", detail: "last job printed" },
    );
    on.#consecutiveErrors = 0;
    on.#failedAt = null;
    if (on === this) this.#failoverActive = false;
  }

  /**
   * One of this station's jobs failed for good. Only a printer's failure counts as the printer's
   * error (a malformed job is the job's); a job that failed without going to the backup ends the
   * "failed over" state (it shows the last job, not an earlier one).
   */
  jobFailed(jobId: string, printerFault: boolean): void {
    if (printerFault) {
      this.#consecutiveErrors++;
      this.#failedAt = this.#now();
    }
    this.#lastJobId = jobId;
    if (!this.#jobFailedOver) this.#failoverActive = false;
  }

  /** Runs `fn` with this station's printer to itself (its own job, or a job failed over to it). */
  exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#lock.then(fn, fn);
    this.#lock = run.catch(() => {});
    return run;
  }

  /** Whether `job` may print on the backup when this station's printer fails. */
  mayFailOver(job: Job): boolean {
    if (!this.#backup || job.job_type === "drawer") return false; // a kick opens *this* drawer
    return this.config.failover_receipts || !RECEIPT_TYPES.has(job.job_type);
  }

  /** The station's state for heartbeats and the status page. */
  snapshot(): StationSnapshot {
    return {
      id: this.id,
      roles: this.roles,
      name: this.config.name || this.printer.description,
      transport: this.config.transport,
      status: this.#printerStatus.status,
      detail: this.#printerStatus.detail,
      status_since: new Date(this.#statusSince).toISOString(),
      queue_depth: this.queue.length,
      last_job_id: this.#lastJobId,
      consecutive_errors: this.#consecutiveErrors,
      failover_active: this.#failoverActive,
      backup: this.#backup?.id ?? null,
      failover_receipts: this.#backup ? this.config.failover_receipts : false,
    };
  }
}

/** What the COMPLETED report says of the paper: template, experiment arm, length, time. */
function printedWith(r: Rendered, ms: number): PrintedWith {
  const t = r.template;
  return {
    ...(t
      ? {
        template: t.name,
        template_hash: t.hash,
        ...(t.experiment !== null || t.variant !== null
          ? { experiment: t.experiment, variant: t.variant, variant_fallback: t.fallback }
          : {}),
      }
      : {}),
    paper_mm: r.paperMm,
    print_ms: Math.round(ms),
  };
}

/** What {@link printJob} reads around it: time, settings, the server's clock, the stop. */
export interface PrintEnv {
  /** The clock. */
  clock: Clock;
  /** The station's settings. */
  config: Config;
  /** The job server's clock: jobs' ages are judged in it. */
  serverClock: ServerClock;
  /** Aborted when the agent stops. */
  signal: AbortSignal;
}

/**
 * Which station prints attempt `n` (1-based) of a job: its own for the first `failover_after`
 * attempts, then the backup and its own in turn (the backup first), so a job whose backup fails
 * too keeps trying its own printer.
 */
export function attemptStation(station: Station, job: Job, n: number): Station {
  const own = station.config.failover_after;
  if (!station.mayFailOver(job) || n <= own) return station;
  return (n - own) % 2 === 1 ? station.backup! : station;
}

/** Prints one job with retries and failover; every outcome ends in the journal. */
export async function printJob(
  job: Job,
  station: Station,
  ledger: Ledger,
  env: PrintEnv,
): Promise<void> {
  const label = jobLabel(job);
  const eh = env.config.error_handling;
  const several = env.config.stations.length > 1;
  log.info(`${label} Processing: ${job.job_type}${several ? ` (printer ${station.id})` : ""}`);
  const created = createdAt(env, job);
  const resetBefore = ledger.resetLine(env.serverClock);
  // judged in the server's clock, conservatively: a date that cannot be read, or one within the
  // clock's uncertainty of the reset, may predate it
  if (resetBefore !== null && !(created >= resetBefore)) {
    const when = job.created_at ? `created ${JSON.stringify(job.created_at)}` : "no created_at";
    const msg = `${when} (server clock), not surely after the journal was replaced (${
      new Date(resetBefore).toISOString()
    } at the latest, server clock); it may already be on paper`;
    log.error(`${label} [FAILED] ${msg}`, { code: "JOURNAL_RESET_MAY_HAVE_PRINTED" });
    return ledger.failed(job, station, "JOURNAL_RESET_MAY_HAVE_PRINTED", msg);
  }
  const stale = expired(env, job);
  if (stale) {
    log.warn(`${label} [EXPIRED] ${stale}`, { code: "EXPIRED" });
    return ledger.failed(job, station, "EXPIRED", stale);
  }
  // a reprint prints with the template its original printed with: an experiment's arm, always
  const variant = job.job_type === "reprint" && job.reprint_of != null
    ? ledger.variantOf(String(job.reprint_of))
    : undefined;
  // rendered once per printer it may go to: the backup's profile and width, with its banner
  const renders = new Map<Station, Rendered>();
  const renderFor = (target: Station): Promise<Rendered | null> => {
    const done = renders.get(target);
    if (done) return Promise.resolve(done);
    // in hand while rendering: a death here, twice, quarantines the job (POISON_JOB); a job
    // waiting for a retry or a printer is not in hand
    return ledger.inHand(job.uuid, async () => {
      try {
        const r = await target.renderer.render(job, {
          backupFrom: target === station ? undefined : station.config.name || station.id,
          drawer: target === station ? drawerRule(env, job) : {
            open: false,
            why: "it prints on the backup printer, whose drawer is another till's",
          },
          variant,
        });
        if (r.template?.fallback) {
          log.warn(
            `${label} Experiment ${r.template.experiment ?? "?"}: no template for variant ` +
              `${JSON.stringify(r.template.variant)}; printed with ${r.template.name}.liquid`,
            { code: "EXPERIMENT_FALLBACK" },
          );
        }
        if (r.transliterated || r.replaced) {
          log.warn(
            `${label} ${r.transliterated} character(s) transliterated and ${r.replaced} replaced ` +
              `with "?" to fit code pages ${target.renderer.profile.codepages.join("/")}`,
          );
        }
        if (r.drawnLines) {
          log.info(
            `${label} ${r.drawnLines} line(s) drawn as dots: characters beyond code pages ` +
              target.renderer.profile.codepages.join("/"),
          );
        }
        for (const note of r.notes) log.warn(`${label} ${note}`);
        renders.set(target, r);
        if (target === station) {
          ledger.keepPreview(job.uuid, r.preview, r.bytes, target.renderer.paper);
        }
        return r;
      } catch (e) {
        const err = toAgentError(e, "RENDER_ERROR");
        if (target !== station) {
          // the backup cannot print it (its profile, its paper): the job's own printer goes on
          log.warn(`${label} The backup printer ${target.id} cannot print it: ${err.message}`, {
            code: err.code,
          });
          return null;
        }
        log.error(`${label} [FAILED] Cannot render: ${err.message}`, { code: err.code });
        ledger.failed(job, station, err.code, err.message);
        return null;
      }
    });
  };
  if (!(await renderFor(station))) return;

  // attempts count across restarts: max_retry is the job's budget, not each run's
  const before = ledger.prior(job.uuid);
  const prior = before.attempts;
  const errors = new Map<string, AgentError>();
  let last = before.last;
  if (last) errors.set(before.printer ?? station.id, last);
  for (let attempt = prior + 1; attempt <= eh.max_retry; attempt++) {
    const target = attemptStation(station, job, attempt);
    if (attempt > 1) {
      const delay = eh.backoff_seconds[Math.min(attempt - 2, eh.backoff_seconds.length - 1)];
      log.warn(
        `${label} Retry ${attempt - 1}/${eh.max_retry - 1} after ${delay}s` +
          (target === station ? "..." : ` on the backup printer ${target.id}...`),
      );
      ledger.retryBegins();
      await env.clock.sleep(delay * 1000, env.signal);
      if (env.signal.aborted) {
        log.info(`${label} Stopping during backoff; the job stays queued for the next start`);
        return;
      }
      await target.recheck();
      log.info(
        `${label} Printer ${target.id} status: ${target.printerStatus.status} ` +
          `(${target.printerStatus.detail})`,
      );
      const blocking = statusError(target.printerStatus.status) &&
        (target.printerStatus.code ?? statusError(target.printerStatus.status));
      if (blocking) {
        last = new AgentError(
          blocking,
          `printer ${target.id} is ${target.printerStatus.status}: ${target.printerStatus.detail}`,
        );
        errors.set(target.id, last);
        ledger.retrying(job.uuid, attempt, last);
        log.warn(`${label} Attempt ${attempt}/${eh.max_retry} skipped: ${last.message}`, {
          code: last.code,
        });
        continue;
      }
    }
    const rendered = target === station ? renders.get(station)! : await renderFor(target);
    if (!rendered) {
      // counted as a try on the backup that could not be made
      last = new AgentError(
        "RENDER_ERROR",
        `the backup printer ${target.id} cannot print this job`,
      );
      errors.set(target.id, last);
      ledger.retrying(job.uuid, attempt, last);
      continue;
    }
    if (target !== station) {
      station.failingOver();
      log.warn(`${label} [FAILOVER] Printing on the backup printer ${target.id}`, {
        code: last?.code,
      });
    }
    const doc = {
      title: `${env.config.terminal_identity.terminal_id} job ${job.id}`,
      jobId: String(job.id),
      preview: rendered.preview,
      paper: target.renderer.paper,
    };
    const outcome = await target.exclusive(async () => {
      ledger.printing(job.uuid, attempt, target.id); // durable first
      faultPoint(target === station ? "after_printing_commit" : "after_failover_chosen");
      const t0 = env.clock.now();
      try {
        await target.printer.print(rendered.bytes, doc);
        return { ok: true as const, ms: env.clock.now() - t0 };
      } catch (e) {
        return { ok: false as const, err: toAgentError(e, "PRINTER_ERROR") };
      }
    });
    if (!outcome.ok) {
      last = outcome.err;
      errors.set(target.id, last);
      target.printFailed(last);
      if (!last.transient) {
        log.error(`${label} [FAILED] ${last.message}`, { code: last.code });
        return ledger.failed(job, station, last.code, last.message);
      }
      ledger.retrying(job.uuid, attempt, last);
      log.warn(
        `${label} Attempt ${attempt}/${eh.max_retry} on ${target.id} failed: ${last.message}`,
        { code: last.code },
      );
      continue;
    }
    faultPoint("after_close");
    // a failover says why: the job's own printer's last error (paper out, cover open, offline)
    const why = target === station ? undefined : errors.get(station.id)?.code;
    ledger.printed(job, station, target, outcome.ms, printedWith(rendered, outcome.ms), why);
    log.info(
      `${label} [OK] Printed ${rendered.bytes.length} bytes in ${outcome.ms.toFixed(0)} ms` +
        (target === station
          ? ""
          : ` on the backup printer ${target.id}${why ? ` (${station.id}: ${why})` : ""}`),
    );
    return;
  }
  const why = errors.size > 1
    ? [...errors].map(([id, e]) => `${id}: ${e.message}`).join("; ")
    : last?.message ?? "printing failed";
  log.error(`${label} [FAILED] All ${eh.max_retry} attempts failed: ${why}`, { code: last?.code });
  ledger.failed(
    job,
    station,
    last?.code ?? "PRINTER_ERROR",
    `all ${eh.max_retry} attempts failed: ${why}`,
  );
}

/**
 * Whether a job's own cash drawer kick (a raw job's bytes) may open the drawer: the rules of a
 * drawer job (fresh, dated, not in the future) and never for a copy.
 */
function drawerRule(env: PrintEnv, job: Job): { open: boolean; why: string } {
  if (job.job_type === "reprint" || job.reprint_of != null) {
    return { open: false, why: "a copy never opens the cash drawer" };
  }
  const created = createdAt(env, job);
  const now = env.clock.now();
  const max = env.config.jobs.drawer_max_age_seconds;
  if (isNaN(created)) {
    return { open: false, why: "its created_at cannot be read, so the kick may be stale" };
  }
  if (created > env.serverClock.latestNow(now)) {
    return { open: false, why: "it is dated in the future of the server's clock" };
  }
  const age = (env.serverClock.now(now) - created) / 1000;
  if (age > max) {
    return {
      open: false,
      why: `it is ${Math.round(age)} s old (jobs.drawer_max_age_seconds = ${max})`,
    };
  }
  return { open: true, why: "" };
}

/** A job's `created_at` in ms (server time), NaN when missing or unreadable. */
function createdAt(env: PrintEnv, job: Job): number {
  return job.created_at ? parseServerTime(job.created_at, env.config.server.naive_time_zone) : NaN;
}

function expired(env: PrintEnv, job: Job): string | null {
  const created = createdAt(env, job);
  const j = env.config.jobs;
  const now = env.clock.now();
  if (job.job_type === "drawer") {
    // a kick opens the drawer in front of someone: only a kick known to be fresh
    if (isNaN(created)) {
      return `cash drawer pulse has no readable created_at (${
        JSON.stringify(job.created_at ?? null)
      }); dropped`;
    }
    if (created > env.serverClock.latestNow(now)) {
      return `cash drawer pulse is dated ${job.created_at}, in the future of the server's clock; dropped`;
    }
  }
  if (isNaN(created)) return null;
  const age = (env.serverClock.now(now) - created) / 1000;
  if (job.job_type === "drawer" && age > j.drawer_max_age_seconds) {
    return `cash drawer pulse is ${
      Math.round(age)
    } s old (limit ${j.drawer_max_age_seconds} s); dropped`;
  }
  if (j.max_age_seconds > 0 && age > j.max_age_seconds) {
    return `job is ${
      Math.round(age)
    } s old (limit jobs.max_age_seconds = ${j.max_age_seconds}); not printed`;
  }
  return null;
}
