/**
 * Self-update (#24): offers taken from the heartbeat reply, releases downloaded (resumably) from
 * the reference server over loopback, checked (signature, size, sha256, the staged program's own
 * quick check), swapped in by renames, watched, and rolled back — with real files in a temporary
 * folder and real Ed25519 signatures. Every refusal says why and is never tried again.
 */
import { assert, assertEquals, assertMatch } from "./helpers/assert.ts";
import { withServer, withTmpDir } from "./helpers/env.ts";
import { signRelease } from "../src/site/release.ts";
import { base64, type TestKeys, testKeys } from "./helpers/release_keys.ts";
import {
  earlyStart,
  readUpdateFile,
  readUpdateOffer,
  RESTART_EXIT_CODE,
  rollbackByHand,
  type UpdateOffer,
  updatePaths,
  Updater,
  type UpdaterOptions,
  WATCH_JOBS,
  WATCH_MS,
} from "../src/site/updater.ts";
import { scCommands } from "../src/site/service.ts";
import { join } from "node:path";

const PLATFORM = "bundle";
const OLD = "console.log('old program');\n";
const NEW = "console.log('new program, 0.2.0');\n" + "x".repeat(50_000);

const keys = testKeys;

type Keys = TestKeys;

async function release(k: Keys, body = NEW, version = "0.2.0", platform = PLATFORM) {
  const file = new TextEncoder().encode(body);
  return {
    file,
    release: await signRelease(
      file,
      { version, platform, min_from: "0.1.0", channel: "stable" },
      k.signing.private_key,
      k.cert,
    ),
  };
}

/** Publishes a release on the reference server; returns the heartbeat reply's offer for it. */
async function publish(url: string, r: Awaited<ReturnType<typeof release>>, file = r.file) {
  const res = await fetch(`${url}/releases/`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({
      release: r.release,
      file_base64: base64(file),
    }),
  });
  assertEquals(res.status, 201, await res.clone().text());
  await res.body?.cancel();
}

async function target(url: string, terminal: string, version: string) {
  const r = await fetch(`${url}/print-agents/${terminal}/update/`, {
    method: "PUT",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ version }),
  });
  assertEquals(r.status, 200);
  await r.body?.cancel();
}

/** The heartbeat reply the reference server gives this terminal. */
async function beat(url: string, terminal: string, platform = PLATFORM) {
  const r = await fetch(`${url}/print-agents/heartbeat/`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ terminal_id: terminal, version: "0.1.0", update: { platform } }),
  });
  return await r.json();
}

/** An updater over a program file in a temp folder, downloading from `base`. */
async function setup(dir: string, k: Keys, base: string, more: Partial<UpdaterOptions> = {}) {
  const program = join(dir, "agent.js");
  const stateDir = join(dir, "state");
  await Deno.mkdir(stateDir, { recursive: true });
  await Deno.writeTextFile(program, OLD);
  const gets: { url: string; offset: number }[] = [];
  const checks: string[] = [];
  const events: string[] = [];
  const u = new Updater({
    program,
    stateDir,
    running: { version: "0.1.0", platform: PLATFORM, channel: "stable" },
    roots: [k.root.public_key],
    stallMs: 2000,
    get: (url, offset) => {
      gets.push({ url, offset });
      return fetch(new URL(url, base), { headers: offset ? { range: `bytes=${offset}-` } : {} });
    },
    quickCheck: async (staged, version) => {
      checks.push(version);
      const text = await Deno.readTextFile(staged);
      return text.includes(version) ? null : `it does not say ${version}`;
    },
    ...more,
  });
  await u.load();
  const ready = new Promise<void>((r) => u.onReady(r));
  u.onRollback((why) => events.push(`rollback: ${why}`));
  return { u, program, stateDir, gets, checks, events, ready };
}

/**
 * Offers again each 50 ms until staged, as heartbeats do (an offer that comes while the last
 * attempt is still writing its state is let go; the next heartbeat brings it again).
 */
