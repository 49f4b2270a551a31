/**
 * The store simulator's job server: the POS backend in memory, reached through a fake `fetch` so
 * the agent's real HTTP client (paging, limits, errors, redirects) does the talking. Its clock may
 * run ahead of or behind the terminal's; its faults come in windows.
 * @module
 */
import { activeAt, type Rng, type Timeline, type Window } from "./world.ts";

/** Server faults. */
export type ServerFault =
  | "down" // connection refused
  | "error500"
  | "slow" // answers after the agent's timeout (the request did take effect)
  | "garbage" // 200 with an HTML page
  | "truncated" // the answer's body stops half way
  | "lost_ack" // the request takes effect, the answer is lost
  | "throttle" // 503 / 429 with Retry-After
  | "reports500"; // the status endpoint alone answers 500 (a broken view; listing works)

/** One job as the server holds it. */
export interface SimJob {
  id: number | string;
  uuid: string;
  terminal_id: string;
  printer_role: string | null;
  job_type: string;
  status: string;
  /** The job's JSON as the server writes it in a list (may hold NaN: Python's json.dumps). */
  text: string;
  createdAt: number;
  /** When the status last changed (for the stale sweep). */
  changedAt: number;
  reports: { status: string; at: number; code?: string }[];
  /** For this agent, and a role one of its stations serves: must end COMPLETED or FAILED. */
  ours: boolean;
  /** What the job is: a healthy job, or a bad payload that must fail alone. */
  kind: "good" | "nan" | "huge" | "no_payload" | "bad_id" | "future_drawer";
  /** Reports for this job are refused for ever (400). */
  refused: boolean;
  /** Its created_at cannot be read ("yesterday"). */
  undated: boolean;
  /** The bill its receipt_data names (a kitchen order and its follow-ups share one). */
  order?: string;
}

/** How the backend behaves on this seed. */
export interface ServerShape {
  /** DRF page-number pagination of this size; 0 for a plain JSON list. */
  pageSize: number;
  /** How the role filter behaves: a comma list (the contract), or not at all. */
  roleFilter: "list" | "ignored";
  /** The terminal filter is ignored (a backend listing every terminal's jobs). */
  terminalIgnored: boolean;
  longPoll: boolean;
  /** Server clock minus terminal clock, ms. */
  skewMs: number;
  /** Pages come back in another order now and then, or with an item repeated. */
  shuffle: boolean;
  /** Jobs FETCHED/PRINTING this long without a report go back to PENDING (0: never). */
  staleMs: number;
}

/** What the server saw, for the invariants. */
export interface ServerLog {
  /** First-page list requests (a poll), with when they arrived and whether any item came back. */
  polls: { at: number; items: number; epoch: number }[];
  /** Heartbeat requests as they arrived (before any fault). */
  heartbeats: { at: number; epoch: number }[];
  /** When a job became PENDING (created, flipped back, swept): new work for a poll. */
  pendingAt: number[];
  /** Retry-After answers to polls: when, how long, to which incarnation. */
  throttles: { at: number; ms: number; epoch: number }[];
}

const BASE = "http://sim.test/api";

/** The in-memory job server. */
export class SimServer {
  readonly base = BASE;
  readonly jobs = new Map<string, SimJob>();
  readonly order: SimJob[] = [];
  readonly faults: Window<ServerFault>[] = [];
  readonly log: ServerLog = { polls: [], heartbeats: [], throttles: [], pendingAt: [] };
  readonly shape: ServerShape;
  #tl: Timeline;
  #rng: Rng;
  #trace: (s: string) => void;
  #waiters = new Set<() => void>();

  constructor(tl: Timeline, rng: Rng, shape: ServerShape, trace: (s: string) => void) {
    this.#tl = tl;
    this.#rng = rng;
    this.shape = shape;
    this.#trace = trace;
  }

  /** The server's clock. */
  now(): number {
    return this.#tl.now + this.shape.skewMs;
  }

