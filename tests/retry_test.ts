/**
 * The retry schedule, with a controllable clock: no real sleeps.
 */
import { assert, assertEquals } from "./helpers/assert.ts";
import { LogCapture, testConfig, withTmpDir } from "./helpers/env.ts";
import { FakePrinter } from "./helpers/fake_printer.ts";
import { FakeClock } from "./helpers/fake_clock.ts";
import { loopless } from "./helpers/agent.ts";
import { AgentError } from "../src/errors.ts";
import { Journal } from "../src/store/journal.ts";
import { Renderer } from "../src/render/render.ts";
import type { Job } from "../src/core/job.ts";
import { join } from "node:path";

async function setup(dir: string, over: Record<string, Record<string, unknown>> = {}) {
  const config = testConfig(dir, {
    error_handling: { max_retry: 3, backoff_seconds: [5, 10, 30] },
    ...over,
  });
  const clock = new FakeClock(Date.parse("2026-01-23T09:00:00Z"));
  const printer = new FakePrinter();
  const journal = Journal.open(join(dir, "journal.db"));
  const renderer = await Renderer.create({
    brand: "GENERIC",
    paperWidth: 32,
    profilesPath: null,
    templatesPath: null,
    locale: "id-ID",
    currency: "IDR",
    timeZone: "UTC",
    agent: { version: "t", terminal_id: "POS-001", printer_role: "cashier", location_id: 1 },
  });
  const { agent, print, stop } = loopless(config, journal, printer, renderer, clock);
  return { agent, clock, printer, journal, print, stop, [Symbol.dispose]: () => journal.close() };
}

const job = (over: Partial<Job> = {}): Job => ({
  id: 40,
  uuid: "u-40",
  job_type: "receipt",
  priority: 0,
  created_at: "2026-01-23T08:59:59Z",
  receipt_data: { store_name: "S", total: 1 },
  ...over,
});

/** Runs a print while advancing the fake clock whenever the agent sleeps. */
async function drive(clock: FakeClock, p: Promise<void>) {
  let done = false;
  p.finally(() => (done = true));
  for (let i = 0; i < 200 && !done; i++) {
    await new Promise((r) => setTimeout(r, 1));
    if (clock.waiting > 0) await clock.advance(clock.sleeps.at(-1)!);
  }
  await p;
}

Deno.test("printer down: tries 3 times, waiting 5 s then 10 s, re-checking health, then FAILED with the last code", async () => {
  await using dir = await withTmpDir();
  using s = await setup(dir.path);
  const logs = new LogCapture();
  await logs.install();
  s.printer.failures = ["PRINTER_OFFLINE", "PRINTER_OFFLINE", "PRINTER_TIMEOUT"];
  s.printer.statuses = ["UNKNOWN", "UNKNOWN"];
  s.agent.accept(job());
  await drive(s.clock, s.print(job()));
  assertEquals(s.clock.sleeps, [5000, 10000]);
  assertEquals(s.printer.calls, ["print", "status", "print", "status", "print"]);
  const e = s.journal.get("u-40")!;
  assertEquals(e.state, "FAILED");
  assertEquals(e.error_code, "PRINTER_TIMEOUT");
  assertEquals(e.attempts, 3);
  assertEquals(logs.find("[JOB 40] Retry 1/2 after 5s...").length, 1);
  assertEquals(logs.find("[JOB 40] Retry 2/2 after 10s...").length, 1);
  assertEquals(logs.find("[JOB 40] [FAILED] All 3 attempts failed").length, 1);
  const reports = s.journal.outboxPeek().map((r) => r.status);
  assertEquals(reports, ["FETCHED", "PRINTING", "PRINTING", "PRINTING", "FAILED"]);
});

Deno.test("a printer reporting PAPER_OUT on the health check is not sent bytes on that try", async () => {
  await using dir = await withTmpDir();
  using s = await setup(dir.path);
  await new LogCapture().install();
  s.printer.failures = ["PRINTER_OFFLINE"];
  s.printer.statuses = ["PAPER_OUT", "OK"];
  s.agent.accept(job());
  await drive(s.clock, s.print(job()));
  assertEquals(s.printer.calls, ["print", "status", "status", "print"]);
  assertEquals(s.journal.get("u-40")!.state, "PRINTED");
  assertEquals(s.printer.printed.length, 1);
});

