/**
 * The local API, in process through Hono's `app.request`: every endpoint, and every refusal.
 */
import { assert, assertEquals, assertMatch } from "./helpers/assert.ts";
import { testConfig, waitFor, withTmpDir } from "./helpers/env.ts";
import { FakePrinter } from "./helpers/fake_printer.ts";
import { startAgent, stopAgent } from "../src/run.ts";
import { createLocalApi } from "../src/api/local_api.ts";
import parsePrometheusTextFormat from "parse-prometheus-text-format";
import { TYPICAL_RECEIPT } from "./helpers/receipts.ts";

const TOKEN = "s3cret-local";

async function setup(dir: string, token = TOKEN) {
  const printer = new FakePrinter();
  // the server is unreachable on purpose: the local API works without it
  const config = testConfig(dir, {
    server: { base_url: "http://127.0.0.1:9/api", poll_interval: 5 },
  });
  const agent = await startAgent(config, { keepLogging: true, printer });
  const app = createLocalApi(agent, { host: "127.0.0.1", port: 8787, token, maxBody: 64 * 1024 });
  const req = async (path: string, init: RequestInit = {}): Promise<Response> =>
    await app.request(`http://127.0.0.1:8787${path}`, {
      ...init,
      headers: { host: "127.0.0.1:8787", ...(init.headers as Record<string, string> ?? {}) },
    });
  const auth = { authorization: `Bearer ${token}`, "content-type": "application/json" };
  return {
    agent,
    app,
    req,
    auth,
    printer,
    async [Symbol.asyncDispose]() {
      await stopAgent(agent);
    },
  };
}

const job = (uuid: string) => ({
  uuid,
  job_type: "receipt",
  receipt_data: { ...TYPICAL_RECEIPT, bill_number: uuid },
});

Deno.test("GET /health, /status and / answer on loopback", async () => {
  await using dir = await withTmpDir();
  await using s = await setup(dir.path);
  assertEquals((await (await s.req("/health")).json()).ok, true);
  const st = await (await s.req("/status")).json();
  assertEquals(st.terminal_id, "POS-001");
  assertEquals(typeof st.outbox_depth, "number");
  assertEquals(st.server.reachable !== undefined, true);
  const page = await (await s.req("/")).text();
  assertMatch(page, /<h1>Print Agent — POS-001<\/h1>/);
  assertMatch(page, /Print test page/);
});

Deno.test("POST /print prints once per UUID (or Idempotency-Key) and answers the job's status", async () => {
  await using dir = await withTmpDir();
  await using s = await setup(dir.path);
  const r = await s.req("/print", {
    method: "POST",
    headers: s.auth,
    body: JSON.stringify(job("local-1")),
  });
  assertEquals(r.status, 202);
  assertEquals((await r.json()).outcome, "queued");
  await waitFor(() => s.agent.journal.get("local-1")?.state === "PRINTED", "printed");
  const again = await s.req("/print", {
    method: "POST",
    headers: s.auth,
    body: JSON.stringify(job("local-1")),
  });
  assertEquals(again.status, 200);
  assertEquals((await again.json()).state, "PRINTED");
  const { uuid: _u, ...noUuid } = job("x");
  const k = await s.req("/print", {
    method: "POST",
    headers: { ...s.auth, "idempotency-key": "idem-7" },
    body: JSON.stringify(noUuid),
  });
  assertEquals(k.status, 202);
  await waitFor(() => s.agent.journal.get("idem-7")?.state === "PRINTED", "printed by key");
  assertEquals(s.printer.printed.length, 2);
  assertEquals(s.agent.journal.outboxDepth(), 0, "local jobs send nothing to the server");
  const missing = await s.req("/print", {
    method: "POST",
    headers: s.auth,
    body: JSON.stringify(noUuid),
  });
  assertEquals(missing.status, 400);
  assertMatch((await missing.json()).error, /UUID is required/);
});

