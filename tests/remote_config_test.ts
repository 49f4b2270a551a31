/**
 * Remote configuration (#24): the POS server offers `config: {revision, body}` in its heartbeat
 * reply; the agent refuses what a server may not change, tries the rest, keeps it or goes back to
 * the last good configuration within one heartbeat interval, and says so in every heartbeat.
 * End to end with the agent as its own process, the reference server and TCP printers.
 */
import { assert, assertEquals } from "./helpers/assert.ts";
import { waitFor, withServer, withTmpDir } from "./helpers/env.ts";
import { PrinterSim } from "./helpers/printer_sim.ts";
import { forbidden, merged, readOffer, RemoteConfig } from "../src/site/remote_config.ts";
import { join } from "node:path";

const ROOT = new URL("..", import.meta.url).pathname.replace(/\/$/, "");

Deno.test("what a server may not change is refused, each key of the class; the rest passes", () => {
  const refused: Record<string, unknown>[] = [
    { terminal_identity: { terminal_id: "X" } },
    { terminal_identity: { printer_role: "bar" } },
    { state: { path: "C:/x" } },
    { local_api: { enabled: true } },
    { local_api: { host: "0.0.0.0" } },
    { local_api: { token: "t" } },
    { logging: { log_file: "C:/Windows/x.log" } },
    { server: { base_url: "http://evil" } },
    { server: { token: "x" } },
    { server: { token_env: "PATH" } },
    { server: { ca_file: "x.pem" } },
    { render: { templates_path: "C:/x" } },
    { render: { profiles_path: "C:/x" } },
    { render: { fonts: ["C:/x.ttf"] } },
    { jobs: { raw_allow: ["ESC_t"] } },
    { printer: { path: "C:/x" } },
    { printer: { transport: "file" } },
    { printer: { transport: "virtual" } },
    { printers: [{ id: "a", roles: ["cashier"], transport: "tcp", path: "x" }] },
    { printers: [{ id: "a", roles: ["cashier"], transport: "file" }] },
    { $schema: "x" },
    // which releases the terminal takes and how it watches them: the server's own lever, not
    // to be moved by whoever can answer a heartbeat
    { update: { channel: "beta" } },
    { update: { watch_minutes: 0 } },
  ];
  for (const b of refused) assert(forbidden(b).length > 0, `refused: ${JSON.stringify(b)}`);
  const allowed: Record<string, unknown>[] = [
    { printer: { transport: "tcp", host: "10.0.0.9", port: 9100, brand: "EPSON" } },
    { printers: [{ id: "k", roles: ["kitchen"], transport: "winspool", name: "Kitchen" }] },
    { render: { locale: "th-TH", currency: "THB", labels: { thanks: "ขอบคุณ" } } },
    { server: { poll_interval: 5, heartbeat_interval: 20, long_poll_wait: 10 } },
    { limits: { items: 200 }, error_handling: { max_retry: 5 } },
    { jobs: { accepted_types: ["receipt"] } },
  ];
  for (const b of allowed) assertEquals(forbidden(b), [], JSON.stringify(b));
});

Deno.test("merging: objects key by key, lists and values replaced, printer and printers exclusive", () => {
  const local = { server: { base_url: "u", poll_interval: 2 }, printer: { port: 1, host: "h" } };
  assertEquals(merged(local, { server: { poll_interval: 5 } }), {
    server: { base_url: "u", poll_interval: 5 },
    printer: { port: 1, host: "h" },
  });
  assertEquals(merged(local, { printer: { port: 2 } }).printer, { port: 2, host: "h" });
  const st = merged(local, { printers: [{ id: "a" }] });
  assertEquals(st.printer, undefined);
  assertEquals(st.printers, [{ id: "a" }]);
});

Deno.test("offers are read leniently: none, malformed (said), or a revision with a body", () => {
  assertEquals(readOffer({ ok: true }), null);
  assertEquals(readOffer(null), null);
  assertEquals(readOffer("garbage"), null);
  assert("error" in (readOffer({ config: { revision: 1 } }) ?? {}));
  assert("error" in (readOffer({ config: { revision: "", body: {} } }) ?? {}));
  assert("error" in (readOffer({ config: { revision: {}, body: {} } }) ?? {}));
  assert("error" in (readOffer({ config: { revision: 1, body: [] } }) ?? {}));
  assertEquals(readOffer({ config: { revision: "r1", body: { a: 1 } } }), {
    revision: "r1",
    body: { a: 1 },
  });
});

