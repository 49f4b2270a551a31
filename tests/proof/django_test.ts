/**
 * The agent against a real stock Django REST framework backend (tests/django/: Debian's Django,
 * DRF, django-filter and gunicorn; docs/django.md shows the same code), configured only through
 * its config file: receipts, kitchen tickets by role, role-less jobs, a reprint, drawer kicks,
 * pages of 20, a SIGKILL mid-run; and the selftest's verdict on each way to get the set-up wrong.
 * Where those packages are missing the tests are skipped, and say why.
 */
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { assert, assertEquals, assertMatch } from "../helpers/assert.ts";
import { withTmpDir } from "../helpers/env.ts";
import { PrinterSim } from "../helpers/printer_sim.ts";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const MAIN = join(ROOT, "src/main.ts");
const PROJECT = join(ROOT, "tests/django");
const PYTHON = "/usr/bin/python3";
const GUNICORN = "/usr/bin/gunicorn";

/** Why the Django tests cannot run here, or null. */
async function missing(): Promise<string | null> {
  try {
    const r = await new Deno.Command(PYTHON, {
      args: ["-c", "import django, rest_framework, django_filters"],
      stderr: "null",
    }).output();
    if (!r.success) {
      return "Debian's python3-django, python3-djangorestframework, python3-django-filters are not installed";
    }
    await Deno.stat(GUNICORN);
    return null;
  } catch {
    return `${PYTHON} or ${GUNICORN} (Debian's gunicorn) is missing`;
  }
}
const why = await missing();
if (why) console.log(`SKIPPED tests/proof/django_test.ts: ${why}`);

function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

