/**
 * The HTTP client of the job server contract (docs/protocol.md): list pending jobs (long-poll),
 * report status, send heartbeats. Every failure becomes a {@link ServerError} that says what
 * the server did: unreachable, timed out, answered with an HTTP error, or answered garbage.
 * @module
 */
import type { StatusReport } from "./protocol.ts";
import { NotAJobPage, readJobPage, type ReadPage } from "./job_page.ts";
import type { Config } from "../config.ts";
import { readAtMost } from "../bytes.ts";
import { type Clock, systemClock } from "../core/clock.ts";

/** What went wrong talking to the server. */
export type ServerErrorKind = "unreachable" | "timeout" | "http" | "garbage" | "auth";

/** A failed request; `permanent` means repeating the same request cannot succeed. */
export class ServerError extends Error {
  /** What kind of failure it was. */
  kind: ServerErrorKind;
  /** The HTTP status, when the server answered. */
  status?: number;
  /** A 429 or 503 answer's `Retry-After`, in ms (bounded), if it gave one. */
  retryAfterMs?: number;
  /** Creates a ServerError. */
  constructor(kind: ServerErrorKind, message: string, status?: number, options?: ErrorOptions) {
    super(message, options);
    this.name = "ServerError";
    this.kind = kind;
    this.status = status;
  }
  /** 4xx other than 401/403/408/429: the request itself is refused and will stay refused. */
  get permanent(): boolean {
    const s = this.status ?? 0;
    return this.kind === "http" && s >= 400 && s < 500 && ![401, 403, 408, 429].includes(s);
  }
}

/** Options of {@link JobServerClient}. */
export interface JobServerOptions {
  /** The job server's base URL. */
  baseUrl: string;
  /** The token sent in Authorization. */
  token: string;
  /** The Authorization scheme (Token, Bearer). */
  authScheme: string;
  /** The job list, status and heartbeat paths. */
  paths: { jobs: string; status: string; heartbeat: string };
  /** How long one operation may take, ms. */
  timeoutMs: number;
  /** PEM text of a custom CA for HTTPS. */
  caCert?: string | null;
  /** How status reports are sent (default POST). */
  statusMethod?: "POST" | "PATCH" | "PUT";
  /** The job list's query parameter names (config `server.query`). */
  query?: QueryNames;
  /** Bytes one answer may have (config `limits.list_bytes`). */
  maxBody?: number;
  /** Bytes of JSON one job may have (config `limits.job_bytes`): a larger job fails alone. */
  jobBytes?: number;
  /** How requests are made (the store simulator passes an in-memory server). */
  fetch?: typeof fetch;
  /** Time for request timeouts (the store simulator's clock). */
  clock?: Clock;
}

/** The list request's parameter names; "" leaves a parameter out. */
export interface QueryNames {
  /** The terminal filter's name. */
  terminal_id: string;
  /** The HTTP status, when the server answered. */
  status: string;
  /** The value of the status filter (PENDING). */
  status_value: string;
  /** The role filter's name. */
  printer_role: string;
  /** The long-poll wait parameter's name. */
  wait: string;
  /** Further query parameters sent as they are. */
  extra: Record<string, string>;
}

const DEFAULT_QUERY: QueryNames = {
  terminal_id: "terminal_id",
  status: "status",
  status_value: "PENDING",
  printer_role: "printer_role",
  wait: "wait",
  extra: {},
};

/** A page of pending jobs as the server sent it (items not yet validated). */
export interface JobList {
  /** The items read, ours first; unvalidated. */
  items: unknown[];
  /** Server's `Date` header, for clock-skew checks. */
  serverDate: string | null;
  /** Pages read (DRF `next` links followed, same origin only). */
  pages: number;
  /** A `next` link on another origin than `server.base_url` (not followed), if one came. */
  foreignNext: string | null;
}

/** What {@link JobServerClient.listPending} asks for. */
export interface ListOptions {
  /** This terminal's id. */
  terminal: string;
  /** The roles served here, comma-separated. */
  role: string;
  /** Seconds the server may hold the request (long-poll). */
  waitS: number;
  /** Stop following `next` once this many items are in hand (what the agent will queue). */
  maxItems?: number;
  /** Pages followed at most in one poll (the next poll reads on from where this one stopped). */
  maxPages?: number;
  /** Whether an item is one the agent takes: only those count towards `maxItems`. */
  takes?: (item: unknown) => boolean;
  /** Aborts the request. */
  signal?: AbortSignal;
}

const MAX_BODY = 8 * 1024 * 1024;

