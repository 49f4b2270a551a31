/**
 * The job server client against servers written here: answers over the size limit, redirects to
 * another origin, the list's query names, pagination bounds.
 */
import { assert, assertEquals, assertMatch, assertRejects } from "./helpers/assert.ts";
import { JobServerClient } from "../src/server/job_server.ts";

function serve(handler: (r: Request) => Response | Promise<Response>) {
  return Deno.serve({ port: 0, hostname: "127.0.0.1", onListen: () => {} }, handler);
}

function client(url: string, over: Partial<ConstructorParameters<typeof JobServerClient>[0]> = {}) {
  return new JobServerClient({
    baseUrl: url,
    token: "secret",
    authScheme: "Token",
    paths: { jobs: "/jobs/", status: "/jobs/{id}/status/", heartbeat: "/hb/" },
    timeoutMs: 2000,
    ...over,
  });
}

Deno.test("an answer over limits.list_bytes is refused with the limit named, streamed or declared", async () => {
  const big = JSON.stringify([{ pad: "x".repeat(100_000) }]);
  await using srv = serve((r) =>
    new URL(r.url).searchParams.has("chunked")
      ? new Response(new Blob([big]).stream())
      : new Response(big)
  );
  const url = `http://127.0.0.1:${srv.addr.port}`;
  for (const jobs of ["/jobs/", "/jobs/?chunked=1"]) {
    const c = client(url, {
      maxBody: 65_536,
      paths: { jobs, status: "/s/{id}/", heartbeat: "/h/" },
    });
    await assertRejects(
      () => c.listPending({ terminal: "T", role: "r", waitS: 0 }),
      /at most 65536|larger than 65536.*limits\.list_bytes/,
    );
  }
});

Deno.test("a redirect to another origin goes on without the token, and the 401 names where it came from", async () => {
  await using other = serve((r) =>
    r.headers.get("authorization")
      ? Response.json({ leaked: true })
      : Response.json({ detail: "no token" }, { status: 401 })
  );
  const target = `http://localhost:${other.addr.port}/elsewhere/`;
  await using srv = serve(() => Response.redirect(target, 302));
  const c = client(`http://127.0.0.1:${srv.addr.port}`);
  const e = await c.listPending({ terminal: "T", role: "r", waitS: 0 }).catch((e) => e);
  assertMatch(e.message, /HTTP 401/);
  assert(e.message.includes(`redirected to ${target}`), e.message);
});

Deno.test("the list request uses the configured query names and extra parameters", async () => {
  let seen = "";
  await using srv = serve((r) => {
    seen = new URL(r.url).search;
    return Response.json([]);
  });
  const c = client(`http://127.0.0.1:${srv.addr.port}`, {
    query: {
      terminal_id: "terminal",
      status: "state",
      status_value: "pending",
      printer_role: "",
      wait: "wait",
      extra: { page_size: "20" },
    },
  });
  await c.listPending({ terminal: "POS 1", role: "cashier", waitS: 0 });
  assertEquals(seen, "?terminal=POS+1&state=pending&page_size=20");
});

Deno.test("DRF pages: next is followed within the origin, up to maxPages, and never to another origin", async () => {
  const hits: string[] = [];
  await using srv = serve((r) => {
    const u = new URL(r.url);
    hits.push(u.search);
    const page = Number(u.searchParams.get("page") ?? 1);
    const next = page === 3
      ? "http://evil.example/jobs/?page=4"
      : `${u.origin}/jobs/?page=${page + 1}`;
    return Response.json({ count: 99, next, results: [{ page }] });
  });
  const c = client(`http://127.0.0.1:${srv.addr.port}`);
  const all = await c.listPending({ terminal: "T", role: "r", waitS: 0, maxPages: 10 });
  assertEquals(all.items, [{ page: 1 }, { page: 2 }, { page: 3 }], "stops at a foreign next");
  assertEquals(all.foreignNext, "http://evil.example/jobs/?page=4", "and says where it pointed");
  const two = await c.listPending({ terminal: "T", role: "r", waitS: 0, maxPages: 2 });
  assertEquals(two.pages, 2);
  const one = await c.listPending({ terminal: "T", role: "r", waitS: 0, maxPages: 5, maxItems: 1 });
  assertEquals(one.pages, 1, "no more pages than the agent will queue");
});

Deno.test("a report goes by the configured method", async () => {
  let method = "";
  await using srv = serve((r) => {
    method = r.method;
    return Response.json({});
  });
  const c = client(`http://127.0.0.1:${srv.addr.port}`, { statusMethod: "PATCH" });
  await c.report("7", { status: "FETCHED", attempt: 0, at: "2026-01-01T00:00:00Z" });
  assertEquals(method, "PATCH");
});

Deno.test("a report is never turned into a GET by a redirect: 301/302/303 refused naming the path, 307/308 followed with the body", async () => {
  const seen: string[] = [];
  await using srv = serve(async (r) => {
    const u = new URL(r.url);
    seen.push(`${r.method} ${u.pathname} ${r.method === "GET" ? "" : await r.text()}`.trim());
    const m = u.pathname.match(/^\/(\d{3})\/jobs\/5\/status$/);
    if (m) {
      return new Response(null, { status: Number(m[1]), headers: { location: `${u.pathname}/` } });
    }
    if (u.pathname.endsWith("/status/") && r.method === "POST") return Response.json({ ok: true });
    return Response.json({ detail: "Method not allowed" }, { status: 405 });
  });
  const base = `http://127.0.0.1:${srv.addr.port}`;
  const body = { status: "FETCHED" as const, attempt: 0, at: "2026-12-02T00:00:00Z" };
  for (const code of [301, 302, 303, 307, 308]) {
    seen.length = 0;
    const c = client(base, {
      paths: { jobs: "/jobs/", status: `/${code}/jobs/{id}/status`, heartbeat: "/hb/" },
    });
    const r = await c.report("5", body).then(() => null, (e) => e);
    if (code === 307 || code === 308) {
      assertEquals(r, null, `${code}: followed`);
      assertEquals(seen.length, 2);
      assertEquals(seen[1], `POST /${code}/jobs/5/status/ ${JSON.stringify(body)}`, "same body");
    } else {
      assert(r, `${code}: refused`);
      assertEquals(r.status, code);
      assertMatch(r.message, new RegExp(`set server\\.paths .*/${code}/jobs/5/status/`));
      assertEquals(seen, [`POST /${code}/jobs/5/status ${JSON.stringify(body)}`], "never a GET");
      assert(!r.permanent, "kept and retried: the report waits for the path to be fixed");
    }
  }
});
