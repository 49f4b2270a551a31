/**
 * The command line as a user runs it: a real subprocess of `src/main.ts`.
 */
import { assert, assertEquals, assertMatch } from "./helpers/assert.ts";
import { waitFor, withServer, withTmpDir } from "./helpers/env.ts";
import { PrinterSim } from "./helpers/printer_sim.ts";
import { join } from "node:path";
import { VERSION } from "../src/version.ts";

const MAIN = new URL("../src/main.ts", import.meta.url).pathname;

async function agent(args: string[], env: Record<string, string> = {}) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", MAIN, ...args],
    env: { NO_COLOR: "1", ...env },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

Deno.test("--version and --help", async () => {
  const v = await agent(["--version"]);
  assertEquals(v.code, 0);
  assertMatch(v.stdout, new RegExp(`print-agent ${VERSION.replaceAll(".", "\\.")}`));
  const h = await agent(["--help"]);
  assertEquals(h.code, 0);
  assertMatch(h.stdout, /selftest/);
});

Deno.test("config prints the effective configuration with secrets masked", async () => {
  await using dir = await withTmpDir();
  const file = join(dir.path, "print_agent_config.json");
  await Deno.writeTextFile(
    file,
    JSON.stringify({
      terminal_identity: { terminal_id: "POS-7" },
      server: { token: "supersecret" },
    }),
  );
  const r = await agent(["config", "--config", file, "--json"]);
  assertEquals(r.code, 0, r.stderr);
  const c = JSON.parse(r.stdout);
  assertEquals(c.terminal_identity.terminal_id, "POS-7");
  assertEquals(c.server.token, "su***");
  assertEquals(c.state.path, join(dir.path, "state"));
});

Deno.test("an invalid config exits non-zero with one line per problem, touching nothing", async () => {
  await using dir = await withTmpDir();
  const file = join(dir.path, "c.json");
  await Deno.writeTextFile(
    file,
    JSON.stringify({
      terminal_identity: { terminal_id: "POS-7" },
      printer: { transport: "virtual", path: "out", paper_width: "80" },
    }),
  );
  for (const cmd of ["config", "run"]) {
    const r = await agent([cmd, "--config", file]);
    assertEquals(r.code, 2);
    assertMatch(r.stderr, /printer\.paper_width: found "80"/);
  }
  assertEquals(await Deno.stat(join(dir.path, "out")).then(() => true, () => false), false);
  assertEquals(await Deno.stat(join(dir.path, "state")).then(() => true, () => false), false);
});

Deno.test("an unknown command or flag exits 2 with a reason", async () => {
  assertEquals((await agent(["frobnicate"])).code, 2);
  const r = await agent(["--bogus"]);
  assertEquals(r.code, 2);
  assertMatch(r.stderr, /bogus/);
});