async function offerUntilReady(t: { u: Updater; ready: Promise<void> }, offer: unknown) {
  let ready = false;
  t.ready.then(() => ready = true);
  for (let i = 0; i < 400 && !ready; i++) {
    t.u.onReply(offer);
    await new Promise((r) => setTimeout(r, 50));
  }
  await within(t.ready, 1000);
}

/** `p`, or a failure after 20 s (a hang fails the test, never holds the suite). */
async function within<T>(p: Promise<T>, ms = 20_000): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      p,
      new Promise<never>((_, no) =>
        timer = setTimeout(() => no(new Error(`not within ${ms} ms`)), ms)
      ),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

async function until(ok: () => boolean) {
  for (let i = 0; i < 1000 && !ok(); i++) await new Promise((r) => setTimeout(r, 10));
  assert(ok(), "waited 10 s");
}

async function settle(u: Updater, states: string[]) {
  for (let i = 0; i < 400; i++) {
    if (states.includes(u.report().state)) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`state stayed ${u.report().state}`);
}

Deno.test("an offer goes downloading → staged → swapped → watching → done, reported at each step", async () => {
  await using dir = await withTmpDir();
  await using server = withServer();
  const k = await keys();
  const r = await release(k);
  await publish(server.url, r);
  await target(server.url, "POS-001", "0.2.0");
  const reply = await beat(server.url, "POS-001");
  const offer = readUpdateOffer(reply) as UpdateOffer;
  assertEquals(offer.version, "0.2.0");
  const t = await setup(dir.path, k, server.url.replace(/\/api$/, ""));
  t.u.onReply(reply);
  await within(t.ready);
  assertEquals(t.u.report().state, "staged");
  assertEquals(t.checks, ["0.2.0"]);
  // the same offer again while staged: nothing more is fetched
  t.u.onReply(reply);
  assertEquals(t.gets.length, 1);
  assertEquals(await t.u.swap(), RESTART_EXIT_CODE);
  assertEquals(await Deno.readTextFile(t.program), NEW);
  const p = updatePaths(t.program, t.stateDir);
  assertEquals(await Deno.readTextFile(p.previous), OLD);
  assertEquals((await readUpdateFile(p.state)).state, "swapped");

  // the new version starts: counted before anything else, then watched
  let now = Date.now();
  assertEquals((await earlyStart(t.program, t.stateDir, "0.2.0", now)).exit, null);
  const next = await watcher({ ...t, k }, { now: () => now });
  assertEquals(next.report().state, "watching");
  await next.heartbeat(true);
  for (let i = 0; i < WATCH_JOBS; i++) await next.job(null);
  assertEquals(next.report().state, "watching", "20 jobs, but not yet 10 minutes");
  now += WATCH_MS;
  await next.heartbeat(true);
  assertEquals(next.report().state, "done");
  assertEquals(next.report().target, "0.2.0");
  // the previous program is kept 7 days after done, then removed at a start
  await earlyStart(t.program, t.stateDir, "0.2.0", now + 86_400_000);
  assert(await Deno.stat(p.previous).then(() => true, () => false));
  await earlyStart(t.program, t.stateDir, "0.2.0", now + 8 * 86_400_000);
  assert(!(await Deno.stat(p.previous).then(() => true, () => false)), "old program removed");
});