Deno.test("GET /jobs, /jobs/:uuid, previews as text and SVG; POST reprint makes a new job with a banner", async () => {
  await using dir = await withTmpDir();
  await using s = await setup(dir.path);
  await s.req("/print", { method: "POST", headers: s.auth, body: JSON.stringify(job("p-1")) });
  await waitFor(() => s.agent.journal.get("p-1")?.state === "PRINTED", "printed");
  const list = await (await s.req("/jobs?status=printed")).json();
  assertEquals(list.map((j: { uuid: string }) => j.uuid), ["p-1"]);
  assertEquals((await s.req("/jobs?status=bogus")).status, 400);
  const one = await (await s.req("/jobs/p-1")).json();
  assertEquals([one.state, one.attempts], ["PRINTED", 1]);
  assert(one.printing_at && one.finished_at);
  assertEquals((await s.req("/jobs/nope")).status, 404);
  assertMatch(await (await s.req("/jobs/p-1/preview")).text(), /TOTAL +Rp 148\.748/);
  const svg = await s.req("/jobs/p-1/preview?format=svg");
  assertEquals(svg.headers.get("content-type"), "image/svg+xml");
  // the picture is the paper read from the printer's bytes: styles and the real QR code
  const picture = await svg.text();
  assertMatch(picture, /^<svg [^>]*>.*font-weight="bold">TOTAL<\/text>/s);
  assertMatch(picture, /<path (data-qr="[^"]+" )?d="M/); // the QR, native or raster
  assert(s.agent.journal.paper("p-1")!.bytes.length > 100, "the bytes are kept for it");
  const rp = await s.req("/jobs/p-1/reprint", { method: "POST", headers: s.auth });
  assertEquals(rp.status, 202);
  const uuid = (await rp.json()).uuid;
  await waitFor(() => s.agent.journal.get(uuid)?.state === "PRINTED", "reprinted");
  assertMatch(s.agent.journal.get(uuid)!.preview!, /C E T A K {3}U L A N G/);
});

Deno.test("refusals: no token, wrong token, foreign Origin, rebinding Host, oversized or malformed bodies — nothing printed", async () => {
  await using dir = await withTmpDir();
  await using s = await setup(dir.path);
  const body = JSON.stringify(job("r-1"));
  const cases: [string, Promise<Response>, number][] = [
    [
      "no token",
      s.req("/print", { method: "POST", headers: { "content-type": "application/json" }, body }),
      401,
    ],
    [
      "wrong token",
      s.req("/print", {
        method: "POST",
        headers: { ...s.auth, authorization: "Bearer nope" },
        body,
      }),
      401,
    ],
    [
      "token as a cookie",
      s.req("/print", { method: "POST", headers: { cookie: `token=${TOKEN}` }, body }),
      401,
    ],
    [
      "foreign Origin",
      s.req("/print", {
        method: "POST",
        headers: { ...s.auth, origin: "https://evil.example" },
        body,
      }),
      403,
    ],
    [
      "opaque Origin",
      s.req("/test-page", { method: "POST", headers: { ...s.auth, origin: "null" } }),
      403,
    ],
    [
      "rebinding Host",
      s.req("/print", { method: "POST", headers: { ...s.auth, host: "evil.example:8787" }, body }),
      421,
    ],
    ["rebinding Host on a read", s.req("/status", { headers: { host: "attacker.test" } }), 421],
    [
      "oversized body",
      s.req("/print", {
        method: "POST",
        headers: s.auth,
        body: JSON.stringify({ ...job("r-2"), pad: "x".repeat(100_000) }),
      }),
      413,
    ],
    [
      "oversized body, streamed without a length",
      s.req("/print", {
        method: "POST",
        headers: s.auth,
        body: new Blob([JSON.stringify({ ...job("r-3"), pad: "x".repeat(100_000) })]).stream(),
      }),
      413,
    ],
    ["malformed JSON", s.req("/print", { method: "POST", headers: s.auth, body: "{nope" }), 400],
    [
      "a list instead of a job",
      s.req("/print", { method: "POST", headers: s.auth, body: "[]" }),
      400,
    ],
    [
      "a bad job",
      s.req("/print", {
        method: "POST",
        headers: s.auth,
        body: JSON.stringify({ uuid: "bad-1", job_type: "receipt" }),
      }),
      422,
    ],
  ];
  for (const [name, p, code] of cases) {
    const r = await p;
    assertEquals(r.status, code, name);
    assert((await r.json()).error, `${name}: a clear error`);
  }
  const sameOrigin = await s.req("/test-page", {
    method: "POST",
    headers: { ...s.auth, origin: "http://127.0.0.1:8787" },
  });
  assertEquals(sameOrigin.status, 202);
  await waitFor(() => s.printer.printed.length === 1, "the one allowed test page");
  // nothing else was taken in to print (the bad job is failed at once), so nothing else can
  const rows = s.agent.journal.recent(50);
  assertEquals(rows.filter((e) => e.state !== "FAILED").length, 1, "only the allowed request");
  assertEquals(rows.filter((e) => e.state === "FAILED").map((e) => e.uuid), ["bad-1"]);
  assertEquals(s.printer.printed.length, 1, "nothing else printed");
});

