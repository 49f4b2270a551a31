/**
 * Real printer status (`DLE EOT 1`…`4`): every answer byte, every condition and every pair of
 * conditions decoded; the conversation over a link that is stale, slow, partial or silent; and
 * the states reaching the heartbeat through a real agent, server and TCP printer.
 */
import { assert, assertEquals, assertMatch } from "./helpers/assert.ts";
import { EXPECTED_STATUS, type PrinterState, statusAnswer } from "./helpers/printer_states.ts";
import {
  askRealtimeStatus,
  decodeRealtimeStatus,
  isStatusByte,
  RealtimeStatusAsker,
  type StatusLink,
} from "../src/printers/realtime_status.ts";
import { printable, PRINTER_STATUSES, statusError } from "../src/printers/printer.ts";
import { LogCapture, stationsConfig, waitFor, withServer, withTmpDir } from "./helpers/env.ts";
import { PrinterSim } from "./helpers/printer_sim.ts";
import { startAgent } from "../src/run.ts";
import { TcpPrinter } from "../src/printers/tcp.ts";
import { AgentError } from "../src/errors.ts";
import { FakePrinter } from "./helpers/fake_printer.ts";
import { Journal } from "../src/store/journal.ts";
import { Renderer } from "../src/render/render.ts";
import { rendererOptions } from "./helpers/receipts.ts";
import { Agent } from "../src/core/agent.ts";
import { JobServerClient } from "../src/server/job_server.ts";

const STATES = Object.keys(EXPECTED_STATUS) as PrinterState[];
const answers = (s: PrinterState) => ({
  s1: statusAnswer(s, 1),
  s2: statusAnswer(s, 2),
  s3: statusAnswer(s, 3),
  s4: statusAnswer(s, 4),
});

Deno.test("every printer state decodes to its status; the detail names it", () => {
  for (const s of STATES) {
    const r = decodeRealtimeStatus(answers(s));
    assertEquals(r.status, EXPECTED_STATUS[s], s);
    assert(r.detail.length > 0);
  }
  assertMatch(decodeRealtimeStatus(answers("paper_near_end")).detail, /near end.*still prints/);
  assertMatch(decodeRealtimeStatus(answers("overheat")).detail, /too hot/);
});

Deno.test("every byte value in every answer: not a status byte is UNKNOWN, never OK", () => {
  const ok = answers("ok");
  for (const key of ["s1", "s2", "s3", "s4"] as const) {
    for (let b = 0; b < 256; b++) {
      const r = decodeRealtimeStatus({ ...ok, [key]: b });
      if (!isStatusByte(b)) {
        assertEquals(r.status, "UNKNOWN", `${key}=0x${b.toString(16)}`);
        assertMatch(r.detail, new RegExp(`0x${b.toString(16).padStart(2, "0")}`));
      } else {
        assert(r.status !== "UNKNOWN", `${key}=0x${b.toString(16)} is a status byte`);
      }
    }
  }
});

Deno.test("two conditions at once: the worse is the status, the detail names both", () => {
  const rank = (s: string) => {
    const order = [
      "COVER_OPEN",
      "PAPER_OUT",
      "CUTTER_ERROR",
      "ERROR",
      "OVERHEAT",
      "OFFLINE",
      "PAPER_NEAR_END",
      "OK",
    ];
    return order.indexOf(s);
  };
  for (const a of STATES) {
    for (const b of STATES) {
      const both = {
        s1: statusAnswer(a, 1) | statusAnswer(b, 1),
        s2: statusAnswer(a, 2) | statusAnswer(b, 2),
        s3: statusAnswer(a, 3) | statusAnswer(b, 3),
        s4: statusAnswer(a, 4) | statusAnswer(b, 4),
      };
      const r = decodeRealtimeStatus(both);
      const want = rank(EXPECTED_STATUS[a]) <= rank(EXPECTED_STATUS[b])
        ? EXPECTED_STATUS[a]
        : EXPECTED_STATUS[b];
      // near end and out share the sensor bits: out covers near end
      assertEquals(r.status, want, `${a} + ${b}`);
      for (const s of [a, b]) {
        if (s === "ok" || (s === "paper_near_end" && [a, b].includes("paper_out"))) continue;
        const word = {
          paper_near_end: /near end/,
          paper_out: /paper out/,
          cover_open: /cover open/,
          cutter_error: /cutter/,
          overheat: /too hot/,
          unrecoverable: /unrecoverable/,
          offline: /offline|error|cover|paper|cutter|hot/,
        }[s];
        assertMatch(r.detail, word, `${a} + ${b}: ${r.detail}`);
      }
    }
  }
});