/** A stock Django backend on a free port, with its own database; stopped at scope end. */
async function django(dir: string, env: Record<string, string> = {}) {
  const db = join(dir, `django-${crypto.randomUUID().slice(0, 8)}.sqlite3`);
  const vars = { PRINTJOBS_DB: db, ...env };
  const boot = await new Deno.Command(PYTHON, {
    args: [join(PROJECT, "bootstrap.py")],
    env: vars,
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!boot.success) throw new Error(new TextDecoder().decode(boot.stderr));
  const token = new TextDecoder().decode(boot.stdout).trim();
  const port = freePort();
  const proc = new Deno.Command(GUNICORN, {
    args: [
      "--chdir",
      PROJECT,
      "--bind",
      `127.0.0.1:${port}`,
      "--workers",
      "2",
      "--log-level",
      "warning",
      "printjobs.wsgi",
    ],
    env: vars,
    stdout: "null",
    stderr: "null",
  }).spawn();
  const url = `http://127.0.0.1:${port}/api`;
  const auth = { authorization: `Token ${token}`, "content-type": "application/json" };
  for (let i = 0;; i++) {
    try {
      const r = await fetch(`${url}/print-jobs/`, { headers: auth });
      await r.body?.cancel();
      if (r.ok) break;
    } catch { /* not up yet */ }
    if (i > 200) throw new Error("gunicorn did not start");
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    url,
    token,
    async create(body: Record<string, unknown>): Promise<{ id: number; uuid: string }> {
      const r = await fetch(`${url}/print-jobs/`, {
        method: "POST",
        headers: auth,
        body: JSON.stringify({ terminal_id: "POS-1", ...body }),
      });
      const j = await r.json();
      if (r.status !== 201) throw new Error(`create: ${r.status} ${JSON.stringify(j)}`);
      return j;
    },
    /** Every job, through the API's pages. */
    async all(): Promise<Record<string, unknown>[]> {
      const out: Record<string, unknown>[] = [];
      for (let next: string | null = `${url}/print-jobs/`; next;) {
        const page: { results: Record<string, unknown>[]; next: string | null } =
          await (await fetch(next, { headers: auth })).json();
        out.push(...page.results);
        next = page.next;
      }
      return out;
    },
    async [Symbol.asyncDispose]() {
      proc.kill("SIGTERM");
      await proc.status;
    },
  };
}

/** The agent's server section for the stock backend: by configuration alone. */
function drfServer(url: string, token: string, over: Record<string, unknown> = {}) {
  return {
    base_url: url,
    token,
    auth_scheme: "Token",
    long_poll_wait: 0,
    poll_interval: 0.2,
    status_method: "PATCH",
    paths: {
      jobs: "/print-jobs/",
      status: "/print-jobs/{id}/",
      heartbeat: "/print-agents/heartbeat/",
    },
    // an exact role filter would hide role-less jobs: the agent picks its roles itself
    query: { terminal_id: "terminal_id", status: "status", printer_role: "" },
    ...over,
  };
}

async function writeConfig(dir: string, server: Record<string, unknown>, ports: number[]) {
  const file = join(dir, `config-${crypto.randomUUID().slice(0, 8)}.json`);
  await Deno.writeTextFile(
    file,
    JSON.stringify({
      terminal_identity: { terminal_id: "POS-1" },
      server,
      printers: [
        { id: "cashier", roles: ["cashier"], transport: "tcp", port: ports[0] },
        { id: "kitchen", roles: ["kitchen"], transport: "tcp", port: ports[1] },
      ],
      jobs: { max_age_seconds: 0 },
      state: { path: join(dir, "state") },
      logging: { log_file: join(dir, "agent.log"), level: "INFO" },
      local_api: { enabled: false },
    }),
  );
  return file;
}

const text = (b: Uint8Array) => new TextDecoder("latin1").decode(b);

Deno.test({
  name:
    "a stock Django backend by configuration alone: receipts, kitchen tickets by role, role-less jobs, a reprint, drawer kicks, three pages, a SIGKILL mid-run: each job printed at most once, every one final in Django",
  ignore: why !== null,
  sanitizeResources: false,
  async fn() {
    await using dir = await withTmpDir();
    await using srv = await django(dir.path);
    using cashier = PrinterSim.start();
    using kitchen = PrinterSim.start();
    const mine: { id: number; uuid: string; mark: string; kind: string }[] = [];
    const now = () => new Date().toISOString();
    for (let i = 0; i < 40; i++) {
      const mark = `BILL-${1000 + i}`;
      const j = await srv.create({
        job_type: "receipt",
        receipt_data: { store_name: "Warung", bill_number: mark, total: 1000 + i },
      });
      mine.push({ ...j, mark, kind: "receipt" });
    }
    for (let i = 0; i < 6; i++) {
      const mark = `TABLE-${70 + i}`;
      const j = await srv.create({
        job_type: "kitchen",
        printer_role: "kitchen",
        receipt_data: { table: mark, items: [{ name: "Nasi goreng", qty: 1 }] },
      });
      mine.push({ ...j, mark, kind: "kitchen" });
    }
    const reprint = await srv.create({
      job_type: "reprint",
      reprint_of: String(mine[0].id),
      receipt_data: { store_name: "Warung", bill_number: "BILL-COPY", total: 1 },
    });
    mine.push({ ...reprint, mark: "BILL-COPY", kind: "reprint" });
    const other = await srv.create({ terminal_id: "POS-2", job_type: "receipt", receipt_data: {} });
    const bar = await srv.create({ printer_role: "bar", job_type: "kitchen", receipt_data: {} });
    const file = await writeConfig(dir.path, drfServer(srv.url, srv.token), [
      cashier.port,
      kitchen.port,
    ]);
    const run = () =>
      new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", MAIN, "--config", file],
        stdout: "null",
        stderr: "null",
      }).spawn();
    const final = async () => {
      const all = await srv.all();
      return mine.filter((m) =>
        ["COMPLETED", "FAILED"].includes(String(all.find((x) => x.id === m.id)?.status))
      ).length;
    };
    // the first run is killed once a few jobs are done
    const first = run();
    for (let i = 0; i < 600 && (await final()) < 8; i++) {
      await new Promise((r) => setTimeout(r, 50));
    }
    first.kill("SIGKILL");
    await first.status;
    // drawer kicks arrive while the agent is down (fresh when it starts again)
    const kicks = [
      await srv.create({ job_type: "drawer", created_at: now() }),
      await srv.create({ job_type: "drawer", created_at: now() }),
    ];
    const second = run();
    try {
      for (let i = 0; i < 1200 && (await final()) < mine.length; i++) {
        await new Promise((r) => setTimeout(r, 50));
      }
      const all = await srv.all();
      const state = (id: number) => all.find((x) => x.id === id)!;
      const printed = [...cashier.jobs, ...kitchen.jobs].map((j) => text(j.bytes));
      for (const m of mine) {
        const s = state(m.id);
        const times = printed.filter((p) => p.includes(m.mark)).length;
        assert(times <= 1, `${m.mark} printed ${times} times`);
        if (s.status === "COMPLETED") assertEquals(times, 1, `${m.mark} COMPLETED and on paper`);
        else {
          // killed while it printed: reported, never printed again
          assertEquals(s.status, "FAILED", `${m.mark}: ${s.status}`);
          assertEquals(s.error_code, "INTERRUPTED_MAY_HAVE_PRINTED", m.mark);
        }
      }
      const onKitchen = kitchen.jobs.map((j) => text(j.bytes));
      for (const m of mine.filter((m) => m.kind === "kitchen")) {
        assert(!cashier.jobs.some((j) => text(j.bytes).includes(m.mark)), `${m.mark} by role`);
        if (state(m.id).status === "COMPLETED") assert(onKitchen.some((t) => t.includes(m.mark)));
      }
      for (const k of kicks) {
        await (async () => {
          for (let i = 0; i < 200; i++) {
            if ((await srv.all()).find((x) => x.id === k.id)?.status === "COMPLETED") return;
            await new Promise((r) => setTimeout(r, 50));
          }
          throw new Error(`drawer kick ${k.id} not COMPLETED`);
        })();
      }
      const pulses = cashier.jobs.filter((j) => text(j.bytes).includes("\x1bp")).length;
      assertEquals(pulses, 2, "two kicks, two pulses");
      assertEquals(state(other.id).status, "PENDING", "another terminal's job is left alone");
      assertEquals(state(bar.id).status, "PENDING", "a role no printer here serves is left alone");
      const completed = mine.filter((m) => state(m.id).status === "COMPLETED").length;
      assert(completed >= mine.length - 2, `${completed} of ${mine.length} COMPLETED`);
    } finally {
      second.kill("SIGTERM");
      await second.status;
    }
  },
});

