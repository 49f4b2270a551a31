/**
 * A job the spooler holds while the printer is out of paper (the QZ Tray and node-thermal-printer
 * complaint): it is never reported printed; it is removed from the queue, so it cannot come out on
 * refill; only then does it fail with the printer's code (PRINTER_PAPER_OUT, transient: the retry
 * or the backup takes it, once). A job that could not be removed stays PRINT_STUCK_IN_QUEUE (not
 * retried: it may still print). Every combination of the spooler's job bits, the cancel's result
 * and the printer's own answer, with a fake spooler behind WinspoolPrinter's small interface; the
 * real spooler's side runs under Wine (tests/windows/guest/agent.guest.ts).
 */
import { assert, assertEquals, assertMatch } from "./helpers/assert.ts";
import { type SpoolerCalls, WinspoolPrinter } from "../src/printers/winspool.ts";
import { JOB_STATUS } from "../ffi/winspool.ts";
import { AgentError, ERROR_CODES as ERRORS } from "../src/errors.ts";
import {
  PRINTER_STATUSES,
  type PrinterStatusReport,
  statusError,
} from "../src/printers/printer.ts";

/** A spooler whose job stays in the queue with `bits`, and whose cancel works or not. */
function fakeSpooler(o: { bits: number; cancels: boolean; port?: string; jobs?: number }) {
  const calls: string[] = [];
  const s: SpoolerCalls = {
    call<T>(op: string): Promise<T> {
      calls.push(op);
      const r: Record<string, unknown> = {
        print: { jobId: 7, datatype: "RAW", bytes: 4 },
        job: { found: true, status: o.bits, statusText: "" },
        cancel: { cancelled: o.cancels },
        info: {
          name: "TP808",
          port: o.port ?? "USB001",
          driver: "Generic / Text Only",
          datatype: "RAW",
          attributes: 0,
          status: 0,
          jobs: o.jobs ?? 0,
        },
      };
      return Promise.resolve(r[op] as T);
    },
    close() {},
  };
  return { s, calls };
}

const doc = { title: "t", jobId: "1" };

Deno.test("a held job: removed from the queue first, then the printer's code; not removed: PRINT_STUCK_IN_QUEUE", async (t) => {
  const says = (status: PrinterStatusReport["status"] | null) =>
    status ? { status, detail: `printer: ${status}` } : null;
  const bitsCases: [string, number][] = [
    ["no bits (moving, never leaves)", 0],
    ["PAPEROUT", JOB_STATUS.PAPEROUT],
    ["ERROR", JOB_STATUS.ERROR],
    ["BLOCKED_DEVQ", JOB_STATUS.BLOCKED_DEVQ],
  ];
  for (const [bitsName, bits] of bitsCases) {
    for (const cancels of [true, false]) {
      for (const printer of [null, ...PRINTER_STATUSES]) {
        await t.step(
          `${bitsName}, cancel ${cancels ? "works" : "fails"}, printer ${printer}`,
          async () => {
            const { s, calls } = fakeSpooler({ bits, cancels });
            const p = new WinspoolPrinter({
              name: "TP808",
              watchSeconds: 0.05,
              timeoutMs: 1000,
              pollMs: 10,
              spooler: s,
              usbProbe: () => Promise.resolve(says(printer)),
            });
            await p.status(); // learns the queue's port
            const e = await p.print(new Uint8Array([0x41]), doc).then(() => null, (e) => e);
            assert(e instanceof AgentError, "never reported printed");
            assert(calls.includes("cancel"), "the job is taken out of the queue first");
            const printerCode = printer && printer !== "OFFLINE" ? statusError(printer) : null;
            const want = !cancels ? "PRINT_STUCK_IN_QUEUE" : printerCode ??
              (bits & JOB_STATUS.PAPEROUT ? "PRINTER_PAPER_OUT" : "PRINT_STUCK_IN_QUEUE");
            assertEquals(e.code, want, e.message);
            if (want !== "PRINT_STUCK_IN_QUEUE") {
              assert(ERRORS[want].transient, "the retry or the backup takes it");
              assertMatch(e.message, /removed from the queue, so it prints once/);
            } else {
              assertEquals(ERRORS[want].transient, false, "not retried: it may still print");
            }
          },
        );
      }
    }
  }
});

Deno.test("the printer itself is asked only while its queue is empty, and only for its own port", async () => {
  let asked = 0;
  const probe = () => {
    asked++;
    return Promise.resolve({ status: "PAPER_OUT" as const, detail: "paper out" });
  };
  const busy = new WinspoolPrinter({
    name: "TP808",
    watchSeconds: 0,
    timeoutMs: 1000,
    spooler: fakeSpooler({ bits: 0, cancels: true, jobs: 2 }).s,
    usbProbe: probe,
  });
  const r = await busy.status();
  assertEquals(asked, 0, "the spooler holds the device while it has jobs");
  assertMatch(r.detail, /2 job\(s\) in the queue/);
  const idle = new WinspoolPrinter({
    name: "TP808",
    watchSeconds: 0,
    timeoutMs: 1000,
    spooler: fakeSpooler({ bits: 0, cancels: true, jobs: 0 }).s,
    usbProbe: probe,
  });
  const s = await idle.status();
  assertEquals(asked, 1);
  assertEquals(s.status, "PAPER_OUT");
  assertMatch(s.detail, /usbprint USB001: paper out/);
  assertEquals(idle.answersStatus, true);
  // the default channel looks only behind a USB port: a network queue has none
  const net = new WinspoolPrinter({
    name: "TP808",
    watchSeconds: 0,
    timeoutMs: 1000,
    spooler: fakeSpooler({ bits: 0, cancels: true, port: "IP_192.168.1.50" }).s,
  });
  assertEquals((await net.status()).status, "UNKNOWN");
  assertEquals(net.answersStatus, false);
});