Deno.test("a refused release is never downloaded, and never offered again: every reason said", async () => {
  const k = await keys();
  const stranger = await keys();
  const cases: [string, () => Promise<Awaited<ReturnType<typeof release>>>, RegExp][] = [
    ["signed by a key no built-in root certified", () => release(stranger), /not certified/],
    ["an older version", () => release(k, NEW, "0.0.9"), /not newer/],
    [
      "another platform's file",
      () => release(k, NEW, "0.2.0", "x86_64-pc-windows-msvc"),
      /for x86_64-pc-windows/,
    ],
  ];
  for (const [what, make, why] of cases) {
    await using dir = await withTmpDir();
    const r = await make();
    const t = await setup(dir.path, k, "http://127.0.0.1:9");
    t.u.onReply({ update: { version: r.release.manifest.version, url: "/f", release: r.release } });
    await settle(t.u, ["failed"]);
    assertMatch(t.u.report().error!, why, what);
    assertEquals(t.gets.length, 0, `${what}: nothing downloaded`);
    t.u.onReply({ update: { version: r.release.manifest.version, url: "/f", release: r.release } });
    await new Promise((res) => setTimeout(res, 30));
    assertEquals(t.gets.length, 0, `${what}: not tried again`);
    assertEquals(await Deno.readTextFile(t.program), OLD);
  }
  // a manifest altered after signing (the size, the hash): refused before any byte
  await using dir = await withTmpDir();
  const r = await release(k);
  const t = await setup(dir.path, k, "http://127.0.0.1:9");
  const altered = { ...r.release, manifest: { ...r.release.manifest, size: 10 } };
  t.u.onReply({ update: { version: "0.2.0", url: "/f", release: altered } });
  await settle(t.u, ["failed"]);
  assertMatch(t.u.report().error!, /signature does not verify/);
  // malformed offers are said, not taken
  for (
    const bad of [{ update: 7 }, { update: { version: "0.2.0" } }, {
      update: { version: "0.3.0", url: "/f", release: r.release },
    }]
  ) {
    assertEquals(typeof readUpdateOffer(bad), "string", JSON.stringify(bad));
  }
  // a malformed offer repeated at every heartbeat is said once, again when it changes or returns
  const said: string[] = [];
  const quiet = await setup(join(dir.path, "quiet"), k, "http://127.0.0.1:9", {
    log: (_l, message, code) => said.push(`${code} ${message}`),
  });
  const replies = [
    { update: 7 },
    { update: 7 },
    { update: 7 },
    { update: { version: "0.2.0" } },
    {
      update: { version: "0.2.0" },
    },
    {},
    { update: 7 },
  ];
  for (const reply of replies) quiet.u.onReply(reply);
  assertEquals(said, [
    "UPDATE_REFUSED [UPDATE] The server's offer is malformed: update is not an object",
    "UPDATE_REFUSED [UPDATE] The server's offer is malformed: update.url is not a string",
    "UPDATE_REFUSED [UPDATE] The server's offer is malformed: update is not an object",
  ]);
  assertEquals(quiet.gets.length, 0, "nothing fetched for a malformed offer");
  // http(s) or a path on the POS server: never a local file the agent would read
  for (const url of ["file:///C:/Windows/win.ini", "data:,x", "C:\\agent.exe", "ftp://x/a"]) {
    assertMatch(
      String(readUpdateOffer({ update: { version: "0.2.0", url, release: r.release } })),
      /neither http\(s\) nor a server path/,
      url,
    );
  }
});

