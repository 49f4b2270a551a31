/**
 * `deno task bench:cost`: what the agent costs a store's PC, side by side with a baseline built the
 * way the original Python agent is described (tests/bench/baseline_agent.py: requests polling
 * every 2 s, printed_jobs.json, the printer closed after each job), a bare-Deno floor (the runtime
 * with the agent's V8 flags running a file of one 2 s timer, nothing else) and a Deno I/O floor
 * (tests/bench/io_floor.ts: the agent's per-job and idle I/O with none of its logic). The agent
 * runs twice: as shipped (`dist/agent.js`, the minified ASCII bundle agent.exe holds, made by
 * build.ts's `bundle()` first) and from source (`deno run src/main.ts`, as a developer runs it).
 * Same reference server, same TCP printer simulator, one run after the other on this machine.
 *
 * `--idle N` (seconds, default 60), `--jobs N` (burst size, default 500), `--quick` (20 s, 200).
 */
import { parseArgs } from "node:util";
import { join } from "node:path";
import { PrinterSim } from "../helpers/printer_sim.ts";
import { V8_FLAGS } from "../../src/version.ts";
import { bundle } from "../../build.ts";
import {
  agentConfig,
  benchServer,
  procStat,
  ROOT,
  spawnAgent,
  stopAgent,
  waitUntil,
  wakeups,
} from "./common.ts";

const { values: flags } = parseArgs({
  args: Deno.args,
  options: {
    quick: { type: "boolean", default: false },
    idle: { type: "string" },
    jobs: { type: "string" },
  },
});
const IDLE_S = Number(flags.idle ?? (flags.quick ? 20 : 60));
const BURST = Number(flags.jobs ?? (flags.quick ? 200 : 500));
const STEADY_S = flags.quick ? 10 : 30;
/** Sparse traffic: one job every 5 s, the agent idle between them (as a quiet shop's till). */
const SPARSE_JOBS = flags.quick ? 4 : 8;
const SPARSE_GAP_MS = 5000;
const TICK_MS = 10; // /proc/<pid>/stat counts CPU in 1/100 s

type Subject = "shipped" | "source" | "baseline" | "floor" | "io";
const SHIPPED = join(ROOT, "dist", "agent.js");

interface Figures {
  startMs: number;
  idleCpuPct: number;
  /** Idle CPU in the second half of the window only (start-up's aftermath left out). */
  settledCpuPct: number;
  /** Idle wake-ups per second in the second half of the window. */
  settledWakeupsPerS: number;
  wakeupsPerS: number;
  rssFreshMB: number;
  anonFreshMB: number;
  burstCpuMsPerJob: number;
  steadyCpuMsPerJob: number;
  sparseCpuMsPerJob: number;
  rssAfterMB: number;
  anonAfterMB: number;
}

const srv = benchServer();
const sim = PrinterSim.start();
const dir = await Deno.makeTempDir({ prefix: "print-agent-cost-" });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const FLOOR_JS = join(dir, "floor.js");
await Deno.writeTextFile(FLOOR_JS, "setInterval(() => {}, 2000);\n");

function spawn(who: Subject, terminal: string, cfg: string): Deno.ChildProcess {
  if (who === "source") return spawnAgent(cfg);
  if (who === "shipped") return spawnAgent(cfg, SHIPPED);
  if (who === "baseline") {
    return new Deno.Command("python3", {
      args: [
        join(ROOT, "tests/bench/baseline_agent.py"),
        srv.url,
        terminal,
        String(sim.port),
        join(dir, `state-${terminal}`),
      ],
      stdout: "null",
      stderr: "null",
    }).spawn();
  }
  if (who === "io") {
    const state = join(dir, `state-${terminal}`);
    Deno.mkdirSync(state, { recursive: true });
    return new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        `--v8-flags=${V8_FLAGS}`,
        join(ROOT, "tests/bench/io_floor.ts"),
        srv.url,
        terminal,
        String(sim.port),
        state,
      ],
      stdout: "null",
      stderr: "null",
    }).spawn();
  }
  // `deno run` of a one-line file, as the agent is run (`deno eval` would load more of the runtime)
  return new Deno.Command(Deno.execPath(), {
    args: ["run", `--v8-flags=${V8_FLAGS}`, FLOOR_JS],
    stdout: "null",
    stderr: "null",
  }).spawn();
}

/** CPU (ms) the process spent while `f` ran. */
async function cpuDuring(pid: number, f: () => Promise<void>): Promise<number> {
  const before = procStat(pid).cpuTicks;
  await f();
  await sleep(300); // the last report's own work
  return (procStat(pid).cpuTicks - before) * TICK_MS;
}

/**
 * CPU time and context switches (wake-ups) of every thread over `seconds`: from `perf stat` where
 * it runs (task-clock in µs, exact), else from /proc (CPU in 10 ms ticks; threads that end while
 * measured take their switches with them).
 */
