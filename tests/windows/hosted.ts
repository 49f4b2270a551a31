/**
 * The check for a real Windows machine (`.github/workflows/windows.yml`, a hosted runner), for
 * what the Wine bed cannot show: `agent.exe` made by `deno compile`, a "Generic / Text Only"
 * printer on a file port (the workflow installs it), the selftest and a test page through the
 * spooler, the service installed with `sc.exe`, started and stopped, and self-update for real —
 * the running `agent.exe` renamed aside, the SCM's recovery actions starting the new one, and a
 * deliberately broken third build rolled back — with jobs flowing, none lost or printed twice.
 *
 * NOT RUN on this project's build machine (no Windows, and `deno compile` cannot fetch its base
 * runtime there). Run: `deno run -A tests/windows/hosted.ts` as Administrator on Windows.
 * @module
 */
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { startServer } from "../../src/reference_server/main.ts";
import { base64, testKeys } from "../helpers/release_keys.ts";
import { PrinterSim } from "../helpers/printer_sim.ts";

const ROOT = dirname(dirname(dirname(fileURLToPath(import.meta.url))));
const DIR = Deno.env.get("PA_HOSTED_DIR") ?? "C:\\PrintAgentCI";
const SPOOLER_PRINTER = Deno.env.get("PA_HOSTED_PRINTER") ?? "PA Generic";
const SERVICE = "PrintAgentCI";

function step(what: string): void {
  console.log(`\n== ${what}`);
}

function check(ok: unknown, what: string): void {
  if (!ok) throw new Error(`FAILED: ${what}`);
  console.log(`ok: ${what}`);
}

async function run(cmd: string, args: string[], env: Record<string, string> = {}) {
  const r = await new Deno.Command(cmd, { args, env, stdout: "piped", stderr: "piped" }).output();
  const out = new TextDecoder().decode(r.stdout) + new TextDecoder().decode(r.stderr);
  console.log(`> ${cmd} ${args.join(" ")} → exit ${r.code}\n${out.trim()}`);
  return { code: r.code, out };
}

