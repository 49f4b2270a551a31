/**
 * The local HTTP API and status page (Hono), on 127.0.0.1 by default: see and drive the agent from
 * the terminal itself. Reading is open on loopback; anything that prints needs
 * `Authorization: Bearer <local_api.token>` (never a cookie), and `Host` / `Origin` are checked so
 * a web page in the terminal's browser cannot print or open the drawer (CSRF, DNS rebinding).
 * @module
 */
import { Hono } from "hono";
import type { Context, MiddlewareHandler } from "hono";
import type { AcceptResult } from "../core/intake.ts";
import type { AgentStatus } from "../server/protocol.ts";
import type { Clock } from "../core/clock.ts";
import type { Config } from "../config.ts";
import type { HistoryStore } from "../store/journal.ts";
import type { PrinterStatusReport } from "../printers/printer.ts";
import { bearerAuth } from "hono/bearer-auth";
import { HTTPException } from "hono/http-exception";
import { metricsText, type MetricsView } from "./metrics.ts";
import { heartbeatBody } from "../server/protocol.ts";
import type { JobState, JournalEntry } from "../store/journal.ts";
import { log } from "../log.ts";
import { readAtMost } from "../bytes.ts";

/** An HTTP app: answers requests (a Hono app's `fetch`, and `request` for tests). */
export interface HttpApp {
  /** Answers one request. */
  fetch(req: Request): Response | Promise<Response>;
  /** Answers a request made from a path or URL. */
  request(input: string | Request | URL, init?: RequestInit): Response | Promise<Response>;
}

/** Options of {@link createLocalApi}. */
export interface LocalApiOptions {
  /** The address the server listens on, for Host/Origin checks. */
  host: string;
  /** The port it listens on. */
  port: number;
  /** The token printing requests must send (empty: printing off). */
  token: string;
  /** Largest accepted request body, bytes. */
  maxBody?: number;
}

/**
 * What the local API sees of the agent: its snapshot and counters, the jobs' history, the first
 * printer, and one door in (`accept`, as a job from the server would come).
 */
export interface AgentView extends MetricsView {
  /** The validated configuration. */
  readonly config: Pick<
    Config,
    "server" | "terminal_identity" | "render" | "logging" | "local_api"
  >;
  /** The agent's version. */
  readonly version: string;
  /** The clock everything times itself by (a fake one in tests). */
  readonly clock: Clock;
  /** READY, PRINTING, ERROR or STOPPED. */
  readonly status: AgentStatus;
  /** The jobs' history. */
  readonly journal: HistoryStore;
  /** The stations, in configuration order. */
  readonly stations: readonly {
    readonly printerStatus: PrinterStatusReport;
    readonly printer: { readonly description: string };
    readonly renderer: { readonly profile: { readonly id: string } };
  }[];
  /** The event loop's worst lag (ms) since start and in the last minute. */
  loopLag(): { max_ms: number; last_minute_max_ms: number };
  /** Takes one job item as the server would hand it. */
  accept(item: unknown, source: string, o: { station?: string }): AcceptResult;
  /** The stations a job may print on (by its role, else its type; several where balanced). */
  stationsFor(job: { printer_role: string | null; job_type: string }): readonly { id: string }[];
}

const LOOPBACK_NAMES = new Set(["127.0.0.1", "localhost", "[::1]"]);

/** Whether `h` is a loopback bind address. */
export function isLoopback(h: string): boolean {
  return LOOPBACK_NAMES.has(h) || h === "::1" || h.startsWith("127.");
}

function entryView(e: JournalEntry, stationsFor?: AgentView["stationsFor"]) {
  let data: {
    receipt_data?: { bill_number?: unknown };
    raw_base64?: unknown;
    printer_role?: unknown;
  } = {};
  try {
    data = e.payload ? JSON.parse(e.payload) : {};
  } catch { /* shown without its details */ }
  const bill = data.receipt_data?.bill_number;
  // the printer the job was meant for, where another one (its backup) took it
  const role = typeof data.printer_role === "string" ? data.printer_role : null;
  const own = stationsFor?.({ printer_role: role, job_type: e.job_type }) ?? [];
  return {
    bill_number: typeof bill === "string" || typeof bill === "number" ? String(bill) : null,
    printer: e.printer,
    meant_for: own.length && e.printer && !own.some((s) => s.id === e.printer) ? own[0].id : null,
    has_preview: !!e.preview,
    // what "Reprint" (a REPRINT / COPY receipt: needs receipt_data) and "Print again" can send
    can_reprint: !!data.receipt_data && !["test", "drawer"].includes(e.job_type),
    can_print_again: !!(data.receipt_data || data.raw_base64) && e.job_type !== "drawer",
    uuid: e.uuid,
    id: e.server_id,
    job_type: e.job_type,
    state: e.state,
    attempts: e.attempts,
    error_code: e.error_code,
    error_message: e.error_message,
    source: e.source,
    received_at: new Date(e.received_at).toISOString(),
    printing_at: e.printing_at ? new Date(e.printing_at).toISOString() : null,
    finished_at: e.finished_at ? new Date(e.finished_at).toISOString() : null,
  };
}

