/**
 * The agent end to end on Windows (under Wine): reference server → agent (deno.exe) → winspool →
 * Wine spooler → CUPS → TCP printer simulator. See tests/windows/run.ts for the set-up.
 */
import { assert, assertEquals, assertMatch } from "../../helpers/assert.ts";
import { stationsConfig, testConfig, waitFor, withServer } from "../../helpers/env.ts";
import { PrinterSim } from "../../helpers/printer_sim.ts";
import { startAgent, stopAgent } from "../../../src/run.ts";
import { WinspoolPrinter } from "../../../src/printers/winspool.ts";
import type { PrinterStatusReport } from "../../../src/printers/printer.ts";
import { AgentError } from "../../../src/errors.ts";
import { join } from "node:path";

const QUEUE = Deno.env.get("PA_QUEUE") ?? "TP808";
const PORT = Number(Deno.env.get("PA_SIM_PORT") ?? 9188);
const SCRATCH = Deno.env.get("PA_SCRATCH") ?? "Z:\\scratch";
const RECEIPT = {
  job_type: "receipt",
  receipt_data: {
    store_name: "Toko Wine",
    queue_number: "W001",
    bill_number: "INV-W-1",
    total: 50000,
  },
};

async function scratchDir(name: string) {
  const p = join(SCRATCH, `${name}-${crypto.randomUUID().slice(0, 8)}`);
  await Deno.mkdir(p, { recursive: true });
  return p;
}

Deno.test("a receipt from the reference server prints through winspool byte-exact and ends COMPLETED", async () => {
  const dir = await scratchDir("e2e");
  await using server = withServer();
  using sim = PrinterSim.start(PORT);
  const config = testConfig(dir, {
    server: { base_url: server.url },
    printer: {
      transport: "winspool",
      name: QUEUE,
      brand: "HRPT",
      paper_width: 80,
      spool_watch_seconds: 10,
      timeout: 10,
    },
    logging: { level: "INFO", log_file: "agent.log" },
  });
  const agent = await startAgent(config, { console: false });
  try {
    const job = await server.createJob(RECEIPT);
    await waitFor(
      async () => (await server.getJob(job.id)).status === "COMPLETED",
      "COMPLETED",
      30_000,
    );
    const got = await sim.waitForJobs(1, 15_000);
    const expected = await agent.stations[0].renderer.render({ ...job, priority: 0 } as never);
    assertEquals(got[0].bytes, expected.bytes, "the printer got exactly the rendered bytes");
    const hb = await waitFor(
      async () => (await server.heartbeats()).find((h) => h.printer_status === "OK"),
      "OK heartbeat",
      15_000,
    );
    assertEquals(hb.agent_status, "READY");
  } finally {
    await stopAgent(agent);
  }
  const log = await Deno.readTextFile(join(dir, "agent.log"));
  assertMatch(log, /Printer: winspool "TP808"/);
  assertMatch(log, /\[JOB 1\] \[OK\] Printed \d+ bytes/);
});

Deno.test("a wrong printer name: PRINTER_NOT_FOUND (1801) logged, FAILED after the retries, agent keeps running", async () => {
  const dir = await scratchDir("wrong");
  await using server = withServer();
  const config = testConfig(dir, {
    server: { base_url: server.url, heartbeat_interval: 0.5 },
    printer: {
      transport: "winspool",
      name: "Kasir Printer ✓ Missing",
      brand: "EPSON",
      spool_watch_seconds: 2,
    },
    error_handling: { max_retry: 3, backoff_seconds: [0.1, 0.2] },
    logging: { level: "INFO", log_file: "agent.log" },
  });
  const agent = await startAgent(config, { console: false });
  try {
    const job = await server.createJob(RECEIPT);
    await waitFor(async () => (await server.getJob(job.id)).status === "FAILED", "FAILED", 30_000);
    const j = await server.getJob(job.id);
    assertEquals(j.error_code, "PRINTER_NOT_FOUND");
    assertEquals(j.attempts, 3);
    const hb = await waitFor(
      async () =>
        (await server.heartbeats()).find((h) =>
          h.printer_status === "OFFLINE" && h.agent_status === "ERROR"
        ),
      "heartbeat with the printer OFFLINE",
      15_000,
    );
    assertMatch(String(hb.printer_detail), /1801/);
    const second = await server.createJob(RECEIPT);
    await waitFor(
      async () => (await server.getJob(second.id)).status === "FAILED",
      "the agent still serves jobs",
      30_000,
    );
  } finally {
    await stopAgent(agent);
  }
  const log = await Deno.readTextFile(join(dir, "agent.log"));
  assertMatch(
    log,
    /\[FAILED\] All 3 attempts failed: .*Windows error 1801.*\(code=PRINTER_NOT_FOUND\)/,
  );
  assertMatch(log, /Retry 1\/2 after 0\.1s/);
});

/** Asks the test bed (outside Wine) to freeze or thaw the CUPS daemon, and waits until it has. */
async function bed(cmd: "freeze" | "thaw") {
  await Deno.remove(join(SCRATCH, `${cmd}-done`)).catch(() => {}); // from an earlier call
  await Deno.writeTextFile(join(SCRATCH, cmd), "");
  await waitFor(
    () => Deno.stat(join(SCRATCH, `${cmd}-done`)).then(() => true, () => false),
    `test bed ${cmd}`,
    10_000,
  );
}