/** The job server as the agent uses it (the client below; a test may pass a fake). */
export interface JobServer {
  /** Lists the jobs waiting for this terminal. */
  listPending(o: ListOptions): Promise<JobList>;
  /** Sends one status report for a job. */
  report(serverId: string, body: StatusReport): Promise<void>;
  /** Sends a heartbeat; resolves to the answer's Date header. */
  heartbeat(body: Record<string, unknown>): Promise<string | null>;
  /** The body of the last heartbeat's answer (remote configuration rides on it). */
  readonly lastHeartbeatReply?: unknown;
}

/** Client of one job server. */
export class JobServerClient implements JobServer {
  /** A client for the configuration's `server` and `limits` sections. */
  static fromConfig(
    c: Pick<Config, "server" | "limits">,
    token: string,
    caCert: string | null,
    timeoutMs = c.server.request_timeout * 1000,
    more: Pick<JobServerOptions, "fetch" | "clock"> = {},
  ): JobServerClient {
    return new JobServerClient({
      baseUrl: c.server.base_url,
      token,
      authScheme: c.server.auth_scheme,
      paths: c.server.paths,
      timeoutMs,
      caCert,
      statusMethod: c.server.status_method,
      query: c.server.query,
      maxBody: c.limits.list_bytes,
      jobBytes: c.limits.job_bytes,
      ...more,
    });
  }

  #o: JobServerOptions;
  #client: Deno.HttpClient | undefined;
  /** Where the next list reads on (a page the last one did not reach), or null: page 1. */
  #cursor: string | null = null;
  /** Creates a JobServerClient. */
  constructor(o: JobServerOptions) {
    this.#o = o;
    if (o.caCert) this.#client = Deno.createHttpClient({ caCerts: [o.caCert] });
  }

  /** The full URL of a path. */
  url(path: string): string {
    return this.#o.baseUrl + path;
  }

