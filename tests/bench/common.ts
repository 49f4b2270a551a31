/**
 * What the benchmarks share: the instrumented reference server, the agent as a subprocess, and
 * reading a process's CPU, memory and wake-ups from /proc.
 */
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { createServerApp } from "../../src/reference_server/app.ts";
import { V8_FLAGS } from "../../src/version.ts";

export const ROOT = fileURLToPath(new URL("../../", import.meta.url));
export const MAIN = join(ROOT, "src/main.ts");

export function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const p = (l.addr as Deno.NetAddr).port;
  l.close();
  return p;
}

export function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
}

/** The reference server, instrumented: when each job left in a list and when COMPLETED came. */
export function benchServer() {
  const { app, db, close } = createServerApp({ db: ":memory:" });
  const handedOut = new Map<number, number>();
  const completed = new Map<number, number>();
  let firstRequestAt = 0;
  const server = Deno.serve({ port: 0, hostname: "127.0.0.1", onListen() {} }, async (req) => {
    if (!firstRequestAt) firstRequestAt = performance.now();
    const url = new URL(req.url);
    const isStatus = req.method === "POST" && url.pathname.endsWith("/status/");
    let body = "";
    // a copy without the original's signal (Request.clone() would read it, and Deno.serve then
    // prints its "legacy behavior" notice)
    if (isStatus) {
      body = await req.text();
      req = new Request(req.url, { method: req.method, headers: req.headers, body });
    }
    const res = await app.fetch(req);
    const t = performance.now();
    if (req.method === "GET" && url.pathname.endsWith("/print-jobs/") && res.ok) {
      const list = await res.clone().json();
      for (const j of list) if (!handedOut.has(j.id)) handedOut.set(j.id, t);
    }
    if (isStatus && res.ok && JSON.parse(body).status === "COMPLETED") {
      const id = Number(url.pathname.split("/").at(-3));
      if (!completed.has(id)) completed.set(id, t);
    }
    return res;
  });
  const port = (server.addr as Deno.NetAddr).port;
  const url = `http://127.0.0.1:${port}/api`;
  const insert = db.prepare(
    `INSERT INTO jobs (uuid, terminal_id, job_type, receipt_data, created_at, updated_at)
     VALUES (?, ?, 'receipt', ?, ?, ?)`,
  );
  return {
    url,
    handedOut,
    completed,
    get firstRequestAt() {
      return firstRequestAt;
    },
    resetFirstRequest() {
      firstRequestAt = 0;
    },
    /** Creates a job through the API (wakes long-polls), returning its id and the time. */
    async create(terminal: string, bill: string): Promise<{ id: number; at: number }> {
      const at = performance.now();
      const r = await fetch(`${url}/print-jobs/`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({
          terminal_id: terminal,
          job_type: "receipt",
          receipt_data: receipt(bill),
        }),
      });
      return { id: (await r.json()).id, at };
    },
    /** A kitchen ticket for a terminal's kitchen station. */
    async createKitchen(terminal: string): Promise<void> {
      const r = await fetch(`${url}/print-jobs/`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({
          terminal_id: terminal,
          job_type: "kitchen",
          printer_role: "kitchen",
          receipt_data: { table: "7", items: [{ name: "Nasi goreng", qty: 1 }] },
        }),
      });
      await r.body?.cancel();
    },
    /** Inserts many jobs at once, straight into the database (the burst). */
    insertMany(terminal: string, n: number, prefix: string): number[] {
      const now = new Date().toISOString();
      const first = Number(
        (db.prepare("SELECT COALESCE(MAX(id), 0) AS m FROM jobs").get() as { m: number }).m,
      ) + 1;
      db.exec("BEGIN");
      for (let i = 0; i < n; i++) {
        insert.run(
          crypto.randomUUID(),
          terminal,
          JSON.stringify(receipt(`${prefix}-${i}`)),
          now,
          now,
        );
      }
      db.exec("COMMIT");
      return Array.from({ length: n }, (_, i) => first + i);
    },
    async close() {
      close();
      await server.shutdown();
    },
  };
}

export function receipt(bill: string) {
  return {
    store_name: "Bench Store",
    bill_number: bill,
    items: [{ name: "Kopi susu", qty: 2, price: 22000 }, {
      name: "Nasi goreng",
      qty: 1,
      price: 35000,
    }],
    total: 79000,
    payments: [{ method: "Tunai", amount: 100000 }],
    change: 21000,
  };
}

export async function agentConfig(
  dir: string,
  serverUrl: string,
  printerPort: number,
  terminal: string,
  over: Record<string, unknown> = {},
) {
  const file = join(dir, `${terminal}.json`);
  await Deno.writeTextFile(
    file,
    JSON.stringify({
      terminal_identity: { terminal_id: terminal },
      server: { base_url: serverUrl, ...(over.server as object ?? {}) },
      ...(over.printers ? { printers: over.printers, error_handling: over.error_handling } : {
        printer: { transport: "tcp", port: printerPort, brand: "EPSON", paper_width: 48 },
      }),
      jobs: { max_age_seconds: 0 },
      logging: { level: "WARNING", log_file: `${terminal}.log` },
      state: { path: `state-${terminal}` },
      local_api: { enabled: false },
    }),
  );
  return file;
}

/** The agent as a process: `deno run` of the source (`MAIN`), or of the shipped bundle. */
export function spawnAgent(config: string, main = MAIN) {
  return new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", `--v8-flags=${V8_FLAGS}`, main, "--config", config],
    stdout: "null",
    stderr: "null",
  }).spawn();
}

export async function stopAgent(p: Deno.ChildProcess) {
  try {
    p.kill("SIGTERM");
  } catch { /* gone */ }
  await p.status;
}

/**
 * CPU ticks and resident memory of a process. `anonMB` is the anonymous part of the resident set
 * (heaps, stacks, allocators): what is this process's alone, the nearest Linux figure to the
 * private working set Windows' Task Manager shows; the rest of `rssMB` is pages of the program and
 * its libraries, shared with every other process that maps them and dropped first under pressure.
 */
export function procStat(pid: number): { cpuTicks: number; rssMB: number; anonMB: number } {
  const stat = Deno.readTextFileSync(`/proc/${pid}/stat`).split(") ")[1].split(" ");
  const cpuTicks = Number(stat[11]) + Number(stat[12]); // utime + stime
  const status = Deno.readTextFileSync(`/proc/${pid}/status`);
  const kb = (field: string) => Number(status.match(new RegExp(`${field}:\\s+(\\d+)`))![1]);
  return { cpuTicks, rssMB: kb("VmRSS") / 1024, anonMB: kb("RssAnon") / 1024 };
}

export async function waitUntil(f: () => boolean, ms: number, what: string) {
  const until = performance.now() + ms;
  while (!f()) {
    if (performance.now() > until) throw new Error(`bench: timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

/** All threads' context switches so far (each one a wake-up from sleep or a preemption). */
export function wakeups(pid: number): number {
  let n = 0;
  for (const t of Deno.readDirSync(`/proc/${pid}/task`)) {
    try {
      const st = Deno.readTextFileSync(`/proc/${pid}/task/${t.name}/status`);
      n += Number(st.match(/^voluntary_ctxt_switches:\s+(\d+)/m)![1]) +
        Number(st.match(/^nonvoluntary_ctxt_switches:\s+(\d+)/m)![1]);
    } catch { /* the thread ended */ }
  }
  return n;
}
