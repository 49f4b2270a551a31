import { assert, assertEquals, assertMatch } from "./helpers/assert.ts";
import { createServerApp } from "../src/reference_server/app.ts";

function app(o: { token?: string; paginate?: boolean; noLongPoll?: boolean } = {}) {
  const s = createServerApp({ db: ":memory:", ...o });
  const req = (path: string, init: RequestInit & { json?: unknown } = {}) =>
    s.app.request(path, {
      ...init,
      body: init.json !== undefined ? JSON.stringify(init.json) : init.body,
      headers: {
        "content-type": "application/json",
        ...(o.token ? { authorization: `Token ${o.token}` } : {}),
        ...init.headers,
      },
    });
  return { ...s, req, [Symbol.dispose]: s.close };
}
const SEED_JOB = {
  terminal_id: "POS-001",
  job_type: "receipt",
  receipt_data: {
    store_name: "Test Store",
    queue_number: "A001",
    bill_number: "INV-001",
    total: 50000,
  },
};

Deno.test("POST /api/print-jobs/ creates a PENDING job with id and uuid; GET shows it", async () => {
  using s = app();
  const r = await s.req("/api/print-jobs/", { method: "POST", json: SEED_JOB });
  assertEquals(r.status, 201);
  const j = await r.json();
  assertEquals(j.status, "PENDING");
  assertEquals(typeof j.id, "number");
  assert(/^[0-9a-f-]{36}$/.test(j.uuid));
  assertEquals(j.receipt_data.total, 50000);
  const g = await (await s.req(`/api/print-jobs/${j.id}/`)).json();
  assertEquals(g.uuid, j.uuid);
});

Deno.test("the pending list holds PENDING jobs of one terminal, by priority then age", async () => {
  using s = app();
  await s.req("/api/print-jobs/", { method: "POST", json: SEED_JOB });
  await s.req("/api/print-jobs/", { method: "POST", json: { ...SEED_JOB, priority: 5 } });
  await s.req("/api/print-jobs/", {
    method: "POST",
    json: { ...SEED_JOB, terminal_id: "POS-002" },
  });
  const list = await (await s.req("/api/print-jobs/?terminal_id=POS-001&status=PENDING")).json();
  assertEquals(list.map((j: { id: number }) => j.id), [2, 1]);
});

Deno.test("DRF pagination is served when asked", async () => {
  using s = app({ paginate: true });
  await s.req("/api/print-jobs/", { method: "POST", json: SEED_JOB });
  const page = await (await s.req("/api/print-jobs/?terminal_id=POS-001&status=PENDING")).json();
  assertEquals(page.count, 1);
  assertEquals(page.results.length, 1);
});

Deno.test("status reports move a job forward; a final status is final; repeats are accepted", async () => {
  using s = app();
  const j = await (await s.req("/api/print-jobs/", { method: "POST", json: SEED_JOB })).json();
  const post = (b: unknown) =>
    s.req(`/api/print-jobs/${j.id}/status/`, { method: "POST", json: b });
  assertEquals((await post({ status: "FETCHED", attempt: 0, at: "x" })).status, 200);
  assertEquals((await post({ status: "COMPLETED", attempt: 1, at: "x" })).status, 200);
  assertEquals((await post({ status: "COMPLETED", attempt: 1, at: "x" })).status, 200);
  assertEquals((await post({ status: "PRINTING", attempt: 1, at: "x" })).status, 200); // late, ignored
  assertEquals(
    (await post({ status: "FAILED", attempt: 1, error_code: "X", at: "x" })).status,
    409,
  );
  assertEquals((await (await s.req(`/api/print-jobs/${j.id}/`)).json()).status, "COMPLETED");
  assertEquals((await post({ status: "DONE" })).status, 400);
  assertEquals(
    (await s.req(`/api/print-jobs/999/status/`, { method: "POST", json: { status: "FETCHED" } }))
      .status,
    404,
  );
});

