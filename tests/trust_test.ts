/**
 * Trust II: the faults outside checks found, each tested as a class (every control character,
 * every lasting command, every clock skew), with the real journal and renderer and a fake clock.
 */
import { assert, assertEquals, assertMatch } from "./helpers/assert.ts";
import { LogCapture, testConfig, withTmpDir } from "./helpers/env.ts";
import { FakePrinter } from "./helpers/fake_printer.ts";
import { FakeClock } from "./helpers/fake_clock.ts";
import { loopless } from "./helpers/agent.ts";
import { rendererOptions } from "./helpers/receipts.ts";
import { Journal } from "../src/store/journal.ts";
import { Renderer } from "../src/render/render.ts";
import type { Job } from "../src/core/job.ts";
import { validateJob } from "../src/core/job.ts";
import { escapeLogText, formatLine } from "../src/log.ts";
import { readPaper } from "../src/render/paper.ts";
import { escapeXml, paperSvg } from "../src/render/preview_svg.ts";
import { LASTING_COMMANDS } from "../src/render/raw_policy.ts";
import { AgentError } from "../src/errors.ts";
import { parseServerTime, ServerClock } from "../src/server/server_time.ts";
import type { LogRecord } from "@logtape/logtape";
import { join } from "node:path";

const T0 = Date.parse("2026-12-01T09:00:00Z");

function renderer(rawAllow: string[] = []) {
  return Renderer.create(rendererOptions({ rawAllow }));
}

async function setup(dir: string, over: Record<string, Record<string, unknown>> = {}) {
  const config = testConfig(dir, over);
  const clock = new FakeClock(T0);
  const printer = new FakePrinter();
  const journal = Journal.open(join(dir, "journal.db"));
  const r = await renderer(config.jobs.raw_allow);
  const { agent, print, stop } = loopless(config, journal, printer, r, clock);
  return { agent, clock, printer, journal, print, stop, [Symbol.dispose]: () => journal.close() };
}

const receipt = (n: number, over: Partial<Job> = {}): Job => ({
  id: n,
  uuid: `u-${n}`,
  job_type: "receipt",
  priority: 0,
  created_at: new Date(T0 - 1000).toISOString(),
  receipt_data: { store_name: "S", total: 1 },
  ...over,
});

/** A server's Date header `offsetMs` from the fake clock's now (whole seconds, as HTTP has). */
const dateHeader = (clock: FakeClock, offsetMs: number) =>
  new Date(clock.now() + offsetMs).toUTCString();

Deno.test("after a journal reset a job is printed only if surely made after it, judged in the server's clock", async (t) => {
  // the server's clock from 15 minutes behind to 15 minutes ahead; each job made 30 s before or
  // 30 s after the reset by the server's own clock; and dates that cannot be read
  for (const skewMin of [-15, -10, -1, 0, 1, 10, 15]) {
    await t.step(`server clock ${skewMin} min`, async () => {
      await using dir = await withTmpDir();
      using s = await setup(dir.path);
      await new LogCapture().install();
      const skew = skewMin * 60_000;
      s.journal.setMeta("reset_at", new Date(T0).toISOString());
      await s.clock.advance(60_000); // the reset was a minute ago (terminal clock)
      s.agent.serverClock.observe(dateHeader(s.clock, skew), s.clock.now(), s.clock.now());
      const serverReset = T0 + skew;
      const cases: [Job, boolean][] = [
        [receipt(1, { created_at: new Date(serverReset - 30_000).toISOString() }), false],
        [receipt(2, { created_at: new Date(serverReset + 30_000).toISOString() }), true],
        [receipt(3, { created_at: "yesterday" }), false],
        [receipt(4, { created_at: null }), false],
        [receipt(5, { created_at: "2026-13-45T99:99:99Z" }), false],
      ];
      for (const [job, prints] of cases) {
        s.agent.accept(job);
        await s.print(job);
        const e = s.journal.get(job.uuid)!;
        assertEquals(
          e.state,
          prints ? "PRINTED" : "FAILED",
          `${job.created_at}: ${e.error_message}`,
        );
        if (!prints) assertEquals(e.error_code, "JOURNAL_RESET_MAY_HAVE_PRINTED");
      }
    });
  }
});