Deno.test("a retry succeeds: PRINTED, COMPLETED queued, consecutive errors back to 0", async () => {
  await using dir = await withTmpDir();
  using s = await setup(dir.path);
  await new LogCapture().install();
  s.printer.failures = ["PRINTER_OFFLINE"];
  s.agent.accept(job());
  await drive(s.clock, s.print(job()));
  assertEquals(s.clock.sleeps, [5000]);
  assertEquals(s.journal.get("u-40")!.state, "PRINTED");
  assertEquals(s.journal.outboxPeek().map((r) => r.status).at(-1), "COMPLETED");
  assertEquals(s.agent.stations[0].consecutiveErrors, 0);
});

Deno.test("a permanent error (render) is not retried", async () => {
  await using dir = await withTmpDir();
  using s = await setup(dir.path);
  await new LogCapture().install();
  const bad = job({ receipt_data: { items: "not a list" } });
  s.agent.accept(bad);
  await drive(s.clock, s.print(bad));
  assertEquals(s.clock.sleeps, []);
  assertEquals(s.printer.calls, []);
  assertEquals(s.journal.get("u-40")!.error_code, "BAD_PAYLOAD");
});

Deno.test("stale work expires: an old job and an old drawer kick are FAILED EXPIRED, not printed", async () => {
  await using dir = await withTmpDir();
  using s = await setup(dir.path, { jobs: { max_age_seconds: 600, drawer_max_age_seconds: 10 } });
  await new LogCapture().install();
  const old = job({ uuid: "old", created_at: "2026-01-23T08:00:00Z" });
  const kick = job({
    uuid: "kick",
    job_type: "drawer",
    created_at: "2026-01-23T08:59:45Z",
    receipt_data: null,
  });
  const fresh = job({
    uuid: "fresh",
    job_type: "drawer",
    created_at: "2026-01-23T08:59:55Z",
    receipt_data: null,
  });
  for (const j of [old, kick, fresh]) {
    s.agent.accept(j);
    await drive(s.clock, s.print(j));
  }
  assertEquals(s.journal.get("old")!.error_code, "EXPIRED");
  assertEquals(s.journal.get("kick")!.error_code, "EXPIRED");
  assertEquals(s.journal.get("fresh")!.state, "PRINTED");
  assertEquals(s.printer.printed.length, 1);
  assert(s.printer.printed[0].data.includes(0x70), "a drawer pulse (ESC p)");
});

Deno.test("a job delivered again after it was printed is not printed again; COMPLETED is re-sent once", async () => {
  await using dir = await withTmpDir();
  using s = await setup(dir.path);
  await new LogCapture().install();
  s.agent.accept(job());
  await drive(s.clock, s.print(job()));
  for (const e of s.journal.outboxPeek()) s.journal.outboxDone(e.seq);
  assertEquals(s.agent.accept(job()).outcome, "duplicate");
  assertEquals(s.agent.accept(job()).outcome, "duplicate");
  assertEquals(s.printer.printed.length, 1);
  assertEquals(s.journal.outboxPeek().map((r) => r.status), ["COMPLETED"]);
});

Deno.test("a final FAILED that cannot be written is kept, not retried: nothing is printed again", async () => {
  await using dir = await withTmpDir();
  using s = await setup(dir.path);
  await new LogCapture().install();
  s.printer.failures = ["PRINT_STUCK_IN_QUEUE"]; // may still come out of the spooler later
  s.agent.accept(job());
  const real = s.journal.markFailed.bind(s.journal);
  let refused = 0;
  s.journal.markFailed = (...a: Parameters<typeof real>) => {
    if (refused++ === 0) throw new AgentError("STATE_STORE_UNWRITABLE", "disk full (simulated)");
    return real(...a);
  };
  await drive(s.clock, s.print(job()));
  assertEquals(s.printer.calls, ["print"], "not printed again");
  assertEquals(s.agent.status, "ERROR");
  assertEquals(s.journal.get("u-40")!.state, "PRINTING", "the record waits for the journal");
});

