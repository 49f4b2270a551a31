/**
 * The job journal: the one owner of the agent's durable state (`node:sqlite`, WAL,
 * `synchronous=FULL`). Keyed by the server's job UUID, it decides whether a job may be printed,
 * and holds the outbox of status reports still to be delivered. Every state change and the
 * report it causes are committed in one transaction.
 *
 * States: RECEIVED → PRINTING (committed before the first byte leaves) → PRINTED | FAILED.
 * @module
 */
import type { PaperOptions } from "../render/paper.ts";
import { DatabaseSync, type StatementSync } from "node:sqlite";
import { AgentError } from "../errors.ts";
import type { Job } from "../core/job.ts";
import {
  type PrintedWith,
  type ReportStatus,
  type StatusReport,
  statusReport,
} from "../server/protocol.ts";

export type { ReportStatus, StatusReport };

/** Journal state of one job. */
export type JobState = "RECEIVED" | "PRINTING" | "PRINTED" | "FAILED";

/** One journal row. */
export interface JournalEntry {
  /** The job's uuid. */
  uuid: string;
  /** The job's id on the server. */
  server_id: string;
  /** receipt, kitchen, reprint, drawer, test or raw. */
  job_type: string;
  /** RECEIVED, PRINTING, PRINTED or FAILED. */
  state: JobState;
  /** Print attempts so far. */
  attempts: number;
  /** The stable error code of the last failure, if any. */
  error_code: string | null;
  /** What went wrong, for a person, if anything. */
  error_message: string | null;
  /** Where the job came from: server or local. */
  source: string;
  /** When it was taken in (ms). */
  received_at: number;
  /** When the last attempt began (ms). */
  printing_at: number | null;
  /** When it was printed or failed (ms). */
  finished_at: number | null;
  /** The job as received, JSON. */
  payload: string | null;
  /** What was printed, as text. */
  preview: string | null;
  /** Times the job was taken in hand and not let go normally (the agent died or hung). */
  taken: number;
  /** The station whose printer the last attempt went to (committed before its first byte). */
  printer: string | null;
  /** When the server last refused this job's final report for good (400 and the like), or null. */
  refused_at: number | null;
  /** What the COMPLETED report said of the paper (template, experiment arm, length), JSON. */
  printed_with: string | null;
  /** The experiment variant it printed with (a reprint of it prints the same), or null. */
  variant: string | null;
}

/** One status report waiting in the outbox. */
export interface OutboxEntry {
  /** Order of the report. */
  seq: number;
  /** The job's uuid. */
  job_uuid: string;
  /** The job's id on the server. */
  server_id: string;
  /** The status reported. */
  status: ReportStatus;
  /** The report body, JSON. */
  body: string;
  /** Delivery attempts so far. */
  tries: number;
  /** When the report was queued (ms). */
  created_at: number;
}

/** Where a job printed (stations), and what the paper was (template, experiment arm, length). */
export interface PrintedWhere {
  /** The station whose printer printed it. */
  printedOn?: string;
  /** The job's own station, when a backup printed it. */
  failoverFrom?: string;
  /** Why it went to the backup: its own printer's last error code (`PRINTER_PAPER_OUT`). */
  failoverReason?: string;
  /** The COMPLETED report's figures of the paper. */
  with?: PrintedWith;
}

