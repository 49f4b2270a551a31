/**
 * No job can jam the agent (issue: a 5 MB field froze it, an id-less job at the head of the list
 * made it re-poll 22 times a second, a page-2 job waited forever, a reused uuid stayed PENDING,
 * 10,000 jobs held up reports and SIGTERM, one refused report blocked every other). Each class
 * end to end over loopback against the reference server or a server written here.
 */
import { assert, assertEquals, assertMatch } from "./helpers/assert.ts";
import {
  LogCapture,
  serverSection,
  testConfig,
  waitFor,
  withServer,
  withTmpDir,
} from "./helpers/env.ts";
import { FakePrinter } from "./helpers/fake_printer.ts";
import { startAgent, stopAgent } from "../src/run.ts";
import { createServerApp } from "../src/reference_server/app.ts";
import { join } from "node:path";
import { V8_FLAGS } from "../src/version.ts";

const MAIN = new URL("../src/main.ts", import.meta.url).pathname;

const RECEIPT = { job_type: "receipt", receipt_data: { store_name: "Toko", total: 1000 } };

/** Resident memory of a process in MB (Linux /proc), or 0 when it cannot be read. */
async function rssMB(pid: number): Promise<number> {
  try {
    const m = (await Deno.readTextFile(`/proc/${pid}/status`)).match(/VmRSS:\s+(\d+) kB/);
    return m ? Number(m[1]) / 1024 : 0;
  } catch {
    return 0;
  }
}

Deno.test("a 5 MB text field fails at once with JOB_TOO_LARGE naming field and limit; the job behind it prints", async () => {
  await using dir = await withTmpDir();
  await using server = withServer();
  // the agent as its own process, as on a terminal, so its memory is measured alone
  const config = join(dir.path, "print_agent_config.json");
  await Deno.writeTextFile(
    config,
    JSON.stringify({
      terminal_identity: { terminal_id: "POS-001" },
      server: { base_url: server.url, poll_interval: 0.2, heartbeat_interval: 0.5 },
      printer: { transport: "virtual", path: "out", brand: "GENERIC", paper_width: 32 },
      logging: { log_file: "agent.log" },
      local_api: { enabled: false },
    }),
  );
  const big = await server.createJob({
    ...RECEIPT,
    receipt_data: { ...RECEIPT.receipt_data, note: "catatan ".repeat(655_360) }, // 5 MB
  });
  const next = await server.createJob(RECEIPT);
  const agent = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", `--v8-flags=${V8_FLAGS}`, MAIN, "--config", config],
    stdout: "null",
    stderr: "null",
  }).spawn();
  let maxRss = 0;
  const sampling = setInterval(async () => maxRss = Math.max(maxRss, await rssMB(agent.pid)), 100);
  try {
    const done = await waitFor(async () => {
      const j = await server.getJob(big.id);
      return j.status === "FAILED" ? j : null;
    }, "the big job FAILED");
    assertEquals(done.error_code, "JOB_TOO_LARGE");
    assertMatch(
      String(done.error_message),
      /bytes of JSON, most of them in receipt_data\.note; at most \d+ \(limits\.job_bytes\)/,
    );
    await waitFor(async () => (await server.getJob(next.id)).status === "COMPLETED", "next job");
    const beats = (await server.heartbeats()).length;
    await waitFor(async () => (await server.heartbeats()).length > beats + 2, "heartbeats go on");
  } finally {
    clearInterval(sampling);
    agent.kill("SIGTERM");
    await agent.status;
  }
  assert(maxRss > 0 && maxRss < 300, `agent RSS peaked at ${maxRss.toFixed(0)} MB`);
});

Deno.test("a job with no id at the head of a page: logged once, skipped, the page-2 job prints, polling keeps its pace", async () => {
  await using dir = await withTmpDir();
  const logs = new LogCapture();
  await logs.install();
  let lists = 0;
  let done = false;
  const reports: string[] = [];
  const noId = (n: number) => ({ uuid: `no-id-${n}`, job_type: "receipt", receipt_data: {} });
  await using srv = Deno.serve(
    { port: 0, hostname: "127.0.0.1", onListen: () => {} },
    async (r) => {
      const u = new URL(r.url);
      if (r.method === "GET" && u.pathname === "/api/print-jobs/") {
        if (u.searchParams.get("page") === "2") {
          return Response.json({
            count: 4,
            next: null,
            results: done ? [] : [{ id: 7, uuid: "u-7", ...RECEIPT }],
          });
        }
        lists++;
        const next = new URL(u);
        next.searchParams.set("page", "2");
        return Response.json({ count: 4, next: next.href, results: [1, 2, 3].map(noId) });
      }
      if (r.method === "POST" && u.pathname === "/api/print-jobs/7/status/") {
        const b = await r.json();
        reports.push(b.status);
        if (b.status === "COMPLETED") done = true;
        return Response.json({ ok: true });
      }
      if (r.method === "POST") return Response.json({ ok: true });
      return Response.json({ detail: "Not found." }, { status: 404 });
    },
  );
  const printer = new FakePrinter();
  const config = testConfig(dir.path, {
    server: { base_url: `http://127.0.0.1:${srv.addr.port}/api`, poll_interval: 0.5 },
  });
  await using _agent = await startAgent(config, { keepLogging: true, printer });
  await waitFor(() => done, "the page-2 job COMPLETED");
  const before = lists;
  await new Promise((r) => setTimeout(r, 3000));
  const polls = lists - before;
  assert(polls <= 8, `${polls} list requests in 3 s with poll_interval 0.5 s`);
  assertEquals(reports, ["FETCHED", "PRINTING", "COMPLETED"]);
  assertEquals(logs.find("without a usable id").length, 3, "one line per job, not per poll");
});