/**
 * Refuses a request body over `max` bytes with 413, declared or streamed. (Hono's bodyLimit
 * re-creates a chunked request from the original, which reads its `signal` and makes Deno.serve
 * print its "legacy behavior" warning; this one builds the new request without it.)
 */
function cappedBody(max: number): MiddlewareHandler {
  const tooLarge = { error: `request body larger than ${max} bytes` };
  return async (c, next) => {
    const raw = c.req.raw;
    if (!raw.body) return await next();
    const declared = Number(raw.headers.get("content-length") ?? NaN);
    if (declared > max) return c.json(tooLarge, 413);
    if (!Number.isNaN(declared)) return await next();
    const body = await readAtMost(raw.body, max);
    if (!body) return c.json(tooLarge, 413);
    c.req.raw = new Request(raw.url, { method: raw.method, headers: raw.headers, body });
    return await next();
  };
}

/** The last `n` lines of a text file (reads at most its last 1 MiB). */
async function logTail(path: string, n: number): Promise<string> {
  const f = await Deno.open(path, { read: true });
  try {
    const size = (await f.stat()).size;
    const start = Math.max(0, size - 1024 * 1024);
    await f.seek(start, Deno.SeekMode.Start);
    const buf = new Uint8Array(size - start);
    let at = 0;
    while (at < buf.length) {
      const k = await f.read(buf.subarray(at));
      if (k === null) break;
      at += k;
    }
    const lines = new TextDecoder().decode(buf.subarray(0, at)).split("\n");
    if (lines.at(-1) === "") lines.pop();
    return lines.slice(-n).join("\n") + "\n";
  } finally {
    f.close();
  }
}

