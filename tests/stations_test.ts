/**
 * Stations: one agent drives every printer of a terminal. Configuration, routing, isolation (a
 * printer that is down never delays another), backup printers with the banner and the report's
 * `printed_on`, priority with aging, and everything that shows the stations.
 */
import { assert, assertEquals, assertMatch, assertThrows } from "./helpers/assert.ts";
import {
  LogCapture,
  stationsConfig,
  testConfig,
  waitFor,
  withServer,
  withTmpDir,
} from "./helpers/env.ts";
import { PrinterSim } from "./helpers/printer_sim.ts";
import { FakePrinter } from "./helpers/fake_printer.ts";
import { readEscPos } from "./helpers/escpos_reader.ts";
import { localApiUrl, startAgent, stopAgent } from "../src/run.ts";
import { parseConfig } from "../src/config.ts";
import { JobQueue, printJob } from "../src/core/station.ts";
import { Agent } from "../src/core/agent.ts";
import { createLocalApi } from "../src/api/local_api.ts";
import { AgentError } from "../src/errors.ts";
import { Journal } from "../src/store/journal.ts";
import { JobServerClient } from "../src/server/job_server.ts";
import { Renderer } from "../src/render/render.ts";
import { rendererOptions } from "./helpers/receipts.ts";
import type { Job } from "../src/core/job.ts";

const KITCHEN = {
  job_type: "kitchen",
  printer_role: "kitchen",
  receipt_data: { table: "7", items: [{ name: "Nasi goreng", qty: 2 }] },
};
const RECEIPT = { job_type: "receipt", receipt_data: { store_name: "Toko", total: 1000 } };

/** A TCP port nothing listens on: a printer that is switched off. */
function deadPort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const p = (l.addr as Deno.NetAddr).port;
  l.close();
  return p;
}

const tcp = (port: number) => ({ transport: "tcp", port, brand: "GENERIC", paper_width: 32 });

Deno.test("printers[]: each wrong entry is named by its key", async (t) => {
  const base = { terminal_identity: { terminal_id: "P" } };
  const bad = (printers: unknown[], re: RegExp) =>
    assertThrows(() => parseConfig({ ...base, printers }, "/x"), re);
  await t.step(
    "duplicate id",
    () => bad([{ id: "a", roles: ["x"] }, { id: "a", roles: ["y"] }], /printers\.1\.id.*already/),
  );
  await t.step(
    "a backup that does not exist",
    () =>
      bad([{ id: "a", roles: ["x"], backup: "zz" }], /printers\.0\.backup.*no station has id "zz"/),
  );
  await t.step(
    "a station backing itself up",
    () => bad([{ id: "a", roles: ["x"], backup: "a" }], /printers\.0\.backup.*itself/),
  );
  await t.step("a cycle of backups", () =>
    bad([
      { id: "a", roles: ["x"], backup: "b" },
      { id: "b", roles: ["y"], backup: "a" },
    ], /backups form a cycle: a → b → a/));
  await t.step(
    "a role claimed twice",
    () => bad([{ id: "a", roles: ["x"] }, { id: "b", roles: ["x"] }], /printers\.1\.roles\.0.*"x"/),
  );
  await t.step("printer and printers together", () =>
    assertThrows(
      () => parseConfig({ ...base, printer: {}, printers: [{ id: "a", roles: ["x"] }] }, "/x"),
      /use printers .* alone/,
    ));
  await t.step("the seed's single printer is one station", () => {
    const c = parseConfig({ ...base, printer: { brand: "HRPT" } }, "/x");
    assertEquals(c.stations.map((s) => [s.id, s.roles, s.brand]), [[
      "cashier",
      ["cashier"],
      "HRPT",
    ]]);
  });
});

