/**
 * A serial printer on a COM port under Wine: Wine maps `COM9` to a Linux pseudo-terminal whose
 * other end is tests/helpers/serial_printer_sim.py, run by tests/windows/run.ts on the host. The
 * real kernel32 calls (CreateFileW, SetCommTimeouts, overlapped WriteFile/ReadFile, CancelIoEx)
 * carry `DLE EOT` questions and answers and the job's bytes. The host changes the printer's state
 * when a file appears in the scratch folder.
 */
import { assert, assertEquals } from "../../helpers/assert.ts";
import { stationsConfig, waitFor, withServer } from "../../helpers/env.ts";
import { EXPECTED_STATUS, type PrinterState } from "../../helpers/printer_states.ts";
import { FilePrinter } from "../../../src/printers/file.ts";
import { AgentError } from "../../../src/errors.ts";
import { startAgent, stopAgent } from "../../../src/run.ts";
import { join } from "node:path";

const COM = Deno.env.get("PA_SERIAL");
const SCRATCH = Deno.env.get("PA_SCRATCH") ?? "Z:\\scratch";
const STATES = Object.keys(EXPECTED_STATUS) as PrinterState[];
const doc = { title: "POS-001 job 1", jobId: "1" };

/** Asks the host to do `what` and waits until it has. */
async function host(what: string): Promise<string> {
  const done = join(SCRATCH, `${what}.done`);
  await Deno.remove(done).catch(() => {});
  await Deno.writeTextFile(join(SCRATCH, what), "");
  return await waitFor(
    () => Deno.readTextFile(done).then((t) => t, () => null),
    `the host did ${what}`,
    10_000,
  );
}
const mode = (s: PrinterState) => host(`serial-mode-${s}`);
const printed = async () => {
  const hex = (JSON.parse(await host("serial-dump")) as { printed: string }).printed;
  return new TextDecoder("latin1").decode(
    new Uint8Array(hex.length / 2).map((_, i) => parseInt(hex.slice(i * 2, i * 2 + 2), 16)),
  );
};

Deno.test({
  name:
    "a serial printer on COM9: each state read back through kernel32; nothing sent while the paper is out",
  ignore: !COM,
  async fn() {
    const p = new FilePrinter(COM!, { timeoutMs: 3000 });
    assert(p.answersStatus, "a COM port is two-way");
    // the host links COM9 once Wine's prefix exists
    await waitFor(async () => (await p.status()).status === "OK", `${COM} answers`, 20_000);
    for (const s of STATES) {
      await mode(s);
      const r = await p.status();
      assertEquals(r.status, EXPECTED_STATUS[s], `${s}: ${r.detail}`);
    }
    await mode("paper_out");
    const job = new TextEncoder().encode("\x1b@Struk COM9\n\x1dV\x00");
    const e = await p.print(job, doc).then(() => null, (e) => e);
    assert(e instanceof AgentError && e.code === "PRINTER_PAPER_OUT", `${e}`);
    assertEquals(await printed(), "", "nothing sent to a printer out of paper");
    await mode("ok");
    await p.print(job, doc);
    assertEquals(await printed(), new TextDecoder("latin1").decode(job), "the job's bytes, once");
  },
});

Deno.test({
  name:
    "the agent on COM9: paper out, cover open, near end reach the heartbeat within 2 s; a receipt sent while out is not reported printed",
  ignore: !COM,
  async fn() {
    const dir = join(SCRATCH, `serial-${crypto.randomUUID().slice(0, 8)}`);
    await Deno.mkdir(dir, { recursive: true });
    await using server = withServer();
    await mode("ok");
    const c = stationsConfig(dir, [{
      id: "front",
      roles: ["cashier"],
      transport: "file",
      path: COM,
      status_interval: 0.5,
      timeout: 3,
    }], {
      server: { base_url: server.url, heartbeat_interval: 30 },
      error_handling: { max_retry: 3, backoff_seconds: [1, 1] },
    });
    const agent = await startAgent(c, { console: false });
    try {
      const front = async () =>
        ((await server.heartbeats())[0]?.printers as { status: string }[] | undefined)?.[0];
      await waitFor(async () => (await front())?.status === "OK", "first beat OK", 15_000);
      for (const s of ["paper_out", "cover_open", "paper_near_end", "ok"] as PrinterState[]) {
        const t0 = Date.now();
        await mode(s);
        await waitFor(async () => (await front())?.status === EXPECTED_STATUS[s], s, 10_000);
        const took = Date.now() - t0;
        console.log(`  ${s}: in the heartbeat after ${took} ms`);
        assert(took < 2000, `${s} reached the server after ${took} ms`);
      }
      await mode("paper_out");
      await waitFor(async () => (await front())?.status === "PAPER_OUT", "out", 10_000);
      const r = await server.createJob({
        job_type: "receipt",
        receipt_data: { store_name: "Toko COM", total: 1000 },
      });
      await new Promise((res) => setTimeout(res, 1500));
      assert((await server.getJob(r.id)).status !== "COMPLETED", "not printed while out");
      assert(!(await printed()).includes("Toko COM"), "nothing on paper while out");
      await mode("ok");
      await waitFor(
        async () => (await server.getJob(r.id)).status === "COMPLETED",
        "printed",
        20_000,
      );
      assertEquals((await printed()).split("Toko COM").length - 1, 1, "printed once");
    } finally {
      await stopAgent(agent);
    }
  },
});