Deno.test("with no token configured, nothing can print through the local API", async () => {
  await using dir = await withTmpDir();
  await using s = await setup(dir.path, "");
  const r = await s.req("/test-page", { method: "POST", headers: { authorization: "Bearer " } });
  assertEquals(r.status, 403);
  assertMatch((await r.json()).error, /set local_api\.token/);
});

Deno.test("/metrics parses as Prometheus text format", async () => {
  await using dir = await withTmpDir();
  await using s = await setup(dir.path);
  await s.req("/print", { method: "POST", headers: s.auth, body: JSON.stringify(job("m-1")) });
  await waitFor(() => s.agent.journal.get("m-1")?.state === "PRINTED", "printed");
  const text = await (await s.req("/metrics")).text();
  const families = parsePrometheusTextFormat(text) as {
    name: string;
    type: string;
    metrics: {
      value?: string;
      labels?: Record<string, string>;
      buckets?: Record<string, string>;
      count?: string;
    }[];
  }[];
  const f = (n: string) => families.find((x) => x.name === n)!;
  assertEquals(f("print_agent_jobs_total").type, "COUNTER");
  assertEquals(
    f("print_agent_jobs_total").metrics.find((m) => m.labels?.outcome === "printed")?.value,
    "1",
  );
  assertEquals(f("print_agent_print_duration_seconds").type, "HISTOGRAM");
  assertEquals(f("print_agent_print_duration_seconds").metrics[0].count, "1");
  for (
    const n of [
      "print_agent_outbox_depth",
      "print_agent_server_reachable",
      "print_agent_printer_status",
      "print_agent_retries_total",
    ]
  ) {
    assert(f(n), `${n} present`);
  }
});

Deno.test("print-again sends a FAILED job again as a new job, and only a FAILED one; the log needs the token", async () => {
  await using dir = await withTmpDir();
  await using s = await setup(dir.path);
  s.printer.failures = ["PRINTER_OFFLINE", "PRINTER_OFFLINE", "PRINTER_OFFLINE"];
  await s.req("/print", { method: "POST", headers: s.auth, body: JSON.stringify(job("f-1")) });
  await waitFor(() => s.agent.journal.get("f-1")?.state === "FAILED", "FAILED");
  const again = await s.req("/jobs/f-1/print-again", { method: "POST", headers: s.auth });
  assertEquals(again.status, 202);
  const body = await again.json();
  assert(body.uuid !== "f-1");
  await waitFor(() => s.agent.journal.get(body.uuid)?.state === "PRINTED", "printed again");
  const printedOne = await s.req(`/jobs/${body.uuid}/print-again`, {
    method: "POST",
    headers: s.auth,
  });
  assertEquals(printedOne.status, 409);
  assertEquals((await s.req("/log")).status, 401);
  await Deno.writeTextFile(
    s.agent.config.logging.log_file,
    Array.from({ length: 10 }, (_, i) => `line ${i + 1}`).join("\n") + "\n",
  );
  const log = await s.req("/log?lines=5", { headers: s.auth });
  assertEquals(await log.text(), "line 6\nline 7\nline 8\nline 9\nline 10\n");
});

Deno.test("the page is offered only the actions that can work: no Reprint for a raw job", async () => {
  await using dir = await withTmpDir();
  await using s = await setup(dir.path);
  const raw = { uuid: "raw-1", id: "raw-1", job_type: "raw", raw_base64: btoa("\x1b@RAW\n") };
  await s.req("/print", { method: "POST", headers: s.auth, body: JSON.stringify(raw) });
  await waitFor(() => s.agent.journal.get("raw-1")?.state === "PRINTED", "printed");
  const [view] = await (await s.req("/jobs?limit=1")).json();
  assertEquals([view.can_reprint, view.can_print_again], [false, true]);
});