Deno.test("after a journal reset, a run that has not heard the server yet judges by the line an earlier run's clock gave", async (t) => {
  // the earlier run heard the server with each doubt below (a long poll's round trip): the line
  // it kept serves the next run until that one hears the server itself
  for (const doubtS of [0, 1, 5, 16, 60]) {
    for (const skewMin of [-10, 0, 10]) {
      await t.step(`doubt ${doubtS} s, server clock ${skewMin} min`, async () => {
        await using dir = await withTmpDir();
        await new LogCapture().install();
        const skew = skewMin * 60_000;
        {
          using s = await setup(dir.path);
          s.journal.setMeta("reset_at", new Date(T0).toISOString());
          await s.clock.advance(30_000);
          const sent = s.clock.now();
          await s.clock.advance(doubtS * 1000);
          s.agent.serverClock.observe(dateHeader(s.clock, skew), sent, s.clock.now());
          s.agent.ledger.resetLine(s.agent.serverClock);
        }
        using s = await setup(dir.path); // the next run: no answer yet
        await s.clock.advance(90_000);
        assert(!s.agent.serverClock.known);
        const serverReset = T0 + skew;
        // made after the reset by more than the earlier run's doubt, and before it
        const after = receipt(1, {
          created_at: new Date(serverReset + doubtS * 1000 + 2_000).toISOString(),
        });
        const before = receipt(2, { created_at: new Date(serverReset - 1_000).toISOString() });
        for (const job of [after, before]) {
          s.agent.accept(job);
          await s.print(job);
        }
        assertEquals(
          s.journal.get("u-1")!.state,
          "PRINTED",
          `${s.journal.get("u-1")!.error_message}`,
        );
        assertEquals(s.journal.get("u-2")!.error_code, "JOURNAL_RESET_MAY_HAVE_PRINTED");
      });
    }
  }
});

Deno.test("a cash drawer kick opens only when fresh in the server's clock: not dated in the future, not unreadable", async (t) => {
  for (const skewMin of [-10, 0, 10]) {
    await t.step(`server clock ${skewMin} min`, async () => {
      await using dir = await withTmpDir();
      using s = await setup(dir.path);
      await new LogCapture().install();
      const skew = skewMin * 60_000;
      s.agent.serverClock.observe(dateHeader(s.clock, skew), s.clock.now(), s.clock.now());
      const at = (ms: number) => new Date(T0 + skew + ms).toISOString();
      const cases: [string | null, boolean][] = [
        [at(-2_000), true], // 2 s old by the server's clock
        [at(-60_000), false], // a minute old
        ["2099-01-01T00:00:00Z", false], // the future
        [at(60_000), false], // a minute ahead of the server's clock
        ["soon", false],
        [null, false],
      ];
      let n = 0;
      for (const [created_at, opens] of cases) {
        const job: Job = { id: ++n, uuid: `d-${n}`, job_type: "drawer", priority: 5, created_at };
        s.agent.accept(job);
        await s.print(job);
        const e = s.journal.get(job.uuid)!;
        assertEquals(e.state, opens ? "PRINTED" : "FAILED", `${created_at}: ${e.error_message}`);
        if (!opens) assertEquals(e.error_code, "EXPIRED");
      }
      assertEquals(s.printer.printed.length, 1, "one kick only");
    });
  }
});

Deno.test("jobs' ages are judged in the server's clock: a skewed server neither expires nor revives them", async () => {
  await using dir = await withTmpDir();
  using s = await setup(dir.path, { jobs: { max_age_seconds: 600 } });
  await new LogCapture().install();
  // the server is 30 minutes ahead: a job it made just now is not 30 minutes in the future
  s.agent.serverClock.observe(dateHeader(s.clock, 1_800_000), s.clock.now(), s.clock.now());
  const fresh = receipt(1, { created_at: new Date(T0 + 1_800_000 - 5_000).toISOString() });
  const old = receipt(2, { created_at: new Date(T0 + 1_800_000 - 700_000).toISOString() });
  for (const j of [fresh, old]) {
    s.agent.accept(j);
    await s.print(j);
  }
  assertEquals(s.journal.get("u-1")!.state, "PRINTED");
  assertEquals(s.journal.get("u-2")!.error_code, "EXPIRED");
});

Deno.test("created_at without a time zone is read in server.naive_time_zone, and the log says which", async () => {
  // 09:00 naive from a server writing UTC, read by a terminal whatever its own zone
  assertEquals(parseServerTime("2026-12-01T09:00:00", "UTC"), Date.parse("2026-12-01T09:00:00Z"));
  assertEquals(
    parseServerTime("2026-12-01 16:00:00", "+07:00"),
    Date.parse("2026-12-01T09:00:00Z"),
  );
  assertEquals(
    parseServerTime("2026-12-01T09:00:00+07:00", "UTC"),
    Date.parse("2026-12-01T02:00Z"),
  );
  for (const bad of ["yesterday", "", "12/01/2026", "2026-12-01T25", "1733040000"]) {
    assert(isNaN(parseServerTime(bad, "UTC")), bad);
  }
  await using dir = await withTmpDir();
  using s = await setup(dir.path, {
    server: { naive_time_zone: "UTC" },
    jobs: { max_age_seconds: 600 },
  });
  const logs = new LogCapture();
  await logs.install();
  const naive = new Date(T0 - 5_000).toISOString().slice(0, 19); // UTC, zone dropped
  const job = receipt(1, { created_at: naive });
  s.agent.accept(job);
  await s.print(job);
  assertEquals(s.journal.get("u-1")!.state, "PRINTED", "not 7 hours old on a UTC+7 terminal");
  assertEquals(logs.find("read as UTC (server.naive_time_zone)").length, 1);
});