Deno.test("a printer that answers DLE EOT 1 and 2 only still has a status; near end needs sensor 4", () => {
  for (const s of ["ok", "paper_out", "cover_open", "offline"] as PrinterState[]) {
    const r = decodeRealtimeStatus({ s1: statusAnswer(s, 1), s2: statusAnswer(s, 2) });
    assertEquals(r.status, EXPECTED_STATUS[s], s);
  }
  assertMatch(decodeRealtimeStatus({ s1: 0x12, s2: 0x12 }).detail, /no paper sensor answer/);
});

Deno.test("every status has its place: printable ones take jobs, the others name an error code", () => {
  for (const s of PRINTER_STATUSES) {
    if (printable(s)) assertEquals(statusError(s), null, s);
    else if (s !== "UNKNOWN") assert(statusError(s), `${s} has an error code`);
  }
  assert(printable("PAPER_NEAR_END"), "near end is a warning: it still prints");
});

/** A link to a scripted printer: answers per question, delays, a stale byte waiting at open. */
function scripted(o: {
  state: PrinterState;
  stale?: number[];
  silentFor?: number[];
  lateFor?: number[];
}) {
  const inbox: number[] = [...(o.stale ?? [])];
  const asked: number[] = [];
  const writes: number[][] = [];
  let late: number[] = [];
  const link: StatusLink = {
    write(bytes) {
      writes.push([]);
      for (let i = 0; i + 2 < bytes.length + 1; i += 3) {
        const n = bytes[i + 2];
        asked.push(n);
        writes.at(-1)!.push(n);
        if (o.silentFor?.includes(n)) continue;
        if (o.lateFor?.includes(n)) late.push(statusAnswer(o.state, n));
        else inbox.push(statusAnswer(o.state, n));
      }
      return Promise.resolve();
    },
    readByte() {
      if (inbox.length) return Promise.resolve(inbox.shift()!);
      // a late answer arrives after the wait ran out
      inbox.push(...late);
      late = [];
      return Promise.resolve(null);
    },
  };
  return { link, asked, writes };
}

Deno.test("the conversation: stale bytes dropped, 1 and 2 in one write, 3 and 4 each after the answer before", async () => {
  for (const s of STATES) {
    // a byte left from before (an ERROR answer) is waiting when the device opens
    const { link, asked, writes } = scripted({ state: s, stale: [0x5a, 0x12 | 0x20] });
    const r = await askRealtimeStatus(link, { timeoutMs: 10, throwaway: true });
    assertEquals(r.status, EXPECTED_STATUS[s], s);
    assertEquals(asked, [1, 1, 2, 3, 4]);
    // one round trip for 1 and 2; 3 and 4 each wait for the answer before
    assertEquals(writes, [[1], [1, 2], [3], [4]]);
  }
  const silent = await askRealtimeStatus(scripted({ state: "ok", silentFor: [1, 2, 3, 4] }).link, {
    timeoutMs: 10,
  });
  assertEquals(silent.status, "UNKNOWN");
  assertEquals(
    (await askRealtimeStatus(scripted({ state: "ok", silentFor: [2] }).link, { timeoutMs: 10 }))
      .status,
    "UNKNOWN",
  );
  // no answer to 3: the conversation ends, 4 is not asked (its answer could be 3's, late)
  const { link, asked } = scripted({ state: "paper_out", lateFor: [3] });
  const r = await askRealtimeStatus(link, { timeoutMs: 10 });
  assertEquals(r.status, "PAPER_OUT");
  assertEquals(asked, [1, 2, 3]);
});