Deno.test("a cut download goes on from where it stopped; a corrupt or longer file is refused", async () => {
  const k = await keys();
  const r = await release(k);
  const body = r.file;
  let mode: "cut" | "stall" | "whole" | "corrupt" | "long" = "cut";
  const ranges: (string | null)[] = [];
  await using srv = Deno.serve({
    port: 0,
    hostname: "127.0.0.1",
    onListen() {},
    onError: () => new Response(null, { status: 500 }),
  }, (req) => {
    ranges.push(req.headers.get("range"));
    const from = Number(req.headers.get("range")?.match(/bytes=(\d+)-/)?.[1] ?? 0);
    let bytes = body.slice(from);
    if (mode === "cut") {
      // half the file, then the connection ends
      const half = bytes.slice(0, bytes.length >> 1);
      const stream = new ReadableStream({
        start(c) {
          c.enqueue(half);
          setTimeout(() => c.error(new Error("cut")), 50);
        },
      });
      return new Response(stream, { status: from ? 206 : 200 });
    }
    if (mode === "stall") {
      // a quarter of the file, then nothing more, the connection left open
      const quarter = bytes.slice(0, bytes.length >> 2);
      return new Response(new ReadableStream({ start: (c) => c.enqueue(quarter) }));
    }
    if (mode === "corrupt") bytes = bytes.map((b, i) => i === 100 ? b ^ 1 : b);
    if (mode === "long") bytes = new Uint8Array([...bytes, 1, 2, 3]);
    return new Response(bytes, { status: from ? 206 : 200 });
  });
  const base = `http://127.0.0.1:${srv.addr.port}`;
  const offer = { update: { version: "0.2.0", url: "/agent.js", release: r.release } };
  {
    await using dir = await withTmpDir();
    const t = await setup(dir.path, k, base);
    t.u.onReply(offer);
    await until(() => t.u.report().error !== null);
    assertEquals(t.u.report().state, "idle");
    assertMatch(t.u.report().error!, /download/);
    const part = join(updatePaths(t.program, t.stateDir).staging);
    const parts = [...Deno.readDirSync(part)].map((e) => e.name);
    assertEquals(parts.length, 1, "the part is kept");
    const have = Deno.statSync(join(part, parts[0])).size;
    assert(have > 0 && have < body.length, `${have} of ${body.length} kept`);
    mode = "whole";
    await offerUntilReady(t, offer);
    assertEquals(ranges.at(-1), `bytes=${have}-`, "the next GET asks for the rest only");
    assertEquals(t.gets.at(-1)!.offset, have);
    await t.u.swap();
    assertEquals(await Deno.readFile(t.program), body);
  }
  {
    // a connection that goes quiet: cut after stallMs, the part kept for the next offer
    await using dir = await withTmpDir();
    mode = "stall";
    const t = await setup(dir.path, k, base);
    t.u.onReply(offer);
    await until(() => t.u.report().error !== null);
    assertMatch(t.u.report().error!, /nothing arrived for 2 s \(at \d+ of \d+ bytes\)/);
    mode = "whole";
    await offerUntilReady(t, offer);
    assert(t.gets.at(-1)!.offset > 0, "resumed");
  }
  for (const m of ["corrupt", "long"] as const) {
    await using dir = await withTmpDir();
    mode = m;
    const t = await setup(dir.path, k, base);
    t.u.onReply(offer);
    await until(() => t.u.report().error !== null);
    if (m === "corrupt") {
      assertEquals(t.u.report().state, "failed");
      assertMatch(t.u.report().error!, /not the one the release names/);
    } else assertMatch(t.u.report().error!, /longer than/);
    assertEquals(await Deno.readTextFile(t.program), OLD, `${m}: the program is untouched`);
  }
});

Deno.test("a staged program whose quick check fails is thrown away and never tried again", async () => {
  await using dir = await withTmpDir();
  await using server = withServer();
  const k = await keys();
  const r = await release(k, "console.log('broken build');");
  await publish(server.url, r);
  await target(server.url, "POS-001", "0.2.0");
  const t = await setup(dir.path, k, server.url.replace(/\/api$/, ""));
  const reply = await beat(server.url, "POS-001");
  t.u.onReply(reply);
  await settle(t.u, ["failed"]);
  assertMatch(t.u.report().error!, /quick check: it does not say 0\.2\.0/);
  t.u.onReply(reply);
  await new Promise((res) => setTimeout(res, 30));
  assertEquals(t.gets.length, 1, "not downloaded again");
  assertEquals(await Deno.readTextFile(t.program), OLD);
  const staged = [...Deno.readDirSync(updatePaths(t.program, t.stateDir).staging)];
  assertEquals(staged.length, 0, "nothing left staged");
});

/** An updater of the program as version 0.2.0 runs it (after the swap), watched. */
async function watcher(
  t: { program: string; stateDir: string; k: Keys },
  more: Partial<UpdaterOptions> = {},
) {
  const u = new Updater({
    program: t.program,
    stateDir: t.stateDir,
    running: { version: "0.2.0", platform: PLATFORM, channel: "stable" },
    roots: [t.k.root.public_key],
    get: () => Promise.reject(new Error("not asked")),
    quickCheck: () => Promise.resolve(null),
    ...more,
  });
  await u.load();
  return u;
}