Deno.test("the server's clock is bounded by every answer: a few polls narrow it to the round trip", () => {
  const c = new ServerClock();
  assertEquals(c.known, false);
  const truth = 123_456; // server minus terminal, ms
  for (let k = 0; k < 20; k++) {
    const sent = T0 + k * 2_037; // polls at sub-second phases
    const serverAt = sent + 5 + truth;
    c.observe(new Date(serverAt).toUTCString(), sent, sent + 10);
  }
  assert(Math.abs(c.offsetMs - truth) <= 60, `offset ${c.offsetMs}`);
  assert(c.latestAt(T0) >= T0 + truth, "never earlier than the truth");
  // the server's clock was set: the bounds start again
  c.observe(new Date(T0 + 100_000 - 3_600_000).toUTCString(), T0 + 100_000, T0 + 100_010);
  assert(Math.abs(c.offsetMs + 3_600_000) < 1_100, `after a jump: ${c.offsetMs}`);
});

Deno.test("ids a URL path would change ('.', '..') are never printed and logged once an hour", async () => {
  await using dir = await withTmpDir();
  using s = await setup(dir.path);
  const logs = new LogCapture();
  await logs.install();
  for (const id of [".", "..", ".", ".."]) {
    const r = s.agent.accept({ ...receipt(0), id, uuid: `dot-${id.length}` });
    assertEquals(r.outcome, "rejected");
  }
  assertEquals(s.agent.snapshot().queue_depth, 0);
  assertEquals(logs.find("cannot be put in the status URL unchanged").length, 2);
  // the neighbours of the class print: ids with dots that a path keeps
  for (const id of ["...", ".a", "a.", "1.5", "%2e", "a/b"]) {
    assert("job" in validateJob({ ...receipt(0), id }), id);
  }
});

function record(msg: string, code?: string): LogRecord {
  return {
    category: ["print-agent"],
    level: "error",
    message: [msg],
    rawMessage: "{msg}",
    timestamp: T0,
    properties: { msg, ...(code ? { code } : {}) },
  } as unknown as LogRecord;
}

Deno.test("every log line is one line: no character from outside starts another or drives the terminal", () => {
  // the whole class: every code point that is a control, a line or paragraph separator, or a
  // bidirectional override, anywhere in a message or a code
  // deno-lint-ignore no-control-regex -- the control characters are the class under test
  const unsafe = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069\ufeff]/;
  for (let cp = 0; cp <= 0x10ffff; cp++) {
    if (cp >= 0xd800 && cp <= 0xdfff) continue;
    const ch = String.fromCodePoint(cp);
    const out = escapeLogText(`a${ch}b`);
    if (unsafe.test(ch)) {
      assert(!unsafe.test(out), `U+${cp.toString(16)} is escaped`);
    } else if (out !== `a${ch}b`) {
      throw new Error(`U+${cp.toString(16)} is changed though it is safe`);
    }
  }
  const forged =
    "L1\n2026-12-01 09:00:00 | INFO     | [JOB 7] [OK] Printed 120 bytes\r\n\x1b]0;x\x07";
  const line = formatLine(record(`[JOB ${forged}] Received: receipt`, "BAD\nCODE"));
  assertEquals(line.split("\n").length, 2, "one line and its newline");
  // deno-lint-ignore no-control-regex -- none may reach the line
  assert(!/[\r\x1b\x07]/.test(line), line);
  assertMatch(line, /\[JOB L1\\n2026-12-01 09:00:00 \| INFO {5}\| \[JOB 7\]/);
  assertMatch(line, /\(code=BAD\\nCODE\)\n$/);
});

Deno.test("the paper picture of any bytes is a valid SVG document: job bytes are drawn, never markup", () => {
  // barcode data and text holding every byte value
  const paper = { escT: { 0: "cp437" }, width: 576 };
  const xmlOk = /^[\t\n\r\u0020-\ud7ff\ue000-\ufffd\u{10000}-\u{10ffff}]*$/u;
  for (let b = 0; b < 256; b++) {
    const data = [0x7b, 0x42, 0x41, b, 0x42];
    const bytes = new Uint8Array([
      ...[0x1d, 0x6b, 73, data.length, ...data],
      ...[0x1d, 0x6b, 69, 3, 0x41, b, 0x42], // CODE39 too
      ...[0x41, b, 0x0a],
    ]);
    const svg = paperSvg(readPaper(bytes, paper));
    assert(xmlOk.test(svg), `byte 0x${b.toString(16)}: characters XML does not allow`);
    assert(!/<(?!\/?(svg|rect|g|text|path|line)\b)/.test(svg), `byte 0x${b.toString(16)}: markup`);
  }
  assertEquals(escapeXml("a\x01<b>&\ud800"), "a\u2401&lt;b&gt;&amp;\ufffd");
});