  /** The POS creates a job. */
  add(job: SimJob): void {
    this.jobs.set(String(job.id), job);
    this.order.push(job);
    this.log.pendingAt.push(this.#tl.now);
    this.#trace(`pos creates job ${job.id} ${job.job_type} role=${job.printer_role} ${job.kind}`);
    for (const w of [...this.#waiters]) w();
  }

  /** A backend bug or an operator: a job goes back to PENDING. */
  flipBack(job: SimJob): void {
    this.#trace(`server flips job ${job.id} from ${job.status} back to PENDING`);
    job.status = "PENDING";
    job.changedAt = this.#tl.now;
    this.log.pendingAt.push(this.#tl.now);
    for (const w of [...this.#waiters]) w();
  }

  /** Stale FETCHED/PRINTING jobs back to PENDING, as many backends sweep them. */
  sweep(): void {
    if (!this.shape.staleMs) return;
    for (const j of this.order) {
      if (
        (j.status === "FETCHED" || j.status === "PRINTING") &&
        this.#tl.now - j.changedAt > this.shape.staleMs
      ) {
        this.#trace(`server sweep: job ${j.id} stale in ${j.status}, PENDING again`);
        j.status = "PENDING";
        j.changedAt = this.#tl.now;
        this.log.pendingAt.push(this.#tl.now);
      }
    }
  }

  /** The `fetch` one agent incarnation uses. */
  fetchFor(epoch: number): typeof fetch {
    return ((input: string | URL | Request, init?: RequestInit) =>
      this.#fetch(
        epoch,
        String(input instanceof Request ? input.url : input),
        init ?? {},
      )) as typeof fetch;
  }

  #fetch(epoch: number, url: string, init: RequestInit): Promise<Response> {
    const tl = this.#tl;
    const signal = init.signal ?? undefined;
    const u = new URL(url); // the path as a real client sends it: dot segments resolved
    const method = (init.method ?? "GET").toUpperCase();
    const isPoll = method === "GET" && u.pathname.endsWith("/print-jobs/") &&
      (u.searchParams.get("page") ?? "1") === "1";
    if (method === "POST" && u.pathname.endsWith("/heartbeat/")) {
      this.log.heartbeats.push({ at: tl.now, epoch });
    }
    return new Promise<Response>((resolve, reject) => {
      let finished = false;
      const onAbort = () => {
        if (finished) return;
        finished = true;
        reject(new DOMException("The signal has been aborted", "AbortError"));
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      // the Response is made as it is delivered: a body stream made earlier takes extra turns
      const answer = (make: () => Response | Error, ms: number) =>
        tl.at(ms, () => {
          if (finished) return;
          finished = true;
          signal?.removeEventListener("abort", onAbort);
          const r = make();
          if (r instanceof Error) reject(r);
          else resolve(r);
        }, epoch);
      const fault = activeAt(this.faults, tl.now);
      if (fault === "down") {
        return answer(() => new TypeError("error sending request: Connection refused"), 3);
      }
      tl.at(this.#rng.int(2, 20), async () => {
        if (finished) return;
        if (fault === "error500" || (fault === "reports500" && /\/status\/$/.test(u.pathname))) {
          return answer(() => text(500, "Internal Server Error"), 5);
        }
        if (fault === "garbage") return answer(() => text(200, "<html>proxy login</html>"), 5);
        if (fault === "throttle") {
          const ms = 30_000;
          if (isPoll) this.log.throttles.push({ at: tl.now, ms, epoch });
          const status = this.#rng.chance(0.5) ? 503 : 429;
          return answer(() => text(status, "busy", { "retry-after": "30" }), 5);
        }
        const result = await this.#handle(method, u, init.body ? String(init.body) : "", signal);
        if (isPoll) {
          this.log.polls.push({ at: tl.now, items: result.items, epoch });
          this.#trace(`server poll by agent ${epoch}: ${result.items} item(s)`);
        }
        const lat = this.#rng.int(2, 20);
        if (fault === "slow") return answer(result.response, 15_000);
        if (fault === "lost_ack") {
          return answer(() => new TypeError("error reading a body from connection: reset"), lat);
        }
        if (fault === "truncated") return answer(() => truncate(result.body, result.status), lat);
        answer(result.response, lat);
      }, -1);
    });
  }

  async #handle(
    method: string,
    u: URL,
    body: string,
    signal?: AbortSignal,
  ): Promise<{ response: () => Response; body: string; status: number; items: number }> {
    const out = (status: number, b: string) => ({
      response: () => text(status, b, { "content-type": "application/json" }, this.now()),
      body: b,
      status,
      items: 0,
    });
    const path = u.pathname.slice(new URL(BASE).pathname.length);
    if (method === "POST" && path === "/print-agents/heartbeat/") return out(200, `{"ok":true}`);
    const m = path.match(/^\/print-jobs\/([^/]+)\/status\/$/);
    if (method === "POST" && m) {
      const id = decodeURIComponent(m[1]);
      const job = this.jobs.get(id);
      if (!job) return out(404, `{"detail":"Not found."}`);
      let r: { status?: string; error_code?: string };
      try {
        r = JSON.parse(body);
      } catch {
        return out(400, `{"detail":"JSON parse error"}`);
      }
      if (job.refused) {
        this.#trace(`server refuses report ${r.status} for job ${id}`);
        return out(400, JSON.stringify({ status: [`"${r.status}" is not a valid choice.`] }));
      }
      job.reports.push({ status: r.status ?? "?", at: this.#tl.now, code: r.error_code });
      job.status = r.status ?? job.status;
      job.changedAt = this.#tl.now;
      this.#trace(`server job ${id} <- ${r.status}${r.error_code ? ` ${r.error_code}` : ""}`);
      return out(200, `{"ok":true}`);
    }
    if (method === "GET" && path === "/print-jobs/") {
      const q = u.searchParams;
      const wait = Number(q.get("wait") ?? 0);
      let list = this.#pending(q);
      if (list.length === 0 && wait > 0 && this.shape.longPoll) {
        await new Promise<void>((res) => {
          const done = () => {
            this.#waiters.delete(done);
            res();
          };
          this.#waiters.add(done);
          this.#tl.at(wait * 1000, done);
          signal?.addEventListener("abort", done, { once: true });
        });
        list = this.#pending(q);
      }
      if (this.shape.shuffle && this.#rng.chance(0.2) && list.length > 1) {
        const i = this.#rng.int(0, list.length - 1);
        const k = this.#rng.int(0, list.length - 1);
        [list[i], list[k]] = [list[k], list[i]];
        if (this.#rng.chance(0.5)) list.splice(this.#rng.int(0, list.length), 0, list[i]);
      }
      const size = this.shape.pageSize;
      let body: string;
      let items: number;
      if (size > 0) {
        const page = Math.max(1, Number(q.get("page") ?? 1));
        const slice = list.slice((page - 1) * size, page * size);
        const next = page * size < list.length
          ? (() => {
            const n = new URL(u.href);
            n.searchParams.set("page", String(page + 1));
            return JSON.stringify(n.href);
          })()
          : "null";
        body = `{"count":${list.length},"next":${next},"previous":null,"results":[${
          slice.map((j) => j.text).join(",")
        }]}`;
        items = slice.length;
      } else {
        body = `[${list.map((j) => j.text).join(",")}]`;
        items = list.length;
      }
      const r = out(200, body);
      return { ...r, items };
    }
    return out(404, `{"detail":"Not found."}`);
  }

  #pending(q: URLSearchParams): SimJob[] {
    const terminal = q.get("terminal_id");
    const roles = q.get("printer_role");
    return this.order.filter((j) => {
      if (j.status !== (q.get("status") ?? "PENDING")) return false;
      if (!this.shape.terminalIgnored && terminal && j.terminal_id !== terminal) return false;
      if (this.shape.roleFilter === "list" && roles && j.printer_role) {
        return roles.split(",").includes(j.printer_role);
      }
      return true;
    });
  }
}

function text(
  status: number,
  body: string,
  headers: Record<string, string> = {},
  dateMs?: number,
): Response {
  const h = new Headers(headers);
  if (dateMs !== undefined) h.set("date", new Date(dateMs).toUTCString());
  // a body in memory (no I/O: the run stays deterministic)
  return new Response(status === 204 ? null : body, { status, headers: h });
}

function truncate(body: string, status: number): Response {
  const bytes = new TextEncoder().encode(body);
  const cut = bytes.subarray(0, bytes.length >> 1);
  const stream = new ReadableStream<Uint8Array>({
    start(c) {
      c.enqueue(cut);
      c.error(new TypeError("error reading a body from connection: unexpected EOF"));
    },
  });
  return new Response(stream, { status, headers: { "content-type": "application/json" } });
}