async function idleCost(
  pid: number,
  seconds: number,
): Promise<{ cpuMs: number; switches: number }> {
  try {
    const out = await new Deno.Command("perf", {
      args: [
        "stat",
        "-x",
        ",",
        "-e",
        "task-clock,context-switches",
        "-p",
        String(pid),
        "--",
        "sleep",
        String(seconds),
      ],
      stdout: "null",
      stderr: "piped",
    }).output();
    const text = new TextDecoder().decode(out.stderr);
    const value = (event: string) => {
      const line = text.split("\n").find((l) => l.includes(event));
      return line ? Number(line.split(",")[0]) : NaN;
    };
    const cpuMs = value("task-clock"), switches = value("context-switches");
    if (out.success && !Number.isNaN(cpuMs) && !Number.isNaN(switches)) return { cpuMs, switches };
  } catch { /* no perf here */ }
  const c0 = procStat(pid).cpuTicks, w0 = wakeups(pid);
  await sleep(seconds * 1000);
  return { cpuMs: (procStat(pid).cpuTicks - c0) * TICK_MS, switches: wakeups(pid) - w0 };
}

async function measure(who: Subject): Promise<Figures> {
  const terminal = `COST-${who.toUpperCase()}`;
  const cfg = await agentConfig(dir, srv.url, sim.port, terminal);
  // start-up to the first request (median of 3; the floor makes none)
  const starts: number[] = [];
  for (let i = 0; i < 3 && who !== "floor"; i++) {
    srv.resetFirstRequest();
    const t0 = performance.now();
    const p = spawn(who, terminal, cfg);
    await waitUntil(() => srv.firstRequestAt > 0, 20_000, `${who}: first request`);
    starts.push(srv.firstRequestAt - t0);
    await stopAgent(p);
  }
  const p = spawn(who, terminal, cfg);
  try {
    await sleep(3000);
    // two halves: the first holds what follows start-up (V8 compiling and collecting what the
    // start left), the second is what a till costs the rest of the day
    const first = await idleCost(p.pid, IDLE_S / 2);
    const settled = await idleCost(p.pid, IDLE_S / 2);
    const idleCpuPct = (first.cpuMs + settled.cpuMs) / 1000 / IDLE_S * 100;
    const wakeupsPerS = (first.switches + settled.switches) / IDLE_S;
    const settledCpuPct = settled.cpuMs / 1000 / (IDLE_S / 2) * 100;
    const settledWakeupsPerS = settled.switches / (IDLE_S / 2);
    const { rssMB: rssFreshMB, anonMB: anonFreshMB } = procStat(p.pid);
    if (who === "floor") {
      return {
        startMs: NaN,
        idleCpuPct,
        wakeupsPerS,
        settledCpuPct,
        settledWakeupsPerS,
        rssFreshMB,
        anonFreshMB,
        burstCpuMsPerJob: NaN,
        steadyCpuMsPerJob: NaN,
        sparseCpuMsPerJob: NaN,
        rssAfterMB: rssFreshMB,
        anonAfterMB: anonFreshMB,
      };
    }
    // a burst: BURST jobs waiting at once
    const ids = srv.insertMany(terminal, BURST, `${who}-burst`);
    const burst = await cpuDuring(
      p.pid,
      () => waitUntil(() => ids.every((id) => srv.completed.has(id)), 600_000, `${who}: burst`),
    );
    // steady: 4 jobs a second, each created through the API as a POS would
    let steadyJobs = 0;
    const steady = await cpuDuring(p.pid, async () => {
      const made: number[] = [];
      const until = performance.now() + STEADY_S * 1000;
      while (performance.now() < until) {
        made.push((await srv.create(terminal, `${who}-steady-${made.length}`)).id);
        await sleep(250);
      }
      steadyJobs = made.length;
      await waitUntil(() => made.every((id) => srv.completed.has(id)), 60_000, `${who}: steady`);
    });
    // sparse: one job every 5 s; each job's CPU is counted from its creation until its report
    // landed (300 ms after), so the idle time between jobs is not charged to them
    let sparseMs = 0;
    for (let i = 0; i < SPARSE_JOBS; i++) {
      await sleep(SPARSE_GAP_MS);
      sparseMs += await cpuDuring(p.pid, async () => {
        const { id } = await srv.create(terminal, `${who}-sparse-${i}`);
        await waitUntil(() => srv.completed.has(id), 60_000, `${who}: sparse`);
      });
    }
    await sleep(2000);
    const after = procStat(p.pid);
    return {
      startMs: starts.sort((a, b) => a - b)[1],
      idleCpuPct,
      wakeupsPerS,
      settledCpuPct,
      settledWakeupsPerS,
      rssFreshMB,
      anonFreshMB,
      burstCpuMsPerJob: burst / BURST,
      steadyCpuMsPerJob: steady / steadyJobs,
      sparseCpuMsPerJob: sparseMs / SPARSE_JOBS,
      rssAfterMB: after.rssMB,
      anonAfterMB: after.anonMB,
    };
  } finally {
    await stopAgent(p);
  }
}

