/**
 * The ledger over a fake store: every transition of a job's fate goes through it, it wakes the
 * outbox itself, holds outcomes while the store refuses writes, and resolves start-up recovery.
 */
import { assert, assertEquals } from "./helpers/assert.ts";
import { LogCapture, testConfig } from "./helpers/env.ts";
import { FakeClock } from "./helpers/fake_clock.ts";
import { FakePrinter } from "./helpers/fake_printer.ts";
import { Ledger } from "../src/core/ledger.ts";
import { Station } from "../src/core/station.ts";
import { Bell } from "../src/core/bell.ts";
import type { Job } from "../src/core/job.ts";
import type { JournalEntry, LedgerStore } from "../src/store/journal.ts";
import type { Renderer } from "../src/render/render.ts";

/** A store in memory that records every write and can refuse them (a full disk). */
class FakeStore implements LedgerStore {
  rows = new Map<string, JournalEntry>();
  writes: string[] = [];
  refusing = false;
  meta = new Map<string, string>();

  #write(what: string) {
    if (this.refusing) throw new Error("database or disk is full");
    this.writes.push(what);
  }
  entry(uuid: string, over: Partial<JournalEntry> = {}): JournalEntry {
    const e = {
      uuid,
      server_id: uuid,
      job_type: "receipt",
      state: "RECEIVED",
      attempts: 0,
      error_code: null,
      error_message: null,
      payload: JSON.stringify({ id: uuid, uuid, job_type: "receipt", priority: 0 }),
      source: "server",
      received_at: 0,
      printing_at: null,
      finished_at: null,
      printer: null,
      preview: null,
      taken: 0,
      refused_at: null,
      ...over,
    } as JournalEntry;
    this.rows.set(uuid, e);
    return e;
  }
  get(uuid: string) {
    return this.rows.get(uuid);
  }
  receive(job: Job) {
    const e = this.rows.get(job.uuid);
    if (e) return e;
    this.#write(`receive ${job.uuid}`);
    this.entry(job.uuid);
    return null;
  }
  recordInvalid(uuid: string) {
    if (this.rows.has(uuid)) return false;
    this.#write(`invalid ${uuid}`);
    this.entry(uuid, { state: "FAILED" });
    return true;
  }
  resendFinal(uuid: string) {
    this.#write(`resend ${uuid}`);
    return true;
  }
  markTaken(uuid: string) {
    this.#write(`taken ${uuid}`);
    return 1;
  }
  releaseTaken(uuid: string) {
    this.#write(`released ${uuid}`);
  }
  markPrinting(uuid: string, attempt: number) {
    this.#write(`printing ${uuid} ${attempt}`);
  }
  markRetrying(uuid: string, attempt: number, code: string) {
    this.#write(`retrying ${uuid} ${attempt} ${code}`);
  }
  markPrinted(uuid: string, now: number) {
    this.#write(`printed ${uuid} @${now}`);
  }
  variantOf(_serverId: string) {
    return undefined;
  }
  markFailed(uuid: string, code: string, _m: string, now: number) {
    this.#write(`failed ${uuid} ${code} @${now}`);
  }
  setPreview(uuid: string) {
    this.#write(`preview ${uuid}`);
  }
  openJobs() {
    return [...this.rows.values()].filter((e) => e.state === "RECEIVED" || e.state === "PRINTING");
  }
  getMeta(key: string) {
    return this.meta.get(key);
  }
  setMeta(key: string, value: string) {
    this.meta.set(key, value);
  }
  probeWritable() {
    this.#write("probe");
  }
}

function parts() {
  const config = testConfig("/nonexistent", { jobs: { reprint_interrupted: ["kitchen"] } });
  const clock = new FakeClock(1_000_000);
  const store = new FakeStore();
  const ledger = new Ledger(store, clock, config);
  const station = new Station(config.stations[0], new FakePrinter(), {} as Renderer, 60_000);
  Station.wire([station]);
  let rings = 0;
  countRings(ledger.reported, () => rings++);
  return { config, clock, store, ledger, station, rings: () => rings };
}

/** Counts how often a bell rings, by keeping one waiter on it at all times. */
function countRings(bell: Bell, f: () => void) {
  const clock = { now: () => 0, sleep: () => new Promise<void>(() => {}) };
  const signal = new AbortController().signal;
  const again = () =>
    bell.wait(clock, 1e9, signal).then(() => {
      f();
      again();
    });
  again();
}

const job = (uuid: string): Job => ({ id: uuid, uuid, job_type: "receipt", priority: 0 });
const turn = () => new Promise((r) => setTimeout(r, 0));

Deno.test("every transition that queues a report wakes the outbox, and only those", async () => {
  await new LogCapture().install();
  const p = parts();
  const j = job("a");
  const steps: [string, () => unknown, boolean][] = [
    ["received", () => p.ledger.receive(j, "server"), true],
    ["received again (known)", () => p.ledger.receive(j, "server"), false],
    ["in hand", () => p.ledger.inHand("a", () => Promise.resolve(1)), false],
    ["printing", () => p.ledger.printing("a", 1, "main"), true],
    ["retrying", () => p.ledger.retrying("a", 1, new (class extends Error {})() as never), false],
    ["printed", () => p.ledger.printed(j, p.station, p.station, 12), true],
    ["invalid", () => p.ledger.invalid("b", "b", "BAD_PAYLOAD", "no", "[JOB b]"), true],
    ["failed", () => p.ledger.failed(job("c"), p.station, "PRINTER_ERROR", "x"), true],
  ];
  for (const [name, step, wakes] of steps) {
    const before = p.rings();
    await step();
    await turn();
    assertEquals(p.rings() > before, wakes, `${name}: outbox woken ${!wakes ? "needlessly" : ""}`);
  }
  assertEquals(p.ledger.counters.received, 1);
  assertEquals(p.ledger.counters.printed, 1);
  assertEquals(p.ledger.counters.failed, 2);
  assertEquals(p.station.lastJobId, "c");
  assertEquals(p.station.consecutiveErrors, 1);
  assertEquals(p.ledger.durations, [12]);
});

