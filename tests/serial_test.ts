/**
 * Serial printers (`file` transport on a serial port): the printer on the other end of a real
 * pseudo-terminal answers `DLE EOT` (tests/helpers/serial_printer_sim.py). Each state read back,
 * a job refused while the paper is out and printed once when it is back, a silent device UNKNOWN
 * (and not asked for ever), each state in the heartbeat within 2 s through a real agent and server.
 * The same simulator is Wine's COM port in the Windows test bed.
 */
import { assert, assertEquals, assertRejects } from "./helpers/assert.ts";
import { EXPECTED_STATUS, type PrinterState } from "./helpers/printer_states.ts";
import { SerialSim } from "./helpers/serial_sim.ts";
import { FilePrinter } from "../src/printers/file.ts";
import { deviceKind } from "../src/printers/device.ts";
import { AgentError } from "../src/errors.ts";
import { LogCapture, stationsConfig, waitFor, withServer, withTmpDir } from "./helpers/env.ts";
import { startAgent } from "../src/run.ts";

const python = await SerialSim.available();
const STATES = Object.keys(EXPECTED_STATUS) as PrinterState[];
const doc = { title: "POS-001 job 1", jobId: "1" };
const job = new TextEncoder().encode("\x1b@Struk 1\n\x1dV\x00");

Deno.test("device paths: serial ports and USB printers are two-way; LPT and files are not", () => {
  const cases: [string, string, string][] = [
    ["COM3", "windows", "serial"],
    ["\\\\.\\COM12", "windows", "serial"],
    ["com1", "windows", "serial"],
    [
      "\\\\?\\usb#vid_0416&pid_5011#6&1a2b#{28d78fad-5a12-11d1-ae5b-0000f803a8c2}",
      "windows",
      "usb",
    ],
    ["USB001", "windows", "usb"],
    ["LPT1", "windows", "lpt"],
    ["C:\\out\\printer.bin", "windows", "plain"],
    ["/dev/ttyUSB0", "linux", "serial"],
    ["/dev/ttyS1", "linux", "serial"],
    ["/dev/pts/7", "linux", "serial"],
    ["/dev/usb/lp0", "linux", "usb"],
    ["/dev/lp0", "linux", "lpt"],
    ["/tmp/out.bin", "linux", "plain"],
  ];
  for (const [path, os, kind] of cases) assertEquals(deviceKind(path, os), kind, path);
});

Deno.test({
  name: "serial: every state read back; a job is refused while the paper is out, printed when back",
  ignore: !python,
  async fn() {
    await using sim = await SerialSim.start();
    const p = new FilePrinter(sim.path, { timeoutMs: 2000 });
    assert(p.answersStatus);
    for (const s of STATES) {
      await sim.mode(s);
      const r = await p.status();
      assertEquals(r.status, EXPECTED_STATUS[s], `${s}: ${r.detail}`);
    }
    await sim.mode("paper_out");
    const e = await p.print(job, doc).then(() => null, (e) => e);
    assert(e instanceof AgentError, `${e}`);
    assertEquals(e.code, "PRINTER_PAPER_OUT");
    assertEquals((await sim.dump()).printed.length, 0, "nothing sent to a printer out of paper");
    for (const s of ["cover_open", "cutter_error", "overheat", "offline"] as PrinterState[]) {
      await sim.mode(s);
      await assertRejects(() => p.print(job, doc), new RegExp(`is ${EXPECTED_STATUS[s]}`));
    }
    await sim.mode("paper_near_end"); // a warning: it prints
    await p.print(job, doc);
    await sim.mode("ok");
    await p.print(job, doc);
    const { printed, dropped } = await sim.dump();
    assertEquals(printed, new Uint8Array([...job, ...job]), "each job's bytes, once");
    assertEquals(dropped, 0);
  },
});

Deno.test({
  name: "serial: a printer that stops answering is UNKNOWN, never OK, and is not asked for ever",
  ignore: !python,
  async fn() {
    await using sim = await SerialSim.start();
    const p = new FilePrinter(sim.path, { timeoutMs: 300 });
    assertEquals((await p.status()).status, "OK");
    await sim.silent();
    assertEquals((await p.status()).status, "UNKNOWN");
    assertEquals((await p.status()).status, "UNKNOWN");
    assert(!p.answersStatus, "two silent conversations: asked with the heartbeat only");
    const before = (await sim.dump()).queries;
    assertEquals((await p.status()).status, "UNKNOWN");
    assertEquals((await sim.dump()).queries, before, "not asked again");
  },
});

Deno.test({
  name:
    "serial: each state reaches the heartbeat within 2 s; a receipt sent while the paper is out is not reported printed",
  ignore: !python,
  async fn() {
    await using dir = await withTmpDir();
    await using server = withServer();
    await new LogCapture().install();
    await using sim = await SerialSim.start();
    const c = stationsConfig(dir.path, [{
      id: "front",
      roles: ["cashier"],
      transport: "file",
      path: sim.path,
      status_interval: 0.5,
      timeout: 2,
    }], {
      server: { base_url: server.url, heartbeat_interval: 30 },
      error_handling: { max_retry: 3, backoff_seconds: [1, 1] },
    });
    await using _agent = await startAgent(c, { keepLogging: true });
    const front = async () =>
      ((await server.heartbeats())[0]?.printers as { status: string }[] | undefined)?.[0];
    await waitFor(async () => (await front())?.status === "OK", "first beat OK");
    for (const s of [...STATES.filter((s) => s !== "ok"), "ok"] as PrinterState[]) {
      const t0 = Date.now();
      await sim.mode(s);
      await waitFor(async () => (await front())?.status === EXPECTED_STATUS[s], s);
      const took = Date.now() - t0;
      assert(took < 2000, `${s} reached the server after ${took} ms`);
    }
    await sim.mode("paper_out");
    await waitFor(async () => (await front())?.status === "PAPER_OUT", "out");
    const r = await server.createJob({
      job_type: "receipt",
      receipt_data: { store_name: "Toko Serial", total: 1000 },
    });
    await new Promise((res) => setTimeout(res, 1500));
    assert((await server.getJob(r.id)).status !== "COMPLETED", "not printed while out");
    assertEquals((await sim.dump()).printed.length, 0);
    await sim.mode("ok");
    await waitFor(async () => (await server.getJob(r.id)).status === "COMPLETED", "printed");
    const text = new TextDecoder().decode((await sim.dump()).printed);
    assertEquals(text.split("Toko Serial").length - 1, 1, "printed once");
  },
});