/** Builds the local API for an agent. */
export function createLocalApi(agent: AgentView, o: LocalApiOptions): HttpApp {
  const app = new Hono();
  const allowedHosts = new Set<string>();
  const names = isLoopback(o.host) ? ["127.0.0.1", "localhost", "[::1]"] : [o.host];
  for (const n of names) {
    allowedHosts.add(`${n}:${o.port}`);
    if (o.port === 80) allowedHosts.add(n);
  }

  app.onError((e, c) => {
    if (e instanceof HTTPException) return e.getResponse(); // a refusal (bearerAuth), not a fault
    log.error(`[API] ${c.req.method} ${c.req.path}: ${e.message}`, { code: "INTERNAL_ERROR" });
    return c.json({ error: "internal error", detail: e.message }, 500);
  });

  // DNS rebinding: a page on evil.example that resolves to 127.0.0.1 still sends its own Host.
  app.use("*", async (c, next) => {
    const host = (c.req.header("host") ?? "").toLowerCase();
    if (!allowedHosts.has(host)) return c.json({ error: `Host "${host}" is not this agent` }, 421);
    const origin = c.req.header("origin");
    if (origin && origin !== "null") {
      let ok = false;
      try {
        ok = allowedHosts.has(new URL(origin).host.toLowerCase());
      } catch { /* bad origin */ }
      if (!ok) return c.json({ error: `cross-site request from ${origin} refused` }, 403);
    } else if (origin === "null") {
      return c.json({ error: "requests from opaque origins are refused" }, 403);
    }
    await next();
  });

  // Bearer token only (never a cookie); every refusal a 401 with what is wanted
  const refuse = (error: string) => (c: Context) => c.json({ error }, 401);
  const checkToken = o.token
    ? bearerAuth({
      token: o.token,
      noAuthenticationHeader: {
        message: refuse("Authorization: Bearer <local_api.token> required"),
      },
      invalidAuthenticationHeader: {
        message: refuse("Authorization: Bearer <local_api.token> required"),
      },
      invalidToken: { message: refuse("wrong token") },
    })
    : null;
  const requireToken: MiddlewareHandler = (c, next) => {
    if (!checkToken) {
      return Promise.resolve(
        c.json({ error: "printing through the local API is off: set local_api.token" }, 403),
      );
    }
    return checkToken(c, next);
  };
  const limit = cappedBody(o.maxBody ?? 2 * 1024 * 1024);

  const status = () => {
    const snap = agent.snapshot();
    return {
      ...heartbeatBody(snap),
      printer: {
        ...agent.stations[0].printerStatus,
        description: agent.stations[0].printer.description,
        profile: agent.stations[0].renderer.profile.id,
      },
      server: { base_url: agent.config.server.base_url, reachable: agent.serverReachable },
      event_loop_lag: agent.loopLag(),
      memory_mb: (() => {
        const m = Deno.memoryUsage();
        const mb = (n: number) => Math.round(n / 104857.6) / 10;
        return { rss: mb(m.rss), heap_used: mb(m.heapUsed), heap_total: mb(m.heapTotal) };
      })(),
      version: agent.version,
      counters: agent.counters,
    };
  };

  app.get("/health", (c) => c.json({ ok: true, agent_status: agent.status }));
  app.get("/status", (c) => c.json(status()));
  app.get(
    "/metrics",
    (c) => c.text(metricsText(agent), 200, { "content-type": "text/plain; version=0.0.4" }),
  );

  app.get("/jobs", (c) => {
    const st = c.req.query("status")?.toUpperCase();
    if (st && !["RECEIVED", "PRINTING", "PRINTED", "FAILED"].includes(st)) {
      return c.json(
        { error: `status must be RECEIVED, PRINTING, PRINTED or FAILED, not ${st}` },
        400,
      );
    }
    const n = Math.min(500, Math.max(1, Number(c.req.query("limit") ?? 50) || 50));
    return c.json(
      agent.journal.recent(n, st as JobState | undefined).map((e) =>
        entryView(e, agent.stationsFor.bind(agent))
      ),
    );
  });

  app.get("/jobs/:uuid", (c) => {
    const e = agent.journal.get(c.req.param("uuid"));
    return e
      ? c.json(entryView(e, agent.stationsFor.bind(agent)))
      : c.json({ error: "no such job in the journal" }, 404);
  });

  app.get("/jobs/:uuid/preview", async (c) => {
    const e = agent.journal.get(c.req.param("uuid"));
    if (!e) return c.json({ error: "no such job in the journal" }, 404);
    if (!e.preview) return c.json({ error: "no preview for this job (not rendered)" }, 404);
    if (c.req.query("format") === "svg") {
      // drawn from the bytes the printer got where they were kept, else from the text
      const kept = agent.journal.paper(e.uuid);
      // the picture reader is loaded when a picture is asked for, not by every agent at start
      const [{ paperSvg, previewSvg }, { readPaper }] = await Promise.all([
        import("../render/preview_svg.ts"),
        import("../render/paper.ts"),
      ]);
      const svg = kept ? paperSvg(readPaper(kept.bytes, kept.reader)) : previewSvg(e.preview);
      return c.body(svg, 200, { "content-type": "image/svg+xml" });
    }
    return c.text(e.preview);
  });

  const submit = (body: Record<string, unknown>, station?: string) => {
    const r = agent.accept(body, "local", { station });
    if (r.outcome === "rejected") {
      return { code: 422 as const, body: { error: r.reason, error_code: r.code, uuid: r.uuid } };
    }
    if (r.outcome === "ignored") {
      return { code: 422 as const, body: { error: r.reason, uuid: r.uuid } };
    }
    const e = agent.journal.get(r.uuid);
    return {
      code: r.outcome === "duplicate" ? 200 as const : 202 as const,
      body: {
        outcome: r.outcome,
        uuid: r.uuid,
        state: e?.state ?? null,
        job: e ? entryView(e, agent.stationsFor.bind(agent)) : null,
      },
    };
  };

  app.post("/print", requireToken, limit, async (c) => {
    let body: unknown;
    try {
      body = await c.req.json();
    } catch (e) {
      return c.json({ error: `body is not JSON: ${(e as Error).message}` }, 400);
    }
    if (!body || typeof body !== "object" || Array.isArray(body)) {
      return c.json({ error: "body must be a JSON object (one job)" }, 400);
    }
    const job = { ...body as Record<string, unknown> };
    const key = c.req.header("idempotency-key");
    if (!job.uuid && key) job.uuid = key;
    if (!job.uuid) {
      return c.json({
        error: "a job UUID is required: the uuid field or an Idempotency-Key header",
      }, 400);
    }
    job.id ??= job.uuid;
    // an optional station (printer id) or printer_role picks the printer; else job_type routes it
    const station = typeof job.station === "string" ? job.station : undefined;
    delete job.station;
    const r = submit(job, station);
    return c.json(r.body, r.code);
  });

  app.post("/jobs/:uuid/reprint", requireToken, limit, (c) => {
    const e = agent.journal.get(c.req.param("uuid"));
    if (!e) return c.json({ error: "no such job in the journal" }, 404);
    const original = e.payload ? JSON.parse(e.payload) : null;
    if (!original?.receipt_data) {
      return c.json({ error: "that job has no receipt data to reprint" }, 422);
    }
    const uuid = crypto.randomUUID();
    const r = submit({
      id: `reprint-${e.server_id}-${uuid.slice(0, 8)}`,
      uuid,
      job_type: "reprint",
      reprint_of: e.server_id,
      receipt_data: original.receipt_data,
      created_at: new Date(agent.clock.now()).toISOString(),
    });
    log.info(`[API] Reprint of job ${e.server_id} requested locally (${uuid})`);
    return c.json(r.body, r.code);
  });

  app.post("/test-page", requireToken, (c) => {
    const uuid = crypto.randomUUID();
    const r = submit({
      id: `test-${uuid.slice(0, 8)}`,
      uuid,
      job_type: "test",
      created_at: new Date(agent.clock.now()).toISOString(),
    });
    return c.json(r.body, r.code);
  });

  app.get("/", async (c) => {
    const { statusPageHtml } = await import("./status_page.ts");
    return c.html(statusPageHtml({
      terminalId: agent.config.terminal_identity.terminal_id,
      locale: agent.config.render.locale,
      timeZone: agent.config.render.time_zone,
    }));
  });

  // the tail of the log, for remote support: the token, as for anything that could leak data
  app.get("/log", requireToken, async (c) => {
    const n = Math.min(2000, Math.max(1, Number(c.req.query("lines") ?? 200) || 200));
    const file = agent.config.logging.log_file;
    try {
      return c.text(await logTail(file, n));
    } catch (e) {
      return c.json({ error: `cannot read ${file}: ${(e as Error).message}` }, 404);
    }
  });

  // a failed job sent again as a new job (same content, same printer); a reprint is for printed ones
  app.post("/jobs/:uuid/print-again", requireToken, limit, (c) => {
    const e = agent.journal.get(c.req.param("uuid"));
    if (!e) return c.json({ error: "no such job in the journal" }, 404);
    if (e.state !== "FAILED") {
      return c.json({ error: `only a FAILED job is printed again; this one is ${e.state}` }, 409);
    }
    const original = e.payload ? JSON.parse(e.payload) : null;
    if (!original?.receipt_data && !original?.raw_base64) {
      return c.json({ error: "that job has nothing to print again" }, 422);
    }
    const uuid = crypto.randomUUID();
    const r = submit({
      ...original,
      id: `again-${e.server_id}-${uuid.slice(0, 8)}`,
      uuid,
      created_at: new Date(agent.clock.now()).toISOString(),
    });
    log.warn(
      `[API] Job ${e.server_id} (FAILED ${e.error_code}) sent again locally as ${uuid}`,
      { code: e.error_code ?? undefined },
    );
    return c.json(r.body, r.code);
  });
  return app;
}

