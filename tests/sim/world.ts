/**
 * The store simulator's world: one simulated timeline (every timer of the agent, the server and
 * the printers), a seeded random source, an in-memory job server reached through a fake `fetch`,
 * and printers with faults. Nothing here reads the real clock, so a seed replays exactly.
 * @module
 */
import type { Clock } from "../../src/core/clock.ts";
import { AgentError, type ErrorCode } from "../../src/errors.ts";
import type { PrintDocument, Printer, PrinterStatusReport } from "../../src/printers/printer.ts";

/** A small fast seeded generator (mulberry32): the same seed, the same numbers. */
export class Rng {
  #s: number;
  constructor(seed: number) {
    this.#s = seed >>> 0;
  }
  /** A number in [0, 1). */
  next(): number {
    let t = (this.#s = (this.#s + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  /** An integer in [lo, hi]. */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }
  /** True with probability p. */
  chance(p: number): boolean {
    return this.next() < p;
  }
  /** One element of a list. */
  pick<T>(list: readonly T[]): T {
    return list[Math.floor(this.next() * list.length)];
  }
}

/**
 * Microtask turns after each timer: every chain of promises the agent runs between two waits is
 * shorter (reading a Response takes about 20, a receipt's render a few: templates render
 * synchronously); the determinism test would see a longer one.
 */
const MICROTASK_TURNS = 128;

interface Timer {
  at: number;
  seq: number;
  /** The agent incarnation that owns it; -1 for the world (server, printers, the POS). */
  epoch: number;
  fn: () => void;
  cancelled: boolean;
}

/** The one timeline: timers ordered by time, then by when they were set. */
export class Timeline {
  now: number;
  /** Timers run so far. */
  steps = 0;
  #heap: Timer[] = [];
  #seq = 0;
  #dead = new Set<number>();
  #port = new MessageChannel();
  #drained: (() => void)[] = [];

  constructor(start: number) {
    this.now = start;
    this.#port.port1.onmessage = () => this.#drained.shift()?.();
  }

  /** Runs `fn` after `ms` of simulated time. */
  at(ms: number, fn: () => void, epoch = -1): Timer {
    // whole milliseconds, as Date.now() gives
    const t = {
      at: this.now + Math.max(0, Math.round(ms)),
      seq: this.#seq++,
      epoch,
      fn,
      cancelled: false,
    };
    this.#push(t);
    return t;
  }

  /** A clock for one agent incarnation: its sleeps die with it. */
  clock(epoch: number): Clock {
    return {
      now: () => this.now,
      sleep: (ms, signal) =>
        new Promise<void>((res) => {
          if (signal?.aborted) return res();
          const done = () => {
            t.cancelled = true;
            signal?.removeEventListener("abort", done);
            res();
          };
          const t = this.at(ms, done, epoch);
          signal?.addEventListener("abort", done, { once: true });
        }),
    };
  }

  /** Every timer of this incarnation is dropped: it never wakes again (a crash). */
  kill(epoch: number): void {
    this.#dead.add(epoch);
  }

  /**
   * Runs the next timer and lets every promise it settles run to its next await. Returns false
   * when no timer is due before `until`.
   */
  async step(until: number): Promise<boolean> {
    while (this.#heap.length) {
      const t = this.#heap[0];
      if (t.at > until) return false;
      this.#pop();
      if (t.cancelled || this.#dead.has(t.epoch)) continue;
      this.now = t.at;
      this.steps++;
      t.fn();
      await this.#drain();
      return true;
    }
    return false;
  }

  /**
   * Lets the promises a timer settled run on to their next wait. Deno delivers a message-port
   * message as a promise continuation, not after the whole microtask queue, so a turn of the port
   * is followed by a run of microtask turns (the agent's longest chain, a rendered receipt, takes
   * a handful since templates render synchronously).
   */
  async #drain(): Promise<void> {
    for (let i = 0; i < MICROTASK_TURNS; i++) await null;
  }

  /** Lets the agent's pending promises settle without moving time. */
  settle(): Promise<void> {
    return this.#drain();
  }

  /** Releases the message port (so the process can exit). */
  close(): void {
    this.#port.port1.close();
    this.#port.port2.close();
  }

  #less(a: Timer, b: Timer) {
    return a.at < b.at || (a.at === b.at && a.seq < b.seq);
  }
  #push(t: Timer) {
    const h = this.#heap;
    h.push(t);
    for (let i = h.length - 1; i > 0;) {
      const p = (i - 1) >> 1;
      if (!this.#less(h[i], h[p])) break;
      [h[i], h[p]] = [h[p], h[i]];
      i = p;
    }
  }
  #pop() {
    const h = this.#heap;
    const last = h.pop()!;
    if (h.length === 0) return;
    h[0] = last;
    for (let i = 0;;) {
      const l = 2 * i + 1, r = l + 1;
      let m = i;
      if (l < h.length && this.#less(h[l], h[m])) m = l;
      if (r < h.length && this.#less(h[r], h[m])) m = r;
      if (m === i) break;
      [h[i], h[m]] = [h[m], h[i]];
      i = m;
    }
  }
}

/** A stretch of simulated time [from, to) with a fault. */
export interface Window<K extends string> {
  from: number;
  to: number;
  kind: K;
}

/** The fault active at `t`, if any. */
export function activeAt<K extends string>(ws: Window<K>[], t: number): K | null {
  for (const w of ws) if (t >= w.from && t < w.to) return w.kind;
  return null;
}

/** Printer faults. */
export type PrinterFault = "offline" | "paper_out" | "slow" | "partial" | "stuck";

/** What reached one printer's paper. */
export interface PaperMark {
  printer: string;
  jobId: string;
  at: number;
  complete: boolean;
}

/**
 * A printer of the store: prints take simulated time; the bytes reach the paper half way through
 * a print (a crash after that leaves the job on paper without the agent knowing); faults come in
 * windows.
 */
export class SimPrinter {
  readonly id: string;
  readonly faults: Window<PrinterFault>[] = [];
  readonly paper: PaperMark[];
  #tl: Timeline;
  #trace: (s: string) => void;

  constructor(
    id: string,
    tl: Timeline,
    paper: PaperMark[],
    trace: (s: string) => void,
  ) {
    this.id = id;
    this.#tl = tl;
    this.paper = paper;
    this.#trace = trace;
  }

  /** Whether the printer was faulty at any moment in [from, to]. */
  faultyDuring(from: number, to: number): boolean {
    return this.faults.some((w) => w.kind !== "slow" && w.from <= to && w.to >= from);
  }

  /** The {@link Printer} one agent incarnation sees. */
  forEpoch(epoch: number): Printer {
    const tl = this.#tl;
    return {
      description: `sim ${this.id}`,
      print: (data: Uint8Array, doc: PrintDocument) =>
        new Promise<void>((res, rej) => {
          const fault = activeAt(this.faults, tl.now);
          const fail = (code: ErrorCode, ms: number) =>
            tl.at(ms, () => rej(new AgentError(code, `sim printer ${this.id}: ${code}`)), epoch);
          if (fault === "offline") return fail("PRINTER_OFFLINE", 50);
          if (fault === "paper_out") return fail("PRINTER_PAPER_OUT", 50);
          if (fault === "stuck") return fail("PRINTER_TIMEOUT", 10_000);
          const ms = (fault === "slow" ? 4000 : 300) + Math.floor(data.length / 50);
          if (fault === "partial") {
            tl.at(ms / 2, () => {
              this.paper.push({ printer: this.id, jobId: doc.jobId, at: tl.now, complete: false });
              this.#trace(`paper ${this.id} job ${doc.jobId} torn`);
            });
            return fail("PRINTER_OFFLINE", ms / 2 + 1);
          }
          // the physical printer goes on whatever happens to the agent
          tl.at(ms / 2, () => {
            this.paper.push({ printer: this.id, jobId: doc.jobId, at: tl.now, complete: true });
            this.#trace(`paper ${this.id} job ${doc.jobId} ${data.length}B`);
          });
          tl.at(ms, () => res(), epoch);
        }),
      status: () =>
        new Promise<PrinterStatusReport>((res) => {
          const f = activeAt(this.faults, tl.now);
          const s: PrinterStatusReport = f === "offline" || f === "stuck"
            ? { status: "OFFLINE", detail: "sim: not answering" }
            : f === "paper_out"
            ? { status: "PAPER_OUT", detail: "sim: paper out" }
            : { status: "OK", detail: "sim: ready" };
          tl.at(20, () => res(s), epoch);
        }),
    };
  }
}