Deno.test("a raw job that would change the printer for good is refused naming the command; raw_allow opens it", async (t) => {
  const r = await renderer();
  const raw = (bytes: number[]): Job => ({
    id: 9,
    uuid: "raw-9",
    job_type: "raw",
    priority: 0,
    raw_base64: btoa(
      String.fromCharCode(
        0x1b,
        0x40,
        ...new TextEncoder().encode("TOTAL 10\n"),
        ...bytes,
        0x1d,
        0x56,
        0x00,
      ),
    ),
  });
  const lasting: Record<keyof typeof LASTING_COMMANDS, number[]> = {
    power_off: [0x10, 0x14, 0x02, 0x01, 0x08],
    memory_switch: [0x1d, 0x28, 0x45, 0x03, 0x00, 0x03, 0x01, 0x00],
    nv_image: [0x1c, 0x71, 0x01, 0x01, 0x00, 0x01, 0x00, ...new Array(8).fill(0xff)],
    nv_graphics: [0x1d, 0x28, 0x4c, 0x04, 0x00, 0x30, 0x43, 0x30, 0x20],
    nv_memory: [0x1c, 0x67, 0x31, 0x00, 0, 0, 0, 0, 0x02, 0x00, 0x41, 0x42],
    nv_settings: [0x1d, 0x28, 0x4d, 0x02, 0x00, 0x01, 0x01],
  };
  for (const [name, bytes] of Object.entries(lasting)) {
    await t.step(name, async () => {
      const e = await r.render(raw(bytes)).catch((e) => e);
      assert(e instanceof AgentError, `${name} refused`);
      assertEquals(e.code, "RAW_COMMAND_REFUSED");
      assertMatch(e.message, new RegExp(`jobs\\.raw_allow: "${name}"`));
      // after a command the reader does not know, the same bytes are still found
      const hidden = await r.render(raw([0x1d, 0x99, 0x01, ...bytes])).catch((e) => e);
      assertEquals(hidden?.code, "RAW_COMMAND_REFUSED", `${name} after an unknown command`);
      const allowed = await (await renderer([name])).render(raw(bytes));
      assert(allowed.bytes.length > 0, `${name} allowed`);
    });
  }
  await t.step("a picture whose data looks like a command is not a command", async () => {
    const w = 2, h = 4; // GS v 0 with bytes that spell FS q and DLE DC4 2 inside
    const image = [0x1d, 0x76, 0x30, 0, w, 0, h, 0, 0x1c, 0x71, 0x10, 0x14, 0x02, 0x01, 0x1d, 0x28];
    const out = await r.render(raw(image));
    assert(out.bytes.length > image.length);
  });
});

Deno.test("a raw job's drawer kick follows the drawer rules: a copy or a stale job prints without it", async () => {
  await using dir = await withTmpDir();
  using s = await setup(dir.path);
  await new LogCapture().install();
  s.agent.serverClock.observe(dateHeader(s.clock, 0), s.clock.now(), s.clock.now());
  const kicks = [[0x1b, 0x70, 0x00, 0x19, 0xfa], [0x10, 0x14, 0x01, 0x00, 0x05]];
  const raw = (n: number, created: string | null, over: Partial<Job> = {}): Job => ({
    id: n,
    uuid: `k-${n}`,
    job_type: "raw",
    priority: 0,
    created_at: created,
    raw_base64: btoa(String.fromCharCode(...kicks.flat(), 0x41, 0x0a)),
    ...over,
  });
  const fresh = new Date(T0 - 2_000).toISOString();
  const cases: [Job, boolean][] = [
    [raw(1, fresh), true],
    [raw(2, new Date(T0 - 120_000).toISOString()), false],
    [raw(3, fresh, { reprint_of: 1 }), false],
    [raw(4, null), false],
    [raw(5, "2099-01-01T00:00:00Z"), false],
  ];
  for (const [job] of cases) {
    s.agent.accept(job);
    await s.print(job);
  }
  const printed = s.printer.printed.map((p) => p.data);
  assertEquals(printed.length, cases.length, "every job prints");
  cases.forEach(([job, kick], i) => {
    const has = readPaper(printed[i], { escT: { 0: "cp437" }, width: 576 }).rows
      .filter((r) => r.kind === "pulse").length;
    assertEquals(has, kick ? 2 : 0, `${job.uuid}: drawer ${kick ? "opens" : "stays shut"}`);
  });
});
