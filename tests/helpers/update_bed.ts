/**
 * A terminal that updates itself, for the end-to-end test and `deno task bench:update`: the
 * agent's own bundle stamped as several versions with a test root key, published on the reference
 * server; the agent run from a program file in place, restarted after any exit with a code (as a
 * service manager does, after `restartDelayMs`); a TCP printer; jobs created at a steady pace.
 */
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { rawBundle, stampBundle } from "../../build.ts";
import { V8_FLAGS } from "../../src/version.ts";
import { waitFor, withServer } from "./env.ts";
import { PrinterSim } from "./printer_sim.ts";
import { publishBundle, testKeys } from "./release_keys.ts";

const ROOT = fileURLToPath(new URL("../../", import.meta.url)).replace(/\/$/, "");

/** Options of {@link updateBed}. */
export interface UpdateBedOptions {
  /** A folder for the program, its configuration and state. */
  dir: string;
  /** How long the "service manager" waits before starting the program again, ms. */
  restartDelayMs: number;
  /** A job every this many ms while jobs flow. */
  jobEveryMs: number;
  /** `update.watch_minutes` / `update.watch_jobs` of the agent. */
  watch: { minutes: number; jobs: number };
}

/** The bed: see the module doc. Dispose it to stop everything. */
export async function updateBed(o: UpdateBedOptions) {
  const srv = withServer();
  const printer = PrinterSim.start();
  const text = await rawBundle(ROOT, join(o.dir, "raw.js"));
  const keys = await testKeys();
  const build = (version: string) => stampBundle(text, { version, roots: [keys.root.public_key] });
  /** A build that passes its quick check, then dies `afterMs` after every start. */
  const broken = async (version: string, afterMs: number) =>
    `if (!Deno.args.includes("--update-check")) setTimeout(() => { ` +
    `throw new Error("broken build ${version}"); }, ${afterMs});\n` + (await build(version));
  const api = async (method: string, path: string, body: unknown) => {
    const r = await fetch(`${srv.url}${path}`, {
      method,
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
    });
    if (r.status >= 300) throw new Error(`${method} ${path}: ${r.status} ${await r.text()}`);
    await r.body?.cancel();
  };
  const publish = (version: string, js: string) => publishBundle(srv.url, keys, version, js);
  const target = (version: string) => api("PUT", "/print-agents/POS-UP/update/", { version });

  const program = join(o.dir, "agent.js");
  await Deno.writeTextFile(program, await build("0.1.0"));
  const cfg = join(o.dir, "print_agent_config.json");
  await Deno.writeTextFile(
    cfg,
    JSON.stringify({
      terminal_identity: { terminal_id: "POS-UP" },
      server: { base_url: srv.url, poll_interval: 0.2, long_poll_wait: 1, heartbeat_interval: 1 },
      printer: {
        transport: "tcp",
        port: printer.port,
        brand: "EPSON",
        timeout: 2,
        status_interval: 0,
      },
      error_handling: { backoff_seconds: [1, 1, 1] },
      logging: { level: "INFO", log_file: "agent.log" },
      local_api: { enabled: false },
      update: { watch_minutes: o.watch.minutes, watch_jobs: o.watch.jobs },
    }),
  );

  // the service manager
  let stopping = false;
  const exits: number[] = [];
  let child: Deno.ChildProcess | null = null;
  const manager = (async () => {
    while (!stopping) {
      child = new Deno.Command(Deno.execPath(), {
        args: [
          "run",
          "-A",
          `--v8-flags=${V8_FLAGS}`,
          program,
          "run",
          "--supervised",
          "--config",
          cfg,
        ],
        stdout: "null",
        stderr: "null",
      }).spawn();
      const st = await child.status;
      exits.push(st.code);
      if (st.code === 0 || stopping) break;
      await new Promise((r) => setTimeout(r, o.restartDelayMs));
    }
  })();

  // the POS
  let n = 0;
  const bills: string[] = [];
  const ids = new Map<string, unknown>();
  let flowing = true;
  const flow = (async () => {
    while (flowing) {
      const bill = `UP-${String(++n).padStart(5, "0")}`;
      bills.push(bill);
      const created = await srv.createJob({
        terminal_id: "POS-UP",
        job_type: "receipt",
        receipt_data: { bill_number: bill, total: 1000 },
      });
      ids.set(bill, created.id);
      await new Promise((r) => setTimeout(r, o.jobEveryMs));
    }
  })();

  const beat = async () =>
    (await srv.heartbeats()).find((h) =>
      h.terminal_id === "POS-UP" && h.agent_status !== "STOPPED"
    );
  /** Resolves to the first heartbeat of `version` in `state`. */
  const updateIs = (version: string, state: string, what: string, ms = 60_000) =>
    waitFor(
      async () => {
        const h = await beat();
        const u = h?.update as { state?: string } | undefined;
        return h?.version === version && u?.state === state ? h : null;
      },
      what,
      ms,
    );
  /** Copies of a bill on paper. */
  const copies = (bill: string) =>
    printer.jobs.filter((j) => new TextDecoder("latin1").decode(j.bytes).includes(bill)).length;
  /** The longest time between two printed jobs within [from, to] (ms, performance.now()). */
  const longestGap = (from: number, to: number) => {
    const at = printer.jobs.map((j) => j.firstByteAt).filter((t) => t >= from && t <= to);
    let gap = 0;
    for (let i = 1; i < at.length; i++) gap = Math.max(gap, at[i] - at[i - 1]);
    return gap;
  };
  /**
   * Stops the jobs and waits until every one is final. The promise as the fault suite counts it:
   * none lost (every job final; COMPLETED on paper), none twice; a job a crash interrupted is
   * FAILED INTERRUPTED_MAY_HAVE_PRINTED. Returns the problems (none: []) and the interrupted.
   */
  const settle = async () => {
    flowing = false;
    await flow;
    const status = async (bill: string) => await srv.getJob(ids.get(bill));
    await waitFor(
      async () => {
        for (const bill of bills) {
          if (!["COMPLETED", "FAILED"].includes(String((await status(bill)).status))) return false;
        }
        return true;
      },
      "every job final",
      60_000,
    );
    const problems: string[] = [];
    let interrupted = 0;
    for (const bill of bills) {
      const s = await status(bill);
      const c = copies(bill);
      if (c > 1) problems.push(`${bill} on paper ${c} times`);
      if (s.status === "COMPLETED" && c !== 1) problems.push(`${bill} COMPLETED, on paper ${c}`);
      if (s.status === "FAILED") {
        if (s.error_code === "INTERRUPTED_MAY_HAVE_PRINTED") interrupted++;
        else problems.push(`${bill} FAILED ${s.error_code}: ${s.error_message}`);
      }
    }
    return { problems, interrupted, jobs: bills.length };
  };
  /** The agent's log, for a failure message. */
  const log = async () => await Deno.readTextFile(join(o.dir, "agent.log")).catch(() => "");

  return {
    srv,
    printer,
    program,
    exits,
    build,
    broken,
    publish,
    target,
    beat,
    updateIs,
    longestGap,
    settle,
    log,
    async [Symbol.asyncDispose]() {
      flowing = false;
      await flow.catch(() => {});
      stopping = true;
      try {
        (child as Deno.ChildProcess | null)?.kill("SIGTERM");
      } catch { /* gone */ }
      await manager;
      printer.close();
      await srv[Symbol.asyncDispose]();
    },
  };
}