Deno.test("outcomes decided while the store refuses writes are held, then committed in order with their own times", async () => {
  await new LogCapture().install();
  const p = parts();
  p.store.refusing = true;
  p.ledger.printed(job("p1"), p.station, p.station, 5);
  const printedAt = p.clock.now();
  await p.clock.advance(1000);
  p.ledger.failed(job("f1"), p.station, "PRINTER_OFFLINE", "down");
  assert(p.ledger.broken, "the ledger knows the store is broken");
  assertEquals(p.ledger.repair(), false, "still refusing: not repaired");
  assertEquals(p.store.writes, []);
  p.store.refusing = false;
  assertEquals(p.ledger.repair(), true);
  assertEquals(p.store.writes, [
    "probe",
    `printed p1 @${printedAt}`,
    `failed f1 PRINTER_OFFLINE @${printedAt + 1000}`,
  ]);
  assert(!p.ledger.broken);
  assertEquals(p.ledger.counters.printed, 1, "counted once, when decided");
  assertEquals(p.ledger.counters.failed, 1);
});

Deno.test("start-up recovery: poison only when not the printer's fault, interrupted by policy", async () => {
  await new LogCapture().install();
  const p = parts();
  p.store.entry("fresh");
  p.store.entry("poison", { taken: 2, error_code: "RENDER_ERROR" });
  p.store.entry("printer-down", { taken: 2, error_code: "PRINTER_OFFLINE" });
  p.store.entry("cut", { state: "PRINTING", attempts: 1, printer: "main" });
  p.store.entry("kitchen-cut", { state: "PRINTING", attempts: 1, job_type: "kitchen" });
  const resumed = p.ledger.recover().map((j) => j.uuid);
  // jobs.reprint_interrupted names kitchen tickets here: printed again; a receipt never
  assertEquals(resumed, ["fresh", "printer-down", "kitchen-cut"]);
  const failed = p.store.writes.filter((w) => w.startsWith("failed")).map((w) => w.split(" ")[1]);
  assertEquals(failed, ["poison", "cut"]);
  assert(p.store.writes.some((w) => w.startsWith("failed poison POISON_JOB")));
  assert(p.store.writes.some((w) => w.startsWith("failed cut INTERRUPTED_MAY_HAVE_PRINTED")));
  assertEquals(p.ledger.counters.failed, 2);
});

Deno.test("a printer's failures in a row count only the printer's: a malformed job is the job's; FAILED OVER shows the last job", async () => {
  await new LogCapture().install();
  const p = parts();
  p.ledger.failed(job("bad"), p.station, "BAD_PAYLOAD", "receipt_data.items.0.name");
  p.ledger.failed(job("type"), p.station, "UNSUPPORTED_JOB_TYPE", "hologram");
  assertEquals(p.station.consecutiveErrors, 0, "bad jobs are not printer trouble");
  for (const code of ["PRINTER_OFFLINE", "SPOOLER_UNAVAILABLE", "PRINT_STUCK_IN_QUEUE"] as const) {
    p.ledger.failed(job(code), p.station, code, "down");
  }
  assertEquals(p.station.consecutiveErrors, 3);
  // a job that went to the backup and failed there too: still failed over
  p.station.queue.push(job("k1"), 0);
  p.station.take(0);
  p.station.failingOver();
  p.ledger.failed(job("k1"), p.station, "PRINTER_OFFLINE", "both down");
  assertEquals(p.station.failoverActive, true);
  // the next job fails without going there (a receipt that does not fail over): not failed over
  p.station.queue.push(job("r2"), 0);
  p.station.take(0);
  p.ledger.failed(job("r2"), p.station, "PRINTER_OFFLINE", "down");
  assertEquals(p.station.failoverActive, false);
});

Deno.test("a listener of job outcomes that throws changes nothing: the journal has the outcome first", async () => {
  const { Journal } = await import("../src/store/journal.ts");
  const j = Journal.open(":memory:");
  try {
    const config = testConfig("/tmp");
    const ledger = new Ledger(j, new FakeClock(), config);
    const heard: (string | null)[] = [];
    ledger.onOutcome = (code) => {
      heard.push(code);
      throw new Error("a watcher's bug");
    };
    const station = new Station(config.stations[0], new FakePrinter(), {} as Renderer, 60_000);
    const job: Job = { id: 7, uuid: "u-7", job_type: "receipt", priority: 0, receipt_data: {} };
    j.receive(job, 1);
    j.markPrinting("u-7", 1, 2);
    ledger.printed(job, station, station, 5);
    assertEquals(j.get("u-7")?.state, "PRINTED");
    const job2: Job = { ...job, id: 8, uuid: "u-8" };
    j.receive(job2, 3);
    ledger.failed(job2, station, "BAD_PAYLOAD", "bad");
    assertEquals(j.get("u-8")?.state, "FAILED");
    assertEquals(heard, [null, "BAD_PAYLOAD"]);
  } finally {
    j.close();
  }
});