function completedWhere(w: PrintedWhere, recorded: string | null): Partial<StatusReport> {
  return {
    printed_on: w.printedOn ?? recorded ?? undefined,
    failover_from: w.failoverFrom,
    failover_reason: w.failoverReason,
    ...w.with,
  };
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS jobs (
  uuid TEXT PRIMARY KEY,
  server_id TEXT NOT NULL,
  job_type TEXT NOT NULL,
  state TEXT NOT NULL CHECK (state IN ('RECEIVED','PRINTING','PRINTED','FAILED')),
  attempts INTEGER NOT NULL DEFAULT 0,
  error_code TEXT,
  error_message TEXT,
  source TEXT NOT NULL DEFAULT 'server',
  received_at INTEGER NOT NULL,
  printing_at INTEGER,
  finished_at INTEGER,
  payload TEXT,
  preview TEXT,
  taken INTEGER NOT NULL DEFAULT 0,
  printer TEXT,
  refused_at INTEGER,
  printed_with TEXT,
  variant TEXT
) STRICT;
CREATE INDEX IF NOT EXISTS jobs_open ON jobs(state) WHERE state IN ('RECEIVED','PRINTING');
CREATE INDEX IF NOT EXISTS jobs_received ON jobs(received_at);
CREATE TABLE IF NOT EXISTS outbox (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  job_uuid TEXT NOT NULL,
  server_id TEXT NOT NULL,
  status TEXT NOT NULL,
  body TEXT NOT NULL,
  tries INTEGER NOT NULL DEFAULT 0,
  created_at INTEGER NOT NULL
) STRICT;
CREATE INDEX IF NOT EXISTS outbox_job ON outbox(job_uuid);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) STRICT;
CREATE TABLE IF NOT EXISTS papers (
  uuid TEXT PRIMARY KEY,
  bytes BLOB NOT NULL,
  reader TEXT NOT NULL
) STRICT;
CREATE TRIGGER IF NOT EXISTS papers_follow_jobs AFTER DELETE ON jobs
  BEGIN DELETE FROM papers WHERE uuid = old.uuid; END;
