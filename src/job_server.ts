/**
 * The HTTP client of the job server contract (docs/protocol.md): list pending jobs (long-poll),
 * report status, send heartbeats. Every failure becomes a {@link ServerError} that says what
 * the server did: unreachable, timed out, answered with an HTTP error, or answered garbage.
 * @module
 */
import { parseJobPage, type StatusReport } from "./protocol.ts";
import type { Config } from "./config.ts";
import { readAtMost } from "./bytes.ts";

/** What went wrong talking to the server. */
export type ServerErrorKind = "unreachable" | "timeout" | "http" | "garbage" | "auth";

/** A failed request; `permanent` means repeating the same request cannot succeed. */
export class ServerError extends Error {
  kind: ServerErrorKind;
  status?: number;
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
  baseUrl: string;
  token: string;
  authScheme: string;
  paths: { jobs: string; status: string; heartbeat: string };
  timeoutMs: number;
  /** PEM text of a custom CA for HTTPS. */
  caCert?: string | null;
  /** How status reports are sent (default POST). */
  statusMethod?: "POST" | "PATCH" | "PUT";
  /** The job list's query parameter names (config `server.query`). */
  query?: QueryNames;
  /** Bytes one answer may have (config `limits.list_bytes`). */
  maxBody?: number;
}

/** The list request's parameter names; "" leaves a parameter out. */
export interface QueryNames {
  terminal_id: string;
  status: string;
  status_value: string;
  printer_role: string;
  wait: string;
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
  items: unknown[];
  /** Server's `Date` header, for clock-skew checks. */
  serverDate: string | null;
  /** Pages read (DRF `next` links followed, same origin only). */
  pages: number;
}

/** What {@link JobServerClient.listPending} asks for. */
export interface ListOptions {
  terminal: string;
  role: string;
  waitS: number;
  /** Stop following `next` once this many items are in hand (what the agent will queue). */
  maxItems?: number;
  /** Pages followed at most. */
  maxPages?: number;
  signal?: AbortSignal;
}

const MAX_BODY = 8 * 1024 * 1024;

/** The job server as the agent uses it (the client below; a test may pass a fake). */
export interface JobServer {
  listPending(o: ListOptions): Promise<JobList>;
  report(serverId: string, body: StatusReport): Promise<void>;
  heartbeat(body: Record<string, unknown>): Promise<string | null>;
}

/** Client of one job server. */
export class JobServerClient implements JobServer {
  /** A client for the configuration's `server` and `limits` sections. */
  static fromConfig(
    c: Pick<Config, "server" | "limits">,
    token: string,
    caCert: string | null,
    timeoutMs = c.server.request_timeout * 1000,
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
    });
  }

  #o: JobServerOptions;
  #client: Deno.HttpClient | undefined;
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
    body: unknown,
    extraMs = 0,
    signal?: AbortSignal,
  ): Promise<{ data: unknown; date: string | null }> {
    const url = /^https?:\/\//.test(path) ? path : this.url(path);
    const headers: Record<string, string> = { accept: "application/json" };
    if (this.#o.token) headers.authorization = `${this.#o.authScheme} ${this.#o.token}`;
    if (body !== undefined) headers["content-type"] = "application/json";
    // One controller per request, linked by hand: AbortSignal.any would keep every request's
    // signal alive as long as the agent's own signal lives.
    const ac = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      ac.abort();
    }, this.#o.timeoutMs + extraMs);
    const onAbort = () => ac.abort();
    signal?.addEventListener("abort", onAbort, { once: true });
    const sig = ac.signal;
    try {
      return await this.#exchange(method, url, headers, body, sig, () => timedOut, extraMs, signal);
    } finally {
      clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
    }
  }

  async #exchange(
    method: string,
    url: string,
    headers: Record<string, string>,
    body: unknown,
    sig: AbortSignal,
    timedOut: () => boolean,
    extraMs: number,
    signal?: AbortSignal,
  ): Promise<{ data: unknown; date: string | null }> {
    let res: Response;
    try {
      res = await fetch(url, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: sig,
        client: this.#client,
      });
    } catch (e) {
      if (timedOut()) {
        throw new ServerError(
          "timeout",
          `${method} ${url}: no answer in ${this.#o.timeoutMs + extraMs} ms`,
        );
      }
      if (signal?.aborted) throw e;
      const cause = (e as Error & { cause?: Error }).cause?.message;
      // fetch repeats the URL in its message: say it once
      const what = `${(e as Error).message}${cause ? ` (${cause})` : ""}`
        .replace(/\s*for url \([^)]*\)/g, "");
      throw new ServerError(
        "unreachable",
        `${method} ${url}: ${what}`,
        undefined,
        { cause: e },
      );
    }
    // Name the URL that answered: after a redirect (sent on without the token when it leaves
    // the origin) that is where a 401 came from.
    const where = res.redirected && res.url !== url ? `${url} (redirected to ${res.url})` : url;
    const max = this.#o.maxBody ?? MAX_BODY;
    let text: string;
    try {
      text = await readCapped(res, max);
    } catch (e) {
      if (e instanceof ServerError) {
        throw new ServerError(e.kind, `${method} ${where}: ${e.message}`, res.status);
      }
      throw new ServerError(
        "unreachable",
        `${method} ${where}: connection lost reading the answer`,
        res.status,
        {
          cause: e,
        },
      );
    }
    const date = res.headers.get("date");
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
      throw new ServerError(
        "http",
        `${method} ${where}: HTTP ${res.status}: ${snippet()}${slashHint(method, url, res.status)}`,
        res.status,
      );
    }
    if (text.trim() === "") return { data: null, date };
    try {
      return { data: JSON.parse(text), date };
    } catch {
      const ct = res.headers.get("content-type") ?? "no content-type";
      throw new ServerError(
        "garbage",
        `${method} ${url}: answer is not JSON (${ct}): ${snippet()}`,
        res.status,
      );
    }
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
   * A paginated answer's `next` is followed (same origin only, never with a long-poll wait) up to
   * `maxPages` pages or until `maxItems` items are in hand.
   */
  async listPending(o: ListOptions): Promise<JobList> {
    const items: unknown[] = [];
    let path: string | null = this.listPath(o.terminal, o.role, o.waitS);
    let serverDate: string | null = null;
    let pages = 0;
    let wait = o.waitS;
    while (path && pages < (o.maxPages ?? 1)) {
      const { data, date } = await this.#request("GET", path, undefined, wait * 1000, o.signal);
      pages++;
      serverDate ??= date;
      const page = parseJobPage(data);
      if (!page) {
        throw new ServerError(
          "garbage",
          `GET ${this.url(this.#o.paths.jobs)}: expected a JSON list or {"results": [...]}, got ${
            JSON.stringify(data)?.slice(0, 80)
          }`,
        );
      }
      items.push(...page.items);
      if (items.length >= (o.maxItems ?? Infinity) || !page.next) break;
      path = this.#sameOrigin(page.next);
      wait = 0; // only the first request may be held by the server
    }
    return { items, serverDate, pages };
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
    await this.#request(this.#o.statusMethod ?? "POST", path, body);
  }

  /** Sends a heartbeat; returns the server's Date header. */
  async heartbeat(body: Record<string, unknown>): Promise<string | null> {
    return (await this.#request("POST", this.#o.paths.heartbeat, body)).date;
  }

  /** Releases the custom HTTP client. */
  close(): void {
    this.#client?.close();
  }
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