async function swapped(dir: string) {
  const k = await keys();
  const r = await release(k);
  await using srv = Deno.serve(
    { port: 0, hostname: "127.0.0.1", onListen() {} },
    () => new Response(r.file),
  );
  const t = await setup(dir, k, `http://127.0.0.1:${srv.addr.port}`);
  t.u.onReply({ update: { version: "0.2.0", url: "/f", release: r.release } });
  await within(t.ready);
  await t.u.swap();
  return { ...t, k };
}

Deno.test("a crash loop of the new version puts the previous one back at its own start", async () => {
  await using dir = await withTmpDir();
  const t = await swapped(dir.path);
  const now = Date.now();
  // two starts that never reached the server, then the third: rolled back before it runs
  assertEquals((await earlyStart(t.program, t.stateDir, "0.2.0", now)).exit, null);
  assertEquals((await earlyStart(t.program, t.stateDir, "0.2.0", now + 15_000)).exit, null);
  const third = await earlyStart(t.program, t.stateDir, "0.2.0", now + 45_000);
  assertEquals(third.exit, RESTART_EXIT_CODE);
  assertMatch(third.message!, /crash loop/);
  assertEquals(await Deno.readTextFile(t.program), OLD);
  const f = await readUpdateFile(updatePaths(t.program, t.stateDir).state);
  assertEquals(f.state, "rolled_back");
  assert(f.refused["0.2.0"], "0.2.0 is never taken again");
  // the old version starts: nothing to watch, it reports rolled_back and refuses the offer
  assertEquals((await earlyStart(t.program, t.stateDir, "0.1.0", now + 80_000)).exit, null);
  await t.u.load();
  assertEquals(t.u.report().state, "rolled_back");
});

Deno.test("a new version that reaches the server, then dies twice within 2 minutes, is rolled back at its third start — as Windows' SCM restarts it (5 s, 10 s); clean stops are not crashes", async () => {
  await using dir = await withTmpDir();
  const t = await swapped(dir.path);
  const now = Date.now();
  const p = updatePaths(t.program, t.stateDir);
  const start = async (at: number, healthy: boolean, clean: boolean) => {
    const d = await earlyStart(t.program, t.stateDir, "0.2.0", at);
    if (d.exit !== null) return d;
    const f = await readUpdateFile(p.state);
    f.starts.at(-1)!.healthy = healthy;
    f.starts.at(-1)!.clean = clean;
    await Deno.writeTextFile(p.state, JSON.stringify(f));
    return d;
  };
  // a technician stops and starts the service three times in a minute: no crash, no rollback
  for (let i = 0; i < 3; i++) assertEquals((await start(now + i * 10_000, true, true)).exit, null);
  // then it dies after reaching the server, twice: the SCM's 5 s and 10 s
  assertEquals((await start(now + 40_000, true, false)).exit, null);
  assertEquals((await start(now + 46_000, true, false)).exit, null);
  const third = await earlyStart(t.program, t.stateDir, "0.2.0", now + 57_000);
  assertEquals(third.exit, RESTART_EXIT_CODE, "rolled back 17 s after the first crash");
  assertMatch(third.message!, /2 starts of 0\.2\.0 ended without a stop within 2 minutes/);
  assertEquals(await Deno.readTextFile(t.program), OLD);
});

Deno.test("two crashes far apart (days) are not a loop", async () => {
  await using dir = await withTmpDir();
  const t = await swapped(dir.path);
  const p = updatePaths(t.program, t.stateDir);
  const now = Date.now();
  for (const at of [now, now + 3 * 3_600_000, now + 26 * 3_600_000]) {
    assertEquals((await earlyStart(t.program, t.stateDir, "0.2.0", at)).exit, null);
    const f = await readUpdateFile(p.state);
    f.starts.at(-1)!.healthy = true;
    await Deno.writeTextFile(p.state, JSON.stringify(f));
  }
  assertEquals(await Deno.readTextFile(t.program), NEW);
});