Deno.test("routing: printer_role, else job_type, else the first station; an unknown role is left alone", async () => {
  await using dir = await withTmpDir();
  await new LogCapture().install();
  const c = stationsConfig(dir.path, [
    { id: "front", roles: ["cashier"], transport: "virtual", path: "front" },
    { id: "kitchen", roles: ["kitchen"], transport: "virtual", path: "kitchen" },
  ], { server: { base_url: "http://127.0.0.1:1/api" } });
  const printers = [new FakePrinter(), new FakePrinter()];
  await using agent = await startAgent(c, { keepLogging: true, printers });
  const job = (uuid: string, over: Partial<Job>): Job => ({
    id: uuid,
    uuid,
    job_type: "receipt",
    priority: 0,
    receipt_data: { table: "1", items: [{ name: "x", qty: 1 }] },
    ...over,
  });
  assertEquals(agent.route(job("a", { printer_role: "kitchen" }))?.id, "kitchen");
  assertEquals(agent.route(job("b", { job_type: "kitchen" }))?.id, "kitchen");
  assertEquals(agent.route(job("c", {}))?.id, "front");
  assertEquals(agent.route(job("d", { printer_role: "bar" })), null);
  assertEquals(agent.accept(job("d", { printer_role: "bar" }), "local").outcome, "ignored");
  agent.accept(job("e", { job_type: "kitchen" }), "local");
  agent.accept(job("f", {}), "local");
  await waitFor(
    () => printers[0].printed.length === 1 && printers[1].printed.length === 1,
    "both",
  );
  assertEquals(printers[1].printed[0].doc.jobId, "e");
  assertEquals(printers[0].printed[0].doc.jobId, "f");
});

Deno.test("the list request names every role; the reference server stores printer_role and filters by several", async () => {
  await using dir = await withTmpDir();
  await using server = withServer();
  await new LogCapture().install();
  using sim = PrinterSim.start();
  const c = stationsConfig(dir.path, [
    { id: "front", roles: ["cashier"], ...tcp(sim.port) },
    { id: "kitchen", roles: ["kitchen"], ...tcp(sim.port) },
  ], { server: { base_url: server.url } });
  await using _agent = await startAgent(c, { keepLogging: true });
  const k = await server.createJob(KITCHEN);
  const bar = await server.createJob({ ...KITCHEN, printer_role: "bar" });
  const r = await server.createJob(RECEIPT);
  assertEquals(k.printer_role, "kitchen");
  for (const j of [k, r]) {
    await waitFor(async () => (await server.getJob(j.id)).status === "COMPLETED", `${j.id}`);
  }
  await new Promise((res) => setTimeout(res, 300));
  assertEquals((await server.getJob(bar.id)).status, "PENDING", "no station here serves bar");
});

Deno.test("a printer down and retrying never delays another station's jobs", async () => {
  await using dir = await withTmpDir();
  await using server = withServer();
  await new LogCapture().install();
  using sim = PrinterSim.start();
  const c = stationsConfig(dir.path, [
    { id: "front", roles: ["cashier"], ...tcp(sim.port) },
    { id: "kitchen", roles: ["kitchen"], ...tcp(deadPort()) },
  ], {
    server: { base_url: server.url },
    error_handling: { max_retry: 3, backoff_seconds: [5, 10] },
  });
  await using _agent = await startAgent(c, { keepLogging: true });
  const stuck = await server.createJob(KITCHEN);
  await waitFor(async () => (await server.getJob(stuck.id)).status === "PRINTING", "retrying");
  const t0 = performance.now();
  const receipts = [];
  for (let i = 0; i < 5; i++) receipts.push(await server.createJob(RECEIPT));
  for (const j of receipts) {
    await waitFor(async () => (await server.getJob(j.id)).status === "COMPLETED", `${j.id}`);
  }
  const s = (performance.now() - t0) / 1000;
  assert(s < 4, `5 receipts took ${s.toFixed(1)} s while the kitchen waits 5 s between tries`);
  assertEquals((await server.getJob(stuck.id)).status, "PRINTING", "the kitchen still retries");
  const hb = await waitFor(async () => (await server.heartbeats())[0]?.printers, "printers");
  const kitchen = (hb as { id: string; status: string }[]).find((p) => p.id === "kitchen");
  assertEquals(kitchen?.status, "OFFLINE");
});

