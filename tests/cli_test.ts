/**
 * The command line as a user runs it: a real subprocess of `src/main.ts`.
 */
import { assert, assertEquals, assertMatch } from "./helpers/assert.ts";
import { waitFor, withServer, withTmpDir } from "./helpers/env.ts";
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