Deno.test("the watched version is rolled back after 3 failed heartbeats in a row, or a job the agent failed", async () => {
  for (const cause of ["heartbeats", "job"] as const) {
    await using dir = await withTmpDir();
    const t = await swapped(dir.path);
    await earlyStart(t.program, t.stateDir, "0.2.0");
    const events: string[] = [];
    const next = await watcher(t);
    next.onRollback((why) => events.push(why));
    if (cause === "heartbeats") {
      await next.heartbeat(false);
      await next.heartbeat(true); // a success in between starts the count again
      await next.heartbeat(false);
      await next.heartbeat(false);
      assertEquals(events, []);
      await next.heartbeat(false);
      assertMatch(events[0], /3 heartbeats in a row/);
    } else {
      // the printer's faults and the payload's are not the new version's
      for (const code of ["PRINTER_OFFLINE", "PRINTER_PAPER_OUT", "BAD_PAYLOAD", "EXPIRED"]) {
        await next.job(code);
      }
      assertEquals(events, []);
      await next.job("INTERNAL_ERROR");
      assertMatch(events[0], /INTERNAL_ERROR, a fault of the agent/);
    }
    assertEquals(await next.rollback(events[0]), RESTART_EXIT_CODE);
    assertEquals(await Deno.readTextFile(t.program), OLD);
    assertEquals(next.report().state, "rolled_back");
    assertEquals(next.report().error, events[0]);
  }
});

Deno.test("agent update rollback by hand puts the previous program back; without one it says so", async () => {
  await using dir = await withTmpDir();
  const t = await swapped(dir.path);
  const said = await rollbackByHand(t.program, t.stateDir);
  assertMatch(said, /0\.1\.0 again/);
  assertEquals(await Deno.readTextFile(t.program), OLD);
  assertEquals(await Deno.readTextFile(updatePaths(t.program, t.stateDir).failed), NEW);
  let err = "";
  await rollbackByHand(t.program, t.stateDir).catch((e) => err = e.message);
  assertMatch(err, /no previous program is kept/);
  assertEquals(await Deno.readTextFile(t.program), OLD, "a refused rollback changes nothing");
});

Deno.test("an agent that cannot update itself says why in its report, and takes nothing", async () => {
  await using dir = await withTmpDir();
  const k = await keys();
  const r = await release(k);
  const t = await setup(dir.path, k, "http://127.0.0.1:9", {
    disabled: "no service manager restarts this agent",
  });
  t.u.onReply({ update: { version: "0.2.0", url: "/f", release: r.release } });
  await new Promise((res) => setTimeout(res, 20));
  assertEquals(t.u.report().state, "idle");
  assertEquals(t.u.report().target, "0.2.0");
  assertMatch(t.u.report().error!, /no service manager/);
  assertEquals(t.gets.length, 0);
});