Deno.test("a kitchen ticket whose printer is down prints once on the backup, with the banner; COMPLETED says where", async () => {
  await using dir = await withTmpDir();
  await using server = withServer();
  const logs = new LogCapture();
  await logs.install();
  using front = PrinterSim.start();
  using bar = PrinterSim.start();
  const c = stationsConfig(dir.path, [
    { id: "front", roles: ["cashier"], ...tcp(front.port) },
    { id: "kitchen", roles: ["kitchen"], ...tcp(deadPort()), backup: "bar", name: "Dapur" },
    { id: "bar", roles: ["bar"], ...tcp(bar.port), brand: "EPSON", paper_width: 48 },
  ], { server: { base_url: server.url, heartbeat_interval: 0.2 } });
  await using agent = await startAgent(c, { keepLogging: true });
  const k = await server.createJob(KITCHEN);
  const r = await server.createJob(RECEIPT);
  for (const j of [k, r]) {
    await waitFor(async () => (await server.getJob(j.id)).status === "COMPLETED", `${j.id}`);
  }
  assertEquals(bar.jobs.length, 1, "on the backup, once");
  assertEquals(front.jobs.length, 1, "the receipt on its own printer");
  const doc = readEscPos(bar.jobs[0].bytes);
  const text = doc.lines.join("\n");
  // the banner in the store's language (id-ID: "cadangan" is backup, "dari" from)
  assertMatch(text, /C A D A N G A N|CADANGAN/);
  assertMatch(text, /DARI DAPUR/);
  assertMatch(text, /^\s*DAPUR\s*$/m, "the ticket names its own station");
  assert(doc.lines.every((l) => [...l].length <= 48), "rendered for the backup's 48 columns");
  const done = (await server.reports(k.id)).find((x) => x.status === "COMPLETED")!;
  assertEquals(
    [done.body.printed_on, done.body.failover_from, done.body.failover_reason],
    ["bar", "kitchen", "PRINTER_OFFLINE"],
  );
  const printing = (await server.reports(k.id)).filter((x) => x.status === "PRINTING");
  assertEquals(printing.map((x) => x.body.printer), ["kitchen", "bar"]);
  const hb = await waitFor(async () => {
    const p = (await server.heartbeats())[0]?.printers as
      | { id: string; failover_active: boolean }[]
      | undefined;
    return p?.find((x) => x.id === "kitchen")?.failover_active ? p : null;
  }, "heartbeat shows the kitchen failed over");
  assertEquals(hb.length, 3);
  const own = (hb as unknown as { id: string; status: string }[]).find((x) => x.id === "kitchen");
  assertEquals(own?.status, "OFFLINE", "the kitchen printer shows why it failed over");
  assert(logs.find("[FAILOVER] Printing on the backup printer bar").length === 1);
  // the local API's row (the status page) says where it printed and which printer it was for
  const row = createLocalApi(agent, { host: "127.0.0.1", port: 8787, token: "" });
  const res = await row.request("http://127.0.0.1:8787/jobs/" + k.uuid, {
    headers: { host: "127.0.0.1:8787" },
  });
  const view = await res.json();
  assertEquals(res.status, 200, JSON.stringify(view));
  assertEquals([view.printer, view.meant_for], ["bar", "kitchen"]);
});

