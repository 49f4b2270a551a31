/**
 * Trust II against servers that misbehave the way real backends do, over real HTTP on loopback:
 * other agents' jobs in front of ours, Python's NaN and a 9 MB job on a page, a report refused
 * for ever, Retry-After.
 */
import { assert, assertEquals, assertMatch } from "./helpers/assert.ts";
import { LogCapture, testConfig, waitFor, withTmpDir } from "./helpers/env.ts";
import { FakePrinter } from "./helpers/fake_printer.ts";
import { startAgent } from "../src/run.ts";
import { runChecks } from "../src/site/selftest.ts";
import type { Config } from "../src/config.ts";

/** A job of ours, as JSON text (the server writes it; it may hold what JSON does not allow). */
const ours = (id: number, extra = "") =>
  `{"id":${id},"uuid":"ours-${id}","job_type":"receipt","printer_role":"cashier",` +
  `"receipt_data":{"store_name":"Toko","total":1000${extra}}}`;
const kitchen = (id: number) =>
  `{"id":${id},"uuid":"k-${id}","job_type":"kitchen","printer_role":"kitchen",` +
  `"receipt_data":{"items":[]}}`;

interface Scripted {
  url: string;
  reports: { id: string; status: string; code?: string }[];
  lists: number;
  done: Set<string>;
  [Symbol.asyncDispose](): Promise<void>;
}

/**
 * A DRF-style backend: pages of `size` with absolute `next`, jobs listed until a final report
 * arrives (`refuse` ids get 400 for ever), `answer` may replace any answer.
 */
function scripted(
  jobs: () => { id: string; text: string }[],
  o: {
    size?: number;
    refuse?: Set<string>;
    answer?: (r: Request) => Response | null;
    /** django-filter's exact match on `printer_role` (a job without a role never matches). */
    exactRole?: boolean;
  } = {},
): Scripted {
  const s: Omit<Scripted, "url" | typeof Symbol.asyncDispose> = {
    reports: [],
    lists: 0,
    done: new Set(),
  };
  const size = o.size ?? 20;
  const server = Deno.serve({ port: 0, hostname: "127.0.0.1", onListen: () => {} }, async (r) => {
    const u = new URL(r.url);
    const special = o.answer?.(r);
    if (special) return special;
    if (r.method === "GET" && u.pathname === "/api/print-jobs/") {
      s.lists++;
      const page = Number(u.searchParams.get("page") ?? 1);
      const role = u.searchParams.get("printer_role");
      const pending = jobs().filter((j) => !s.done.has(j.id)).filter((j) =>
        !o.exactRole || !role || JSON.parse(j.text).printer_role === role
      );
      const slice = pending.slice((page - 1) * size, page * size);
      const next = page * size < pending.length
        ? JSON.stringify(`${u.origin}${u.pathname}?page=${page + 1}`)
        : "null";
      return new Response(
        `{"count":${pending.length},"next":${next},"previous":null,"results":[${
          slice.map((j) => j.text).join(",")
        }]}`,
        { headers: { "content-type": "application/json" } },
      );
    }
    const m = u.pathname.match(/^\/api\/print-jobs\/([^/]+)\/status\/$/);
    if (m) {
      const body = await r.json();
      const id = decodeURIComponent(m[1]);
      s.reports.push({ id, status: body.status, code: body.error_code });
      if (o.refuse?.has(id)) {
        return Response.json({ status: [`"${body.status}" is not a valid choice.`] }, {
          status: 400,
        });
      }
      if (body.status === "COMPLETED" || body.status === "FAILED") s.done.add(id);
      return Response.json({ ok: true });
    }
    if (u.pathname === "/api/print-agents/heartbeat/") {
      await r.body?.cancel();
      return Response.json({ ok: true });
    }
    return Response.json({ detail: "Not found." }, { status: 404 });
  });
  const port = (server.addr as Deno.NetAddr).port;
  return Object.assign(s, {
    url: `http://127.0.0.1:${port}/api`,
    async [Symbol.asyncDispose]() {
      await server.shutdown();
    },
  });
}