Deno.test("the state folder keeps what runs and the last 10 good revisions across restarts; a refused revision is not tried again", async () => {
  await using tmp = await withTmpDir();
  const local = { terminal_identity: { terminal_id: "P" }, printer: { transport: "tcp" } };
  const rc = new RemoteConfig(tmp.path);
  const offer = (revision: number) => ({
    config: { revision, body: { limits: { items: 10 + revision } } },
  });
  for (let r = 1; r <= 12; r++) {
    const c = await rc.consider(offer(r), local, tmp.path, "f");
    assert(c, `revision ${r} offered`);
    await rc.trial(c.offer);
    await rc.applied(c.offer, Date.now());
  }
  assertEquals(rc.good.length, 10);
  assertEquals(rc.good[0].revision, 12);
  // the same revision again: nothing
  assertEquals(await rc.consider(offer(12), local, tmp.path, "f"), null);
  const again = new RemoteConfig(tmp.path);
  await again.load();
  assertEquals(again.running?.revision, 12);
  assertEquals(again.effective(local, tmp.path, "f").limits.items, 22);
  assertEquals(again.report().state, "applied");
  // refused: said once, not tried again
  const bad = { config: { revision: "evil", body: { server: { base_url: "http://x" } } } };
  assertEquals(await again.consider(bad, local, tmp.path, "f"), null);
  assertEquals(again.report().state, "rejected");
  assertEquals(again.report().pending_revision, "evil");
  assert(/server\.base_url/.test(again.report().error!));
  assertEquals(again.report().running_revision, 12);
  // a body the schema refuses: rejected with the key named
  const wrong = { config: { revision: "typo", body: { limits: { itemz: 1 } } } };
  assertEquals(await again.consider(wrong, local, tmp.path, "f"), null);
  assert(/itemz/.test(again.report().error!), again.report().error!);
});

Deno.test("a process that ends during a trial runs the last good revision at its next start and does not try that one again; a clean stop during a trial tries it again", async () => {
  await using tmp = await withTmpDir();
  const local = { terminal_identity: { terminal_id: "P" }, printer: { transport: "tcp" } };
  const offer = (revision: number) => ({
    config: { revision, body: { limits: { items: revision } } },
  });
  const rc = new RemoteConfig(tmp.path);
  const one = (await rc.consider(offer(1), local, tmp.path, "f"))!;
  await rc.trial(one.offer);
  await rc.applied(one.offer, Date.now());
  const two = (await rc.consider(offer(2), local, tmp.path, "f"))!;
  await rc.trial(two.offer); // ... and the process dies here
  const next = new RemoteConfig(tmp.path);
  await next.load();
  assertEquals(next.report().state, "reverted");
  assertEquals(next.report().pending_revision, 2);
  assert(/ended during the trial/.test(next.report().error!));
  assertEquals(next.effective(local, tmp.path, "f").limits.items, 1, "the last good one runs");
  assertEquals(await next.consider(offer(2), local, tmp.path, "f"), null, "not tried again");
  // a clean stop during a trial: nothing judged, tried again after the start
  const three = (await next.consider(offer(3), local, tmp.path, "f"))!;
  await next.trial(three.offer);
  await next.abandoned(three.offer);
  const after = new RemoteConfig(tmp.path);
  await after.load();
  assertEquals(after.report().state, "applied");
  assert(await after.consider(offer(3), local, tmp.path, "f"), "tried again");
});