Deno.test("a printer that answered all four is asked them in one write; one that stops answering 3 or 4 is never misread", async () => {
  const faults = [
    { silentFor: [3] },
    { silentFor: [4] },
    { silentFor: [3, 4] },
    { lateFor: [3] },
    { lateFor: [4] },
    { lateFor: [3, 4] },
  ];
  const learned = async (s: PrinterState) => {
    const asker = new RealtimeStatusAsker();
    const first = scripted({ state: s });
    assertEquals(
      (await asker.ask(first.link, { timeoutMs: 10, oneWrite: true })).status,
      EXPECTED_STATUS[s],
      s,
    );
    assertEquals(first.writes, [[1, 2], [3], [4]], "the first time, one question at a time");
    assert(asker.together, `${s}: learned`);
    return asker;
  };
  for (const s of STATES) {
    const asker = await learned(s);
    for (let i = 0; i < 3; i++) {
      const again = scripted({ state: s });
      assertEquals(
        (await asker.ask(again.link, { timeoutMs: 10, oneWrite: true })).status,
        EXPECTED_STATUS[s],
        s,
      );
      assertEquals(again.writes, [[1, 2, 3, 4]], `${s}: one round trip`);
    }
    // a question that must not wait for an answer held back (before a job) goes one at a time
    const before = scripted({ state: s });
    assertEquals((await asker.ask(before.link, { timeoutMs: 10 })).status, EXPECTED_STATUS[s], s);
    assertEquals(before.writes, [[1, 2], [3], [4]], `${s}: without oneWrite`);
    assert(asker.together, "still known to answer all four");
    // the printer swapped for one without 3 or 4, or answering late: the third byte could be
    // 3's or 4's, so only 1 and 2 are read (a near-end sensor byte read as an error byte would
    // fail a printer that prints)
    const only12 = decodeRealtimeStatus({ s1: statusAnswer(s, 1), s2: statusAnswer(s, 2) }).status;
    for (const fault of faults) {
      const a = await learned(s);
      const r = await a.ask(scripted({ state: s, ...fault }).link, {
        timeoutMs: 10,
        oneWrite: true,
      });
      assertEquals(r.status, only12, `${s} ${JSON.stringify(fault)}`);
      assert(!a.together, "asked one at a time again");
      const next = scripted({ state: s, ...fault });
      await a.ask(next.link, { timeoutMs: 10, oneWrite: true });
      assertEquals(next.writes[0], [1, 2], `${s} ${JSON.stringify(fault)}: one at a time`);
    }
  }
  // the conversation over a device link (stale byte at open) learns the same way
  const a = new RealtimeStatusAsker();
  for (let i = 0; i < 3; i++) {
    const { link, writes } = scripted({ state: "paper_near_end", stale: [0x5a] });
    const r = await a.ask(link, { timeoutMs: 10, throwaway: true, oneWrite: true });
    assertEquals(r.status, "PAPER_NEAR_END");
    assertEquals(writes, i === 0 ? [[1], [1, 2], [3], [4]] : [[1], [1, 2, 3, 4]]);
  }
});

Deno.test("tcp: an idle probe's question sets no timer; it ends when the printer answers or `until` aborts", async () => {
  using sim = PrinterSim.start();
  const p = new TcpPrinter({ host: "127.0.0.1", port: sim.port, timeoutMs: 50 });
  const realSetTimeout = globalThis.setTimeout;
  let timers = 0;
  globalThis.setTimeout = ((...a: Parameters<typeof setTimeout>) => {
    timers++;
    return realSetTimeout(...a);
  }) as typeof setTimeout;
  try {
    for (const s of STATES) {
      sim.mode = s;
      const r = await p.status({ until: new AbortController().signal });
      assertEquals(r.status, EXPECTED_STATUS[s], s);
    }
  } finally {
    globalThis.setTimeout = realSetTimeout;
  }
  assertEquals(timers, 0, "a timer wakes the process even when cleared");
  // the timed question sets its own
  sim.mode = "ok";
  assertEquals((await p.status()).status, "OK");
  // a printer that never answers: open past the transport's own timeout, until aborted
  sim.mode = "silent";
  const ac = new AbortController();
  let done = false;
  const q = p.status({ until: ac.signal }).finally(() => done = true);
  await new Promise((r) => setTimeout(r, 300));
  assert(!done, "still waiting for the printer");
  ac.abort();
  const r = await q;
  assertEquals(r.status, "UNKNOWN");
  // already given up: no conversation at all
  sim.mode = "ok";
  const gone = await p.status({ until: AbortSignal.abort() });
  assert(gone.status === "OFFLINE" || gone.status === "UNKNOWN", gone.status);
});