const checkOptions = (config: Config) =>
  ({ config, configError: null, configPath: "(test)", json: false, print: false }) as const;

const final = (s: Scripted, id: string) =>
  s.reports.findLast((r) => r.id === id && (r.status === "COMPLETED" || r.status === "FAILED"));

Deno.test("a job of ours behind 140 jobs for a role nobody here serves is reached, and the others are named once", async () => {
  await using dir = await withTmpDir();
  const logs = new LogCapture();
  await logs.install();
  // a backend that does not filter by role: 140 kitchen jobs first, our receipt on page 8
  const list = [
    ...Array.from({ length: 140 }, (_, i) => ({ id: String(i + 1), text: kitchen(i + 1) })),
    { id: "500", text: ours(500) },
  ];
  await using srv = scripted(() => list);
  const printer = new FakePrinter();
  const config = testConfig(dir.path, { server: { base_url: srv.url, long_poll_wait: 0 } });
  await using _agent = await startAgent(config, { keepLogging: true, printer });
  await waitFor(() => final(srv, "500")?.status === "COMPLETED", "our receipt COMPLETED");
  const lines = logs.find("Leaving alone");
  assertEquals(lines.length, 1, "said once, not every poll");
  assertMatch(lines[0].msg, /kitchen \(\d+\)/);
  assert(srv.reports.every((r) => r.id === "500"), "nothing reported for the kitchen's jobs");
  assertEquals(printer.printed.length, 1);
});

Deno.test("one bad job fails alone: NaN, Infinity, broken JSON and a 9 MB job on one page, the good ones print", async () => {
  await using dir = await withTmpDir();
  const logs = new LogCapture();
  await logs.install();
  const big = `{"id":4,"uuid":"big-4","job_type":"receipt","receipt_data":{"note":"${
    "x".repeat(9 * 1024 * 1024)
  }"}}`;
  const list = [
    { id: "1", text: ours(1) },
    { id: "2", text: ours(2, `,"tax":NaN`) },
    { id: "3", text: ours(3, `,"items":[{"qty":-Infinity}]`) },
    { id: "4", text: big },
    { id: "5", text: `{"id":5,"uuid":"bad-5","job_type":"receipt","receipt_data":{"a":tru}}` },
    { id: "6", text: ours(6) },
  ];
  await using srv = scripted(() => list);
  const printer = new FakePrinter();
  const config = testConfig(dir.path, {
    server: { base_url: srv.url, long_poll_wait: 0 },
    limits: { list_bytes: 8 * 1024 * 1024 }, // the page is over it
  });
  await using _agent = await startAgent(config, { keepLogging: true, printer });
  for (const id of ["1", "2", "3", "4", "5", "6"]) {
    await waitFor(() => final(srv, id), `job ${id} reported`, 20_000);
  }
  assertEquals(final(srv, "1")!.status, "COMPLETED");
  assertEquals(final(srv, "6")!.status, "COMPLETED");
  assertEquals(final(srv, "2")!.code, "BAD_PAYLOAD");
  assertEquals(final(srv, "3")!.code, "BAD_PAYLOAD");
  assertEquals(final(srv, "4")!.code, "JOB_TOO_LARGE");
  assertEquals(final(srv, "5")!.code, "BAD_PAYLOAD");
  assertMatch(logs.find("[JOB 2]").map((l) => l.msg).join("\n"), /receipt_data\.tax is NaN/);
  assertMatch(
    logs.find("[JOB 3]").map((l) => l.msg).join("\n"),
    /receipt_data\.items\[0\]\.qty is -Infinity/,
  );
  assertEquals(printer.printed.length, 2);
});

