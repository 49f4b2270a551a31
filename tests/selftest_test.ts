/**
 * `agent --selftest` as a technician runs it (a real subprocess): each broken part gets its own
 * FAIL line and exit-code bit.
 */
import { assert, assertEquals, assertMatch } from "./helpers/assert.ts";
import { serverSection, withServer, withTmpDir } from "./helpers/env.ts";
import { PrinterSim } from "./helpers/printer_sim.ts";
import { join } from "node:path";

const MAIN = new URL("../src/main.ts", import.meta.url).pathname;
const canMount = Deno.uid() === 0;

/** A port nothing listens on. */
function closedPort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

async function selftest(dir: string, cfg: Record<string, unknown>, extra: string[] = []) {
  const file = join(dir, "print_agent_config.json");
  await Deno.writeTextFile(
    file,
    JSON.stringify({
      terminal_identity: { terminal_id: "POS-001" },
      local_api: { enabled: false },
      ...cfg,
    }),
  );
  const r = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", MAIN, "--selftest", "--json", "--config", file, ...extra],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const out = JSON.parse(new TextDecoder().decode(r.stdout));
  const line = (area: string) => out.checks.find((c: { area: string }) => c.area === area);
  return { code: r.code, out, line };
}

Deno.test("a healthy set-up passes, and --print sends a test page", async () => {
  await using dir = await withTmpDir();
  await using server = withServer({ token: "t0k" });
  using sim = PrinterSim.start();
  const r = await selftest(dir.path, {
    server: { base_url: server.url, token: "t0k" },
    printer: { transport: "tcp", port: sim.port, brand: "HRPT" },
  }, ["--print"]);
  assertEquals(r.code, 0, JSON.stringify(r.out.checks, null, 1));
  for (
    const area of ["config", "state", "logs", "templates", "server", "clock", "printer", "print"]
  ) {
    assertEquals(r.line(area)?.result, "PASS", area);
  }
  // what the profile will ask of the printer, so the technician knows what the test page shows
  assertMatch(
    r.line("templates").detail,
    /profile hrpt .*QR as image, no inverse, code pages cp437\/cp858/,
  );
  await sim.waitForJobs(1);
  assertMatch(new TextDecoder("latin1").decode(sim.jobs[0].bytes), /TEST PAGE|T\s*E\s*S\s*T/);
});

Deno.test("server down: FAIL server, exit bit 4", async () => {
  await using dir = await withTmpDir();
  using sim = PrinterSim.start();
  const r = await selftest(dir.path, {
    server: { base_url: `http://127.0.0.1:${closedPort()}/api`, request_timeout: 2 },
    printer: { transport: "tcp", port: sim.port },
  });
  assertEquals(r.code, 4);
  const line = r.line("server");
  assertMatch(line.detail, /Connection refused|connect/i);
  assertEquals(line.code, "SERVER_UNREACHABLE");
  assertMatch(line.next, /is the POS server running\? Is server\.base_url .* firewall/);
  const urls = line.detail.match(/http:\/\/127\.0\.0\.1:\d+/g) ?? [];
  assertEquals(urls.length, 1, `the URL once: ${line.detail}`);
});

Deno.test("a dead network printer: FAIL printer with its code and what to check next", async () => {
  await using dir = await withTmpDir();
  await using server = withServer();
  const r = await selftest(dir.path, {
    server: { base_url: server.url },
    printer: { transport: "tcp", port: closedPort(), timeout: 2 },
  });
  assertEquals(r.code, 8);
  const line = r.line("printer");
  assertEquals([line.result, line.code], ["FAIL", "PRINTER_OFFLINE"]);
  assertMatch(line.next, /switched on.*cable.*IP address.*paper/);
});

Deno.test("bad token: FAIL server naming HTTP 401", async () => {
  await using dir = await withTmpDir();
  await using server = withServer({ token: "right" });
  using sim = PrinterSim.start();
  const r = await selftest(dir.path, {
    server: { base_url: server.url, token: "wrong" },
    printer: { transport: "tcp", port: sim.port },
  });
  assertEquals(r.code, 4);
  assertMatch(r.line("server").detail, /refused the token \(HTTP 401: missing or wrong\)/);
});

Deno.test("missing printer: FAIL printer, exit bit 8", async () => {
  await using dir = await withTmpDir();
  await using server = withServer();
  const r = await selftest(dir.path, {
    server: { base_url: server.url },
    printer: { transport: "tcp", port: closedPort(), timeout: 1 },
  });
  assertEquals(r.code, 8);
  assertMatch(r.line("printer").detail, /OFFLINE/);
});