async function waitFor<T>(f: () => Promise<T | null | false>, what: string, ms = 120_000) {
  const until = Date.now() + ms;
  for (;;) {
    const v = await f();
    if (v) return v as T;
    if (Date.now() > until) throw new Error(`FAILED: timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

/** Builds agent.exe as `version` (a test root built in, signed); returns the file and release. */
async function build(version: string, keyFile: string, rootKey: string, prepend?: string) {
  const env: Record<string, string> = {
    PA_ROOT_KEYS: rootKey,
    PA_SIGNING_KEY: keyFile,
    PA_TEST_AS_VERSION: version,
  };
  if (prepend) env.PA_TEST_PREPEND = prepend;
  const r = await run(
    Deno.execPath(),
    ["run", "-A", join(ROOT, "build.ts"), "--target", "windows"],
    env,
  );
  check(r.code === 0, `agent.exe ${version} built by deno compile`);
  const exe = join(ROOT, "dist", "agent.exe");
  return {
    file: await Deno.readFile(exe),
    release: JSON.parse(await Deno.readTextFile(`${exe}.release.json`)),
  };
}

async function main(): Promise<void> {
  await Deno.mkdir(DIR, { recursive: true });
  const server = startServer({ port: 0, db: ":memory:", quiet: true });
  using printer = PrinterSim.start();
  const api = server.url;
  const post = async (path: string, body: unknown, method = "POST") => {
    const r = await fetch(`${api}${path}`, {
      method,
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
    });
    const j = await r.json().catch(() => null);
    if (r.status >= 300) throw new Error(`${method} ${path}: ${r.status} ${JSON.stringify(j)}`);
    return j;
  };

  step("keys and three builds");
  const { root, signing, cert } = await testKeys();
  const keyFile = join(DIR, "signing.json");
  await Deno.writeTextFile(keyFile, JSON.stringify({ ...signing, cert }));
  const breaker = join(DIR, "break.js");
  await Deno.writeTextFile(
    breaker,
    `if (!Deno.args.includes("--update-check") && Deno.args.includes("--service")) ` +
      `setTimeout(() => { throw new Error("broken build 0.3.0"); }, 3000);\n`,
  );
  const v1 = await build("0.1.0", keyFile, root.public_key);
  const v2 = await build("0.2.0", keyFile, root.public_key);
  const v3 = await build("0.3.0", keyFile, root.public_key, breaker);

  const exe = join(DIR, "agent.exe");
  await Deno.writeFile(exe, v1.file);
  const cfg = join(DIR, "print_agent_config.json");
  const config = (printerBlock: Record<string, unknown>) =>
    JSON.stringify({
      terminal_identity: { terminal_id: "POS-WIN" },
      server: { base_url: api, poll_interval: 1, long_poll_wait: 2, heartbeat_interval: 2 },
      printer: printerBlock,
      logging: { level: "INFO", log_file: "agent.log" },
      local_api: { enabled: false },
      update: { watch_minutes: 0.5, watch_jobs: 3 },
    });

  step("selftest and a test page through the spooler (Generic / Text Only on a file port)");
  await Deno.writeTextFile(cfg, config({ transport: "winspool", name: SPOOLER_PRINTER }));
  const self = await run(exe, ["--selftest", "--print", "--config", cfg]);
  check(self.code === 0, "agent.exe --selftest --print passes");
  const port = await waitFor(
    async () => (await Deno.readFile(join(DIR, "out.prn")).catch(() => null)),
    "the test page in the port's file",
  );
  check(port!.length > 100, `the test page reached the file port (${port!.length} bytes)`);

  step("the service, jobs flowing to a TCP printer");
  await Deno.writeTextFile(cfg, config({ transport: "tcp", port: printer.port, brand: "EPSON" }));
  check(
    (await run(exe, ["service", "install", "--config", cfg, "--name", SERVICE])).code === 0,
    "installed",
  );
  const qc = await run("sc.exe", ["qfailure", SERVICE]);
  check(/RESTART/i.test(qc.out), "recovery actions set");
  check((await run("sc.exe", ["start", SERVICE])).code === 0, "started");
  const bills: { bill: string; id: unknown }[] = [];
  let flowing = true;
  const flow = (async () => {
    for (let n = 1; flowing; n++) {
      const bill = `WIN-${String(n).padStart(4, "0")}`;
      const j = await post("/print-jobs/", {
        terminal_id: "POS-WIN",
        job_type: "receipt",
        receipt_data: { bill_number: bill, total: 1000 },
      });
      bills.push({ bill, id: j.id });
      await new Promise((r) => setTimeout(r, 500));
    }
  })();
  const beat = async () => {
    const hs = await (await fetch(`${api}/print-agents/heartbeats/?terminal_id=POS-WIN`)).json();
    return hs.find((h: { agent_status: string }) => h.agent_status !== "STOPPED");
  };
  const updateIs = (version: string, state: string) =>
    waitFor(async () => {
      const h = await beat();
      return h?.version === version && h?.update?.state === state ? h : null;
    }, `${version} ${state}`);
  await updateIs("0.1.0", "idle");
  check(true, "0.1.0 runs as the service");

  step("update to 0.2.0: downloaded, checked, swapped, restarted by the SCM, watched, kept");
  await post("/releases/", { release: v2.release, file_base64: base64(v2.file) });
  await post("/releases/", { release: v3.release, file_base64: base64(v3.file) });
  const t0 = Date.now();
  await post("/print-agents/POS-WIN/update/", { version: "0.2.0" }, "PUT");
  await updateIs("0.2.0", "watching");
  const upMs = Date.now() - t0;
  check(await Deno.stat(`${exe}.previous`).then(() => true, () => false), "0.1.0 kept");
  await updateIs("0.2.0", "done");

  step("a broken 0.3.0: rolled back to 0.2.0 on its own");
  const t1 = Date.now();
  await post("/print-agents/POS-WIN/update/", { version: "0.3.0" }, "PUT");
  const back = await updateIs("0.2.0", "rolled_back");
  const backMs = Date.now() - t1;
  console.log(`rolled back: ${back.update.error}`);
  flowing = false;
  await flow;

  step("every job final; none lost, none printed twice");
  const copies = (bill: string) =>
    printer.jobs.filter((j) => new TextDecoder("latin1").decode(j.bytes).includes(bill)).length;
  await waitFor(async () => {
    for (const { id } of bills) {
      const j = await (await fetch(`${api}/print-jobs/${id}/`)).json();
      if (!["COMPLETED", "FAILED"].includes(j.status)) return false;
    }
    return true;
  }, "every job final");
  let interrupted = 0;
  for (const { bill, id } of bills) {
    const j = await (await fetch(`${api}/print-jobs/${id}/`)).json();
    const n = copies(bill);
    check(n <= 1, `${bill} on paper at most once (${n})`);
    if (j.status === "COMPLETED") check(n === 1, `${bill} COMPLETED and on paper`);
    else {
      check(j.error_code === "INTERRUPTED_MAY_HAVE_PRINTED", `${bill} FAILED only by a crash`);
      interrupted++;
    }
  }
  console.log(
    `UPDATE (Windows): 0.2.0 running and watched ${upMs} ms after the target was set; ` +
      `broken 0.3.0 rolled back in ${backMs} ms; ${bills.length} jobs, ${interrupted} interrupted`,
  );

  step("stop and remove the service");
  check((await run("sc.exe", ["stop", SERVICE])).code === 0, "stopped");
  await new Promise((r) => setTimeout(r, 3000));
  await run(exe, ["service", "uninstall", "--name", SERVICE, "--config", cfg]);
  await server.shutdown();
}

if (import.meta.main) {
  try {
    await main();
    console.log("\nHOSTED WINDOWS: PASSED");
  } catch (e) {
    console.error(`\nHOSTED WINDOWS: ${(e as Error).message}`);
    Deno.exit(1);
  }
}