Deno.test("a report the server refuses for ever is sent again once an hour, not every poll, and counted", async () => {
  await using dir = await withTmpDir();
  const logs = new LogCapture();
  await logs.install();
  // DRF refusing the status value: the job stays listed
  await using srv = scripted(() => [{ id: "7", text: ours(7) }], { refuse: new Set(["7"]) });
  const printer = new FakePrinter();
  const config = testConfig(dir.path, {
    server: { base_url: srv.url, long_poll_wait: 0, poll_interval: 0.1, heartbeat_interval: 0.5 },
  });
  await using agent = await startAgent(config, { keepLogging: true, printer });
  await waitFor(() => srv.reports.some((r) => r.status === "COMPLETED"), "COMPLETED tried");
  const lists = srv.lists;
  await waitFor(() => srv.lists > lists + 30, "30 more polls");
  assertEquals(printer.printed.length, 1, "printed once");
  assertEquals(srv.reports.filter((r) => r.status === "COMPLETED").length, 1, "sent once");
  assert(logs.find("REPORT_REFUSED").length <= 3, "a handful of lines, not one per poll");
  assert(
    logs.lines.filter((l) => l.code === "REPORT_REFUSED").length <= 3,
    logs.lines.filter((l) => l.code === "REPORT_REFUSED").map((l) => l.msg).join("\n"),
  );
  assert(logs.find("re-sending COMPLETED").length <= 1);
  assert(agent.snapshot().reports_refused >= 1, "counted in the snapshot (heartbeat, /status)");
});

Deno.test("Retry-After on 429 and 503 is honoured, bounded, and said once", async (t) => {
  for (const status of [429, 503]) {
    await t.step(`HTTP ${status}`, async () => {
      await using dir = await withTmpDir();
      const logs = new LogCapture();
      await logs.install();
      let asked = 0;
      const lists: number[] = [];
      await using srv = scripted(() => [], {
        answer: (r) => {
          if (r.method !== "GET") return null;
          lists.push(Date.now());
          if (asked++ >= 1) return null;
          return new Response("busy", { status, headers: { "retry-after": "2" } });
        },
      });
      const config = testConfig(dir.path, {
        server: { base_url: srv.url, long_poll_wait: 0, poll_interval: 0.1 },
      });
      await using _agent = await startAgent(config, {
        keepLogging: true,
        printer: new FakePrinter(),
      });
      await waitFor(() => lists.length >= 3, "polling resumes");
      assert(lists[1] - lists[0] >= 1_900, `waited ${lists[1] - lists[0]} ms, asked 2 s`);
      assertEquals(logs.find("Retry-After").length, 1);
    });
  }
});

Deno.test("the selftest names jobs left for roles no printer serves, and a role filter that hides role-less jobs", async () => {
  await using dir = await withTmpDir();
  await new LogCapture().install();
  // a stock django-filter backend: printer_role matched exactly, role-less jobs hidden by it
  const roleless = `{"id":9,"uuid":"nr-9","job_type":"receipt","receipt_data":{"total":1}}`;
  const list = [
    { id: "1", text: kitchen(1) },
    { id: "2", text: kitchen(2) },
    { id: "9", text: roleless },
  ];
  await using srv = scripted(() => list, { exactRole: true });
  const config = testConfig(dir.path, { server: { base_url: srv.url, long_poll_wait: 0 } });
  const checks = await runChecks(checkOptions(config));
  const hides = checks.find((x) => x.code === "SERVER_ROLE_FILTER_HIDES");
  assert(hides, JSON.stringify(checks.map((x) => [x.code, x.detail])));
  assertMatch(hides.detail, /hides 1 pending job\(s\) created without a printer role \(ids 9\)/);
  // the same backend listing every role: the kitchen's jobs are named, nothing is hidden
  await using open = scripted(() => list);
  const c2 = testConfig(dir.path, { server: { base_url: open.url, long_poll_wait: 0 } });
  const again = await runChecks(checkOptions(c2));
  assertMatch(
    again.find((x) => x.code === "SERVER_JOBS_LEFT_ALONE")?.detail ?? "",
    /2 pending job\(s\) for this terminal are for printer roles no printer here serves \(kitchen 2\)/,
  );
  assert(!again.some((x) => x.code === "SERVER_ROLE_FILTER_HIDES"));
});
