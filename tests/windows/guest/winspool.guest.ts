/**
 * Windows-side tests, run by the Windows build of Deno under Wine (tests/windows/run.ts):
 * deno.exe → ffi/winspool.ts → Wine's winspool.drv → CUPS raw queue → a TCP printer simulator
 * in this process. `PA_QUEUE` is the Windows printer name, `PA_SIM_PORT` the port its CUPS queue
 * sends to.
 */
import { assert, assertEquals, assertMatch } from "../../helpers/assert.ts";
import { PrinterSim } from "../../helpers/printer_sim.ts";
import {
  listSpoolerPrinters,
  SpoolerThread,
  WinspoolPrinter,
} from "../../../src/printers/winspool.ts";

const QUEUE = Deno.env.get("PA_QUEUE") ?? "TP808";
const PORT = Number(Deno.env.get("PA_SIM_PORT") ?? 9188);
const doc = { title: "POS-001 job 1", jobId: "1" };

Deno.test("this is the Windows build of Deno", () => {
  assertEquals(Deno.build.os, "windows");
});

Deno.test("EnumPrintersW lists the CUPS queue with its port and status", async () => {
  const r = await listSpoolerPrinters();
  const p = r.printers.find((p) => p.name === QUEUE);
  assert(p, `no ${QUEUE} in ${JSON.stringify(r.printers.map((p) => p.name))}`);
  assertMatch(p.port, /CUPS|TP808/i);
});

Deno.test("WritePrinter bytes arrive byte-exact at the printer, flushed when the handle closes", async () => {
  using sim = PrinterSim.start(PORT);
  const p = new WinspoolPrinter({ name: QUEUE, watchSeconds: 10, timeoutMs: 10_000 });
  try {
    const data = new Uint8Array([
      0x1b,
      0x40,
      ...new TextEncoder().encode("Hello TP808"),
      0x0a,
      0x1d,
      0x56,
      0x00,
    ]);
    await p.print(data, doc);
    const jobs = await sim.waitForJobs(1, 15_000);
    assertEquals(jobs[0].bytes, data);
    // every byte value, including NUL and 0xFF, passes unchanged through RAW
    const all = new Uint8Array(4096).map((_, i) => i & 0xff);
    await p.print(all, doc);
    await sim.waitForJobs(2, 15_000);
    assertEquals(sim.jobs[1].bytes, all);
    assertEquals((await p.status()).status, "OK");
  } finally {
    p.close();
  }
});

Deno.test("a wrong printer name is PRINTER_NOT_FOUND with Windows error 1801", async () => {
  const p = new WinspoolPrinter({ name: "No Such Printer ✓", watchSeconds: 0, timeoutMs: 10_000 });
  try {
    const e = await p.print(new Uint8Array([0x41]), doc).then(() => null, (e) => e);
    assertEquals(e?.code, "PRINTER_NOT_FOUND");
    assertEquals(e?.win32, 1801);
    assertMatch(e.message, /Windows error 1801/);
    assertEquals((await p.status()).status, "OFFLINE");
  } finally {
    p.close();
  }
});

Deno.test("SetupAPI enumerates the USB printers (GUID_DEVINTERFACE_USBPRINT): none under Wine, and no error", async () => {
  const t = new SpoolerThread();
  try {
    const r = await t.call<{ printers: unknown[] }>("usbPrinters", {}, 10_000);
    assertEquals(r.printers, []);
  } finally {
    t.close();
  }
  // a queue on a CUPS port has no usbprint channel: the spooler's view, asked with the heartbeat
  const p = new WinspoolPrinter({ name: QUEUE, watchSeconds: 0, timeoutMs: 10_000 });
  try {
    await p.status();
    assertEquals(p.answersStatus, false);
  } finally {
    p.close();
  }
});
