/**
 * A TCP printer simulator (port-9100 style) for tests and benches: records the bytes of each
 * connection, answers `DLE EOT n` status queries, and can misbehave on purpose.
 */
import { type PrinterState, statusAnswer } from "./printer_states.ts";

/** How the simulated printer behaves: a printer state, or a printer that misbehaves. */
export type SimMode = PrinterState | "silent" | "stall";

/** One finished connection that carried job bytes. */
export interface SimJob {
  bytes: Uint8Array;
  at: number;
  /** performance.now() when its first byte arrived. */
  firstByteAt: number;
}

/** A running simulator. */
export class PrinterSim {
  readonly port: number;
  mode: SimMode = "ok";
  readonly jobs: SimJob[] = [];
  statusQueries = 0;
  /** How long the printer takes to answer each status question (a slow, busy printer). */
  answerDelayMs = 0;
  #listener: Deno.TcpListener;
  #conns = new Set<Deno.Conn>();
  #closed = false;
  #onJob: ((j: SimJob) => void)[] = [];
  /** Called with the time of the first byte of each job (status questions are not one; benches). */
  onFirstByte?: (t: number) => void;

  private constructor(l: Deno.TcpListener) {
    this.#listener = l;
    this.port = (l.addr as Deno.NetAddr).port;
    this.#accept();
  }

  /** Starts listening on 127.0.0.1 (port 0 = any free port). */
  static start(port = 0): PrinterSim {
    return new PrinterSim(Deno.listen({ hostname: "127.0.0.1", port }));
  }

  async #accept() {
    try {
      for await (const c of this.#listener) {
        this.#conns.add(c);
        this.#serve(c).finally(() => this.#conns.delete(c));
      }
    } catch { /* closed */ }
  }

  #statusByte(n: number): number {
    const m = this.mode;
    return statusAnswer(m === "silent" || m === "stall" ? "ok" : m, n);
  }

  async #serve(c: Deno.Conn) {
    const chunks: Uint8Array[] = [];
    let total = 0;
    let first = 0;
    let statusOnly = true;
    const buf = new Uint8Array(64 * 1024);
    try {
      if (this.mode === "stall") {
        await new Promise((r) => setTimeout(r, 60_000)); // never reads; the agent times out
        return;
      }
      while (true) {
        const n = await c.read(buf);
        if (n === null) break;
        const now = performance.now();
        const data = buf.slice(0, n);
        // answer real-time status requests (DLE EOT n) found in the stream
        let isStatus = true;
        for (let i = 0; i < data.length; i++) {
          if (data[i] === 0x10 && data[i + 1] === 0x04 && i + 2 < data.length) {
            this.statusQueries++;
            if (this.answerDelayMs) await new Promise((r) => setTimeout(r, this.answerDelayMs));
            if (this.mode !== "silent") {
              await c.write(new Uint8Array([this.#statusByte(data[i + 2])]));
            }
            i += 2;
          } else isStatus = false;
        }
        if (!isStatus) statusOnly = false;
        // the job's first byte: a status question (a probe, or the check before a job) is not
        // the job, so pickup is measured to the first byte of the job's own data
        if (!isStatus && !first) {
          first = now;
          this.onFirstByte?.(first);
        }
        chunks.push(data);
        total += n;
      }
    } catch {
      /* peer reset */
    } finally {
      try {
        c.close();
      } catch { /* closed */ }
    }
    if (statusOnly || total === 0) return;
    const all = new Uint8Array(total);
    let off = 0;
    for (const ch of chunks) {
      all.set(ch, off);
      off += ch.length;
    }
    // the status questions the agent asks before a job are not the job: a printer prints nothing
    // for them (a DLE EOT inside the job, as in a picture's data, stays)
    let start = 0;
    while (all[start] === 0x10 && all[start + 1] === 0x04 && start + 2 < all.length) start += 3;
    const bytes = all.subarray(start);
    const job = { bytes, at: Date.now(), firstByteAt: first };
    this.jobs.push(job);
    for (const f of this.#onJob.splice(0)) f(job);
  }

  /** Resolves when `n` jobs have arrived in total (or rejects after `ms`). */
  async waitForJobs(n: number, ms = 10_000): Promise<SimJob[]> {
    const until = Date.now() + ms;
    while (this.jobs.length < n) {
      if (Date.now() > until) {
        throw new Error(`printer sim: ${this.jobs.length} of ${n} jobs after ${ms} ms`);
      }
      await new Promise<void>((r) => {
        this.#onJob.push(() => r());
        setTimeout(r, 50);
      });
    }
    return this.jobs;
  }

  /** Stops listening and drops open connections. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.#listener.close();
    } catch { /* closed */ }
    for (const c of this.#conns) {
      try {
        c.close();
      } catch { /* closed */ }
    }
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

if (import.meta.main) {
  const port = Number(Deno.args[0] ?? 9100);
  const sim = PrinterSim.start(port);
  console.log(`printer simulator on 127.0.0.1:${sim.port}`);
  setInterval(() => {}, 1 << 30);
}
