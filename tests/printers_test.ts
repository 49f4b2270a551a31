import { assert, assertEquals, assertMatch, assertRejects } from "./helpers/assert.ts";
import { withTmpDir } from "./helpers/env.ts";
import { PrinterSim } from "./helpers/printer_sim.ts";
import { TcpPrinter } from "../src/printers/tcp.ts";
import { FilePrinter, VirtualPrinter } from "../src/printers/file.ts";
import { join } from "node:path";

const doc = { title: "POS-001 job 1", jobId: "1", preview: "hello" };

Deno.test("tcp: one connection per job carries exactly the bytes", async () => {
  using sim = PrinterSim.start();
  const p = new TcpPrinter({ host: "127.0.0.1", port: sim.port, timeoutMs: 2000 });
  const big = new Uint8Array(300_000).map((_, i) => 0x20 + (i % 90));
  await p.print(new Uint8Array([0x1b, 0x40, 0x41, 0x0a]), doc);
  await p.print(big, doc);
  await sim.waitForJobs(2);
  assertEquals([...sim.jobs[0].bytes], [0x1b, 0x40, 0x41, 0x0a]);
  assertEquals(sim.jobs[1].bytes, big);
});

Deno.test("tcp: status follows the printer; a refused port is OFFLINE; a silent printer is UNKNOWN, not OK", async () => {
  using sim = PrinterSim.start();
  const p = new TcpPrinter({ host: "127.0.0.1", port: sim.port, timeoutMs: 500 });
  assertEquals((await p.status()).status, "OK");
  sim.mode = "paper_out";
  assertEquals((await p.status()).status, "PAPER_OUT");
  sim.mode = "cover_open";
  assertEquals((await p.status()).status, "COVER_OPEN");
  sim.mode = "silent";
  assertEquals((await p.status()).status, "UNKNOWN");
  sim.close();
  assertEquals((await p.status()).status, "OFFLINE");
  await assertRejects(() => p.print(new Uint8Array([1]), doc), /cannot connect/);
});

Deno.test("tcp: a printer that stops reading times out with PRINTER_TIMEOUT", async () => {
  using sim = PrinterSim.start();
  sim.mode = "stall";
  const p = new TcpPrinter({ host: "127.0.0.1", port: sim.port, timeoutMs: 300 });
  const e = await p.print(new Uint8Array(20_000_000), doc).then(() => null, (e) => e);
  assertEquals(e?.code, "PRINTER_TIMEOUT");
});

Deno.test("file: appends each job and closes; a missing folder is PRINTER_NOT_FOUND", async () => {
  await using dir = await withTmpDir();
  const path = join(dir.path, "lp0");
  const p = new FilePrinter(path);
  await p.print(new Uint8Array([65]), doc);
  await p.print(new Uint8Array([66]), doc);
  assertEquals(await Deno.readTextFile(path), "AB");
  assertEquals((await p.status()).status, "OK");
  const gone = new FilePrinter(join(dir.path, "no", "such", "dir", "lp0"));
  const e = await gone.print(new Uint8Array([1]), doc).then(() => null, (e) => e);
  assertEquals(e?.code, "PRINTER_NOT_FOUND");
  assertEquals((await gone.status()).status, "OFFLINE");
});

Deno.test("virtual: writes the bytes and a readable preview per job", async () => {
  await using dir = await withTmpDir();
  const p = new VirtualPrinter(join(dir.path, "v"));
  await p.print(new Uint8Array([1, 2, 3]), doc);
  const names = (await Array.fromAsync(Deno.readDir(join(dir.path, "v")))).map((e) => e.name)
    .sort();
  assertEquals(names.length, 3);
  assert(
    names[0].endsWith("-job-1.bin") && names[1].endsWith("-job-1.svg") &&
      names[2].endsWith("-job-1.txt"),
  );
  assertMatch(await Deno.readTextFile(join(dir.path, "v", names[1])), /^<svg .*>hello<\/text>/);
  assertEquals([...await Deno.readFile(join(dir.path, "v", names[0]))], [1, 2, 3]);
  assertMatch(await Deno.readTextFile(join(dir.path, "v", names[2])), /POS-001 job 1\nhello/);
  // with the printer's code pages and paper, the picture is read from the bytes themselves
  await p.print(new Uint8Array([0x1b, 0x45, 1, 0x48, 0x69, 0x0a]), {
    ...doc,
    jobId: "2",
    paper: { escT: { 0: "cp437" }, width: 576 },
  });
  const svg2 = (await Array.fromAsync(Deno.readDir(join(dir.path, "v")))).find((e) =>
    e.name.endsWith("-job-2.svg")
  )!;
  assertMatch(
    await Deno.readTextFile(join(dir.path, "v", svg2.name)),
    /font-weight="bold">Hi<\/text>/,
  );
});