Deno.test("the reference server rolls a release out by cohort: stable, proportional, per terminal first", async () => {
  await using server = withServer();
  const k = await keys();
  await publish(server.url, await release(k));
  const ids = Array.from({ length: 400 }, (_, i) => `T-${i}`);
  const offered = async () => {
    const out = new Set<string>();
    for (const id of ids) if ((await beat(server.url, id)).update) out.add(id);
    return out;
  };
  assertEquals((await offered()).size, 0, "no target: no offer");
  const put = async (percent: number) => {
    const r = await fetch(`${server.url}/updates/rollout/`, {
      method: "PUT",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ version: "0.2.0", percent }),
    });
    assertEquals(r.status, 200);
    await r.body?.cancel();
  };
  await put(10);
  const ten = await offered();
  assert(ten.size > 20 && ten.size < 60, `10 % of 400 → ${ten.size}`);
  await put(50);
  const half = await offered();
  assert(half.size > 160 && half.size < 240, `50 % of 400 → ${half.size}`);
  for (const id of ten) assert(half.has(id), "the first cohort stays in as the rollout widens");
  assertEquals(await offered(), half, "the same terminals each time");
  // another platform's agent gets no file it cannot run
  assertEquals((await beat(server.url, [...half][0], "x86_64-pc-windows-msvc")).update, undefined);
  // a terminal's own target wins over the fleet's
  const out = ids.find((id) => !half.has(id))!;
  await target(server.url, out, "0.2.0");
  assertEquals((await beat(server.url, out)).update.version, "0.2.0");
  const bad = await fetch(`${server.url}/updates/rollout/`, {
    method: "PUT",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ version: "0.2.0", percent: 101 }),
  });
  assertEquals(bad.status, 400);
  await bad.body?.cancel();
});

Deno.test("the reference server takes only the file its manifest names, and serves byte ranges", async () => {
  await using server = withServer();
  const k = await keys();
  const r = await release(k);
  const res = await fetch(`${server.url}/releases/`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ release: r.release, file_base64: btoa("not the file") }),
  });
  assertEquals(res.status, 400);
  await res.body?.cancel();
  await publish(server.url, r);
  const url = `${server.url}/releases/0.2.0/${PLATFORM}/file`;
  const all = new Uint8Array(await (await fetch(url)).arrayBuffer());
  assertEquals(all, r.file);
  const tail = await fetch(url, { headers: { range: "bytes=1000-" } });
  assertEquals(tail.status, 206);
  assertEquals(new Uint8Array(await tail.arrayBuffer()), r.file.slice(1000));
  const past = await fetch(url, { headers: { range: `bytes=${r.file.length}-` } });
  assertEquals(past.status, 416);
  await past.body?.cancel();
});

Deno.test("agent service install sets the recovery actions also for an exit with a code (the update's)", () => {
  const cmds = scCommands("install", "PrintAgent", "C:\\PrintAgent\\print_agent_config.json");
  assert(cmds.some((c) => c[0] === "failure" && c.join(" ").includes("restart/")));
  assert(cmds.some((c) => c.join(" ") === "failureflag PrintAgent 1"));
});

Deno.test("state writes from jobs and heartbeats at once never trip over each other (found under Wine)", async () => {
  await using dir = await withTmpDir();
  const t = await swapped(dir.path);
  await earlyStart(t.program, t.stateDir, "0.2.0");
  const next = await watcher(t, { watchJobs: 1000 });
  await Promise.all([
    ...Array.from({ length: 50 }, () => next.job(null)),
    ...Array.from({ length: 10 }, () => next.heartbeat(true)),
  ]);
  const f = await readUpdateFile(updatePaths(t.program, t.stateDir).state);
  assertEquals(f.jobs, 50, "the last write holds every job");
  assertEquals(f.starts.at(-1)?.healthy, true);
  const left = [...Deno.readDirSync(t.stateDir)].filter((e) => e.name.endsWith(".tmp"));
  assertEquals(left, [], "no temporary file left behind");
});

Deno.test("a clean stop of the watched version marks its start clean (the next start counts no crash)", async () => {
  await using dir = await withTmpDir();
  const t = await swapped(dir.path);
  const now = Date.now();
  await earlyStart(t.program, t.stateDir, "0.2.0", now);
  const next = await watcher(t);
  await next.stopped();
  for (const at of [now + 5_000, now + 10_000]) {
    assertEquals((await earlyStart(t.program, t.stateDir, "0.2.0", at)).exit, null);
    const n = await watcher(t);
    await n.stopped();
  }
  const f = await readUpdateFile(updatePaths(t.program, t.stateDir).state);
  assertEquals(f.starts.map((s) => s.clean), [true, true, true]);
  assertEquals(await Deno.readTextFile(t.program), NEW, "three clean stops in 10 s: no rollback");
});