Deno.test("one uuid under two ids: the second id is reported FAILED DUPLICATE_UUID naming the first, never printed", async () => {
  await using dir = await withTmpDir();
  await using server = withServer({ allowDuplicateUuid: true });
  await new LogCapture().install();
  const printer = new FakePrinter();
  const config = testConfig(dir.path, { server: { base_url: server.url } });
  await using agent = await startAgent(config, { keepLogging: true, printer });
  const a = await server.createJob({ ...RECEIPT, uuid: "same-uuid" });
  await waitFor(async () => (await server.getJob(a.id)).status === "COMPLETED", "first");
  const b = await server.createJob({
    ...RECEIPT,
    uuid: "same-uuid",
    receipt_data: { store_name: "Other", total: 2 },
  });
  const failed = await waitFor(async () => {
    const j = await server.getJob(b.id);
    return j.status === "FAILED" ? j : null;
  }, "second id FAILED");
  assertEquals(failed.error_code, "DUPLICATE_UUID");
  assertMatch(String(failed.error_message), new RegExp(`job ${a.id}\\b`));
  // every report delivered: nothing more can reach the first id
  await waitFor(() => agent.snapshot().outbox_depth === 0, "the outbox empty");
  assertEquals((await server.reports(a.id)).map((r) => r.status), [
    "FETCHED",
    "PRINTING",
    "COMPLETED",
  ]);
  assertEquals(printer.printed.length, 1);
});

Deno.test("a report the server never accepts holds back only its own job, is dropped after report_expiry_hours, and its age is in the heartbeat", async () => {
  await using dir = await withTmpDir();
  const logs = new LogCapture();
  await logs.install();
  const { app, close } = createServerApp({ db: ":memory:" });
  let stuck = -1;
  await using srv = Deno.serve({ port: 0, hostname: "127.0.0.1", onListen: () => {} }, (r) => {
    if (r.method === "POST" && new URL(r.url).pathname === `/api/print-jobs/${stuck}/status/`) {
      return new Response("<h1>Server Error (500)</h1>", { status: 500 });
    }
    return app.fetch(r);
  });
  const url = `http://127.0.0.1:${srv.addr.port}/api`;
  const create = async () =>
    await (await fetch(`${url}/print-jobs/`, {
      method: "POST",
      body: JSON.stringify({ terminal_id: "POS-001", ...RECEIPT }),
    })).json();
  const job = async (id: number) => await (await fetch(`${url}/print-jobs/${id}/`)).json();
  const printer = new FakePrinter();
  const config = testConfig(dir.path, {
    server: { base_url: url, heartbeat_interval: 0.3, report_expiry_hours: 0.001 }, // 3.6 s
  });
  const agent = await startAgent(config, { keepLogging: true, printer });
  try {
    const x = await create();
    stuck = x.id;
    await waitFor(() => printer.printed.length === 1, "x printed");
    const y = await create();
    await waitFor(async () => (await job(y.id)).status === "COMPLETED", "y COMPLETED meanwhile");
    assertEquals((await job(x.id)).status, "PENDING");
    await waitFor(async () => {
      const hb = await (await fetch(`${url}/print-agents/heartbeats/`)).json();
      return hb[0]?.oldest_report_age_seconds >= 1;
    }, "the heartbeat shows the undelivered report's age");
    await waitFor(
      () =>
        logs.lines.some((l) => l.code === "REPORT_UNDELIVERED" && l.msg.includes(`JOB ${x.id}`)),
      "x's report dropped with an ERROR line",
    );
    assertEquals(printer.printed.length, 2, "x printed once, y once");
  } finally {
    await stopAgent(agent);
    close();
  }
});

Deno.test("a stock DRF backend by configuration: PATCH, pages of 3 with absolute next, APPEND_SLASH; a path without the slash is named", async (t) => {
  await using dir = await withTmpDir();
  await using server = withServer({ drf: true, pageSize: 3 });
  const logs = new LogCapture();
  await logs.install();
  const printer = new FakePrinter();
  await t.step("ten jobs over four pages all print, each reported by PATCH", async () => {
    const config = testConfig(dir.path, { server: serverSection("drf", server.url) });
    await using _agent = await startAgent(config, { keepLogging: true, printer });
    const jobs = [];
    for (let i = 0; i < 10; i++) jobs.push(await server.createJob(RECEIPT));
    for (const j of jobs) {
      await waitFor(async () => (await server.getJob(j.id)).status === "COMPLETED", `${j.id}`);
    }
    assertEquals(printer.printed.length, 10);
    assertEquals((await server.reports(jobs[9].id)).map((r) => r.status), [
      "FETCHED",
      "PRINTING",
      "COMPLETED",
    ]);
  });
  await t.step(
    "paths.status without its trailing slash: the 301 is not followed, and the path named",
    async () => {
      const config = testConfig(dir.path, {
        server: {
          ...serverSection("drf", server.url),
          paths: {
            jobs: "/print-jobs",
            status: "/print-jobs/{id}",
            heartbeat: "/print-agents/heartbeat/",
          },
        },
      });
      await using _agent = await startAgent(config, { keepLogging: true, printer });
      await server.createJob(RECEIPT); // the GET is redirected and works; the PATCH cannot be
      await waitFor(
        () => logs.find(/HTTP 301 redirect .*set server\.paths .*\/print-jobs\/\d+\//).length > 0,
        "hint",
      );
    },
  );
});