Deno.test("an invalid config: FAIL config, exit bit 1, nothing else tried", async () => {
  await using dir = await withTmpDir();
  const r = await selftest(dir.path, { printer: { paper_width: 99 } });
  assertEquals(r.code, 1);
  assertEquals(r.out.checks.length, 1);
  assertMatch(r.line("config").detail, /printer\.paper_width: found 99/);
});

Deno.test({
  name: "read-only state folder: FAIL state, exit bit 2",
  ignore: !canMount,
  async fn() {
    await using dir = await withTmpDir();
    await using server = withServer();
    using sim = PrinterSim.start();
    const ro = join(dir.path, "ro");
    await Deno.mkdir(ro);
    const sh = (c: string) => new Deno.Command("sh", { args: ["-c", c] }).output();
    await sh(`mount -t tmpfs -o size=1m,ro tmpfs ${ro}`);
    try {
      const r = await selftest(dir.path, {
        server: { base_url: server.url },
        printer: { transport: "tcp", port: sim.port },
        state: { path: join(ro, "state") },
      });
      assertEquals(r.code, 2);
      assertMatch(r.line("state").detail, /cannot be written: .*Read-only/i);
    } finally {
      await sh(`umount -l ${ro}`);
    }
  },
});

Deno.test("a running agent's state folder is a WARN, not a FAIL", async () => {
  await using dir = await withTmpDir();
  await using server = withServer();
  using sim = PrinterSim.start();
  const file = join(dir.path, "print_agent_config.json");
  const cfg = {
    terminal_identity: { terminal_id: "POS-001" },
    server: { base_url: server.url },
    printer: { transport: "tcp", port: sim.port },
    local_api: { enabled: false },
  };
  await Deno.writeTextFile(file, JSON.stringify(cfg));
  const agent = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", MAIN, "--config", file],
    stdout: "null",
    stderr: "null",
  }).spawn();
  try {
    for (let i = 0; i < 100; i++) {
      if (
        await Deno.stat(join(dir.path, "state", "agent.owner.json")).then(() => true, () => false)
      ) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    const r = await selftest(dir.path, cfg);
    assertEquals(r.line("state").result, "WARN");
    assertMatch(
      r.line("state").detail,
      new RegExp(`in use by a running agent \\(process ${agent.pid}`),
    );
    assert(r.code === 0);
  } finally {
    agent.kill("SIGTERM");
    await agent.status;
  }
});

Deno.test("selftest exercises every configured path: a stock DRF backend passes, a status path without its slash fails with the fix", async () => {
  await using dir = await withTmpDir();
  await using server = withServer({ drf: true });
  using sim = PrinterSim.start();
  const printer = { transport: "tcp", port: sim.port };
  const ok = await selftest(dir.path, { server: serverSection("drf", server.url), printer });
  const servers = ok.out.checks.filter((c: { area: string }) => c.area === "server");
  assertEquals(servers.map((c: { result: string }) => c.result), ["PASS", "PASS", "PASS"]);
  const drf = serverSection("drf", server.url);
  const bad = await selftest(dir.path, {
    server: { ...drf, paths: { ...drf.paths, status: "/print-jobs/{id}" } },
    printer,
  });
  assertEquals(bad.code & 4, 4);
  const fail = bad.out.checks.find((c: { result: string }) => c.result === "FAIL");
  assertMatch(fail.detail, /PATCH \/print-jobs\/\{id\}.*HTTP 301 redirect.*set server\.paths/);
});

Deno.test("a profile file in the 0.1 format: WARN PROFILE_OLD_FORMAT with what to change, exit 0", async () => {
  await using dir = await withTmpDir();
  await using server = withServer();
  using sim = PrinterSim.start();
  const generic = JSON.parse(
    await Deno.readTextFile(new URL("../profiles/generic.json", import.meta.url)),
  );
  const { capabilities: _, ...rest } = generic;
  await Deno.mkdir(join(dir.path, "profiles"));
  await Deno.writeTextFile(
    join(dir.path, "profiles", "shop.json"),
    JSON.stringify({
      ...rest,
      id: "shop",
      brands: ["SHOP"],
      codepages: ["cp437"],
      codepage_mapping: { cp437: 0 },
      supports: { qr: true, barcode: true, image: true },
    }),
  );
  const r = await selftest(dir.path, {
    server: { base_url: server.url },
    printer: { transport: "tcp", port: sim.port, brand: "SHOP" },
  });
  assertEquals(r.code, 0, JSON.stringify(r.out.checks, null, 1));
  const line = r.line("templates");
  assertEquals([line.result, line.code], ["WARN", "PROFILE_OLD_FORMAT"]);
  assertMatch(line.next, /prints as before; .*replace supports\/codepages\/codepage_mapping/);
});