/** Starts the local API server; returns a stop function, or null when disabled or refused. */
export function startLocalApi(agent: AgentView): { url: string; stop: () => Promise<void> } | null {
  const o = agent.config.local_api;
  if (!o.enabled) return null;
  if (!isLoopback(o.host)) {
    if (!o.token) {
      log.error(
        `[API] local_api.host is ${o.host} (not loopback) but local_api.token is empty: the local API stays off`,
      );
      return null;
    }
    log.warn(
      `[API] The local API listens on ${o.host}, reachable from the network; protect local_api.token`,
    );
  }
  try {
    let app: HttpApp | null = null;
    const server = Deno.serve(
      { hostname: o.host, port: o.port, onListen: () => {} },
      (req) => app ? app.fetch(req) : new Response("starting", { status: 503 }),
    );
    const port = (server.addr as Deno.NetAddr).port;
    app = createLocalApi(agent, { host: o.host, port, token: o.token });
    const url = `http://${o.host}:${port}/`;
    log.info(`[API] Status page and local API on ${url}`);
    return { url, stop: () => server.shutdown() };
  } catch (e) {
    log.error(
      `[API] Cannot listen on ${o.host}:${o.port}: ${
        (e as Error).message
      }; printing continues without the local API`,
    );
    return null;
  }
}