Deno.test("failover rules: a drawer kick never fails over; receipts only where the station allows; both down names both", async (t) => {
  await using dir = await withTmpDir();
  await new LogCapture().install();
  const run = async (
    over: Record<string, unknown>,
    job: Partial<Job>,
    fail: { own: number; backup: number },
  ) => {
    const c = stationsConfig(dir.path, [
      { id: "front", roles: ["cashier", "drawer"], transport: "virtual", backup: "bar", ...over },
      { id: "bar", roles: ["bar"], transport: "virtual" },
    ], {
      server: { base_url: "http://127.0.0.1:1/api" },
      state: { path: `state-${crypto.randomUUID()}` },
      error_handling: { max_retry: 3, backoff_seconds: [0.01] },
    });
    const own = new FakePrinter(), backup = new FakePrinter();
    own.failures = Array(fail.own).fill("PRINTER_OFFLINE");
    backup.failures = Array(fail.backup).fill("PRINTER_OFFLINE");
    const agent = await startAgent(c, { keepLogging: true, printers: [own, backup] });
    const uuid = crypto.randomUUID();
    try {
      agent.accept({
        id: 1,
        uuid,
        job_type: "receipt",
        priority: 0,
        receipt_data: { total: 1 },
        created_at: new Date().toISOString(),
        ...job,
      }, "local");
      await waitFor(
        () => ["PRINTED", "FAILED"].includes(agent.journal.get(uuid)?.state ?? ""),
        "final",
      );
      return { e: agent.journal.get(uuid)!, own, backup };
    } finally {
      await stopAgent(agent);
    }
  };
  await t.step("a drawer kick stays on its own printer", async () => {
    const r = await run({}, { job_type: "drawer", receipt_data: null }, { own: 3, backup: 0 });
    assertEquals([r.e.state, r.backup.calls.filter((x) => x === "print").length], ["FAILED", 0]);
  });
  await t.step("a receipt stays by default (failover_receipts: false)", async () => {
    const r = await run({}, {}, { own: 3, backup: 0 });
    assertEquals([r.e.state, r.backup.printed.length], ["FAILED", 0]);
  });
  await t.step("a receipt fails over where the station allows it", async () => {
    const r = await run({ failover_receipts: true }, {}, { own: 1, backup: 0 });
    assertEquals([r.e.state, r.backup.printed.length, r.own.printed.length], ["PRINTED", 1, 0]);
  });
  await t.step("own, backup, own again: the final FAILED names both printers", async () => {
    const r = await run({ failover_receipts: true }, {}, { own: 3, backup: 3 });
    assertEquals(r.e.state, "FAILED");
    assertMatch(String(r.e.error_message), /front: .*; bar: /);
    assertEquals(r.own.calls.filter((x) => x === "print").length, 2);
    assertEquals(r.backup.calls.filter((x) => x === "print").length, 1);
  });
});

Deno.test("priority within a station: drawer first, then priority, then oldest; aging bounds the wait", () => {
  const q = new JobQueue(30_000);
  const job = (uuid: string, priority: number, job_type = "receipt"): Job => ({
    id: uuid,
    uuid,
    job_type,
    priority,
  });
  q.push(job("old-low", 0), 0);
  q.push(job("urgent", 5), 1000);
  q.push(job("kick", 0, "drawer"), 2000);
  q.push(job("new-low", 0), 3000);
  assertEquals(q.shift(3000)?.uuid, "kick");
  assertEquals(q.shift(3000)?.uuid, "urgent");
  assertEquals(q.shift(3000)?.uuid, "old-low");
  // a low job waiting 3 minutes (6 levels at 30 s each) goes before a fresh priority-5 job
  q.push(job("fresh-urgent", 5), 180_000);
  assertEquals(q.shift(180_000)?.uuid, "new-low");
  assertEquals(q.shift(180_000)?.uuid, "fresh-urgent");
});

Deno.test("/status, /metrics and POST /print know the stations", async () => {
  await using dir = await withTmpDir();
  await new LogCapture().install();
  const c = stationsConfig(dir.path, [
    { id: "front", roles: ["cashier"], transport: "virtual", path: "front" },
    { id: "kitchen", roles: ["kitchen"], transport: "virtual", path: "kitchen", backup: "front" },
  ], {
    server: { base_url: "http://127.0.0.1:1/api" },
    local_api: { enabled: true, port: 0, token: "t" },
  });
  const printers = [new FakePrinter(), new FakePrinter()];
  await using agent = await startAgent(c, { keepLogging: true, printers });
  const url = localApiUrl(agent)!;
  const st = await (await fetch(`${url}status`)).json();
  assertEquals(st.printers.map((p: { id: string }) => p.id), ["front", "kitchen"]);
  assertEquals(st.printers[1].backup, "front");
  const m = await (await fetch(`${url}metrics`)).text();
  assertMatch(m, /print_agent_printer_status\{printer="kitchen",status="OK"\} 1/);
  assertMatch(m, /print_agent_printer_failover_active\{printer="kitchen"\} 0/);
  const r = await fetch(`${url}print`, {
    method: "POST",
    headers: { authorization: "Bearer t", "content-type": "application/json" },
    body: JSON.stringify({ uuid: "local-1", station: "kitchen", ...RECEIPT }),
  });
  assertEquals(r.status, 202);
  await waitFor(() => printers[1].printed.length === 1, "printed on the kitchen station");
  // (the status page draws its printer cards from /status: tests/status_page_e2e_test.ts)
});

