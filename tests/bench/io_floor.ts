/**
 * The Deno I/O floor for `deno task bench:cost`: the least a Deno agent keeping our protocol and
 * our promise can cost, with none of the agent's logic. Per job it makes the same I/O as the
 * agent: the long-poll answer, three durable journal commits (SQLite WAL, `synchronous=FULL`,
 * each with its report in the same transaction, as the agent's outbox), the FETCHED, PRINTING and
 * COMPLETED reports, and the printer conversation (connect, `DLE EOT` 1 and 2, then 3, then 4,
 * fixed receipt bytes, close); idle, a heartbeat every 30 s and the printer asked its status every
 * 2 s (all four questions in one write). No validation, no rendering, no logging, no retries: what
 * it costs is what the runtime costs for that I/O, and what the agent costs beyond it is its own
 * logic. Used only by the bench, never shipped.
 *
 *     deno run -A io_floor.ts BASE_URL TERMINAL PRINTER_PORT STATE_DIR
 */
import { DatabaseSync } from "node:sqlite";
import { join } from "node:path";

const [BASE, TERMINAL, PORT, STATE] = Deno.args;
const TIMEOUT_MS = 10_000;
const WAIT_S = 25;
const client = Deno.createHttpClient({});
const db = new DatabaseSync(join(STATE, "io-floor.db"));
db.exec(`PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;
  CREATE TABLE IF NOT EXISTS jobs (uuid TEXT PRIMARY KEY, id INTEGER, state TEXT, at INTEGER);
  CREATE TABLE IF NOT EXISTS outbox (seq INTEGER PRIMARY KEY, job_id INTEGER, body TEXT)`);
const upsert = db.prepare(
  "INSERT INTO jobs VALUES (?, ?, ?, ?) ON CONFLICT(uuid) DO UPDATE SET state = excluded.state",
);
const queue = db.prepare("INSERT INTO outbox (job_id, body) VALUES (?, ?)");
const done = db.prepare("DELETE FROM outbox WHERE job_id = ?");
const RECEIPT = new TextEncoder().encode(`\x1b@${"Bench Store\n".repeat(40)}\n\n\n\x1dV\x00`);

/** A request with a timeout, its answer read whole. */
async function request(method: string, url: string, body?: unknown, extraMs = 0) {
  const ac = new AbortController();
  const t = setTimeout(() => ac.abort(), TIMEOUT_MS + extraMs);
  try {
    const res = await fetch(url, {
      method,
      client,
      signal: ac.signal,
      headers: { accept: "application/json", "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return await res.json();
  } finally {
    clearTimeout(t);
  }
}

/** One journal commit: the state and its report together. */
function commit(job: { uuid: string; id: number }, state: string): string {
  const body = JSON.stringify({ status: state, attempt: 1, at: new Date().toISOString() });
  db.exec("BEGIN IMMEDIATE");
  upsert.run(job.uuid, job.id, state, Date.now());
  queue.run(job.id, body);
  db.exec("COMMIT");
  return body;
}

async function report(id: number, body: string) {
  await request("POST", `${BASE}/print-jobs/${id}/status/`, JSON.parse(body));
  done.run(id);
}

/** Writes `questions`, reads `n` answer bytes. */
async function ask(conn: Deno.TcpConn, questions: number[], n: number) {
  await conn.write(new Uint8Array(questions));
  const buf = new Uint8Array(16);
  for (let got = 0; got < n;) {
    const r = await conn.read(buf);
    if (r === null) throw new Error("printer closed");
    got += r;
  }
}

async function printerConnect(): Promise<Deno.TcpConn> {
  const ac = new AbortController();
  const t = setTimeout(() => ac.abort(), TIMEOUT_MS);
  try {
    const conn = await Deno.connect({
      hostname: "127.0.0.1",
      port: Number(PORT),
      signal: ac.signal,
    });
    conn.setNoDelay(true);
    return conn;
  } finally {
    clearTimeout(t);
  }
}

async function printJob(): Promise<void> {
  const conn = await printerConnect();
  try {
    await ask(conn, [0x10, 4, 1, 0x10, 4, 2], 2);
    await ask(conn, [0x10, 4, 3], 1);
    await ask(conn, [0x10, 4, 4], 1);
    for (let off = 0; off < RECEIPT.length;) off += await conn.write(RECEIPT.subarray(off));
  } finally {
    conn.close();
  }
}

let busy = false;
async function probeLoop() {
  while (true) {
    await new Promise((r) => setTimeout(r, 2000));
    if (busy) continue;
    try {
      const conn = await printerConnect();
      try {
        await ask(conn, [0x10, 4, 1, 0x10, 4, 2, 0x10, 4, 3, 0x10, 4, 4], 4);
      } finally {
        conn.close();
      }
    } catch { /* the floor has no status to keep */ }
  }
}

async function heartbeatLoop() {
  while (true) {
    try {
      await request("POST", `${BASE}/print-agents/heartbeat/`, {
        terminal_id: TERMINAL,
        agent_status: "READY",
        printers: [{ id: "main", status: "OK" }],
      });
    } catch { /* next beat */ }
    await new Promise((r) => setTimeout(r, 30_000));
  }
}

async function pollLoop() {
  const list = `${BASE}/print-jobs/?terminal_id=${TERMINAL}&status=PENDING&wait=${WAIT_S}`;
  while (true) {
    let jobs: { uuid: string; id: number }[] = [];
    try {
      const page = await request("GET", list, undefined, WAIT_S * 1000);
      jobs = Array.isArray(page) ? page : page.results ?? [];
    } catch {
      await new Promise((r) => setTimeout(r, 2000));
      continue;
    }
    busy = jobs.length > 0;
    for (const job of jobs) {
      await report(job.id, commit(job, "FETCHED"));
      await report(job.id, commit(job, "PRINTING"));
      await printJob();
      await report(job.id, commit(job, "COMPLETED"));
    }
    busy = false;
  }
}

heartbeatLoop();
probeLoop();
await pollLoop();
