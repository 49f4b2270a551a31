/**
 * The reference job server: the contract of docs/protocol.md, implemented exactly, on Hono and
 * `node:sqlite`. The tests and the demo run against it; the POS backend team reads it.
 * @module
 */
import { type Context, Hono } from "hono";
import type { HttpApp } from "../api/local_api.ts";
import { DatabaseSync } from "node:sqlite";

/** Statuses a job moves through on the server. */
export const JOB_STATUSES = ["PENDING", "FETCHED", "PRINTING", "COMPLETED", "FAILED"] as const;
/** A job's status on the server. */
export type JobStatus = typeof JOB_STATUSES[number];
const FINAL = new Set<JobStatus>(["COMPLETED", "FAILED"]);
const RANK: Record<JobStatus, number> = {
  PENDING: 0,
  FETCHED: 1,
  PRINTING: 2,
  COMPLETED: 3,
  FAILED: 3,
};

/** Options of {@link createServerApp}. */
export interface ServerOptions {
  /** SQLite file, or ":memory:". */
  db: string;
  /** When set, every request needs `Authorization: Token <token>`. */
  token?: string;
  /** Answer job lists as DRF pages (`{"count", "next", "previous", "results"}`). */
  paginate?: boolean;
  /** Ignore `wait` (to test agents against servers without long-poll). */
  noLongPoll?: boolean;
  /** Longest `wait` honoured, seconds. */
  maxWait?: number;
  /**
   * Behave like a stock Django REST framework backend: status updates by `PATCH
   * /print-jobs/{id}/`, page-number pagination (`?page=N`, absolute `next`, {@link pageSize} per
   * page), list filters named `terminal`, `state` and `role`, no long-poll, and Django's
   * APPEND_SLASH as with DEBUG=False: a path without the trailing slash is redirected (301).
   */
  drf?: boolean;
  /** Jobs per page in DRF mode (default 3). */
  pageSize?: number;
  /** Accept a uuid that another job already has (to test agents against such servers). */
  allowDuplicateUuid?: boolean;
}