Deno.test({
  name:
    "a job stuck in the spooler is reported PRINT_STUCK_IN_QUEUE within the bound, never COMPLETED",
  ignore: Deno.env.get("PA_BED_CONTROL") !== "1",
  async fn() {
    const dir = await scratchDir("stuck");
    await using server = withServer();
    using _sim = PrinterSim.start(PORT); // takes the warm-up job
    const config = testConfig(dir, {
      server: { base_url: server.url },
      printer: {
        transport: "winspool",
        name: QUEUE,
        brand: "EPSON",
        spool_watch_seconds: 3,
        timeout: 4,
      },
      logging: { level: "INFO", log_file: "agent.log" },
    });
    const agent = await startAgent(config, { console: false });
    try {
      const warm = await server.createJob(RECEIPT);
      await waitFor(
        async () => (await server.getJob(warm.id)).status === "COMPLETED",
        "warm-up job",
        30_000,
      );
      await bed("freeze"); // the spooler can no longer hand jobs on
      const t0 = Date.now();
      const job = await server.createJob(RECEIPT);
      await waitFor(
        async () => (await server.getJob(job.id)).status === "FAILED",
        "stuck job FAILED",
        40_000,
      );
      const elapsed = (Date.now() - t0) / 1000;
      const j = await server.getJob(job.id);
      assertEquals(j.error_code, "PRINT_STUCK_IN_QUEUE");
      assert(elapsed < 4 + 5 + 5, `reported after ${elapsed} s`);
      const reports = (await server.reports(job.id)).map((r) => r.status);
      assert(!reports.includes("COMPLETED"), `never COMPLETED: ${reports}`);
      console.log(`  stuck job reported after ${elapsed.toFixed(1)} s: ${j.error_message}`);
    } finally {
      await bed("thaw").catch(() => {});
      await stopAgent(agent);
    }
  },
});

Deno.test({
  name:
    "a held job the spooler cannot remove stays PRINT_STUCK_IN_QUEUE even when the printer says paper out (a retry could print it twice); the printer's own answer is the status while the queue is empty",
  ignore: Deno.env.get("PA_BED_CONTROL") !== "1",
  async fn() {
    using sim = PrinterSim.start(PORT);
    let printerSays: PrinterStatusReport | null = { status: "OK", detail: "ready" };
    const p = new WinspoolPrinter({
      name: QUEUE,
      watchSeconds: 2,
      timeoutMs: 6_000,
      usbProbe: () => Promise.resolve(printerSays),
    });
    try {
      await p.print(new TextEncoder().encode("warm-up\n"), { title: "warm", jobId: "w" });
      await sim.waitForJobs(1, 15_000);
      assertEquals((await p.status()).status, "OK");
      // frozen CUPS: Wine's spooler hangs in EndDoc and cannot cancel — the job may still print
      await bed("freeze");
      printerSays = { status: "PAPER_OUT", detail: "paper out" };
      const e = await p.print(new TextEncoder().encode("HELD\n"), { title: "held", jobId: "h" })
        .then(() => null, (e) => e);
      assert(e instanceof AgentError, `${e}`);
      assertEquals(e.code, "PRINT_STUCK_IN_QUEUE", e.message);
      assertMatch(e.message, /could not be removed/);
      await bed("thaw");
      // the queue empty: the printer itself says how it is; no channel: the spooler's view
      printerSays = { status: "COVER_OPEN", detail: "cover open" };
      await waitFor(async () => (await p.status()).status === "COVER_OPEN", "cover open", 15_000);
      assertMatch((await p.status()).detail, /usbprint .*cover open/);
      printerSays = null;
      assert((await p.status()).status !== "COVER_OPEN");
    } finally {
      await bed("thaw").catch(() => {});
      p.close();
    }
  },
});

Deno.test("stations through winspool: the kitchen printer is missing, its ticket prints on the backup queue with the banner, receipts keep printing", async () => {
  const dir = await scratchDir("stations");
  await using server = withServer();
  using cashier = PrinterSim.start(PORT);
  using bar = PrinterSim.start(Number(Deno.env.get("PA_SIM_PORT2") ?? 9189));
  const spool = { transport: "winspool", spool_watch_seconds: 10, timeout: 10 };
  const config = stationsConfig(dir, [
    { id: "cashier", roles: ["cashier"], ...spool, name: QUEUE, brand: "HRPT" },
    // an unplugged USB printer disappears from the spooler: OpenPrinterW fails with 1801
    { id: "kitchen", roles: ["kitchen"], ...spool, name: "Kitchen (unplugged)", backup: "bar" },
    { id: "bar", roles: ["bar"], ...spool, name: Deno.env.get("PA_QUEUE2") ?? "BAR80" },
  ], {
    server: { base_url: server.url },
    error_handling: { max_retry: 3, backoff_seconds: [0.2] },
    logging: { level: "INFO", log_file: "agent.log" },
  });
  await using _agent = await startAgent(config, { console: false });
  const kitchen = await server.createJob({
    job_type: "kitchen",
    printer_role: "kitchen",
    receipt_data: { table: "12", items: [{ name: "Nasi goreng", qty: 2 }] },
  });
  const receipts = [await server.createJob(RECEIPT), await server.createJob(RECEIPT)];
  for (const j of [kitchen, ...receipts]) {
    await waitFor(
      async () => (await server.getJob(j.id)).status === "COMPLETED",
      `job ${j.id} COMPLETED`,
      30_000,
    );
  }
  const onBar = await bar.waitForJobs(1, 15_000);
  const text = new TextDecoder("latin1").decode(onBar[0].bytes);
  assertMatch(text, /CADANGAN/); // "backup" in the default id-ID labels
  assertMatch(text, /DARI KITCHEN/);
  assertEquals((await cashier.waitForJobs(2, 15_000)).length, 2, "both receipts on the cashier");
  const done = (await server.reports(kitchen.id)).find((r) => r.status === "COMPLETED")!;
  assertEquals([done.body.printed_on, done.body.failover_from], ["bar", "kitchen"]);
});
