/**
 * Test helpers: temporary folders with `await using`, a reference server on a free port, a
 * config builder, log capture and polling waits.
 */
import type { LogEvent } from "../../src/log.ts";
import { parseConfig } from "../../src/config.ts";
import type { Config } from "../../src/config.ts";
import { startServer } from "../../src/reference_server/main.ts";
import { setupLogging } from "../../src/log.ts";

/** A temporary folder removed at the end of the scope. */
export async function withTmpDir(): Promise<{ path: string } & AsyncDisposable> {
  const path = await Deno.makeTempDir({ prefix: "print-agent-test-" });
  return {
    path,
    async [Symbol.asyncDispose]() {
      await Deno.remove(path, { recursive: true }).catch(() => {});
    },
  };
}

/** A reference server on a free port, shut down at the end of the scope. */
export function withServer(
  o: {
    token?: string;
    paginate?: boolean;
    noLongPoll?: boolean;
    db?: string;
    drf?: boolean;
    pageSize?: number;
    allowDuplicateUuid?: boolean;
  } = {},
) {
  const s = startServer({ port: 0, db: o.db ?? ":memory:", quiet: true, ...o });
  return {
    ...s,
    async [Symbol.asyncDispose]() {
      await s.shutdown();
    },
    /** Creates a job as the POS would. */
    async createJob(body: Record<string, unknown>): Promise<Record<string, unknown>> {
      const r = await fetch(`${s.url}/print-jobs/`, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          ...(o.token ? { authorization: `Token ${o.token}` } : {}),
        },
        body: JSON.stringify({ terminal_id: "POS-001", ...body }),
      });
      const j = await r.json();
      if (r.status !== 201) throw new Error(`create failed: ${r.status} ${JSON.stringify(j)}`);
      return j;
    },
    async getJob(id: unknown): Promise<Record<string, unknown>> {
      const r = await fetch(`${s.url}/print-jobs/${id}/`, {
        headers: o.token ? { authorization: `Token ${o.token}` } : {},
      });
      return await r.json();
    },
    async reports(
      id: unknown,
    ): Promise<{ status: string; accepted: boolean; body: Record<string, unknown> }[]> {
      const r = await fetch(`${s.url}/print-jobs/${id}/reports/`, {
        headers: o.token ? { authorization: `Token ${o.token}` } : {},
      });
      return await r.json();
    },
    async heartbeats(): Promise<Record<string, unknown>[]> {
      const r = await fetch(`${s.url}/print-agents/heartbeats/`, {
        headers: o.token ? { authorization: `Token ${o.token}` } : {},
      });
      return await r.json();
    },
  };
}

/** The reference server's two faces: the project's contract, and a stock DRF backend. */
export const SERVER_MODES = ["standard", "drf"] as const;

/**
 * The agent's `server` section for a reference server in `mode`: for `drf`, what a store sets for
 * a stock Django REST framework backend (PATCH updates, its filter names, no long-poll).
 */
export function serverSection(mode: typeof SERVER_MODES[number], url: string) {
  if (mode === "standard") return { base_url: url };
  return {
    base_url: url,
    long_poll_wait: 0,
    status_method: "PATCH",
    paths: {
      jobs: "/print-jobs/",
      status: "/print-jobs/{id}/",
      heartbeat: "/print-agents/heartbeat/",
    },
    query: { terminal_id: "terminal", status: "state", printer_role: "role" },
  };
}

/** A config for tests: fast intervals, tmp state, given overrides merged per section. */
export function testConfig(
  dir: string,
  over: Record<string, Record<string, unknown>> = {},
): Config {
  const base: Record<string, Record<string, unknown>> = {
    terminal_identity: { terminal_id: "POS-001", printer_role: "cashier", location_id: 1 },
    server: {
      base_url: "http://127.0.0.1:1/api",
      poll_interval: 0.2,
      heartbeat_interval: 1,
      long_poll_wait: 5,
      request_timeout: 3,
    },
    printer: { brand: "GENERIC", paper_width: 32, transport: "virtual", path: "out", timeout: 2 },
    error_handling: { max_retry: 3, backoff_seconds: [0.05, 0.1, 0.2] },
    logging: { level: "DEBUG", log_file: "agent.log" },
    local_api: { enabled: false },
  };
  for (const [k, v] of Object.entries(over)) base[k] = { ...(base[k] ?? {}), ...v };
  return parseConfig(base, dir, "(test)");
}

/** A config for tests with several stations (`printers`) instead of the single `printer`. */
export function stationsConfig(
  dir: string,
  printers: Record<string, unknown>[],
  over: Record<string, Record<string, unknown>> = {},
): Config {
  const c = testConfig(dir, over);
  const { printer: _p, stations: _s, source: _src, base_dir: _b, ...raw } = c;
  return parseConfig({ ...raw, printers }, dir, "(test)");
}

/** Captures log lines (the message text) while tests run. */
export class LogCapture {
  lines: { level: string; msg: string; code?: string }[] = [];
  sink = (r: LogEvent) => {
    const p = r.properties as { msg?: string; code?: string };
    this.lines.push({ level: r.level, msg: p.msg ?? String(r.message.join("")), code: p.code });
  };
  /** Lines containing `s`. */
  find(s: string | RegExp) {
    return this.lines.filter((l) => typeof s === "string" ? l.msg.includes(s) : s.test(l.msg));
  }
  /** Installs this capture as the only log sink (console off). */
  async install(level: "DEBUG" | "INFO" = "DEBUG") {
    await setupLogging({ level, file: null, console: false, extraSink: this.sink });
  }
}

/** Polls `f` until it returns a truthy value, or throws with `what` after `ms`. */
export async function waitFor<T>(
  f: () => T | Promise<T>,
  what: string,
  ms = 10_000,
): Promise<NonNullable<T>> {
  const until = Date.now() + ms;
  while (true) {
    const v = await f();
    if (v) return v as NonNullable<T>;
    if (Date.now() > until) throw new Error(`timed out after ${ms} ms waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