Deno.test("end to end: a pushed printer change is tried and kept, a broken one reverted within one heartbeat interval, a forbidden one refused; every job prints once; a restart keeps the kept one", async () => {
  await using tmp = await withTmpDir();
  await using srv = withServer();
  const a = PrinterSim.start(), b = PrinterSim.start();
  const dead = PrinterSim.start();
  const deadPort = dead.port;
  dead.close(); // nothing listens there
  const cfg = join(tmp.path, "print_agent_config.json");
  await Deno.writeTextFile(
    cfg,
    JSON.stringify({
      terminal_identity: { terminal_id: "POS-RC" },
      server: { base_url: srv.url, poll_interval: 0.2, long_poll_wait: 1, heartbeat_interval: 2 },
      printer: { transport: "tcp", port: a.port, brand: "EPSON", timeout: 1, status_interval: 0.5 },
      error_handling: { backoff_seconds: [1, 1, 1] },
      logging: { level: "INFO", log_file: "agent.log" },
      local_api: { enabled: false },
    }),
  );
  const spawn = () =>
    new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", join(ROOT, "src", "main.ts"), "--config", cfg],
      stdout: "null",
      stderr: "null",
    }).spawn();
  const publish = async (revision: unknown, body: unknown) => {
    const r = await fetch(`${srv.url}/print-agents/POS-RC/config/`, {
      method: "PUT",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ revision, body }),
    });
    assertEquals(r.status, 200);
    await r.body?.cancel();
  };
  const lastConfig = async () => {
    const hb = (await srv.heartbeats()).find((h) => h.terminal_id === "POS-RC");
    return hb?.config as Record<string, unknown> | undefined;
  };
  const configIn = (state: string, what: string) =>
    waitFor(
      async () => {
        const c = await lastConfig();
        return c?.state === state ? c : null;
      },
      what,
      20_000,
    );
  const job = async (bill: string) =>
    await srv.createJob({
      terminal_id: "POS-RC",
      job_type: "receipt",
      receipt_data: { bill_number: bill, total: 1000 },
    });
  const printedOn = (sim: PrinterSim, bill: string) =>
    sim.jobs.filter((j) => new TextDecoder("latin1").decode(j.bytes).includes(bill)).length;
  let agent = spawn();
  try {
    await job("RC-1");
    await waitFor(() => printedOn(a, "RC-1"), "RC-1 on printer A", 20_000);
    const before = await waitFor(lastConfig, "a heartbeat with config");
    assertEquals(before.state, "none");

    // 1. a printer change: tried, kept
    await publish(1, { printer: { port: b.port } });
    await waitFor(
      async () => (await lastConfig())?.state === "applied",
      "revision 1 applied",
      20_000,
    );
    assertEquals((await lastConfig())!.running_revision, 1);
    await job("RC-2");
    await waitFor(() => printedOn(b, "RC-2"), "RC-2 on printer B", 20_000);

    // 2. a printer nobody listens on: reverted within one heartbeat interval (2 s) of the trial
    const t0 = Date.now();
    await publish(2, { printer: { port: deadPort } });
    const rev = await configIn("reverted", "revision 2 reverted");
    assertEquals(rev.pending_revision, 2);
    assertEquals(rev.running_revision, 1);
    assert(/role cashier has no printer that prints/.test(String(rev.error)), String(rev.error));
    assert(Date.now() - t0 < 15_000, `reverted after ${Date.now() - t0} ms`);
    await job("RC-3");
    await waitFor(() => printedOn(b, "RC-3"), "RC-3 on printer B (the last good one)", 20_000);

    // 3. forbidden: refused whole, naming the key; nothing restarts
    await publish(3, { printer: { port: a.port }, server: { base_url: "http://127.0.0.1:9" } });
    const rej = await configIn("rejected", "revision 3 rejected");
    assert(/server\.base_url/.test(String(rej.error)), String(rej.error));
    assertEquals(rej.running_revision, 1);
    await job("RC-4");
    await waitFor(() => printedOn(b, "RC-4"), "RC-4 on printer B", 20_000);

    // 4. a restart runs the kept revision again (the local file is unchanged)
    agent.kill("SIGTERM");
    await agent.status;
    srv.db.prepare("DELETE FROM terminal_configs").run();
    agent = spawn();
    await job("RC-5");
    await waitFor(() => printedOn(b, "RC-5"), "RC-5 on printer B after a restart", 20_000);
    const after = await waitFor(
      async () => {
        const hbs = await srv.heartbeats();
        const c = hbs.find((h) => h.terminal_id === "POS-RC" && h.agent_status !== "STOPPED")
          ?.config as Record<string, unknown> | undefined;
        return c?.running_revision === 1 ? c : null;
      },
      "running revision 1 after the restart",
      20_000,
    );
    assertEquals(after.running_revision, 1);
    // every job printed exactly once, on the printer in force when it printed
    for (const bill of ["RC-1", "RC-2", "RC-3", "RC-4", "RC-5"]) {
      assertEquals(printedOn(a, bill) + printedOn(b, bill), 1, `${bill} printed once`);
    }
    const local = JSON.parse(await Deno.readTextFile(cfg));
    assertEquals(local.printer.port, a.port, "the local file is never rewritten");
    // `agent config` shows what runs: the local file with the server's revision over it
    const shown = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", join(ROOT, "src", "main.ts"), "config", "--config", cfg],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const said = new TextDecoder().decode(shown.stderr);
    assert(/with the POS server's revision 1 over it/.test(said), said);
    assertEquals(JSON.parse(new TextDecoder().decode(shown.stdout)).printer.port, b.port);
  } catch (e) {
    // what the agent said about configuration, for whoever reads the failure
    const logText = await Deno.readTextFile(join(tmp.path, "agent.log")).catch(() => "");
    console.error(logText.split("\n").filter((l) => /CONFIG|START|ERROR/.test(l)).join("\n"));
    throw e;
  } finally {
    try {
      agent.kill("SIGTERM");
    } catch { /* gone */ }
    await agent.status;
    a.close();
    b.close();
  }
});