CREATE TABLE IF NOT EXISTS fleet_events (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  at INTEGER NOT NULL,
  body TEXT NOT NULL
) STRICT;
`;

/** Changes of remote configuration and self-update kept in the journal (the newest). */
export const FLEET_EVENTS_KEPT = 200;

/** The printer bytes of a job kept for its picture (larger jobs keep the text preview only). */
export const PAPER_KEEP_MAX = 256 * 1024;
/**
 * Pictures kept: the newest jobs' only (the status page lists 200, `/jobs` up to 500), so a long
 * history costs a few MB, not one picture per row of `state.max_rows`.
 */
export const PAPER_KEEP_JOBS = 2000;

/** A job's printer bytes and how to read them (its printer's code pages and paper width). */
export interface KeptPaper {
  /** The bytes the printer got. */
  bytes: Uint8Array;
  /** How to read the bytes back (code pages, paper width). */
  reader: PaperOptions;
}

/** The journal's SQLite page cache: negative is KiB (`PRAGMA cache_size`). */
export const JOURNAL_CACHE_KB: number = -512;

/**
 * The journal schema's version (`PRAGMA user_version`). A schema change only adds columns with
 * defaults, tables and indexes, and raises this number: an older agent (after a rollback) reads a
 * newer journal as it is.
 */
export const JOURNAL_SCHEMA = 7;

/** Brings a journal written by an older version up to this schema. */
function migrate(db: DatabaseSync): void {
  const cols = db.prepare("PRAGMA table_info(jobs)").all() as { name: string }[];
  if (!cols.some((c) => c.name === "taken")) {
    db.exec("ALTER TABLE jobs ADD COLUMN taken INTEGER NOT NULL DEFAULT 0");
  }
  if (!cols.some((c) => c.name === "printer")) db.exec("ALTER TABLE jobs ADD COLUMN printer TEXT");
  if (!cols.some((c) => c.name === "refused_at")) {
    db.exec("ALTER TABLE jobs ADD COLUMN refused_at INTEGER");
  }
  if (!cols.some((c) => c.name === "printed_with")) {
    db.exec("ALTER TABLE jobs ADD COLUMN printed_with TEXT");
  }
  if (!cols.some((c) => c.name === "variant")) db.exec("ALTER TABLE jobs ADD COLUMN variant TEXT");
  db.exec(
    "CREATE INDEX IF NOT EXISTS jobs_refused ON jobs(refused_at) WHERE refused_at IS NOT NULL",
  );
  // a reprint finds the arm its original printed with: only experiment rows are indexed
  db.exec(
    "CREATE INDEX IF NOT EXISTS jobs_variant ON jobs(server_id) WHERE printed_with LIKE '%\"variant\"%'",
  );
}

/**
 * A final report the server refused for good is sent again (the job is still listed) at most this
 * often: one line an hour in the log, not one each poll.
 */
export const REFUSED_RESEND_MS = 3_600_000;

/** Whether a thrown SQLite error means the state store cannot be written. */
function isStorageFailure(e: unknown): boolean {
  const m = String((e as Error)?.message ?? e);
  return /full|readonly|read-only|disk I\/O|unable to open|locked|SQLITE_(FULL|READONLY|IOERR|CANTOPEN|BUSY)/i
    .test(m);
}

/** Options for {@link Journal.open}. */
export interface JournalOptions {
  /** Extra PRAGMAs for tests (e.g. `max_page_count` to simulate a full disk). */
  pragmas?: string[];
}

/**
 * What the ledger (src/core/ledger.ts) reads and writes: every transition of a job's fate. The
 * journal below is the store; a test may pass a fake (tests/ledger_test.ts does).
 */
export interface LedgerStore {
  /** The journal row of a job, if any. */
  get(uuid: string): JournalEntry | undefined;
  /** Records a new job (FETCHED queued) or returns what is known of its uuid. */
  receive(job: Job, now: number, source?: string): JournalEntry | null;
  /** Records an invalid job as FAILED (FAILED queued); false if known. */
  recordInvalid(
    uuid: string,
    serverId: string,
    code: string,
    message: string,
    now: number,
  ): boolean;
  /** Queues a final job's outcome again; false if one is waiting or it was refused lately. */
  resendFinal(uuid: string, now: number, listedAs?: string): boolean;
  /** Counts the job as in hand (the poison count). */
  markTaken(uuid: string): number;
  /** The job left our hands without the agent dying. */
  releaseTaken(uuid: string): void;
  /** Attempt n begins on a printer (PRINTING queued), before any byte. */
  markPrinting(uuid: string, attempt: number, now: number, printer?: string): void;
  /** Attempt n failed; the job waits for the next one. */
  markRetrying(uuid: string, attempt: number, code: string, message: string): void;
  /** The job is on paper (COMPLETED queued). */
  markPrinted(uuid: string, now: number, where?: PrintedWhere): void;
  /**
   * The experiment variant the job with this server id printed with: a string, null (it printed
   * no variant), or undefined (no such job printed here).
   */
  variantOf(serverId: string): string | null | undefined;
  /** The job failed for good (FAILED queued). */
  markFailed(uuid: string, code: string, message: string, now: number): void;
  /** Keeps what the job looks like on paper. */
  setPreview(uuid: string, preview: string, paper?: KeptPaper): void;
  /** Jobs a previous run left RECEIVED or PRINTING. */
  openJobs(): JournalEntry[];
  /** A value kept beside the jobs. */
  getMeta(key: string): string | undefined;
  /** Keeps a value beside the jobs. */
  setMeta(key: string, value: string): void;
  /** Throws when the journal cannot be written. */
  probeWritable(): void;
}

/** What the outbox (src/server/outbox.ts) reads and writes: the status reports to deliver. */
export interface OutboxStore {
  /** The oldest reports waiting, in order. */
  outboxPeek(limit?: number): OutboxEntry[];
  /** The server took the report. */
  outboxDone(seq: number): void;
  /** A delivery failed; counted. */
  outboxTried(seq: number): void;
  /** Drops a report that expired. */
  outboxDrop(seq: number): void;
  /** The server refused the report for good. */
  outboxRefused(seq: number, now: number): void;
  /** Jobs whose report was refused since then. */
  refusedSince(since: number): number;
  /** Reports waiting. */
  outboxDepth(): number;
  /** When the oldest waiting report was queued (ms), or null. */
  oldestReportAt(): number | null;
  /** Reports of one status waiting. */
  pendingReports(status: ReportStatus): number;
}

/** What the local API reads: the jobs' history and what they looked like on paper. */
export interface HistoryStore {
  /** The journal row of a job, if any. */
  get(uuid: string): JournalEntry | undefined;
  /** The newest jobs, optionally in one state. */
  recent(limit?: number, state?: JobState): JournalEntry[];
  /** What the job looked like on paper, if kept. */
  paper(uuid: string): KeptPaper | undefined;
}

/** The whole durable store: the three readers' views, housekeeping and closing. */
export interface JobStore extends LedgerStore, OutboxStore, HistoryStore {
  /** Deletes history past the retention; returns rows deleted. */
  prune(now: number, maxAgeMs: number, maxRows: number, batch?: number): number;
  /** Records a change of remote configuration or self-update. */
  recordFleet(at: number, body: Record<string, unknown>): void;
  /** Closes the store. */
  close(): void;
}

/** The durable job journal and ack outbox. */
export class Journal implements JobStore {
  #db: DatabaseSync;
  #st: Record<string, StatementSync>;
  /** Path of the database file. */
  readonly path: string;

  private constructor(db: DatabaseSync, path: string) {
    this.#db = db;
    this.path = path;
    const p = (sql: string) => db.prepare(sql);
    this.#st = {
      get: p("SELECT * FROM jobs WHERE uuid = ?"),
      source: p("SELECT source FROM jobs WHERE uuid = ?"),
      insert: p(
        `INSERT INTO jobs (uuid, server_id, job_type, state, source, received_at, payload)
         VALUES (?, ?, ?, 'RECEIVED', ?, ?, ?)`,
      ),
      setState: p(
        `UPDATE jobs SET state = ?, attempts = ?, error_code = ?, error_message = ?,
           printing_at = COALESCE(?, printing_at), finished_at = ? WHERE uuid = ?`,
      ),
      setPreview: p("UPDATE jobs SET preview = ? WHERE uuid = ?"),
      setPaper: p("INSERT OR REPLACE INTO papers (uuid, bytes, reader) VALUES (?, ?, ?)"),
      getPaper: p("SELECT bytes, reader FROM papers WHERE uuid = ?"),
      prunePapers: p(
        `DELETE FROM papers WHERE rowid IN (SELECT rowid FROM papers ORDER BY rowid DESC
          LIMIT ? OFFSET ${PAPER_KEEP_JOBS})`,
      ),
      setTaken: p("UPDATE jobs SET taken = ? WHERE uuid = ?"),
      setPrinter: p("UPDATE jobs SET printer = ? WHERE uuid = ?"),
      setPrintedWith: p("UPDATE jobs SET printed_with = ?, variant = ? WHERE uuid = ?"),
      variantOf: p(
        `SELECT variant FROM jobs WHERE server_id = ? AND printed_with LIKE '%"variant"%'
           ORDER BY finished_at DESC LIMIT 1`,
      ),
      printedOnce: p("SELECT 1 AS y FROM jobs WHERE server_id = ? AND state = 'PRINTED' LIMIT 1"),
      oldestReport: p("SELECT MIN(created_at) AS t FROM outbox"),
      refuse: p(
        `UPDATE jobs SET refused_at = ? WHERE uuid = (SELECT job_uuid FROM outbox WHERE seq = ?)`,
      ),
      refusedSince: p("SELECT COUNT(*) AS n FROM jobs WHERE refused_at > ?"),
      dropReport: p("DELETE FROM outbox WHERE seq = ?"),
      enqueue: p(
        `INSERT INTO outbox (job_uuid, server_id, status, body, created_at) VALUES (?, ?, ?, ?, ?)`,
      ),
      open: p(
        "SELECT * FROM jobs WHERE state IN ('RECEIVED','PRINTING') ORDER BY received_at, rowid",
      ),
      peek: p("SELECT * FROM outbox ORDER BY seq LIMIT ?"),
      done: p("DELETE FROM outbox WHERE seq = ?"),
      tried: p("UPDATE outbox SET tries = tries + 1 WHERE seq = ?"),
      depth: p("SELECT COUNT(*) AS n FROM outbox"),
      pendingStatus: p("SELECT COUNT(*) AS n FROM outbox WHERE status = ?"),
      pendingFor: p("SELECT COUNT(*) AS n FROM outbox WHERE job_uuid = ?"),
      recent: p("SELECT * FROM jobs ORDER BY received_at DESC, rowid DESC LIMIT ?"),
      recentByState: p(
        "SELECT * FROM jobs WHERE state = ? ORDER BY received_at DESC, rowid DESC LIMIT ?",
      ),
      count: p("SELECT COUNT(*) AS n FROM jobs"),
      pruneAge: p(
        `DELETE FROM jobs WHERE rowid IN (SELECT rowid FROM jobs WHERE received_at < ?
           AND state IN ('PRINTED','FAILED')
           AND uuid NOT IN (SELECT job_uuid FROM outbox) LIMIT ?)`,
      ),
      pruneCap: p(
        `DELETE FROM jobs WHERE rowid IN (SELECT rowid FROM jobs WHERE state IN ('PRINTED','FAILED')
           AND uuid NOT IN (SELECT job_uuid FROM outbox) ORDER BY received_at LIMIT ?)`,
      ),
      metaGet: p("SELECT value FROM meta WHERE key = ?"),
      metaSet: p("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)"),
      fleetAdd: p("INSERT INTO fleet_events (at, body) VALUES (?, ?)"),
      fleetPrune: p(
        `DELETE FROM fleet_events WHERE seq <= (SELECT MAX(seq) FROM fleet_events) - ${FLEET_EVENTS_KEPT}`,
      ),
      fleetList: p("SELECT at, body FROM fleet_events ORDER BY seq DESC LIMIT ?"),
    };
  }

  /** Opens (creating if needed) the journal at `path`. */
  static open(path: string, options: JournalOptions = {}): Journal {
    let db: DatabaseSync;
    try {
      db = new DatabaseSync(path);
      // EXCLUSIVE locking: the OS lock is held while this process lives and released when it
      // dies (even by SIGKILL), so a second agent on the same state folder cannot open it.
      db.exec("PRAGMA busy_timeout = 0");
      db.exec("PRAGMA locking_mode = EXCLUSIVE");
      try {
        db.exec("PRAGMA journal_mode = WAL");
        db.exec("BEGIN EXCLUSIVE");
        db.exec("COMMIT");
      } catch (e) {
        if (/locked|busy/i.test(String((e as Error).message))) {
          db.close();
          throw new StateLockedError(path, { cause: e });
        }
        throw e;
      }
      db.exec("PRAGMA synchronous = FULL");
      // a 512 KB page cache, not SQLite's 2 MB: the per-job statements reach a job by its key, so
      // the cache's size is not felt (CPU per job the same with 100,000 rows) and the agent's
      // resident memory after jobs is ~1.7 MB less (docs/benchmarks.md)
      db.exec(`PRAGMA cache_size = ${JOURNAL_CACHE_KB}`);
      for (const p of options.pragmas ?? []) db.exec(`PRAGMA ${p}`);
      db.exec(SCHEMA);
      migrate(db);
      // the schema's version: raised to this agent's, never lowered (a newer agent's journal,
      // after a rollback, keeps saying what wrote it; its additions are columns and tables this
      // version does not use)
      const was = (db.prepare("PRAGMA user_version").get() as { user_version: number })
        .user_version;
      if (was < JOURNAL_SCHEMA) db.exec(`PRAGMA user_version = ${JOURNAL_SCHEMA}`);
      const check = db.prepare("PRAGMA quick_check").get() as Record<string, string>;
      if (Object.values(check)[0] !== "ok") {
        throw new JournalCorruptError(path, `quick_check: ${Object.values(check)[0]}`);
      }
    } catch (e) {
      if (e instanceof JournalCorruptError || e instanceof StateLockedError) throw e;
      if (/not a database|malformed|corrupt/i.test(String((e as Error).message))) {
        throw new JournalCorruptError(path, (e as Error).message, { cause: e });
      }
      throw new AgentError("STATE_STORE_UNWRITABLE", `cannot open journal ${path}: ${e}`, {
        cause: e,
      });
    }
    return new Journal(db, path);
  }

  #tx<T>(fn: () => T): T {
    try {
      this.#db.exec("BEGIN IMMEDIATE");
      try {
        const r = fn();
        this.#db.exec("COMMIT");
        return r;
      } catch (e) {
        if (this.#db.isTransaction) this.#db.exec("ROLLBACK");
        throw e;
      }
    } catch (e) {
      if (e instanceof AgentError) throw e;
      if (isStorageFailure(e)) {
        throw new AgentError(
          "STATE_STORE_UNWRITABLE",
          `journal write failed (${(e as Error).message})`,
          { cause: e },
        );
      }
      throw e;
    }
  }

  #report(uuid: string, serverId: string, r: StatusReport, now: number) {
    // jobs submitted through the local API have no server to report to
    if ((this.#st.source.get(uuid) as { source: string } | undefined)?.source === "local") return;
    this.#st.enqueue.run(uuid, serverId, r.status, JSON.stringify(r), now);
  }

  /** The journal row for a UUID, if any. */
  get(uuid: string): JournalEntry | undefined {
    return this.#st.get.get(uuid) as JournalEntry | undefined;
  }

  /**
   * Records a job as RECEIVED and queues its FETCHED report, unless the UUID is known.
   * Returns null for a new job, or the existing row (the caller must not print it again
   * unless it is still RECEIVED).
   */
  receive(job: Job, now: number, source = "server"): JournalEntry | null {
    return this.#tx(() => {
      const existing = this.get(job.uuid);
      if (existing) return existing;
      this.#st.insert.run(job.uuid, String(job.id), job.job_type, source, now, JSON.stringify(job));
      this.#report(job.uuid, String(job.id), statusReport("FETCHED", 0, now), now);
      return null;
    });
  }

  /**
   * Commits PRINTING (attempt n, on the printer of station `printer`) with its report; must
   * return before any byte is written.
   */
  markPrinting(uuid: string, attempt: number, now: number, printer?: string): void {
    this.#tx(() => {
      const e = this.#mustGet(uuid);
      this.#st.setState.run("PRINTING", attempt, null, null, now, null, uuid);
      if (printer) this.#st.setPrinter.run(printer, uuid);
      this.#report(uuid, e.server_id, statusReport("PRINTING", attempt, now, { printer }), now);
    });
  }

  /** After a failed attempt that will be retried: back to RECEIVED, the error kept. */
  markRetrying(uuid: string, attempt: number, code: string, message: string): void {
    this.#tx(() => {
      this.#mustGet(uuid);
      this.#st.setState.run("RECEIVED", attempt, code, message, null, null, uuid);
    });
  }

  /**
   * Commits PRINTED and queues COMPLETED, saying where it printed: `printed_on` (the station whose
   * printer took it) and, for a job that went to a backup, `failover_from` (its own station).
   */
  markPrinted(uuid: string, now: number, where: PrintedWhere = {}): void {
    this.#tx(() => {
      const e = this.#mustGet(uuid);
      this.#st.setState.run("PRINTED", e.attempts, null, null, null, now, uuid);
      if (where.with) {
        this.#st.setPrintedWith.run(JSON.stringify(where.with), where.with.variant ?? null, uuid);
      }
      this.#report(
        uuid,
        e.server_id,
        statusReport("COMPLETED", e.attempts, now, completedWhere(where, e.printer)),
        now,
      );
    });
  }

  /** The experiment variant the job with this server id printed with (see LedgerStore). */
  variantOf(serverId: string): string | null | undefined {
    const r = this.#st.variantOf.get(serverId) as { variant: string | null } | undefined;
    if (r) return r.variant;
    return this.#st.printedOnce.get(serverId) ? null : undefined;
  }

  /** Commits FAILED with a code and queues the FAILED report. */
  markFailed(uuid: string, code: string, message: string, now: number): void {
    this.#tx(() => {
      const e = this.#mustGet(uuid);
      this.#st.setState.run("FAILED", e.attempts, code, message, null, now, uuid);
      this.#report(
        uuid,
        e.server_id,
        statusReport("FAILED", e.attempts, now, { error_code: code, error_message: message }),
        now,
      );
    });
  }

  /**
   * Records a job that failed validation (no usable payload) as FAILED at once, so a second
   * delivery is not reported twice. Returns false if the UUID was already known.
   */
  recordInvalid(
    uuid: string,
    serverId: string,
    code: string,
    message: string,
    now: number,
  ): boolean {
    return this.#tx(() => {
      if (this.get(uuid)) return false;
      this.#st.insert.run(uuid, serverId, "invalid", "server", now, null);
      this.#st.setState.run("FAILED", 0, code, message, null, now, uuid);
      this.#report(
        uuid,
        serverId,
        statusReport("FAILED", 0, now, { error_code: code, error_message: message }),
        now,
      );
      return true;
    });
  }

  /**
   * A final job delivered again: re-queue its final status (the server may have missed the
   * ack), unless a report for it is still waiting. Returns whether one was queued.
   * `listedAs` is the id the server listed it under this time.
   */
  resendFinal(uuid: string, now: number, listedAs?: string): boolean {
    return this.#tx(() => {
      const e = this.#mustGet(uuid);
      if (e.state !== "PRINTED" && e.state !== "FAILED") return false;
      if ((this.#st.pendingFor.get(uuid) as { n: number }).n > 0) return false;
      // the server refused it for good: tried again once an hour, not at every poll
      if (e.refused_at !== null && now - e.refused_at < REFUSED_RESEND_MS) return false;
      // to the id the server listed it under (an imported seed job knows only its uuid)
      const at = e.finished_at ?? now;
      const body = e.state === "PRINTED"
        ? statusReport("COMPLETED", e.attempts, at, {
          printed_on: e.printer ?? undefined,
          ...(e.printed_with ? JSON.parse(e.printed_with) as PrintedWith : {}),
        })
        : statusReport("FAILED", e.attempts, at, {
          error_code: e.error_code ?? "",
          error_message: e.error_message ?? "",
        });
      this.#report(uuid, listedAs ?? e.server_id, body, now);
      return true;
    });
  }

  /**
   * Counts the job as taken in hand (before rendering): a job still counted twice at start-up was
   * in hand when the agent died or hung twice, and is quarantined. Written without its own flush:
   * it must survive the process, not a power cut.
   */
  markTaken(uuid: string): number {
    const n = (this.get(uuid)?.taken ?? 0) + 1;
    this.#relaxed(() => this.#st.setTaken.run(n, uuid));
    return n;
  }

  /** The job left our hands without dying (a clean stop, a store failure): not counted. */
  releaseTaken(uuid: string): void {
    const n = this.get(uuid)?.taken ?? 0;
    if (n > 0) this.#relaxed(() => this.#st.setTaken.run(n - 1, uuid));
  }

  /** When the oldest report still waiting was queued (ms), or null. */
  oldestReportAt(): number | null {
    return (this.#st.oldestReport.get() as { t: number | null }).t;
  }

  /** Gives up on one report (the server never accepted it); the caller logs why. */
  outboxDrop(seq: number): void {
    this.#st.dropReport.run(seq);
  }

  /**
   * Gives up on a report the server refused for good (the caller logs why): its job remembers
   * when, so a server that keeps listing the job gets the report again only once an hour.
   */
  outboxRefused(seq: number, now: number): void {
    this.#tx(() => {
      this.#st.refuse.run(now, seq);
      this.#st.dropReport.run(seq);
    });
  }

  /** Jobs whose report the server refused for good since `since` (ms). */
  refusedSince(since: number): number {
    return (this.#st.refusedSince.get(since) as { n: number }).n;
  }

  /**
   * Saves the text preview of a rendered job and, up to {@link PAPER_KEEP_MAX}, its printer bytes
   * for the picture (not part of the promise; best effort).
   */
  setPreview(uuid: string, preview: string, paper?: KeptPaper): void {
    try {
      this.#relaxed(() => {
        this.#st.setPreview.run(preview, uuid);
        if (paper && paper.bytes.length <= PAPER_KEEP_MAX) {
          this.#st.setPaper.run(uuid, paper.bytes, JSON.stringify(paper.reader));
        }
      });
    } catch { /* a preview is a convenience, never a reason to stop */ }
  }

  /** The printer bytes kept for a job's picture, if any. */
  paper(uuid: string): KeptPaper | undefined {
    const r = this.#st.getPaper.get(uuid) as { bytes: Uint8Array; reader: string } | undefined;
    return r ? { bytes: new Uint8Array(r.bytes), reader: JSON.parse(r.reader) } : undefined;
  }

  /**
   * Runs a write that the promise does not depend on without its own flush to disk
   * (synchronous=NORMAL): after a power cut it may be lost, never half-written, and the next
   * state change flushes it anyway.
   */
  #relaxed<T>(fn: () => T): T {
    this.#db.exec("PRAGMA synchronous = NORMAL");
    try {
      return fn();
    } finally {
      this.#db.exec("PRAGMA synchronous = FULL");
    }
  }

  #mustGet(uuid: string): JournalEntry {
    const e = this.get(uuid);
    if (!e) throw new Error(`journal has no job ${uuid}`);
    return e;
  }

  /** Jobs not final: RECEIVED (safe to print) and PRINTING (ambiguous after a crash). */
  openJobs(): JournalEntry[] {
    return this.#st.open.all() as unknown as JournalEntry[];
  }

  /** The oldest `limit` outbox entries, in order. */
  outboxPeek(limit = 50): OutboxEntry[] {
    return this.#st.peek.all(limit) as unknown as OutboxEntry[];
  }

  /** Removes a delivered report (relaxed: if a power cut loses it, the report is sent again). */
  outboxDone(seq: number): void {
    this.#relaxed(() => this.#st.done.run(seq));
  }

  /** Reports of one status still waiting for delivery. */
  pendingReports(status: ReportStatus): number {
    return (this.#st.pendingStatus.get(status) as { n: number }).n;
  }

  /** Counts a failed delivery. */
  outboxTried(seq: number): void {
    try {
      this.#st.tried.run(seq);
    } catch { /* the count is informational */ }
  }

  /** Reports waiting for delivery. */
  outboxDepth(): number {
    return (this.#st.depth.get() as { n: number }).n;
  }

  /** Recent jobs, newest first, optionally of one state. */
  recent(limit = 50, state?: JobState): JournalEntry[] {
    return (state
      ? this.#st.recentByState.all(state, limit)
      : this.#st.recent.all(limit)) as unknown as JournalEntry[];
  }

  /** Number of rows in the journal. */
  count(): number {
    return (this.#st.count.get() as { n: number }).n;
  }

  /**
   * Deletes up to `batch` final, acknowledged rows older than `maxAgeMs`, then trims to
   * `maxRows`. Small batches keep each transaction short so the job path never waits long.
   * Returns the number of rows deleted.
   */
  prune(now: number, maxAgeMs: number, maxRows: number, batch = 500): number {
    return this.#tx(() => {
      let n = Number(this.#st.pruneAge.run(now - maxAgeMs, batch).changes);
      const over = this.count() - maxRows;
      if (over > 0) n += Number(this.#st.pruneCap.run(Math.min(over, batch)).changes);
      this.#st.prunePapers.run(batch); // pictures beyond the newest PAPER_KEEP_JOBS
      return n;
    });
  }

  /** Reads a meta value. */
  getMeta(key: string): string | undefined {
    return (this.#st.metaGet.get(key) as { value: string } | undefined)?.value;
  }

  /** Writes a meta value. */
  setMeta(key: string, value: string): void {
    this.#tx(() => this.#st.metaSet.run(key, value));
  }

  /**
   * Records a change of remote configuration or self-update (what the heartbeat says of them),
   * keeping the newest {@link FLEET_EVENTS_KEPT}.
   */
  recordFleet(at: number, body: Record<string, unknown>): void {
    this.#tx(() => {
      this.#st.fleetAdd.run(at, JSON.stringify(body));
      this.#st.fleetPrune.run();
    });
  }

  /** The newest fleet changes first. */
  fleetEvents(limit = 50): { at: number; body: Record<string, unknown> }[] {
    return (this.#st.fleetList.all(limit) as { at: number; body: string }[]).map((r) => ({
      at: r.at,
      body: JSON.parse(r.body),
    }));
  }

  /** Imports UUIDs already printed by the seed agent, as PRINTED with no report to send. */
  importPrinted(uuids: string[], now: number, marker: string): number {
    return this.#tx(() => {
      let n = 0;
      for (const u of uuids) {
        if (this.get(u)) continue;
        this.#st.insert.run(u, u, "imported", "import", now, null);
        this.#st.setState.run("PRINTED", 1, null, null, null, now, u);
        n++;
      }
      this.#st.metaSet.run(marker, new Date(now).toISOString());
      return n;
    });
  }

  /** The connection's settings the promise rests on: what a test or a technician can check. */
  settings(): { journalMode: string; synchronous: number; cacheSize: number } {
    const one = (p: string) => Object.values(this.#db.prepare(`PRAGMA ${p}`).get() ?? {})[0];
    return {
      journalMode: String(one("journal_mode")),
      synchronous: Number(one("synchronous")),
      cacheSize: Number(one("cache_size")),
    };
  }

  /** Checks the store can be written right now (used to leave the ERROR state). */
  probeWritable(): void {
    this.#tx(() => this.#st.metaSet.run("probe", String(Date.now())));
  }

  /** Closes the database (checkpointing the WAL). */
  close(): void {
    try {
      this.#db.close();
    } catch { /* already closed */ }
  }
}

/** The journal file is damaged; the agent keeps it aside and starts a new one. */
export class JournalCorruptError extends Error {
  /** Creates a JournalCorruptError. */
  constructor(path: string, detail: string, options?: ErrorOptions) {
    super(`journal ${path} is damaged: ${detail}`, options);
    this.name = "JournalCorruptError";
  }
}

/** Another process holds the journal: only one agent may own a state folder. */
export class StateLockedError extends Error {
  /** Creates a StateLockedError. */
  constructor(path: string, options?: ErrorOptions) {
    super(`the journal ${path} is in use by another agent`, options);
    this.name = "StateLockedError";
  }
}