  async #request(
    method: string,
    path: string,
    o: { body?: unknown; extraMs?: number; signal?: AbortSignal; page?: boolean } = {},
  ): Promise<{ data: unknown; date: string | null }> {
    const url = /^https?:\/\//.test(path) ? path : this.url(path);
    const headers: Record<string, string> = { accept: "application/json" };
    if (this.#o.token) headers.authorization = `${this.#o.authScheme} ${this.#o.token}`;
    if (o.body !== undefined) headers["content-type"] = "application/json";
    const extraMs = o.extraMs ?? 0;
    // One controller per request, linked by hand: AbortSignal.any would keep every request's
    // signal alive as long as the agent's own signal lives.
    const ac = new AbortController();
    const timer = new AbortController();
    let timedOut = false;
    (this.#o.clock ?? systemClock).sleep(this.#o.timeoutMs + extraMs, timer.signal).then(() => {
      if (timer.signal.aborted) return;
      timedOut = true;
      ac.abort();
    });
    const onAbort = () => ac.abort();
    o.signal?.addEventListener("abort", onAbort, { once: true });
    try {
      const res = await this.#send(method, url, headers, o.body, ac.signal, () => timedOut, o);
      return await this.#read(method, url, res, o.page ?? false);
    } finally {
      timer.abort("answered"); // a reason: no DOMException made per request
      o.signal?.removeEventListener("abort", onAbort);
    }
  }

  async #send(
    method: string,
    url: string,
    headers: Record<string, string>,
    body: unknown,
    sig: AbortSignal,
    timedOut: () => boolean,
    o: { extraMs?: number; signal?: AbortSignal },
  ): Promise<Response> {
    try {
      // A GET follows redirects (a token never leaves its origin: fetch drops Authorization
      // across origins). Anything else must not: fetch turns a 301/302/303 POST into a GET.
      let at = url;
      for (let hops = 0;; hops++) {
        const res = await (this.#o.fetch ?? fetch)(at, {
          method,
          headers,
          body: body === undefined ? undefined : JSON.stringify(body),
          signal: sig,
          client: this.#client,
          redirect: method === "GET" ? "follow" : "manual",
        });
        const to = res.headers.get("location");
        if (method === "GET" || res.status < 300 || res.status > 399 || !to) return res;
        await res.body?.cancel();
        const next = new URL(to, at);
        const same = next.origin === new URL(at).origin;
        if ((res.status === 307 || res.status === 308) && same && hops < 5) {
          at = next.href; // the method and body are kept: safe to follow
          continue;
        }
        throw new ServerError(
          "http",
          `${method} ${at}: HTTP ${res.status} redirect to ${next.href}; the agent does not ` +
            `follow it (a ${method} would arrive as a GET${same ? "" : ", on another origin"}): ` +
            `set server.paths to the path it names (${next.pathname})`,
          res.status,
        );
      }
    } catch (e) {
      if (e instanceof ServerError) throw e;
      if (timedOut()) {
        throw new ServerError(
          "timeout",
          `${method} ${url}: no answer in ${this.#o.timeoutMs + (o.extraMs ?? 0)} ms`,
          undefined,
          { cause: e },
        );
      }
      if (o.signal?.aborted) throw e;
      const cause = (e as Error & { cause?: Error }).cause?.message;
      // fetch repeats the URL in its message: say it once
      const what = `${(e as Error).message}${cause ? ` (${cause})` : ""}`
        .replace(/\s*for url \([^)]*\)/g, "");
      throw new ServerError("unreachable", `${method} ${url}: ${what}`, undefined, { cause: e });
    }
  }

  /** Reads an answer: a job list item by item (`page`), anything else as JSON. */
  async #read(
    method: string,
    url: string,
    res: Response,
    page: boolean,
  ): Promise<{ data: unknown; date: string | null }> {
    // Name the URL that answered: after a redirect (sent on without the token when it leaves
    // the origin) that is where a 401 came from.
    const where = res.redirected && res.url !== url ? `${url} (redirected to ${res.url})` : url;
    const max = this.#o.maxBody ?? MAX_BODY;
    const date = res.headers.get("date");
    const lost = (e: unknown) =>
      new ServerError(
        "unreachable",
        `${method} ${where}: connection lost reading the answer`,
        res.status,
        { cause: e },
      );
    if (page && res.ok) {
      try {
        const read = await readJobPage(res.body, {
          jobBytes: this.#o.jobBytes ?? 256 * 1024,
          maxBytes: max,
        });
        return { data: read, date };
      } catch (e) {
        if (!(e instanceof NotAJobPage)) throw lost(e);
        const ct = res.headers.get("content-type") ?? "no content-type";
        const what = e.notJson ? `answer is not JSON (${ct})` : e.message;
        throw new ServerError(
          "garbage",
          `${method} ${where}: ${what}: ${JSON.stringify(e.head)}`,
          res.status,
          { cause: e },
        );
      }
    }
    let text: string;
    try {
      text = await readCapped(res, max);
    } catch (e) {
      if (e instanceof ServerError) {
        throw new ServerError(e.kind, `${method} ${where}: ${e.message}`, res.status, { cause: e });
      }
      throw lost(e);
    }
    const snippet = () => JSON.stringify(text.slice(0, 80));
    if (res.status === 401 || res.status === 403) {
      throw new ServerError(
        "auth",
        `${method} ${where}: HTTP ${res.status} ${
          res.status === 401 ? "unauthorized (token missing or wrong)" : "forbidden"
        }: ${snippet()}`,
        res.status,
      );
    }
    if (!res.ok) {
      const err = new ServerError(
        "http",
        `${method} ${where}: HTTP ${res.status}: ${snippet()}${slashHint(method, url, res.status)}`,
        res.status,
      );
      err.retryAfterMs = retryAfter(res);
      throw err;
    }
    if (text.trim() === "") return { data: null, date };
    try {
      return { data: JSON.parse(text), date };
    } catch (e) {
      const ct = res.headers.get("content-type") ?? "no content-type";
      throw new ServerError(
        "garbage",
        `${method} ${url}: answer is not JSON (${ct}): ${snippet()}`,
        res.status,
        { cause: e },
      );
    }
  }

  /**
   * A safe look at a route for the selftest: OPTIONS (what a DRF backend allows there, with each
   * field's type and choices) or GET. Never throws for an HTTP answer: returns its status, the
   * `Allow` header and the JSON body (null when not JSON). Redirects are not followed.
   */
  async probe(
    method: "OPTIONS" | "GET",
    path: string,
  ): Promise<{ status: number; allow: string | null; data: unknown; location: string | null }> {
    const headers: Record<string, string> = { accept: "application/json" };
    if (this.#o.token) headers.authorization = `${this.#o.authScheme} ${this.#o.token}`;
    const res = await (this.#o.fetch ?? fetch)(this.url(path), {
      method,
      headers,
      redirect: "manual",
      client: this.#client,
      signal: AbortSignal.timeout(this.#o.timeoutMs),
    });
    let data: unknown = null;
    try {
      data = JSON.parse(await readCapped(res, this.#o.maxBody ?? MAX_BODY));
    } catch { /* not JSON: null */ }
    return {
      status: res.status,
      allow: res.headers.get("allow"),
      data,
      location: res.headers.get("location"),
    };
  }

  /** The list request's path with its query (parameter names from `server.query`). */
  listPath(terminal: string, role: string, waitS: number): string {
    const n = this.#o.query ?? DEFAULT_QUERY;
    const q = new URLSearchParams();
    if (n.terminal_id) q.set(n.terminal_id, terminal);
    if (n.status) q.set(n.status, n.status_value);
    if (n.printer_role) q.set(n.printer_role, role);
    if (n.wait && waitS > 0) q.set(n.wait, String(waitS));
    for (const [k, v] of Object.entries(n.extra)) q.set(k, v);
    const sep = this.#o.paths.jobs.includes("?") ? "&" : "?";
    return this.#o.paths.jobs + sep + q;
  }

  /**
   * Pending jobs for this terminal; asks the server to hold the request up to `waitS` seconds.
   * A paginated answer's `next` is followed (same origin only, never with a long-poll wait) until
   * `maxItems` items the agent takes are in hand, up to `maxPages` pages; when the pages run out
   * first, the next call reads on from the page where this one stopped, so a job behind any number
   * of jobs for others is reached within a few polls.
   */
  async listPending(o: ListOptions): Promise<JobList> {
    const items: unknown[] = [];
    const resume = this.#cursor;
    this.#cursor = null;
    let path: string | null = resume ?? this.listPath(o.terminal, o.role, o.waitS);
    let serverDate: string | null = null;
    let pages = 0;
    let taken = 0;
    let wait = resume ? 0 : o.waitS;
    let foreignNext: string | null = null;
    const max = o.maxItems ?? Infinity;
    while (path) {
      const { data, date } = await this.#request("GET", path, {
        extraMs: wait * 1000,
        signal: o.signal,
        page: true,
      });
      pages++;
      serverDate ??= date;
      const page = data as ReadPage;
      items.push(...page.items);
      taken += o.takes ? page.items.filter(o.takes).length : page.items.length;
      path = page.next ? this.#sameOrigin(page.next) : null;
      if (page.next && !path) foreignNext = page.next;
      if (taken >= max || !path) break;
      if (pages >= (o.maxPages ?? 1)) {
        this.#cursor = path; // read on from here next time
        break;
      }
      wait = 0; // only the first request may be held by the server
    }
    return { items, serverDate, pages, foreignNext };
  }

  /** A `next` link as a URL to follow, or null if it leaves the server's origin. */
  #sameOrigin(next: string): string | null {
    let u: URL;
    try {
      u = new URL(next, this.#o.baseUrl + "/");
    } catch {
      return null;
    }
    return u.origin === new URL(this.#o.baseUrl).origin ? u.href : null;
  }

  /** Sends one status report for a job (method and path from the configuration). */
  async report(serverId: string, body: StatusReport): Promise<void> {
    const path = this.#o.paths.status.replace("{id}", encodeURIComponent(serverId));
    await this.#request(this.#o.statusMethod ?? "POST", path, { body });
  }

  /** The body of the last heartbeat's answer. */
  lastHeartbeatReply: unknown = null;

  /** Sends a heartbeat; returns the server's Date header (the body: {@link lastHeartbeatReply}). */
  async heartbeat(body: Record<string, unknown>): Promise<string | null> {
    const r = await this.#request("POST", this.#o.paths.heartbeat, { body });
    this.lastHeartbeatReply = r.data;
    return r.date;
  }

  /** Releases the custom HTTP client. */
  close(): void {
    this.#client?.close();
  }
}

/** The most a `Retry-After` is honoured: a server asking for an hour still sees us in 5 min. */
export const RETRY_AFTER_MAX_MS = 300_000;

/** A 429/503 answer's `Retry-After` (seconds or an HTTP date) in ms, bounded; else undefined. */
function retryAfter(res: Response): number | undefined {
  if (res.status !== 429 && res.status !== 503) return undefined;
  const v = res.headers.get("retry-after")?.trim();
  if (!v) return undefined;
  let ms = /^\d+$/.test(v)
    ? Number(v) * 1000
    : Date.parse(v) - Date.parse(res.headers.get("date") ?? "");
  if (!Number.isFinite(ms)) return undefined;
  ms = Math.min(Math.max(ms, 0), RETRY_AFTER_MAX_MS);
  return ms;
}

/** Reads a body as text, refusing (and cancelling) past `max` bytes. */
async function readCapped(res: Response, max: number): Promise<string> {
  const declared = Number(res.headers.get("content-length") ?? NaN);
  if (declared > max) {
    await res.body?.cancel();
    throw new ServerError(
      "garbage",
      `answer of ${declared} bytes; at most ${max} (limits.list_bytes)`,
    );
  }
  if (!res.body) return "";
  const bytes = await readAtMost(res.body, max);
  if (!bytes) {
    throw new ServerError("garbage", `answer larger than ${max} bytes (limits.list_bytes)`);
  }
  return new TextDecoder().decode(bytes);
}

/**
 * Django's APPEND_SLASH redirects a GET to the path with a slash but cannot redirect a POST,
 * PATCH or PUT: it answers 500 (DEBUG off) or 3xx. Say so, with the path to configure.
 */
function slashHint(method: string, url: string, status: number): string {
  if (method === "GET" || !(status === 500 || (status >= 301 && status <= 308))) return "";
  const path = new URL(url).pathname;
  if (path.endsWith("/")) return "";
  return `; a Django server needs the trailing slash here (${path}/): end the path in ` +
    `server.paths with "/"`;
}