Deno.test("SIGTERM finishes cleanly: STOPPED heartbeat, the seed's stop lines, exit 0", async () => {
  await using dir = await withTmpDir();
  await using server = withServer();
  const file = join(dir.path, "print_agent_config.json");
  await Deno.writeTextFile(
    file,
    JSON.stringify({
      terminal_identity: { terminal_id: "POS-001" },
      server: { base_url: server.url, heartbeat_interval: 60 },
      printer: { transport: "virtual", path: "out", brand: "EPSON" },
      local_api: { enabled: false },
    }),
  );
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", MAIN, "--config", file],
    env: { NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const job = await server.createJob({
    job_type: "receipt",
    receipt_data: { store_name: "S", total: 1000 },
  });
  await waitFor(
    async () => (await server.getJob(job.id)).status === "COMPLETED",
    "job printed",
    20_000,
  );
  child.kill("SIGTERM");
  const out = await child.output();
  const log = await Deno.readTextFile(join(dir.path, "print_agent.log"));
  assertEquals(out.code, 0, log);
  assertMatch(log, /\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \| INFO {5}\| \[JOB 1\] Processing: receipt/);
  assertMatch(log, /\| INFO {5}\| \[STOP\] Stopping Print Agent\.\.\./);
  assertMatch(log, /\[OK\] Print Agent stopped/);
  assertMatch(log, /Terminal: POS-001 \| Role: cashier/);
  assertMatch(log, /Job types: receipt, reprint/);
  const hb = await server.heartbeats();
  assertEquals(hb[0].agent_status, "STOPPED");
  assert(hb.length >= 2);
});

Deno.test("the command line helps: nearest key, JSON everywhere, a config that loads back, balanced quotes", async (t) => {
  await using dir = await withTmpDir();
  const file = join(dir.path, "print_agent_config.json");
  await t.step("an unknown key suggests the nearest valid one, at any depth", async () => {
    await Deno.writeTextFile(
      file,
      JSON.stringify({
        terminal_identity: { terminal_id: "P" },
        server: { poll_intervall: 2 },
        render: { labels: { thanx: "Sampai jumpa" } },
        printers: [{ id: "a", roles: ["x"], bakup: "b" }],
      }),
    );
    const r = await agent(["config", "--config", file]);
    assertEquals(r.code, 2);
    assertMatch(r.stderr, /server\.poll_intervall: unknown key; did you mean "poll_interval"\?/);
    assertMatch(r.stderr, /printers\.0\.bakup: unknown key; did you mean "backup"\?/);
    assertMatch(r.stderr, /render\.labels\.thanx: unknown key; did you mean "thanks"\?/);
  });
  await t.step(
    "config --json writes a file that loads back as the same configuration",
    async () => {
      for (
        const cfg of [
          { terminal_identity: { terminal_id: "P" }, printer: { brand: "HRPT" } },
          {
            terminal_identity: { terminal_id: "P" },
            printers: [{ id: "a", roles: ["x"] }, { id: "b", roles: ["y"], backup: "a" }],
          },
        ]
      ) {
        await Deno.writeTextFile(file, JSON.stringify(cfg));
        const out = await agent(["config", "--json", "--config", file]);
        assertEquals(out.code, 0, out.stderr);
        const again = join(dir.path, "again.json");
        await Deno.writeTextFile(again, out.stdout);
        const back = await agent(["config", "--json", "--config", again]);
        assertEquals(back.code, 0, back.stderr);
        assertEquals(JSON.parse(back.stdout), JSON.parse(out.stdout));
      }
    },
  );
  await t.step("a missing config file says how to make one", async () => {
    const r = await agent(["config", "--config", join(dir.path, "nope.json")]);
    assertEquals(r.code, 2);
    assertMatch(r.stderr, /agent init/);
  });
  await t.step("an unknown option: one message, quotes balanced", async () => {
    const r = await agent(["--frobnicate"]);
    assertEquals(r.code, 2);
    assertEquals(r.stderr.trim(), 'agent: unknown option "--frobnicate" (see --help)');
  });
  await t.step("printers --json answers JSON off Windows too", async () => {
    await Deno.writeTextFile(
      file,
      JSON.stringify({
        terminal_identity: { terminal_id: "P" },
        printers: [
          { id: "kasir", roles: ["cashier"], transport: "winspool", name: "TP808" },
          { id: "dapur", roles: ["kitchen"], transport: "tcp", host: "10.0.0.9", backup: "kasir" },
        ],
      }),
    );
    const r = await agent(["printers", "--json", "--config", file]);
    assertEquals(r.code, 2);
    const j = JSON.parse(r.stdout);
    assertMatch(j.error, /not Windows/);
    assertEquals(j.printers, []);
    assertEquals(j.stations.map((s: { id: string; name: string }) => `${s.id}=${s.name}`), [
      "kasir=TP808",
      "dapur=10.0.0.9:9100",
    ]);
  });
});

Deno.test("no Deno.serve noise: a streamed POST to the local API prints no 'legacy behavior' warning", async () => {
  await using dir = await withTmpDir();
  const file = join(dir.path, "print_agent_config.json");
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  await Deno.writeTextFile(
    file,
    JSON.stringify({
      terminal_identity: { terminal_id: "POS-001" },
      server: { base_url: "http://127.0.0.1:1/api" },
      printer: { transport: "virtual", path: "out" },
      local_api: { enabled: true, port, token: "t" },
    }),
  );
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", MAIN, "--config", file],
    env: { NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  await waitFor(
    () =>
      fetch(`http://127.0.0.1:${port}/health`).then(
        (r) => r.body?.cancel().then(() => true),
        () => false,
      ),
    "the local API",
  );
  const r = await fetch(`http://127.0.0.1:${port}/print`, {
    method: "POST",
    headers: { authorization: "Bearer t", "content-type": "application/json" },
    body: new Blob([JSON.stringify({ uuid: "s-1", job_type: "test" })]).stream(), // chunked
  });
  assertEquals(r.status, 202, await r.text());
  child.kill("SIGTERM");
  const out = await child.output();
  const all = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  assert(!/legacy behavior/.test(all), all);
});

Deno.test("agent init writes a starter config that loads, refuses to overwrite without --force, then runs the selftest", async () => {
  await using dir = await withTmpDir();
  await using server = withServer();
  using sim = PrinterSim.start();
  const file = join(dir.path, "print_agent_config.json");
  const flags = [
    "--server",
    server.url,
    "--transport",
    "tcp",
    "--host",
    "127.0.0.1",
    "--port",
    String(sim.port),
  ];
  const first = await agent(["init", "--config", file, "--terminal-id", "KASIR-1", ...flags]);
  assertEquals(first.code, 0, first.stdout + first.stderr);
  assertMatch(first.stdout, /Wrote .*print_agent_config\.json/);
  assertMatch(first.stdout, /PASS +printer/);
  const written = JSON.parse(await Deno.readTextFile(file));
  assertEquals(written.terminal_identity.terminal_id, "KASIR-1");
  assertEquals(written.printer.port, sim.port);
  const again = await agent(["init", "--config", file, ...flags]);
  assertEquals(again.code, 2);
  assertMatch(again.stderr, /already exists; not overwritten \(use --force/);
  assertEquals(JSON.parse(await Deno.readTextFile(file)).terminal_identity.terminal_id, "KASIR-1");
  const forced = await agent(["init", "--config", file, "--force", ...flags]);
  assertEquals(forced.code, 0, forced.stderr);
  assert(JSON.parse(await Deno.readTextFile(file)).terminal_identity.terminal_id !== "KASIR-1");
});

Deno.test("agent init guesses the brand and paper from a Windows driver name", async () => {
  const { brandFromDriver, paperFromDriver } = await import("../src/site/init.ts");
  assertEquals(brandFromDriver("EPSON TM-T82 Receipt"), "EPSON");
  assertEquals(brandFromDriver("XP-80C"), "XPRINTER");
  assertEquals(brandFromDriver("HPRT TP808"), "HRPT");
  assertEquals(brandFromDriver("POS-58 Printer"), "GENERIC");
  assertEquals(paperFromDriver("POS-58 Printer"), 58);
  assertEquals(paperFromDriver("XP-80C"), 80);
  assertEquals(paperFromDriver("EPSON TM-T82 Receipt"), null);
});

Deno.test("agent config refuses what the run refuses (an unknown brand, naming the key and the known ones), and its plain output loads back", async () => {
  await using dir = await withTmpDir();
  const file = join(dir.path, "print_agent_config.json");
  await Deno.writeTextFile(
    file,
    JSON.stringify({
      terminal_identity: { terminal_id: "POS-1" },
      printer: { transport: "tcp", port: 9100, brand: "ZEBRA" },
    }),
  );
  const bad = await agent(["config", "--config", file]);
  assertEquals(bad.code, 2);
  assertMatch(
    bad.stderr,
    /printer\.brand: Unknown printer brand "ZEBRA": known brands are .*EPSON/,
  );
  const run = await agent(["--config", file, "--selftest", "--json"]);
  const tpl = JSON.parse(run.stdout).checks.find((c: { code?: string }) =>
    c.code === "PRINTER_BRAND_UNKNOWN"
  );
  assert(tpl, run.stdout);
  assertMatch(tpl.next, /printer\.brand/);
  await Deno.writeTextFile(
    file,
    `{
  // comments and a trailing comma, as the original agent's docs write it
  "terminal_identity": { "terminal_id": "POS-1" },
  "printer": { "transport": "tcp", "port": 9100, "brand": "epson" },
  "logging": { "level": "debug" },
}`,
  );
  const ok = await agent(["config", "--config", file]);
  assertEquals(ok.code, 0, ok.stderr);
  assertMatch(ok.stderr, /Configuration OK .*defaults filled in and secrets masked/);
  const again = join(dir.path, "again.json");
  await Deno.writeTextFile(again, ok.stdout);
  const back = await agent(["config", "--config", again, "--json"]);
  assertEquals(back.code, 0, back.stderr);
  assertEquals(JSON.parse(back.stdout).logging.level, "DEBUG");
  assertEquals(JSON.parse(back.stdout).printer.brand, "epson");
});

Deno.test("agent init never writes a virtual printer unasked, keeps the token out of the file by default, and says what was wrong with a flag", async () => {
  await using dir = await withTmpDir();
  const file = join(dir.path, "print_agent_config.json");
  const r = await agent([
    "init",
    "--config",
    file,
    "--server",
    "http://127.0.0.1:1/api",
    "--token",
    "s3cret-token",
  ]);
  const written = JSON.parse(await Deno.readTextFile(file));
  assert(written.printer?.transport !== "virtual", JSON.stringify(written.printer));
  assertMatch(r.stdout, /printer: NONE found or given\. Name one: --printer/);
  assertEquals(written.server.token, undefined, "the token is not in the file");
  assertMatch(r.stdout, /NOT written into the file; .*PRINT_AGENT_TOKEN/);
  const inFile = await agent([
    "init",
    "--config",
    file,
    "--force",
    "--token",
    "s3cret-token",
    "--token-in-file",
    "--transport",
    "virtual",
  ]);
  assertEquals(JSON.parse(await Deno.readTextFile(file)).server.token, "s3cret-token");
  assertMatch(inFile.stdout, /written into this file \(--token-in-file\)/);
  assertMatch(inFile.stdout, /FAIL +printer .*virtual/, "the selftest: a virtual printer FAILs");
  const bad = await agent([
    "init",
    "--config",
    join(dir.path, "new.json"),
    "--server",
    "pos.example/api",
  ]);
  assertEquals(bad.code, 2);
  assertMatch(
    bad.stderr,
    /--server "pos\.example\/api" is not a web address: .*https:\/\/pos\.example\/api/,
  );
  assert(
    !(await Deno.stat(join(dir.path, "new.json")).then(() => true, () => false)),
    "nothing written",
  );
  const paper = await agent(["init", "--config", join(dir.path, "new.json"), "--paper", "99"]);
  assertMatch(
    paper.stderr,
    /nothing was written; the flags give an invalid configuration:\n {2}- printer\.paper_width/,
  );
  const help = await agent(["help"]);
  assertEquals(help.code, 0);
  assertMatch(help.stdout, /Commands:/);
});

Deno.test("printers --status asks each configured printer now and names its status channel", async () => {
  await using dir = await withTmpDir();
  using sim = PrinterSim.start();
  sim.mode = "paper_out";
  const file = join(dir.path, "print_agent_config.json");
  await Deno.writeTextFile(
    file,
    JSON.stringify({
      terminal_identity: { terminal_id: "POS-1" },
      printers: [
        { id: "front", roles: ["cashier"], transport: "tcp", port: sim.port },
        {
          id: "lpt",
          roles: ["bar"],
          transport: "file",
          path: Deno.build.os === "windows" ? "LPT1" : "/dev/lp0",
        },
        { id: "demo", roles: ["kitchen"], transport: "virtual", path: join(dir.path, "out") },
      ],
    }),
  );
  const r = await agent(["printers", "--status", "--json", "--config", file]);
  assertEquals(r.code, 1, "a printer is out of paper: " + r.stderr);
  const rows = JSON.parse(r.stdout).printers as Record<string, unknown>[];
  assertEquals(rows.map((p) => [p.id, p.status, p.answers_status]), [
    ["front", "PAPER_OUT", true],
    ["lpt", "UNKNOWN", false],
    ["demo", "OK", false],
  ]);
  assertMatch(String(rows[0].channel), /DLE EOT over TCP 127\.0\.0\.1:\d+/);
  assertMatch(String(rows[1].channel), /parallel port/);
  sim.mode = "ok";
  const text = await agent(["printers", "--status", "--config", file]);
  assertMatch(text.stdout, /front \[cashier\]: OK[\s\S]*status channel: DLE EOT over TCP/);
  assertMatch(text.stdout, /lpt \[bar\]: UNKNOWN/);
});

Deno.test("agent update status says the last attempt and what is kept; rollback from source is refused, saying why", async () => {
  await using dir = await withTmpDir();
  const cfg = join(dir.path, "print_agent_config.json");
  await Deno.writeTextFile(
    cfg,
    JSON.stringify({
      terminal_identity: { terminal_id: "T-UP" },
      printer: { transport: "tcp", host: "127.0.0.1", port: 9 },
    }),
  );
  await Deno.mkdir(join(dir.path, "state"));
  await Deno.writeTextFile(
    join(dir.path, "state", "update.json"),
    JSON.stringify({
      state: "rolled_back",
      target: "0.3.0",
      error: "crash loop: 2 starts of 0.3.0 ended without a stop within 2 minutes",
      from: "0.2.0",
      refused: { "0.3.0": "crash loop" },
    }),
  );
  const plain = await agent(["update", "status", "--config", cfg]);
  assertEquals(plain.code, 0, plain.stderr);
  assertMatch(plain.stdout, new RegExp(`Running version: ${VERSION} \\(from source\\)`));
  assertMatch(plain.stdout, /Last update: rolled_back to 0\.3\.0 from 0\.2\.0/);
  assertMatch(plain.stdout, /why: crash loop: 2 starts/);
  assertMatch(plain.stdout, /Never tried again:\n {2}0\.3\.0: crash loop/);
  const json = JSON.parse((await agent(["update", "status", "--json", "--config", cfg])).stdout);
  assertEquals([json.version, json.state, json.target, json.previous_kept], [
    VERSION,
    "rolled_back",
    "0.3.0",
    false,
  ]);
  const back = await agent(["update", "rollback", "--config", cfg]);
  assertEquals(back.code, 2);
  assertMatch(back.stderr, /runs from source; nothing to roll back/);
  const bad = await agent(["update", "sideways", "--config", cfg]);
  assertEquals(bad.code, 2);
  assertMatch(bad.stderr, /use status or rollback/);
});
