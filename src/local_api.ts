/**
 * The local HTTP API and status page (Hono), on 127.0.0.1 by default: see and drive the agent from
 * the terminal itself. Reading is open on loopback; anything that prints needs
 * `Authorization: Bearer <local_api.token>` (never a cookie), and `Host` / `Origin` are checked so
 * a web page in the terminal's browser cannot print or open the drawer (CSRF, DNS rebinding).
 * @module
 */
import { Hono } from "hono";
import type { MiddlewareHandler } from "hono";
import type { Agent } from "./agent.ts";
import type { StationSnapshot } from "./station.ts";
import { heartbeatBody } from "./protocol.ts";
import type { JobState, JournalEntry } from "./journal.ts";
import { log } from "./log.ts";
import { escapeXml as esc, previewSvg } from "./render/preview_svg.ts";

/** Options of {@link createLocalApi}. */
export interface LocalApiOptions {
  /** The address the server listens on, for Host/Origin checks. */
  host: string;
  port: number;
  token: string;
  /** Largest accepted request body, bytes. */
  maxBody?: number;
}

const LOOPBACK_NAMES = new Set(["127.0.0.1", "localhost", "[::1]"]);

/** Whether `h` is a loopback bind address. */
export function isLoopback(h: string): boolean {
  return LOOPBACK_NAMES.has(h) || h === "::1" || h.startsWith("127.");
}

function timingSafeEqual(a: string, b: string): boolean {
  const x = new TextEncoder().encode(a), y = new TextEncoder().encode(b);
  let diff = x.length ^ y.length;
  for (let i = 0; i < Math.max(x.length, y.length); i++) diff |= (x[i] ?? 0) ^ (y[i] ?? 0);
  return diff === 0;
}