/** The selftest's server lines, as JSON. */
async function selftestServer(dir: string, server: Record<string, unknown>) {
  using a = PrinterSim.start();
  using b = PrinterSim.start();
  const file = await writeConfig(dir, server, [a.port, b.port]);
  const r = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", MAIN, "--selftest", "--json", "--config", file],
    stdout: "piped",
    stderr: "null",
  }).output();
  const out = JSON.parse(new TextDecoder().decode(r.stdout));
  return {
    code: r.code,
    lines: out.checks.filter((c: { area: string }) => c.area === "server") as {
      result: string;
      code?: string;
      detail: string;
    }[],
  };
}

Deno.test({
  name:
    "the selftest on a stock Django backend: the right set-up passes; the default status route, PUT, a path without its slash and lower-case status values each FAIL with the fix",
  ignore: why !== null,
  sanitizeResources: false,
  async fn(t) {
    await using dir = await withTmpDir();
    await using srv = await django(dir.path);
    await srv.create({ job_type: "receipt", receipt_data: { total: 1 } });
    const base = drfServer(srv.url, srv.token);
    await t.step("the configuration above: every server line PASS", async () => {
      const r = await selftestServer(dir.path, base);
      assertEquals(r.lines.map((l) => l.result), r.lines.map(() => "PASS"), JSON.stringify(r));
      assertMatch(r.lines.map((l) => l.detail).join("\n"), /takes PATCH and the agent's status/);
    });
    const cases: [string, Record<string, unknown>, RegExp][] = [
      [
        "the agent's default status route, which a stock viewset does not have",
        {
          status_method: "POST",
          paths: { ...base.paths, status: "/print-jobs/{id}/status/" },
        },
        /no such route.*set server\.paths\.status.*\/print-jobs\/\{id\}\//,
      ],
      [
        "PUT, which replaces the whole job",
        { status_method: "PUT" },
        /PUT replaces the whole job.*terminal_id.*set server\.status_method to PATCH/,
      ],
      [
        "a status path without its trailing slash (a 301 with DEBUG off)",
        { paths: { ...base.paths, status: "/print-jobs/{id}" } },
        /HTTP 301 redirect.*set server\.paths/,
      ],
    ];
    for (const [name, over, fix] of cases) {
      await t.step(name, async () => {
        const r = await selftestServer(dir.path, { ...base, ...over });
        const bad = r.lines.find((l) => l.result === "FAIL");
        assert(bad, `${name}: ${JSON.stringify(r.lines)}`);
        assertMatch(bad.detail, fix);
        assertEquals(r.code & 4, 4, "the exit code says the server check failed");
      });
    }
    await t.step("a list ordered newest first: WARN with the fix", async () => {
      await srv.create({ job_type: "receipt", receipt_data: { total: 2 } });
      const r = await selftestServer(dir.path, {
        ...base,
        query: { ...base.query, extra: { ordering: "-id" } },
      });
      const warn = r.lines.find((l) => l.code === "SERVER_NEWEST_FIRST");
      assert(warn, JSON.stringify(r.lines));
      assertEquals(warn.result, "WARN");
    });
    await t.step("a backend whose status values are lower case", async () => {
      await using lower = await django(dir.path, { PRINTJOBS_LOWER_CASE_STATUS: "1" });
      await lower.create({ job_type: "receipt", receipt_data: { total: 1 } });
      // as it is, its own list filter refuses PENDING: FAIL, in the server's words
      const plain = await selftestServer(dir.path, drfServer(lower.url, lower.token));
      assertMatch(plain.lines[0].result, /FAIL/);
      assertMatch(plain.lines[0].detail, /PENDING is not one of the available choices/);
      // with the list filter adapted, the reports still could not be taken: FAIL, naming both
      const lowered = drfServer(lower.url, lower.token);
      const r = await selftestServer(dir.path, {
        ...lowered,
        query: { ...lowered.query, status_value: "pending" },
      });
      const bad = r.lines.find((l) => l.code === "SERVER_STATUS_VALUES");
      assert(bad, JSON.stringify(r.lines));
      assertMatch(bad.detail, /takes pending, fetched.*not FETCHED, PRINTING, COMPLETED, FAILED/);
    });
  },
});
