/**
 * The HTTP client of the job server contract (docs/protocol.md): list pending jobs (long-poll),
 * report status, send heartbeats. Every failure becomes a {@link ServerError} that says what
 * the server did: unreachable, timed out, answered with an HTTP error, or answered garbage.
 * @module
 */
import type { StatusReport } from "./journal.ts";

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
}

/** A page of pending jobs as the server sent it (items not yet validated). */
export interface JobList {
  items: unknown[];
  /** Server's `Date` header, for clock-skew checks. */
  serverDate: string | null;
}

const MAX_BODY = 16 * 1024 * 1024;

/** Client of one job server. */
export class JobServerClient {
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
    const url = this.url(path);
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
      throw new ServerError(
        "unreachable",
        `${method} ${url}: ${(e as Error).message}${cause ? ` (${cause})` : ""}`,
        undefined,
        { cause: e },
      );
    }
    let text: string;
    try {
      text = await res.text();
    } catch (e) {
      throw new ServerError(
        "unreachable",
        `${method} ${url}: connection lost reading the answer`,
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
        `${method} ${url}: HTTP ${res.status} ${
          res.status === 401 ? "unauthorized (token missing or wrong)" : "forbidden"
        }: ${snippet()}`,
        res.status,
      );
    }
    if (!res.ok) {
      throw new ServerError(
        "http",
        `${method} ${url}: HTTP ${res.status}: ${snippet()}`,
        res.status,
      );
    }
    if (text.length > MAX_BODY) {
      throw new ServerError("garbage", `${method} ${url}: answer larger than 16 MB`);
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

  /** Pending jobs for this terminal; asks the server to hold the request up to `waitS` seconds. */
  async listPending(
    terminal: string,
    role: string,
    waitS: number,
    signal?: AbortSignal,
  ): Promise<JobList> {
    const q = new URLSearchParams({ terminal_id: terminal, status: "PENDING", printer_role: role });
    if (waitS > 0) q.set("wait", String(waitS));
    const sep = this.#o.paths.jobs.includes("?") ? "&" : "?";
    const { data, date } = await this.#request(
      "GET",
      this.#o.paths.jobs + sep + q,
      undefined,
      waitS * 1000,
      signal,
    );
    let items: unknown;
    if (Array.isArray(data)) items = data;
    else if (
      data && typeof data === "object" && Array.isArray((data as { results?: unknown }).results)
    ) {
      items = (data as { results: unknown[] }).results; // Django REST framework pagination
    } else {
      throw new ServerError(
        "garbage",
        `GET ${this.url(this.#o.paths.jobs)}: expected a JSON list or {"results": [...]}, got ${
          JSON.stringify(data)?.slice(0, 80)
        }`,
      );
    }
    return { items: items as unknown[], serverDate: date };
  }

  /** Sends one status report for a job. */
  async report(serverId: string, body: StatusReport): Promise<void> {
    const path = this.#o.paths.status.replace("{id}", encodeURIComponent(serverId));
    await this.#request("POST", path, body);
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