Deno.test("attempts count across restarts: max_retry 3 means 3 tries in all, not 3 per run", async () => {
  await using dir = await withTmpDir();
  const logs = new LogCapture();
  await logs.install();
  {
    // the first run: two attempts failed, then the agent was restarted
    using s = await setup(dir.path);
    s.printer.failures = ["PRINTER_OFFLINE", "PRINTER_OFFLINE"];
    s.agent.accept(job());
    // abandoned once two attempts failed, as a killed process would be
    s.print(job()).catch(() => {});
    const failedTwice = () =>
      s.printer.calls.filter((c) => c === "print").length === 2 &&
      s.journal.get("u-40")!.state === "RECEIVED";
    for (let i = 0; i < 100 && !failedTwice(); i++) {
      await new Promise((r) => setTimeout(r, 1));
      if (s.clock.waiting > 0 && !failedTwice()) await s.clock.advance(s.clock.sleeps.at(-1)!);
    }
    assertEquals(s.journal.get("u-40")!.attempts, 2);
    assertEquals(s.journal.get("u-40")!.state, "RECEIVED");
  }
  using s = await setup(dir.path);
  s.printer.failures = ["PRINTER_OFFLINE", "PRINTER_OFFLINE", "PRINTER_OFFLINE"];
  await drive(s.clock, s.print(job()));
  assertEquals(s.printer.calls.filter((c) => c === "print").length, 1, "one try left");
  const e = s.journal.get("u-40")!;
  assertEquals([e.state, e.attempts, e.error_code], ["FAILED", 3, "PRINTER_OFFLINE"]);
});

Deno.test("a job whose budget was used up before a restart fails at once, with its last error", async () => {
  await using dir = await withTmpDir();
  using s = await setup(dir.path);
  await new LogCapture().install();
  s.agent.accept(job());
  s.journal.markRetrying("u-40", 3, "PRINTER_PAPER_OUT", "printer is out of paper");
  await drive(s.clock, s.print(job()));
  assertEquals(s.printer.calls.filter((c) => c === "print").length, 0);
  assertEquals(s.journal.get("u-40")!.error_code, "PRINTER_PAPER_OUT");
});

Deno.test("a job in hand when the agent died twice is quarantined at start-up: POISON_JOB, not taken up", async () => {
  await using dir = await withTmpDir();
  const logs = new LogCapture();
  await logs.install();
  {
    using s = await setup(dir.path);
    s.agent.accept(job());
    s.agent.accept(job({ id: 41, uuid: "u-41" }));
    s.journal.markTaken("u-40"); // died while rendering it …
    s.journal.markTaken("u-40"); // … and again after the restart
    s.journal.markTaken("u-41"); // died once: taken up again
  }
  using s = await setup(dir.path);
  s.agent.start();
  try {
    for (let i = 0; i < 200 && s.printer.printed.length < 1; i++) {
      await new Promise((r) => setTimeout(r, 5));
    }
    const e = s.journal.get("u-40")!;
    assertEquals([e.state, e.error_code], ["FAILED", "POISON_JOB"]);
    assertEquals(s.printer.printed.length, 1);
    assertEquals(s.printer.printed[0].doc.jobId, "41");
    assertEquals(logs.lines.filter((l) => l.code === "POISON_JOB").length, 1);
  } finally {
    await s.agent.stop();
  }
});

Deno.test("a clean stop during backoff does not count as a death", async () => {
  await using dir = await withTmpDir();
  using s = await setup(dir.path);
  await new LogCapture().install();
  s.printer.failures = ["PRINTER_OFFLINE"];
  s.agent.accept(job());
  const run = s.print(job());
  for (let i = 0; i < 100 && s.clock.waiting === 0; i++) {
    await new Promise((r) => setTimeout(r, 1));
  }
  s.stop.abort(); // the agent stops while the job waits for its retry
  await run;
  assertEquals(s.journal.get("u-40")!.taken, 0);
  assertEquals(s.journal.get("u-40")!.state, "RECEIVED", "it stays queued for the next start");
});

Deno.test("job_type is compared case-insensitively: RECEIPT is a receipt", async () => {
  await using dir = await withTmpDir();
  using s = await setup(dir.path);
  await new LogCapture().install();
  assertEquals(s.agent.accept(job({ job_type: "RECEIPT" })).outcome, "queued");
});