/** A job row as the API returns it. */
export interface ServerJob {
  /** The job's id. */
  id: number;
  /** The job's uuid (the idempotency key). */
  uuid: string;
  /** The terminal the job or agent belongs to. */
  terminal_id: string;
  /** The printer role the job is for (null: routed by job_type). */
  printer_role: string | null;
  /** receipt, kitchen, reprint, drawer, test or raw. */
  job_type: string;
  /** Higher prints first. */
  priority: number;
  /** PENDING, FETCHED, PRINTING, COMPLETED or FAILED. */
  status: JobStatus;
  /** Print attempts so far. */
  attempts: number;
  /** The stable error code of the last failure, if any. */
  error_code: string | null;
  /** What went wrong, for a person, if anything. */
  error_message: string | null;
  /** The receipt's content. */
  receipt_data: Record<string, unknown> | null;
  /** Raw ESC/POS bytes, base64. */
  raw_base64: string | null;
  /** The id of the job this copies. */
  reprint_of: number | string | null;
  /** A receipt experiment's arm, `{id, variant}`, as the POS assigned it; null when none. */
  experiment: Record<string, unknown> | null;
  /** When it was created. */
  created_at: string;
  /** When it last changed. */
  updated_at: string;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS jobs (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  uuid TEXT NOT NULL,
  terminal_id TEXT NOT NULL,
  printer_role TEXT,
  job_type TEXT NOT NULL,
  priority INTEGER NOT NULL DEFAULT 0,
  status TEXT NOT NULL DEFAULT 'PENDING',
  attempts INTEGER NOT NULL DEFAULT 0,
  error_code TEXT,
  error_message TEXT,
  receipt_data TEXT,
  raw_base64 TEXT,
  reprint_of TEXT,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL,
  experiment TEXT
);
CREATE INDEX IF NOT EXISTS jobs_pending ON jobs(terminal_id, status);
CREATE INDEX IF NOT EXISTS jobs_uuid ON jobs(uuid);
CREATE TABLE IF NOT EXISTS reports (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  job_id INTEGER NOT NULL,
  status TEXT NOT NULL,
  body TEXT NOT NULL,
  accepted INTEGER NOT NULL,
  received_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS terminal_configs (
  terminal_id TEXT PRIMARY KEY,
  revision TEXT NOT NULL,
  body TEXT NOT NULL,
  published_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS releases (
  version TEXT NOT NULL,
  platform TEXT NOT NULL,
  release TEXT NOT NULL,
  file BLOB NOT NULL,
  published_at TEXT NOT NULL,
  PRIMARY KEY (version, platform)
);
CREATE TABLE IF NOT EXISTS update_targets (
  scope TEXT PRIMARY KEY,
  version TEXT NOT NULL,
  percent INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS heartbeats (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  terminal_id TEXT NOT NULL,
  body TEXT NOT NULL,
  received_at TEXT NOT NULL
);
`;

function rowToJob(r: Record<string, unknown>): ServerJob {
  return {
    ...(r as unknown as ServerJob),
    receipt_data: r.receipt_data ? JSON.parse(String(r.receipt_data)) : null,
    reprint_of: r.reprint_of === null ? null : String(r.reprint_of),
    experiment: r.experiment ? JSON.parse(String(r.experiment)) : null,
  };
}

/** Builds the server app; `close()` releases the database and pending long-polls. */
export function createServerApp(
  o: ServerOptions,
): { app: HttpApp; close: () => void; db: DatabaseSync } {
  const db = new DatabaseSync(o.db);
  db.exec("PRAGMA journal_mode = WAL");
  db.exec(SCHEMA);
  // a database file from before experiments
  const cols = db.prepare("PRAGMA table_info(jobs)").all() as { name: string }[];
  if (!cols.some((c) => c.name === "experiment")) {
    db.exec("ALTER TABLE jobs ADD COLUMN experiment TEXT");
  }
  const waiters = new Set<{ terminal: string; wake: () => void }>();
  const app = new Hono();
  const api = new Hono();

  app.onError((e, c) => c.json({ detail: `server error: ${e.message}` }, 500));
  app.notFound((c) => c.json({ detail: "Not found." }, 404));

  api.use("*", async (c, next) => {
    if (o.token) {
      const h = c.req.header("authorization") ?? "";
      if (!h) return c.json({ detail: "Authentication credentials were not provided." }, 401);
      if (h !== `Token ${o.token}`) return c.json({ detail: "Invalid token." }, 401);
    }
    await next();
  });

  if (o.drf) {
    api.use("*", async (c, next) => {
      const url = new URL(c.req.url);
      if (url.pathname.endsWith("/")) return await next();
      // Django's CommonMiddleware with DEBUG=False (production): 301 to the slash URL, for any
      // method (a client that follows it with a POST turns it into a GET; DEBUG=True gives 500)
      return c.redirect(`${url.pathname}/${url.search}`, 301);
    });
  }
  const now = () => new Date().toISOString();
  const getJob = (id: string) => {
    const r = db.prepare("SELECT * FROM jobs WHERE id = ? OR uuid = ?").get(id, id);
    return r ? rowToJob(r as Record<string, unknown>) : null;
  };
  /** DRF PageNumberPagination over the filtered list, with absolute `next` and `previous`. */
  const drfPage = (
    c: Context,
    terminal: string | undefined,
    status: string | undefined,
    role: string | undefined,
  ) => {
    const size = o.pageSize ?? 3;
    const page = Math.max(1, Number(c.req.query("page") ?? 1) || 1);
    const where = `WHERE (? IS NULL OR terminal_id = ?) AND (? IS NULL OR status = ?)
         AND (? IS NULL OR printer_role IS NULL OR (',' || ? || ',') LIKE ('%,' || printer_role || ',%'))`;
    const args = [terminal ?? null, terminal ?? null, status ?? null, status ?? null];
    const roleArgs = [role ?? null, role ?? null];
    const count = (db.prepare(`SELECT COUNT(*) AS n FROM jobs ${where}`)
      .get(...args, ...roleArgs) as { n: number }).n;
    const rows = db.prepare(
      `SELECT * FROM jobs ${where} ORDER BY priority DESC, id LIMIT ? OFFSET ?`,
    ).all(...args, ...roleArgs, size, (page - 1) * size);
    const link = (n: number) => {
      const u = new URL(c.req.url);
      u.searchParams.set("page", String(n));
      return u.href;
    };
    return c.json({
      count,
      next: page * size < count ? link(page + 1) : null,
      previous: page > 1 ? link(page - 1) : null,
      results: rows.map((r) => rowToJob(r as Record<string, unknown>)),
    });
  };
  const pending = (terminal: string, role: string | undefined, limit: number) => {
    const rows = db.prepare(
      `SELECT * FROM jobs WHERE terminal_id = ? AND status = 'PENDING'
         AND (? IS NULL OR printer_role IS NULL OR (',' || ? || ',') LIKE ('%,' || printer_role || ',%'))
       ORDER BY priority DESC, id LIMIT ?`,
    ).all(terminal, role ?? null, role ?? null, limit);
    return rows.map((r) => rowToJob(r as Record<string, unknown>));
  };

  api.post("/print-jobs/", async (c) => {
    let b: Record<string, unknown>;
    try {
      b = await c.req.json();
    } catch {
      return c.json({ detail: "JSON parse error" }, 400);
    }
    if (!b || typeof b !== "object" || Array.isArray(b)) {
      return c.json({ detail: "expected an object" }, 400);
    }
    const errors: Record<string, string> = {};
    if (typeof b.terminal_id !== "string" || !b.terminal_id) {
      errors.terminal_id = "This field is required.";
    }
    const type = typeof b.job_type === "string" ? b.job_type : "receipt";
    if (
      b.receipt_data != null &&
      (typeof b.receipt_data !== "object" || Array.isArray(b.receipt_data))
    ) {
      errors.receipt_data = "Expected an object.";
    }
    if (b.raw_base64 != null && typeof b.raw_base64 !== "string") {
      errors.raw_base64 = "Expected a string.";
    }
    if (Object.keys(errors).length) return c.json(errors, 400);
    const uuid = typeof b.uuid === "string" && b.uuid ? b.uuid : crypto.randomUUID();
    if (!o.allowDuplicateUuid && db.prepare("SELECT 1 FROM jobs WHERE uuid = ?").get(uuid)) {
      return c.json({ uuid: "A job with this uuid already exists." }, 400);
    }
    const t = typeof b.created_at === "string" ? b.created_at : now();
    try {
      const r = db.prepare(
        `INSERT INTO jobs (uuid, terminal_id, printer_role, job_type, priority, receipt_data, raw_base64,
           reprint_of, created_at, updated_at, experiment) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      ).run(
        uuid,
        b.terminal_id as string,
        typeof b.printer_role === "string" ? b.printer_role : null,
        type,
        Number.isInteger(b.priority) ? b.priority as number : 0,
        b.receipt_data != null ? JSON.stringify(b.receipt_data) : null,
        (b.raw_base64 as string) ?? null,
        b.reprint_of != null ? String(b.reprint_of) : null,
        t,
        now(),
        b.experiment && typeof b.experiment === "object" ? JSON.stringify(b.experiment) : null,
      );
      for (const w of waiters) if (w.terminal === b.terminal_id) w.wake();
      return c.json(getJob(String(r.lastInsertRowid)), 201);
    } catch (e) {
      if (/UNIQUE/.test(String(e))) {
        return c.json({ uuid: "A job with this uuid already exists." }, 400);
      }
      throw e;
    }
  });

  api.get("/print-jobs/", async (c) => {
    const q = (std: string, drf: string) => c.req.query(o.drf ? drf : std);
    const terminal = q("terminal_id", "terminal");
    const status = q("status", "state");
    const role = q("printer_role", "role") || undefined;
    if (o.drf) return drfPage(c, terminal, status, role);
    const limit = Math.min(10_000, Math.max(1, Number(c.req.query("limit") ?? 20) || 20));
    const answer = (jobs: ServerJob[]) =>
      o.paginate
        ? c.json({ count: jobs.length, next: null, previous: null, results: jobs })
        : c.json(jobs);
    if (!terminal || status !== "PENDING") {
      const rows = db.prepare(
        `SELECT * FROM jobs WHERE (? IS NULL OR terminal_id = ?) AND (? IS NULL OR status = ?)
         ORDER BY id DESC LIMIT 200`,
      ).all(terminal ?? null, terminal ?? null, status ?? null, status ?? null);
      return answer(rows.map((r) => rowToJob(r as Record<string, unknown>)));
    }
    let jobs = pending(terminal, role, limit);
    const wait = o.noLongPoll
      ? 0
      : Math.min(o.maxWait ?? 60, Math.max(0, Number(c.req.query("wait") ?? 0) || 0));
    if (jobs.length === 0 && wait > 0) {
      await new Promise<void>((res) => {
        const w = { terminal, wake: () => done() };
        const t = setTimeout(() => done(), wait * 1000);
        function done() {
          clearTimeout(t);
          waiters.delete(w);
          res();
        }
        waiters.add(w);
      });
      jobs = pending(terminal, role, limit);
    }
    return answer(jobs);
  });

  api.get("/print-jobs/:id/", (c) => {
    const j = getJob(c.req.param("id"));
    return j ? c.json(j) : c.json({ detail: "Not found." }, 404);
  });

  api.get("/print-jobs/:id/reports/", (c) => {
    const j = getJob(c.req.param("id"));
    if (!j) return c.json({ detail: "Not found." }, 404);
    const rows = db.prepare("SELECT * FROM reports WHERE job_id = ? ORDER BY id").all(j.id);
    return c.json(
      rows.map((r) => ({ ...r, body: JSON.parse(String(r.body)), accepted: !!r.accepted })),
    );
  });

  const statusUpdate = async (c: Context) => {
    const j = getJob(c.req.param("id")!);
    if (!j) return c.json({ detail: "Not found." }, 404);
    let b: Record<string, unknown>;
    try {
      b = await c.req.json();
    } catch {
      return c.json({ detail: "JSON parse error" }, 400);
    }
    const status = b?.status as JobStatus;
    if (!["FETCHED", "PRINTING", "COMPLETED", "FAILED"].includes(status)) {
      return c.json({ status: `"${b?.status}" is not a valid choice.` }, 400);
    }
    if (status === "FAILED" && typeof b.error_code !== "string") {
      return c.json({ error_code: "Required when status is FAILED." }, 400);
    }
    const log = (accepted: boolean) =>
      db.prepare(
        "INSERT INTO reports (job_id, status, body, accepted, received_at) VALUES (?, ?, ?, ?, ?)",
      )
        .run(j.id, status, JSON.stringify(b), accepted ? 1 : 0, now());
    // A final status is final: the same one again is acknowledged (the agent may resend it after
    // a lost ack), a different one is a conflict. Late non-final reports never move a job back.
    if (FINAL.has(j.status)) {
      log(false);
      if (status === j.status) return c.json(j);
      if (!FINAL.has(status)) return c.json(j);
      return c.json({ detail: `job is already ${j.status}` }, 409);
    }
    log(true);
    if (RANK[status] >= RANK[j.status]) {
      db.prepare(
        `UPDATE jobs SET status = ?, attempts = MAX(attempts, ?), error_code = ?, error_message = ?,
           updated_at = ? WHERE id = ?`,
      ).run(
        status,
        Number(b.attempt) || 0,
        status === "FAILED" ? String(b.error_code) : null,
        status === "FAILED" ? String(b.error_message ?? "") : null,
        now(),
        j.id,
      );
    }
    return c.json(getJob(String(j.id)));
  };
  if (o.drf) api.patch("/print-jobs/:id/", statusUpdate); // a ModelViewSet's partial_update
  else api.post("/print-jobs/:id/status/", statusUpdate);

  api.post("/print-agents/heartbeat/", async (c) => {
    let b: Record<string, unknown>;
    try {
      b = await c.req.json();
    } catch {
      return c.json({ detail: "JSON parse error" }, 400);
    }
    if (typeof b?.terminal_id !== "string") {
      return c.json({ terminal_id: "This field is required." }, 400);
    }
    db.prepare("INSERT INTO heartbeats (terminal_id, body, received_at) VALUES (?, ?, ?)")
      .run(b.terminal_id, JSON.stringify(b), now());
    // the configuration published for this terminal (remote configuration, docs/updates.md)
    const cfg = db.prepare("SELECT revision, body FROM terminal_configs WHERE terminal_id = ?")
      .get(b.terminal_id);
    const said = b.update as { platform?: unknown } | undefined;
    const update = await updateFor(b.terminal_id, String(said?.platform ?? b.platform ?? ""));
    return c.json({
      ok: true,
      server_time: now(),
      ...(update ? { update } : {}),
      ...(cfg
        ? {
          config: {
            revision: JSON.parse(String(cfg.revision)),
            body: JSON.parse(String(cfg.body)),
          },
        }
        : {}),
    });
  });

  // publish a configuration for a terminal: {revision, body} (body: the keys to change, in
  // print_agent_config.json's shape); the agent's heartbeats say what became of it
  api.put("/print-agents/:terminal_id/config/", async (c) => {
    let b: { revision?: unknown; body?: unknown };
    try {
      b = await c.req.json();
    } catch {
      return c.json({ detail: "JSON parse error" }, 400);
    }
    const rev = b?.revision;
    if (typeof rev !== "string" && typeof rev !== "number") {
      return c.json({ revision: "A string or a number is required." }, 400);
    }
    if (!b.body || typeof b.body !== "object" || Array.isArray(b.body)) {
      return c.json({ body: "An object is required." }, 400);
    }
    db.prepare(
      `INSERT INTO terminal_configs (terminal_id, revision, body, published_at) VALUES (?, ?, ?, ?)
       ON CONFLICT(terminal_id) DO UPDATE SET revision = excluded.revision, body = excluded.body,
       published_at = excluded.published_at`,
    ).run(c.req.param("terminal_id"), JSON.stringify(rev), JSON.stringify(b.body), now());
    return c.json({ terminal_id: c.req.param("terminal_id"), revision: rev, body: b.body });
  });

  api.delete("/print-agents/:terminal_id/config/", (c) => {
    db.prepare("DELETE FROM terminal_configs WHERE terminal_id = ?").run(
      c.req.param("terminal_id"),
    );
    return c.body(null, 204);
  });

  // self-update (docs/updates.md): releases as `deno task build` writes them, and which version
  // each terminal should run — per terminal, else a rollout to a share of the fleet (cohorts by
  // a stable hash of the terminal id: the same terminals first, whatever the order of heartbeats)
  const cohort = async (terminalId: string) => {
    const d = new Uint8Array(
      await crypto.subtle.digest("SHA-256", new TextEncoder().encode(terminalId)),
    );
    return ((d[0] << 8) | d[1]) % 100;
  };
  const updateFor = async (terminalId: string, platform: string) => {
    const own = db.prepare("SELECT version, percent FROM update_targets WHERE scope = ?")
      .get(`terminal:${terminalId}`);
    const all = db.prepare("SELECT version, percent FROM update_targets WHERE scope = 'fleet'")
      .get();
    const t = own ?? (all && await cohort(terminalId) < Number(all.percent) ? all : null);
    if (!t) return null;
    const r = db.prepare("SELECT release FROM releases WHERE version = ? AND platform = ?")
      .get(String(t.version), platform);
    if (!r) return null;
    return {
      version: String(t.version),
      url: `/api/releases/${encodeURIComponent(String(t.version))}/${
        encodeURIComponent(platform)
      }/file`,
      release: JSON.parse(String(r.release)),
    };
  };
  // publish: {release: {manifest, signature, cert}, file_base64}; the file must be the one the
  // manifest names (the agents check the signature; the server cannot, it has no root keys)
  api.post("/releases/", async (c) => {
    let b: { release?: Record<string, unknown>; file_base64?: unknown };
    try {
      b = await c.req.json();
    } catch {
      return c.json({ detail: "JSON parse error" }, 400);
    }
    const m = b?.release?.manifest as Record<string, unknown> | undefined;
    if (!m || typeof m.version !== "string" || typeof m.platform !== "string") {
      return c.json(
        { release: "{manifest: {version, platform, …}, signature, cert} is required." },
        400,
      );
    }
    if (typeof b.file_base64 !== "string") {
      return c.json({ file_base64: "The release's file, base64, is required." }, 400);
    }
    let file: Uint8Array;
    try {
      file = Uint8Array.from(atob(b.file_base64), (ch) => ch.charCodeAt(0));
    } catch {
      return c.json({ file_base64: "Not base64." }, 400);
    }
    const sha = Array.from(
      new Uint8Array(await crypto.subtle.digest("SHA-256", file as BufferSource)),
      (x) => x.toString(16).padStart(2, "0"),
    ).join("");
    if (sha !== m.sha256 || file.length !== m.size) {
      return c.json(
        { file_base64: "The file is not the one the manifest names (size, sha256)." },
        400,
      );
    }
    db.prepare(
      `INSERT INTO releases (version, platform, release, file, published_at) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT(version, platform) DO UPDATE SET release = excluded.release,
       file = excluded.file, published_at = excluded.published_at`,
    ).run(m.version, m.platform, JSON.stringify(b.release), file, now());
    return c.json({ version: m.version, platform: m.platform, size: file.length }, 201);
  });
  api.get("/releases/", (c) => {
    const rows = db.prepare("SELECT version, platform, release, published_at FROM releases").all();
    return c.json(rows.map((r) => ({
      version: r.version,
      platform: r.platform,
      manifest: JSON.parse(String(r.release)).manifest,
      published_at: r.published_at,
    })));
  });
  // the file, with byte ranges: an agent whose download was cut goes on from where it stopped
  api.get("/releases/:version/:platform/file", (c) => {
    const r = db.prepare("SELECT file FROM releases WHERE version = ? AND platform = ?")
      .get(c.req.param("version"), c.req.param("platform"));
    if (!r) return c.json({ detail: "Not found." }, 404);
    const file = r.file as Uint8Array;
    const range = c.req.header("range")?.match(/^bytes=(\d+)-$/);
    const headers = { "content-type": "application/octet-stream", "accept-ranges": "bytes" };
    if (range) {
      const from = Number(range[1]);
      if (from >= file.length) {
        return c.body(null, 416, { ...headers, "content-range": `bytes */${file.length}` });
      }
      return c.body(file.slice(from), 206, {
        ...headers,
        "content-range": `bytes ${from}-${file.length - 1}/${file.length}`,
      });
    }
    return c.body(file.slice(), 200, headers);
  });
  const setTarget = async (c: Context, scope: string) => {
    let b: { version?: unknown; percent?: unknown };
    try {
      b = await c.req.json();
    } catch {
      return c.json({ detail: "JSON parse error" }, 400);
    }
    if (typeof b?.version !== "string") return c.json({ version: "A string is required." }, 400);
    const percent = b.percent === undefined ? 100 : Number(b.percent);
    if (!Number.isInteger(percent) || percent < 0 || percent > 100) {
      return c.json({ percent: "An integer 0–100 is required." }, 400);
    }
    db.prepare(
      `INSERT INTO update_targets (scope, version, percent) VALUES (?, ?, ?)
       ON CONFLICT(scope) DO UPDATE SET version = excluded.version, percent = excluded.percent`,
    ).run(scope, b.version, percent);
    return c.json({ scope, version: b.version, percent });
  };
  // one terminal's target: {version}
  api.put(
    "/print-agents/:terminal_id/update/",
    (c) => setTarget(c, `terminal:${c.req.param("terminal_id")}`),
  );
  api.delete("/print-agents/:terminal_id/update/", (c) => {
    db.prepare("DELETE FROM update_targets WHERE scope = ?").run(
      `terminal:${c.req.param("terminal_id")}`,
    );
    return c.body(null, 204);
  });
  // the fleet's: {version, percent} — the terminals whose cohort (0–99) is below percent
  api.put("/updates/rollout/", (c) => setTarget(c, "fleet"));
  api.delete("/updates/rollout/", (c) => {
    db.prepare("DELETE FROM update_targets WHERE scope = 'fleet'").run();
    return c.body(null, 204);
  });

  api.get("/print-agents/", (c) => {
    const rows = db.prepare(
      `SELECT h.* FROM heartbeats h JOIN (SELECT terminal_id, MAX(id) AS id FROM heartbeats
         GROUP BY terminal_id) m ON h.id = m.id ORDER BY h.terminal_id`,
    ).all();
    return c.json(rows.map((r) => ({ ...JSON.parse(String(r.body)), received_at: r.received_at })));
  });

  api.get("/print-agents/heartbeats/", (c) => {
    const t = c.req.query("terminal_id") ?? null;
    const rows = db.prepare(
      "SELECT * FROM heartbeats WHERE (? IS NULL OR terminal_id = ?) ORDER BY id DESC LIMIT 100",
    ).all(t, t);
    return c.json(rows.map((r) => ({ ...JSON.parse(String(r.body)), received_at: r.received_at })));
  });

  app.route("/api", api);
  app.get("/", (c) => {
    const counts = db.prepare("SELECT status, COUNT(*) AS n FROM jobs GROUP BY status").all();
    return c.json({
      server: "print-agent reference job server",
      contract: "docs/protocol.md",
      jobs: Object.fromEntries(counts.map((r) => [r.status, r.n])),
      endpoints: [
        "POST /api/print-jobs/",
        "GET  /api/print-jobs/?terminal_id=&status=PENDING&printer_role=cashier,kitchen&wait=",
        "GET  /api/print-jobs/{id}/",
        "POST /api/print-jobs/{id}/status/",
        "POST /api/print-agents/heartbeat/",
        "GET  /api/print-agents/",
        "PUT  /api/print-agents/{terminal_id}/config/",
        "POST /api/releases/",
        "GET  /api/releases/{version}/{platform}/file",
        "PUT  /api/print-agents/{terminal_id}/update/",
        "PUT  /api/updates/rollout/",
      ],
    });
  });

  return {
    app,
    db,
    close: () => {
      for (const w of waiters) w.wake();
      db.close();
    },
  };
}