/**
 * A real agent, server and TCP printer asked every 0.5 s; `front()` is the printer as the latest
 * heartbeat shows it.
 */
async function probedPrinter(heartbeat_interval: number) {
  const dir = await withTmpDir();
  const server = withServer();
  await new LogCapture().install();
  const sim = PrinterSim.start();
  const c = stationsConfig(dir.path, [
    { id: "front", roles: ["cashier"], transport: "tcp", port: sim.port, status_interval: 0.5 },
  ], { server: { base_url: server.url, heartbeat_interval } });
  const agent = await startAgent(c, { keepLogging: true });
  const front = async () =>
    ((await server.heartbeats())[0]?.printers as
      | { status: string; detail: string; status_since: string }[]
      | undefined)?.[0];
  return {
    server,
    sim,
    front,
    async [Symbol.asyncDispose]() {
      await agent[Symbol.asyncDispose]();
      sim[Symbol.dispose]();
      await server[Symbol.asyncDispose]();
      await dir[Symbol.asyncDispose]();
    },
  };
}

Deno.test("a printer that stops answering the idle probe: UNKNOWN within two rounds, the heartbeat never held", async () => {
  await using probed = await probedPrinter(1);
  const { server, sim, front } = probed;
  await waitFor(async () => (await front())?.status === "OK", "first beat OK");
  const t0 = Date.now();
  sim.mode = "silent";
  await waitFor(async () => (await front())?.status === "UNKNOWN", "UNKNOWN in the heartbeat");
  assert(Date.now() - t0 < 2500, `UNKNOWN after ${Date.now() - t0} ms`);
  const before = (await server.heartbeats()).length;
  await new Promise((r) => setTimeout(r, 3000));
  const beats = (await server.heartbeats()).length - before;
  assert(beats >= 2, `${beats} heartbeats in 3 s at a 1 s interval while the printer is silent`);
  sim.mode = "ok";
  await waitFor(async () => (await front())?.status === "OK", "OK again");
});

Deno.test("each state reaches the heartbeat within 2 s while idle, with the time it began", async () => {
  await using probed = await probedPrinter(30);
  const { sim, front } = probed;
  await waitFor(async () => (await front())?.status === "OK", "first beat OK");
  for (const s of [...STATES.filter((s) => s !== "ok"), "ok"] as PrinterState[]) {
    const t0 = Date.now();
    sim.mode = s;
    const beat = await waitFor(async () => {
      const p = await front();
      return p?.status === EXPECTED_STATUS[s] ? p : null;
    }, `${s} in the heartbeat`);
    const took = Date.now() - t0;
    assert(took < 2000, `${s} reached the server after ${took} ms`);
    const since = Date.parse(beat.status_since);
    assert(since >= t0 - 50 && since <= Date.now(), `${s} since ${beat.status_since}`);
  }
});

Deno.test("tcp: a printer that answers is asked before each job; out of paper it gets nothing", async () => {
  using sim = PrinterSim.start();
  const p = new TcpPrinter({ host: "127.0.0.1", port: sim.port, timeoutMs: 2000 });
  const job = new TextEncoder().encode("\x1b@Struk\n\x1dV\x00");
  const doc = { title: "t", jobId: "1" };
  assertEquals((await p.status()).status, "OK");
  for (const s of STATES.filter((s) => EXPECTED_STATUS[s] !== "OK")) {
    sim.mode = s;
    const before = sim.jobs.length;
    const e = await p.print(job, doc).then(() => null, (e) => e);
    if (s === "paper_near_end") {
      assertEquals(e, null, "a warning: it prints");
      await sim.waitForJobs(before + 1);
      assertEquals(sim.jobs.at(-1)!.bytes, job, "the job's bytes, the questions apart");
    } else {
      assert(e instanceof AgentError, `${s}: ${e}`);
      assertEquals(e.code, statusError(EXPECTED_STATUS[s] as never), s);
      assertMatch(e.message, /not sent/);
      await new Promise((r) => setTimeout(r, 50));
      assertEquals(sim.jobs.length, before, `${s}: nothing reached the printer`);
    }
  }
  // a printer that never answered is not asked (no wait on every job): its jobs just go
  using mute = PrinterSim.start();
  mute.mode = "silent";
  const q = new TcpPrinter({ host: "127.0.0.1", port: mute.port, timeoutMs: 300 });
  assertEquals((await q.status()).status, "UNKNOWN");
  await q.print(job, doc);
  assertEquals((await mute.waitForJobs(1))[0].bytes, job);
});