Deno.test("what a server alone may not change passes with a signature by a key the terminal pinned, and only then", async () => {
  const { newKeyPair, signValue } = await import("../src/site/release.ts");
  const fleet = await newKeyPair();
  const stranger = await newKeyPair();
  const base = { terminal_identity: { terminal_id: "P" }, printer: { transport: "tcp" } };
  const pinned = { ...base, update: { config_keys: [fleet.public_key] } };
  const body = { server: { base_url: "http://pos-new.example:8000/api" } };
  const signed = async (key: string, revision: unknown, b: unknown) => ({
    config: { revision, body: b, signature: await signValue(key, { revision, body: b }) },
  });
  const cases: [string, Record<string, unknown>, unknown, RegExp | null][] = [
    [
      "unsigned, nothing pinned",
      base,
      { config: { revision: 1, body } },
      /no signing key is pinned/,
    ],
    ["unsigned, a key pinned", pinned, { config: { revision: 2, body } }, /not signed/],
    [
      "signed by a key not pinned",
      pinned,
      await signed(stranger.private_key, 3, body),
      /not by a key/,
    ],
    ["signed, but for another body", pinned, {
      config: {
        ...(await signed(fleet.private_key, 4, body)).config,
        body: { state: { path: "C:/x" } },
      },
    }, /not by a key/],
    ["signed, but for another revision", pinned, {
      config: { ...(await signed(fleet.private_key, 5, body)).config, revision: 6 },
    }, /not by a key/],
    ["a server pinning its own key", base, {
      config: { revision: 7, body: { update: { config_keys: [stranger.public_key] } } },
    }, /update\.config_keys/],
    ["signed by the pinned key", pinned, await signed(fleet.private_key, 8, body), null],
  ];
  for (const [what, local, reply, refused] of cases) {
    await using tmp = await withTmpDir();
    const rc = new RemoteConfig(tmp.path);
    const c = await rc.consider(reply, local, tmp.path, "f");
    if (refused) {
      assertEquals(c, null, what);
      assertEquals(rc.report().state, "rejected", what);
      assert(refused.test(rc.report().error!), `${what}: ${rc.report().error}`);
    } else {
      assert(c, `${what}: taken (${rc.report().error})`);
      assertEquals(c.config.server.base_url, "http://pos-new.example:8000/api", what);
    }
  }
  // a signed revision that pins a new key (rotation): the next one is judged by the new key
  await using tmp = await withTmpDir();
  const rc = new RemoteConfig(tmp.path);
  const next = await newKeyPair();
  const rotate = await rc.consider(
    await signed(fleet.private_key, 9, { update: { config_keys: [next.public_key] } }),
    pinned,
    tmp.path,
    "f",
  );
  assert(rotate, rc.report().error ?? "");
  await rc.trial(rotate.offer);
  await rc.applied(rotate.offer, Date.now());
  assertEquals(
    await rc.consider(await signed(fleet.private_key, 10, body), pinned, tmp.path, "f"),
    null,
    "the old key no longer signs",
  );
  assert(await rc.consider(await signed(next.private_key, 11, body), pinned, tmp.path, "f"));
});

Deno.test("release-key config-key and sign-config make what the agent takes", async () => {
  const { releaseKey } = await import("../src/site/release_key.ts");
  await using tmp = await withTmpDir();
  const key = join(tmp.path, "fleet.json");
  const offerFile = join(tmp.path, "offer.json");
  const body = { local_api: { host: "0.0.0.0", token: "fleet-wide-token" } };
  await Deno.writeTextFile(offerFile, JSON.stringify({ revision: "open-api-1", body }));
  const log = console.log;
  const out: string[] = [];
  console.log = (...a: unknown[]) => out.push(a.join(" "));
  try {
    assertEquals(await releaseKey(["config-key", "--out", key]), 0);
    out.length = 0;
    assertEquals(await releaseKey(["sign-config", "--key", key, "--file", offerFile]), 0);
  } finally {
    console.log = log;
  }
  const signedOffer = JSON.parse(out.join("\n"));
  const pub = JSON.parse(await Deno.readTextFile(key)).public_key;
  const local = {
    terminal_identity: { terminal_id: "P" },
    printer: { transport: "tcp" },
    update: { config_keys: [pub] },
  };
  const rc = new RemoteConfig(tmp.path);
  const c = await rc.consider({ config: signedOffer }, local, tmp.path, "f");
  assert(c, rc.report().error ?? "");
  assertEquals(c.config.local_api.host, "0.0.0.0");
});