Deno.test("the seed's single printer still works as one station, its heartbeat as before", async () => {
  await using dir = await withTmpDir();
  await using server = withServer();
  await new LogCapture().install();
  const c = testConfig(dir.path, { server: { base_url: server.url } });
  await using _agent = await startAgent(c, { keepLogging: true, printer: new FakePrinter() });
  const hb = await waitFor(async () => (await server.heartbeats())[0], "a heartbeat");
  assertEquals(hb.printer_role, "cashier");
  assertEquals((hb.printers as { id: string }[]).map((p) => p.id), ["cashier"]);
});

Deno.test("a printer whose queue is full never stops the intake for the others: its extra jobs stay PENDING", async () => {
  await using dir = await withTmpDir();
  await using server = withServer();
  await new LogCapture().install();
  const c = stationsConfig(dir.path, [
    { id: "front", roles: ["cashier"], transport: "virtual", path: "front" },
    { id: "kitchen", roles: ["kitchen"], transport: "virtual", path: "kitchen" },
  ], {
    server: { base_url: server.url },
    limits: { queue: 2 },
    error_handling: { max_retry: 20, backoff_seconds: [5] },
  });
  const front = new FakePrinter(), kitchen = new FakePrinter();
  kitchen.failures = Array(100).fill("PRINTER_OFFLINE");
  await using _agent = await startAgent(c, { keepLogging: true, printers: [front, kitchen] });
  const tickets: Record<string, unknown>[] = [];
  for (let i = 0; i < 5; i++) tickets.push(await server.createJob(KITCHEN));
  // one in hand, two waiting; the other two are left to the server
  await waitFor(async () => {
    const s = await Promise.all(tickets.map(async (t) => (await server.getJob(t.id)).status));
    return s.filter((x) => x === "PENDING").length === 2 ? s : null;
  }, "two kitchen tickets left PENDING");
  const r = await server.createJob(RECEIPT);
  await waitFor(async () => (await server.getJob(r.id)).status === "COMPLETED", "the receipt");
  assertEquals(front.printed.length, 1);
});

Deno.test("a backup that cannot render the job is skipped, and the job's own printer goes on", async () => {
  await using dir = await withTmpDir();
  const logs = new LogCapture();
  await logs.install();
  const c = stationsConfig(dir.path, [
    { id: "kitchen", roles: ["kitchen"], transport: "virtual", backup: "bar" },
    { id: "bar", roles: ["bar"], transport: "virtual" },
  ], {
    server: { base_url: "http://127.0.0.1:1/api" },
    error_handling: { max_retry: 3, backoff_seconds: [0.01] },
  });
  const own = new FakePrinter(), backup = new FakePrinter();
  own.failures = ["PRINTER_OFFLINE"];
  const real = await Renderer.create(rendererOptions());
  const cannot = {
    profile: real.profile,
    columns: real.columns,
    render: () => Promise.reject(new AgentError("RENDER_ERROR", "too wide for this paper")),
  } as unknown as Renderer;
  const journal = Journal.open(`${dir.path}/journal.db`);
  const server = new JobServerClient({
    baseUrl: "http://127.0.0.1:1/api",
    token: "",
    authScheme: "Token",
    paths: c.server.paths,
    timeoutMs: 100,
  });
  const agent = new Agent({
    config: c,
    journal,
    server,
    stations: [{ printer: own, renderer: real }, { printer: backup, renderer: cannot }],
    version: "t",
  });
  try {
    agent.accept({ ...KITCHEN, id: 5, uuid: "k-5", priority: 0 }, "local");
    const env = {
      clock: agent.clock,
      config: c,
      serverClock: agent.serverClock,
      signal: new AbortController().signal,
    };
    await printJob(
      { ...KITCHEN, id: 5, uuid: "k-5", priority: 0 } as Job,
      agent.stations[0],
      agent.ledger,
      env,
    );
    const e = journal.get("k-5")!;
    assertEquals([e.state, e.attempts, e.printer], ["PRINTED", 3, "kitchen"]);
    assertEquals(backup.calls.filter((x) => x === "print").length, 0);
    assertEquals(own.printed.length, 1);
    assert(logs.find("The backup printer bar cannot print it").length === 1);
  } finally {
    journal.close();
  }
});