function entryView(e: JournalEntry) {
  return {
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

/** Prometheus text format for the agent's counters. */
export function metricsText(agent: Agent): string {
  const out: string[] = [];
  const metric = (name: string, type: string, help: string, samples: [string, number][]) => {
    out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    for (const [labels, v] of samples) out.push(`${name}${labels} ${v}`);
  };
  const c = agent.counters;
  metric("print_agent_jobs_total", "counter", "Jobs by final outcome since start.", [
    ['{outcome="printed"}', c.printed],
    ['{outcome="failed"}', c.failed],
  ]);
  metric("print_agent_duplicates_total", "counter", "Jobs delivered again and not printed again.", [
    ["", c.duplicates],
  ]);
  metric("print_agent_retries_total", "counter", "Print retries.", [["", c.retries]]);
  const buckets = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
  const d = agent.durations.map((ms) => ms / 1000);
  out.push(
    "# HELP print_agent_print_duration_seconds Time to hand a job to the printer (recent jobs).",
    "# TYPE print_agent_print_duration_seconds histogram",
  );
  for (const b of buckets) {
    out.push(
      `print_agent_print_duration_seconds_bucket{le="${b}"} ${d.filter((x) => x <= b).length}`,
    );
  }
  out.push(`print_agent_print_duration_seconds_bucket{le="+Inf"} ${d.length}`);
  out.push(`print_agent_print_duration_seconds_sum ${d.reduce((a, b) => a + b, 0)}`);
  out.push(`print_agent_print_duration_seconds_count ${d.length}`);
  const snap = agent.snapshot();
  metric("print_agent_outbox_depth", "gauge", "Status reports waiting for the server.", [[
    "",
    snap.outbox_depth,
  ]]);
  metric(
    "print_agent_oldest_report_age_seconds",
    "gauge",
    "Age of the oldest status report the server has not accepted yet (0: none waiting).",
    [["", snap.oldest_report_age_seconds]],
  );
  metric("print_agent_queue_depth", "gauge", "Jobs waiting to print.", [["", snap.queue_depth]]);
  metric(
    "print_agent_event_loop_max_lag_seconds",
    "gauge",
    "Longest time the event loop was held up since start.",
    [["", agent.loopLag().max_ms / 1000]],
  );
  metric("print_agent_server_reachable", "gauge", "1 when the job server answers.", [[
    "",
    agent.serverReachable ? 1 : 0,
  ]]);
  const stations = snap.printers;
  const label = (st: { id: string }) => `printer="${promLabel(st.id)}"`;
  metric(
    "print_agent_printer_status",
    "gauge",
    "1 for each printer's current status.",
    stations.flatMap((st) =>
      (["OK", "OFFLINE", "PAPER_OUT", "COVER_OPEN", "ERROR", "UNKNOWN"] as const).map((s) =>
        [`{${label(st)},status="${s}"}`, st.status === s ? 1 : 0] as [string, number]
      )
    ),
  );
  metric(
    "print_agent_consecutive_errors",
    "gauge",
    "Failed jobs in a row, per printer.",
    stations.map((st) => [`{${label(st)}}`, st.consecutive_errors]),
  );
  metric(
    "print_agent_printer_queue_depth",
    "gauge",
    "Jobs waiting for each printer.",
    stations.map((st) => [`{${label(st)}}`, st.queue_depth]),
  );
  metric(
    "print_agent_printer_failover_active",
    "gauge",
    "1 while a printer's jobs go to its backup.",
    stations.map((st) => [`{${label(st)}}`, st.failover_active ? 1 : 0]),
  );
  metric("print_agent_uptime_seconds", "gauge", "Seconds since start.", [[
    "",
    snap.uptime_seconds,
  ]]);
  return out.join("\n") + "\n";
}

/** A Prometheus label value: backslash, quote and newline escaped. */
function promLabel(v: string): string {
  return v.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
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
    const chunks: Uint8Array[] = [];
    let size = 0;
    for await (const chunk of raw.body) {
      size += chunk.length;
      if (size > max) return c.json(tooLarge, 413);
      chunks.push(chunk);
    }
    const body = new Uint8Array(size);
    let at = 0;
    for (const ch of chunks) {
      body.set(ch, at);
      at += ch.length;
    }
    c.req.raw = new Request(raw.url, { method: raw.method, headers: raw.headers, body });
    return await next();
  };
}

/** Builds the local API for an agent. */
export function createLocalApi(agent: Agent, o: LocalApiOptions): Hono {
  const app = new Hono();
  const allowedHosts = new Set<string>();
  const names = isLoopback(o.host) ? ["127.0.0.1", "localhost", "[::1]"] : [o.host];
  for (const n of names) {
    allowedHosts.add(`${n}:${o.port}`);
    if (o.port === 80) allowedHosts.add(n);
  }

  app.onError((e, c) => {
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

  const requireToken = async (
    c: Parameters<Parameters<typeof app.use>[1]>[0],
    next: () => Promise<void>,
  ) => {
    if (!o.token) {
      return c.json({ error: "printing through the local API is off: set local_api.token" }, 403);
    }
    const h = c.req.header("authorization") ?? "";
    const m = h.match(/^Bearer (.+)$/);
    if (!m) return c.json({ error: "Authorization: Bearer <local_api.token> required" }, 401);
    if (!timingSafeEqual(m[1], o.token)) return c.json({ error: "wrong token" }, 401);
    await next();
  };
  const limit = cappedBody(o.maxBody ?? 2 * 1024 * 1024);

  const status = () => {
    const snap = agent.snapshot();
    return {
      ...heartbeatBody(snap),
      printer: {
        ...agent.printerStatus,
        description: agent.printer.description,
        profile: agent.renderer.profile.id,
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
    return c.json(agent.journal.recent(n, st as JobState | undefined).map(entryView));
  });

  app.get("/jobs/:uuid", (c) => {
    const e = agent.journal.get(c.req.param("uuid"));
    return e ? c.json(entryView(e)) : c.json({ error: "no such job in the journal" }, 404);
  });

  app.get("/jobs/:uuid/preview", (c) => {
    const e = agent.journal.get(c.req.param("uuid"));
    if (!e) return c.json({ error: "no such job in the journal" }, 404);
    if (!e.preview) return c.json({ error: "no preview for this job (not rendered)" }, 404);
    if (c.req.query("format") === "svg") {
      return c.body(previewSvg(e.preview), 200, { "content-type": "image/svg+xml" });
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
        job: e ? entryView(e) : null,
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

  app.get("/", (c) => c.html(statusPage(status(), agent.journal.recent(20))));
  return app;
}

function statusPage(s: ReturnType<typeof Object>, jobs: JournalEntry[]): string {
  const st = s as {
    terminal_id: string;
    agent_status: string;
    printer: { status: string; detail: string; description: string; profile: string };
    server: { base_url: string; reachable: boolean };
    queue_depth: number;
    outbox_depth: number;
    oldest_report_age_seconds: number;
    printers: StationSnapshot[];
    version: string;
    uptime_seconds: number;
  };
  const badge = (v: string, good: boolean) => `<b class="${good ? "ok" : "bad"}">${esc(v)}</b>`;
  const rows = jobs.map((j) =>
    `<tr><td>${esc(j.server_id)}</td><td>${esc(j.job_type)}</td><td>${
      badge(j.state, j.state === "PRINTED")
    }</td>` +
    `<td>${esc(new Date(j.received_at).toLocaleString())}</td><td>${esc(j.error_code ?? "")}</td>` +
    `<td>${
      j.preview
        ? `<details><summary>preview</summary><pre class="paper">${esc(j.preview)}</pre></details>`
        : ""
    }</td>` +
    `<td>${
      j.payload && j.job_type !== "test"
        ? `<button data-reprint="${esc(j.uuid)}">Reprint</button>`
        : ""
    }</td></tr>`
  ).join("");
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Print Agent ${esc(st.terminal_id)}</title><style>
body{font:15px system-ui,sans-serif;margin:12px;color:#222}h1{font-size:20px;margin:0 0 8px}
.card{border:1px solid #ccc;border-radius:8px;padding:10px;margin:8px 0}.cards{display:flex;flex-wrap:wrap;gap:8px}.cards .card{flex:1 1 14em;margin:0}.ok{color:#176b2c}.bad{color:#b3261e}
table{border-collapse:collapse;width:100%}td,th{border-bottom:1px solid #eee;padding:4px;text-align:left;vertical-align:top}
pre.paper{background:#fff;border:1px dashed #aaa;padding:6px;font:13px monospace;overflow:auto;max-width:100%}
button{padding:6px 12px;margin:2px}#msg{min-height:1.2em}input{padding:5px;width:14em}
</style></head><body>
<h1>Print Agent — ${esc(st.terminal_id)}</h1>
<div class="card">Agent: ${
    badge(st.agent_status, st.agent_status === "READY" || st.agent_status === "PRINTING")
  }
 · Printer: <span id="printer-status">${
    badge(st.printer.status, st.printer.status === "OK")
  }</span> ${esc(st.printer.description)} (${esc(st.printer.profile)}) <small>${
    esc(st.printer.detail)
  }</small>
 · Server: ${
    badge(st.server.reachable ? "reachable" : "unreachable", st.server.reachable)
  } <small>${esc(st.server.base_url)}</small>
 · Queue ${st.queue_depth} · Reports waiting ${st.outbox_depth}${
    st.oldest_report_age_seconds > 60
      ? ` <b class="bad">(oldest ${Math.round(st.oldest_report_age_seconds / 60)} min)</b>`
      : ""
  } · v${esc(st.version)} · up ${st.uptime_seconds}s</div>
${
    st.printers.length > 1
      ? `<div class="cards">${
        st.printers.map((p) =>
          `<div class="card printer" data-printer="${esc(p.id)}"><b>${esc(p.id)}</b> <small>${
            esc(p.roles.join(", "))
          }</small><br>${badge(p.status, p.status === "OK")} ${esc(p.name)} <small>${
            esc(p.detail)
          }</small><br>Queue ${p.queue_depth}${p.backup ? ` · backup ${esc(p.backup)}` : ""}${
            p.failover_active ? ` · <b class="bad">FAILED OVER to ${esc(p.backup ?? "?")}</b>` : ""
          }</div>`
        ).join("")
      }</div>`
      : ""
  }
<div class="card"><label>Token <input id="token" type="password" autocomplete="off" placeholder="local_api.token"></label>
<button id="test-page">Print test page</button> <span id="msg"></span></div>
<table><thead><tr><th>Job</th><th>Type</th><th>State</th><th>Received</th><th>Error</th><th></th><th></th></tr></thead>
<tbody id="jobs">${rows || '<tr><td colspan="7">No jobs yet.</td></tr>'}</tbody></table>
<script>
const tok = document.getElementById("token");
tok.value = sessionStorage.getItem("pa-token") || "";
async function post(path) {
  sessionStorage.setItem("pa-token", tok.value);
  const r = await fetch(path, { method: "POST", headers: { authorization: "Bearer " + tok.value } });
  const b = await r.json().catch(() => ({}));
  document.getElementById("msg").textContent = r.ok ? "Sent (" + (b.outcome || "ok") + ")" : "Refused: " + (b.error || r.status);
  if (r.ok) setTimeout(() => location.reload(), 800);
}
document.getElementById("test-page").onclick = () => post("/test-page");
for (const b of document.querySelectorAll("[data-reprint]")) b.onclick = () => post("/jobs/" + b.dataset.reprint + "/reprint");
</script></body></html>`;
}

/** Starts the local API server; returns a stop function, or null when disabled or refused. */
export function startLocalApi(agent: Agent): { url: string; stop: () => Promise<void> } | null {
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
    let app: Hono | null = null;
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