Deno.test("a ticket whose printer is out of paper prints once on the backup, and the report says why", async () => {
  await using dir = await withTmpDir();
  await using server = withServer();
  const logs = new LogCapture();
  await logs.install();
  using kitchen = PrinterSim.start();
  using bar = PrinterSim.start();
  kitchen.mode = "paper_out";
  const tcp = { transport: "tcp", brand: "GENERIC", paper_width: 32, status_interval: 0.5 };
  const c = stationsConfig(dir.path, [
    { id: "kitchen", roles: ["kitchen"], ...tcp, port: kitchen.port, backup: "bar" },
    { id: "bar", roles: ["bar"], ...tcp, port: bar.port },
  ], { server: { base_url: server.url } });
  await using _agent = await startAgent(c, { keepLogging: true });
  const k = await server.createJob({
    job_type: "kitchen",
    printer_role: "kitchen",
    receipt_data: { table: "9", items: [{ name: "Sate", qty: 1 }] },
  });
  await waitFor(async () => (await server.getJob(k.id)).status === "COMPLETED", "COMPLETED");
  const done = (await server.reports(k.id)).find((x) => x.status === "COMPLETED")!;
  assertEquals(
    [done.body.printed_on, done.body.failover_from, done.body.failover_reason],
    ["bar", "kitchen", "PRINTER_PAPER_OUT"],
  );
  assertEquals(kitchen.jobs.length, 0, "nothing on the printer without paper");
  assertEquals(bar.jobs.length, 1, "once, on the backup");
  assert(logs.find("on the backup printer bar (kitchen: PRINTER_PAPER_OUT)").length === 1);
});

/** A printer whose status channel is found by its first check, as a USB printer behind the spooler. */
class LateChannel extends FakePrinter {
  #found = false;
  constructor(readonly finds: boolean) {
    super();
  }
  get answersStatus(): boolean {
    return this.#found;
  }
  override async status() {
    const r = await super.status();
    await new Promise((res) => setTimeout(res, 20)); // the lookup takes a while (a Worker call)
    this.#found = this.finds;
    return r;
  }
}

Deno.test("a status channel found by the first check is asked every status_interval from then on; a printer without one only with the heartbeat", async () => {
  await using dir = await withTmpDir();
  await using srv = withServer();
  await new LogCapture().install();
  const c = stationsConfig(dir.path, [
    { id: "usb", roles: ["cashier"], transport: "virtual", path: dir.path, status_interval: 0.2 },
    { id: "lan", roles: ["bar"], transport: "virtual", path: dir.path, status_interval: 0.2 },
  ], { server: { base_url: srv.url, heartbeat_interval: 1 } });
  const usb = new LateChannel(true), lan = new LateChannel(false);
  const journal = Journal.open(`${dir.path}/journal.db`);
  const renderer = await Renderer.create(rendererOptions());
  const agent = new Agent({
    config: c,
    journal,
    server: new JobServerClient({
      baseUrl: srv.url,
      token: "",
      authScheme: "Token",
      paths: c.server.paths,
      timeoutMs: 2000,
    }),
    stations: [{ printer: usb, renderer }, { printer: lan, renderer }],
    version: "t",
  });
  try {
    agent.start();
    await new Promise((r) => setTimeout(r, 2500));
  } finally {
    await agent.stop();
    journal.close();
  }
  const asked = (p: FakePrinter) => p.calls.filter((x) => x === "status").length;
  // heartbeats alone: about 3 in 2.5 s; probing every 0.2 s after the first: many more
  assert(asked(usb) >= 6, `the found channel was asked ${asked(usb)} times`);
  assert(asked(lan) <= 4, `the printer without a channel was asked ${asked(lan)} times`);
});