const results: Record<Subject, Figures> = {} as Record<Subject, Figures>;
if (!await bundle(ROOT)) Deno.exit(1);
try {
  for (const who of ["floor", "baseline", "io", "shipped", "source"] as const) {
    console.error(`measuring ${who} …`);
    results[who] = await measure(who);
  }
} finally {
  await srv.close();
  sim.close();
  await Deno.remove(dir, { recursive: true }).catch(() => {});
}

const o = results.shipped, src = results.source, b = results.baseline, f = results.floor;
const io = results.io;
const fmt = (n: number, d = 1) => Number.isNaN(n) ? "—" : n.toFixed(d);
const rows: [string, (x: Figures) => number, number][] = [
  ["start-up to the first request, ms (median of 3)", (x) => x.startMs, 0],
  [`idle CPU over ${IDLE_S} s, % of one core`, (x) => x.idleCpuPct, 2],
  ["idle wake-ups per second (context switches, all threads)", (x) => x.wakeupsPerS, 1],
  [
    `idle CPU, its second ${IDLE_S / 2} s only (${3 + IDLE_S / 2} s after start on), %`,
    (x) => x.settledCpuPct,
    2,
  ],
  [`idle wake-ups per second, its second ${IDLE_S / 2} s only`, (x) => x.settledWakeupsPerS, 1],
  ["idle RSS, fresh, MB", (x) => x.rssFreshMB, 1],
  [`CPU per job, burst of ${BURST}, ms`, (x) => x.burstCpuMsPerJob, 2],
  [`CPU per job, steady 4 jobs/s for ${STEADY_S} s, ms`, (x) => x.steadyCpuMsPerJob, 2],
  [`CPU per job, sparse (${SPARSE_JOBS} jobs 5 s apart), ms`, (x) => x.sparseCpuMsPerJob, 2],
  ["RSS after the jobs, MB", (x) => x.rssAfterMB, 1],
  ["anonymous resident (the private part of RSS), fresh, MB", (x) => x.anonFreshMB, 1],
  ["anonymous resident after the jobs, MB", (x) => x.anonAfterMB, 1],
];
console.log(
  `| measure | baseline (Python) | ours, shipped | shipped ÷ baseline | ours, from source | bare Deno floor | shipped − floor | Deno I/O floor | I/O floor ÷ baseline | shipped − I/O floor |`,
);
console.log(`|---|---|---|---|---|---|---|---|---|---|`);
for (const [what, get, d] of rows) {
  console.log(
    `| ${what} | ${fmt(get(b), d)} | ${fmt(get(o), d)} | ${fmt(get(o) / get(b), 2)}× | ${
      fmt(get(src), d)
    } | ${fmt(get(f), d)} | ${fmt(get(o) - get(f), d)} | ${fmt(get(io), d)} | ${
      fmt(get(io) / get(b), 2)
    }× | ${fmt(get(o) - get(io), d)} |`,
  );
}
console.log(
  `COST: idle_cpu_ratio=${fmt(o.idleCpuPct / b.idleCpuPct, 2)} settled_idle_cpu_ratio=${
    fmt(o.settledCpuPct / b.settledCpuPct, 2)
  } settled_wakeups=${fmt(o.settledWakeupsPerS)} rss_fresh_mb=${fmt(o.rssFreshMB)} rss_after_mb=${
    fmt(o.rssAfterMB)
  } anon_fresh_mb=${fmt(o.anonFreshMB)} anon_after_mb=${fmt(o.anonAfterMB)} start_ms=${
    fmt(o.startMs, 0)
  } burst_cpu_ratio=${fmt(o.burstCpuMsPerJob / b.burstCpuMsPerJob, 2)} steady_cpu_ratio=${
    fmt(o.steadyCpuMsPerJob / b.steadyCpuMsPerJob, 2)
  } sparse_cpu_ratio=${
    fmt(o.sparseCpuMsPerJob / b.sparseCpuMsPerJob, 2)
  } io_floor_steady_cpu_ratio=${
    fmt(io.steadyCpuMsPerJob / b.steadyCpuMsPerJob, 2)
  } io_floor_burst_cpu_ratio=${
    fmt(io.burstCpuMsPerJob / b.burstCpuMsPerJob, 2)
  } io_floor_rss_after_mb=${fmt(io.rssAfterMB)} io_floor_settled_wakeups=${
    fmt(io.settledWakeupsPerS)
  } source_rss_fresh_mb=${fmt(src.rssFreshMB)}`,
);