Deno.test("FAILED needs an error_code", async () => {
  using s = app();
  const j = await (await s.req("/api/print-jobs/", { method: "POST", json: SEED_JOB })).json();
  const r = await s.req(`/api/print-jobs/${j.id}/status/`, {
    method: "POST",
    json: { status: "FAILED", attempt: 1 },
  });
  assertEquals(r.status, 400);
});

Deno.test("with a token, requests without it or with a wrong one get 401", async () => {
  using s = app({ token: "k1" });
  assertEquals(
    (await s.app.request("/api/print-jobs/?terminal_id=POS-001&status=PENDING")).status,
    401,
  );
  const wrong = await s.app.request("/api/print-jobs/?terminal_id=POS-001&status=PENDING", {
    headers: { authorization: "Token nope" },
  });
  assertEquals(wrong.status, 401);
  assertEquals((await s.req("/api/print-jobs/?terminal_id=POS-001&status=PENDING")).status, 200);
});

Deno.test("a long-poll is answered as soon as a job for the terminal appears", async () => {
  using s = app();
  const t0 = performance.now();
  const waiting = s.req("/api/print-jobs/?terminal_id=POS-001&status=PENDING&wait=10");
  await new Promise((r) => setTimeout(r, 50));
  await s.req("/api/print-jobs/", { method: "POST", json: SEED_JOB });
  const list = await (await waiting).json();
  assertEquals(list.length, 1);
  assert(performance.now() - t0 < 5000, "answered long before the 10 s wait");
});

Deno.test("a long-poll for another terminal is not woken by this terminal's job", async () => {
  using s = app();
  const other = s.req("/api/print-jobs/?terminal_id=POS-009&status=PENDING&wait=1");
  await s.req("/api/print-jobs/", { method: "POST", json: SEED_JOB });
  assertEquals(await (await other).json(), []);
});

Deno.test("bad create bodies get DRF-style 400s", async () => {
  using s = app();
  assertEquals((await s.req("/api/print-jobs/", { method: "POST", body: "{nope" })).status, 400);
  const r = await s.req("/api/print-jobs/", { method: "POST", json: { job_type: "receipt" } });
  assertEquals(r.status, 400);
  assertEquals((await r.json()).terminal_id, "This field is required.");
  const dup = { ...SEED_JOB, uuid: "fixed-1" };
  assertEquals((await s.req("/api/print-jobs/", { method: "POST", json: dup })).status, 201);
  assertEquals((await s.req("/api/print-jobs/", { method: "POST", json: dup })).status, 400);
});

Deno.test("heartbeats are stored and the last one per terminal is listed", async () => {
  using s = app();
  const hb = (n: number) =>
    s.req("/api/print-agents/heartbeat/", { method: "POST", json: { terminal_id: "POS-001", n } });
  assertEquals((await hb(1)).status, 200);
  await hb(2);
  const agents = await (await s.req("/api/print-agents/")).json();
  assertEquals(agents.length, 1);
  assertEquals(agents[0].n, 2);
  assertEquals(
    (await s.req("/api/print-agents/heartbeat/", { method: "POST", json: {} })).status,
    400,
  );
});

Deno.test("deno task server: a bad option is a clear message and exit 2; `--` before the flags works", async () => {
  const main = new URL("../src/reference_server/main.ts", import.meta.url).pathname;
  const run = async (...args: string[]) => {
    const r = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", main, ...args],
      stdout: "piped",
      stderr: "piped",
    }).output();
    return {
      code: r.code,
      out: new TextDecoder().decode(r.stdout),
      err: new TextDecoder().decode(r.stderr),
    };
  };
  const bad = await run("--frobnicate");
  assertEquals(bad.code, 2);
  assertMatch(bad.err, /Unknown option '--frobnicate'[\s\S]*Usage: deno task server/);
  assert(!/at .*\.ts:\d+/.test(bad.err), `no stack trace: ${bad.err}`);
  const port = await run("--port", "99999");
  assertEquals(port.code, 2);
  const help = await run("--", "--help");
  assertEquals(help.code, 0);
  assertMatch(help.out, /--drf/);
});
