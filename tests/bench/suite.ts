/**
 * `deno task bench`: the performance suite, on loopback against the reference server and the TCP
 * printer simulator, with the agent as a real subprocess (`deno run src/main.ts`). Prints a table
 * and writes docs/benchmarks.md.
 *
 * `--quick` runs smaller samples (for a smoke run); the figures quoted in the docs come from a
 * full run.
 */
import { parseArgs } from "node:util";
import { join } from "node:path";
import { PrinterSim } from "../helpers/printer_sim.ts";
import {
  agentConfig,
  benchServer,
  freePort,
  pct,
  procStat,
  receipt,
  ROOT,
  spawnAgent,
  stopAgent,
  waitUntil,
} from "./common.ts";
import { Journal } from "../../src/store/journal.ts";
import { Renderer } from "../../src/render/render.ts";
import { rendererOptions } from "../helpers/receipts.ts";
import { service } from "../helpers/balance_sim.ts";
import { type Job, overLimit } from "../../src/core/job.ts";
import { DEFAULT_LIMITS } from "../../src/config.ts";

const { values: flags } = parseArgs({
  args: Deno.args,
  options: { quick: { type: "boolean", default: false } },
});
const Q = flags.quick;
const N = {
  pickup: Q ? 40 : 200,
  burst: Q ? 200 : 1000,
  idleSeconds: Q ? 10 : 60,
  memSmall: 100,
  memLarge: Q ? 2000 : 10_000,
  history: Q ? 20_000 : 100_000,
  perJob: Q ? 50 : 200,
  flood: Q ? 2000 : 10_000,
};

function renderJob(receipt_data: Record<string, unknown>): Job {
  return { id: 1, uuid: "b-1", job_type: "receipt", priority: 0, receipt_data };
}

const f1 = (n: number) => n.toFixed(1);

const rows: [string, string, string, string][] = [];
function row(what: string, value: string, target: string, ok: boolean | null) {
  rows.push([what, value, target, ok === null ? "" : ok ? "met" : "MISSED"]);
  console.log(
    `${what.padEnd(58)} ${value.padEnd(34)} ${target.padEnd(22)} ${
      ok === null ? "" : ok ? "met" : "MISSED"
    }`,
  );
}

const dir = await Deno.makeTempDir({ prefix: "pa-bench-" });
const srv = benchServer();
const sim = PrinterSim.start();
const firstByte: number[] = [];
sim.onFirstByte = (t) => firstByte.push(t);
const cpuInfo = Deno.readTextFileSync("/proc/cpuinfo").match(/model name\s*:\s*(.+)/)?.[1] ??
  "unknown CPU";
console.log(
  `Print Agent bench — Deno ${Deno.version.deno}, ${cpuInfo}, ${navigator.hardwareConcurrency} cores${
    Q ? " (quick)" : ""
  }\n`,
);

try {
  // 1. pickup latency: long-poll, one job at a time
  const pickup = async (terminal: string, over: Record<string, unknown>, n: number) => {
    const cfg = await agentConfig(dir, srv.url, sim.port, terminal, over);
    const a = spawnAgent(cfg);
    const lat: number[] = [];
    try {
      await srv.create(terminal, "warm-up");
      await waitUntil(() => firstByte.length > 0, 20_000, "warm-up print");
      await new Promise((r) => setTimeout(r, 300));
      for (let i = 0; i < n; i++) {
        firstByte.length = 0;
        // random phase against the poll timer, as real jobs arrive
        await new Promise((r) => setTimeout(r, Math.random() * 50));
        const { at } = await srv.create(terminal, `${terminal}-${i}`);
        await waitUntil(() => firstByte.length > 0, 10_000, "first byte");
        lat.push(firstByte[0] - at);
      }
    } finally {
      await stopAgent(a);
    }
    return lat;
  };
  const lp = await pickup("LP", { server: { long_poll_wait: 25 } }, N.pickup);
  const pickupParallel = async (terminal: string, n: number): Promise<number[]> => {
    const cfg = await agentConfig(dir, srv.url, sim.port, terminal, {
      server: { long_poll_wait: 0, poll_interval: 2 },
    });
    const a = spawnAgent(cfg);
    const lat: number[] = [];
    try {
      for (let i = 0; i < n; i++) {
        await new Promise((r) => setTimeout(r, Math.random() * 2000));
        const bill = `${terminal}-${i}`;
        const { id, at } = await srv.create(terminal, bill);
        await waitUntil(() => srv.completed.has(id), 15_000, `polled job ${bill}`);
        // the printer's side of the connection may close a moment after COMPLETED is sent
        const find = () =>
          sim.jobs.find((j) => new TextDecoder("latin1").decode(j.bytes).includes(bill));
        await waitUntil(() => find() !== undefined, 5_000, `printed job ${bill}`);
        lat.push(find()!.firstByteAt - at);
      }
    } finally {
      await stopAgent(a);
    }
    return lat;
  };
  // the seed's 2 s polling, measured the same way: several terminals at once to keep the run short
  const pollTerminals = 10;
  const per = Math.ceil(N.pickup / pollTerminals);
  const polled = (await Promise.all(
    Array.from({ length: pollTerminals }, (_, k) => pickupParallel(`PL${k}`, per)),
  )).flat();
  const ratio = pct(polled, 50) / pct(lp, 50);
  row(
    `pickup, long-poll (n=${lp.length}): p50 / p95 / p99`,
    `${f1(pct(lp, 50))} / ${f1(pct(lp, 95))} / ${f1(pct(lp, 99))} ms`,
    "p50 ≤ 20, p99 ≤ 100 ms",
    pct(lp, 50) <= 20 && pct(lp, 99) <= 100,
  );
  row(
    `pickup, 2 s polling (n=${polled.length}): p50 / p95 / p99`,
    `${f1(pct(polled, 50))} / ${f1(pct(polled, 95))} / ${f1(pct(polled, 99))} ms`,
    "(the seed's way)",
    null,
  );
  row("pickup, polling p50 ÷ long-poll p50", `${ratio.toFixed(0)}×`, "≥ 40×", ratio >= 40);

  // 1b. stations: pickup on a healthy station while another station's printer is down and
  // retrying, against a one-station agent in the same run: both agents run side by side and jobs
  // go to each in turn, so both see the same machine
  {
    const deadPort = freePort();
    const printer = { transport: "tcp", brand: "EPSON", paper_width: 48 };
    const oneCfg = await agentConfig(dir, srv.url, sim.port, "ONE", {
      server: { long_poll_wait: 25 },
    });
    const twoCfg = await agentConfig(dir, srv.url, sim.port, "TWO", {
      server: { long_poll_wait: 25 },
      printers: [
        { id: "cashier", roles: ["cashier"], ...printer, port: sim.port },
        { id: "kitchen", roles: ["kitchen"], ...printer, port: deadPort, timeout: 2 },
      ],
      // the kitchen printer is off: its tickets retry every 0.2 s, new ones keep coming
      error_handling: { max_retry: 20, backoff_seconds: [0.2] },
    });
    const agents = [spawnAgent(oneCfg), spawnAgent(twoCfg)];
    const lat: Record<string, number[]> = { ONE: [], TWO: [] };
    let stopKitchen = () => {};
    try {
      for (const t of ["ONE", "TWO"]) {
        firstByte.length = 0;
        await srv.create(t, `${t}-warm-up`);
        await waitUntil(() => firstByte.length > 0, 20_000, "warm-up print");
      }
      const kitchenBusy = setInterval(() => srv.createKitchen("TWO").catch(() => {}), 1000);
      await srv.createKitchen("TWO");
      await new Promise((r) => setTimeout(r, 500));
      stopKitchen = () => clearInterval(kitchenBusy);
      for (let i = 0; i < 2 * N.pickup; i++) { // a p99 needs a few hundred samples
        for (const t of i % 2 ? ["TWO", "ONE"] : ["ONE", "TWO"]) {
          firstByte.length = 0;
          await new Promise((r) => setTimeout(r, Math.random() * 50));
          const { at } = await srv.create(t, `${t}-${i}`);
          await waitUntil(() => firstByte.length > 0, 10_000, "first byte");
          lat[t].push(firstByte[0] - at);
        }
      }
    } finally {
      stopKitchen();
      for (const a of agents) await stopAgent(a);
    }
    const { ONE: one, TWO: two } = lat;
    const r50 = pct(two, 50) / pct(one, 50), r99 = pct(two, 99) / pct(one, 99);
    row(
      `pickup, a station down and retrying vs one station (n=${two.length} each): p50 / p99`,
      `${f1(pct(two, 50))} / ${f1(pct(two, 99))} vs ${f1(pct(one, 50))} / ${f1(pct(one, 99))} ms`,
      "within 1.2×",
      r50 <= 1.2 && r99 <= 1.2,
    );
    row("  ratio p50 / p99", `${r50.toFixed(2)}× / ${r99.toFixed(2)}×`, "", null);
  }

  // 2. the agent's own cost per job (handed out → COMPLETED acknowledged), and a burst
  {
    const cfg = await agentConfig(dir, srv.url, sim.port, "COST", {
      server: { long_poll_wait: 25 },
    });
    const a = spawnAgent(cfg);
    try {
      await srv.create("COST", "warm-up");
      await new Promise((r) => setTimeout(r, 1000));
      const cost: number[] = [];
      for (let i = 0; i < N.perJob; i++) {
        const { id } = await srv.create("COST", `cost-${i}`);
        await waitUntil(() => srv.completed.has(id), 10_000, "COMPLETED");
        cost.push(srv.completed.get(id)! - srv.handedOut.get(id)!);
      }
      row(
        `agent cost per job, fetch → COMPLETED acked (n=${cost.length}): p50 / p99`,
        `${f1(pct(cost, 50))} / ${f1(pct(cost, 99))} ms`,
        "p50 ≤ 10 ms",
        pct(cost, 50) <= 10,
      );
      const ids = srv.insertMany("COST", N.burst, "burst");
      const t0 = performance.now();
      await fetch(`${srv.url}/print-jobs/`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({
          terminal_id: "COST",
          job_type: "receipt",
          receipt_data: receipt("kick"),
        }),
      }); // wakes the agent's long-poll (the inserts above do not)
      await waitUntil(() => ids.every((id) => srv.completed.has(id)), 120_000, "burst");
      const first = Math.min(...ids.map((id) => srv.handedOut.get(id)!));
      const last = Math.max(...ids.map((id) => srv.completed.get(id)!));
      const rate = N.burst / ((last - first) / 1000);
      row(
        `burst of ${N.burst} jobs: sustained rate`,
        `${rate.toFixed(0)} jobs/s (${f1((last - t0) / 1000)} s)`,
        "≥ 100 jobs/s",
        rate >= 100,
      );
    } finally {
      await stopAgent(a);
    }
  }

  // 2b. no job jams the agent: 10,000 jobs in one list, and the event loop while they come in
  {
    const apiPort = freePort();
    const cfg = await agentConfig(dir, srv.url, sim.port, "FLOOD", {
      server: { long_poll_wait: 0, poll_interval: 1, query: { extra: { limit: String(N.flood) } } },
    });
    const c = JSON.parse(await Deno.readTextFile(cfg));
    c.local_api = { enabled: true, port: apiPort };
    await Deno.writeTextFile(cfg, JSON.stringify(c));
    const ids = srv.insertMany("FLOOD", N.flood, "flood");
    const t0 = performance.now();
    const a = spawnAgent(cfg);
    const lags: number[] = [];
    let probing = true;
    const probe = (async () => {
      while (probing) {
        const p0 = performance.now();
        try {
          await (await fetch(`http://127.0.0.1:${apiPort}/health`)).body?.cancel();
          lags.push(performance.now() - p0);
        } catch { /* not listening yet */ }
        await new Promise((r) => setTimeout(r, 20));
      }
    })();
    try {
      await waitUntil(() => ids.every((id) => srv.completed.has(id)), 600_000, "flood");
      const all = (Math.max(...ids.map((id) => srv.completed.get(id)!)) - t0) / 1000;
      const firstDone = (Math.min(...ids.map((id) => srv.completed.get(id)!)) - t0) / 1000;
      row(
        `${
          N.flood.toLocaleString("en")
        } jobs in one list: first / every COMPLETED seen by the server`,
        `${f1(firstDone)} / ${f1(all)} s`,
        "all, none twice",
        true,
      );
      // the agent's own measure (a 50 ms timer's lateness): this process also serves the
      // 6 MB lists, so its own fetches are late for reasons that are not the agent's
      const lag = (await (await fetch(`http://127.0.0.1:${apiPort}/status`)).json())
        .event_loop_lag as { max_ms: number };
      row(
        "  the agent's event loop meanwhile: longest hold-up (its own timer)",
        `${lag.max_ms} ms`,
        "≤ 100 ms",
        lag.max_ms <= 100,
      );
      row(
        `  local API /health from outside (n=${lags.length}): p50 / p99`,
        `${f1(pct(lags, 50))} / ${f1(pct(lags, 99))} ms`,
        "(information)",
        null,
      );
    } finally {
      probing = false;
      await probe;
      await stopAgent(a);
    }
  }

  // 2c. render time against the size of one text field (linear), in process
  {
    const r = await Renderer.create({
      ...rendererOptions(),
      maxBytes: 64 * 2 ** 20,
      maxLines: 1_000_000,
    });
    const times: [number, number][] = [];
    for (const kb of [1, 10, 100, 1000]) {
      const note = "lorem ipsum dolor sit amet, ".repeat(Math.ceil(kb * 1024 / 28)).slice(
        0,
        kb * 1024,
      );
      const word = "x".repeat(kb * 1024); // one long word: the hard-break path
      const once = async (v: string) => {
        const t = performance.now();
        await r.render(renderJob({ ...receipt("size"), note: v }));
        return performance.now() - t;
      };
      await once(note);
      const ms = Math.max(
        pct([await once(note), await once(note), await once(note)], 50),
        pct([await once(word), await once(word), await once(word)], 50),
      );
      times.push([kb, ms]);
    }
    const per = times.map(([kb, ms]) => ms / kb);
    const linear = per.at(-1)! <= 3 * per[2];
    row(
      "render time against one field's size (1 KB / 10 KB / 100 KB / 1 MB)",
      times.map(([, ms]) => `${f1(ms)}`).join(" / ") + " ms",
      "linear (µs per KB flat)",
      linear,
    );
    // the biggest job the default limits admit: 1,000 items, names filling limits.job_bytes
    const items = Array.from({ length: 1000 }, (_, i) => ({
      name: `Item ${i} ${"nasi goreng ".repeat(14)}`,
      qty: 1,
      price: 1000,
      notes: "tidak pedas",
    }));
    const worst = renderJob({ ...receipt("worst"), items });
    const bytes = new TextEncoder().encode(JSON.stringify(worst)).length;
    const over = overLimit(worst, DEFAULT_LIMITS);
    if (over) throw new Error(`bench: the "largest admitted job" is not admitted: ${over}`);
    const dr = await Renderer.create(rendererOptions());
    await dr.render(worst).catch(() => {});
    const w: number[] = [];
    for (let i = 0; i < 3; i++) {
      const t = performance.now();
      await dr.render(worst).catch(() => {});
      w.push(performance.now() - t);
    }
    row(
      `render of the largest job the default limits admit (${
        Math.round(bytes / 1024)
      } KB, 1,000 items)`,
      `${f1(pct(w, 50))} ms`,
      "≤ 100 ms (event loop)",
      pct(w, 50) <= 100,
    );
  }

  // 2c'. every script (#26): a 40-line receipt with 5 lines no code page holds, drawn as dots,
  // against the same receipt in Latin; the first render loads HarfBuzz and the fonts
  {
    const drawnNames = [
      "ก๋วยเตี๋ยวน้ำใส",
      "បាយឆាសាច់មាន់",
      "شاي بالنعناع",
      "Phở bò tái đặc biệt",
      "宫保鸡丁 米饭",
    ];
    const job = (names: string[]) =>
      renderJob({
        bill_number: "INV-40",
        items: Array.from({ length: 29 }, (_, i) => ({
          name: i < names.length ? names[i] : `Kopi susu ${i}`,
          qty: 1,
          price: 1000,
        })),
        subtotal: 29000,
        total: 29000,
        payments: [{ method: "Tunai", amount: 29000 }],
      });
    const latin = job(drawnNames.map((n, i) => `Latin name ${i} ${"x".repeat(n.length)}`));
    const scripts = job(drawnNames);
    const sr = await Renderer.create(rendererOptions({ fonts: ["/bench-own-font-set/none.ttf"] }));
    let t = performance.now();
    const first = await sr.render(scripts);
    const cold = performance.now() - t;
    const warm: number[] = [];
    for (let i = 0; i < 9; i++) {
      t = performance.now();
      await sr.render(scripts);
      warm.push(performance.now() - t);
    }
    const plain = await sr.render(latin);
    const lines = first.preview.split("\n").length;
    const extra = first.bytes.length - plain.bytes.length;
    row(
      `scripts: ${lines}-line receipt, ${first.drawnLines} lines drawn (Thai, Khmer, Arabic, ` +
        `Vietnamese, Chinese) — first render (loads HarfBuzz + fonts) / after`,
      `${f1(cold)} / ${f1(pct(warm, 50))} ms`,
      "≤ 150 ms",
      cold <= 150 && pct(warm, 50) <= 150,
    );
    row(
      "scripts: bytes beyond the same receipt in Latin",
      `+${(extra / 1024).toFixed(1)} KB (${first.bytes.length} vs ${plain.bytes.length})`,
      "≤ 20 KB",
      extra <= 20 * 1024,
    );
  }

  // 2d. load balancing across two printers of one role (tests/helpers/balance_sim.ts): 200
  // simulated services of 60 tickets in about 10 minutes, the real intake and stations
  {
    const within = async (follow: number, printMs: [number, number]) => {
      let ok = 0, most = 0;
      for (let seed = 1; seed <= 200; seed++) {
        const apart = await service(seed, follow, printMs);
        if (apart <= 2) ok++;
        most = Math.max(most, apart);
      }
      return { ok, most };
    };
    const runs = [
      await within(0, [12_000, 8_000]),
      await within(0.2, [2_000, 2_000]),
      await within(0.2, [12_000, 8_000]),
    ];
    row(
      "balance: 2 printers, 60 tickets in ~10 min, 200 services: queues within 2 — new orders only / " +
        "20 % follow-ups kept with their order, 2–4 s printers / 12–20 s printers",
      runs.map((r) => `${r.ok}`).join(" / ") + " of 200 (at most " +
        runs.map((r) => r.most).join(" / ") + " apart; further only where every order waiting " +
        "on the longer side has started there or has as many tickets as the gap: checked)",
      "within 2 unless an order kept together forces it",
      runs[0].ok === 200 && runs[1].ok === 200,
    );
  }

  // 3. idle cost at the default intervals (2 s poll, 25 s long-poll, 30 s heartbeat)
  {
    const cfg = await agentConfig(dir, srv.url, sim.port, "IDLE");
    const a = spawnAgent(cfg);
    try {
      await new Promise((r) => setTimeout(r, 3000));
      const s0 = procStat(a.pid);
      const t0 = performance.now();
      await new Promise((r) => setTimeout(r, N.idleSeconds * 1000));
      const s1 = procStat(a.pid);
      const secs = (performance.now() - t0) / 1000;
      const cpu = ((s1.cpuTicks - s0.cpuTicks) / 100) / secs * 100;
      row(
        `idle CPU over ${N.idleSeconds} s (share of one core)`,
        `${cpu.toFixed(2)} %`,
        "≤ 1 %",
        cpu <= 1,
      );
      row("idle resident memory", `${f1(s1.rssMB)} MB`, "≤ 100 MB", s1.rssMB <= 100);
    } finally {
      await stopAgent(a);
    }
  }

  // 4. memory after 100 jobs and after 10,000 (with checkpoints, and the JS heap from /status)
  {
    const apiPort = freePort();
    const cfg = await agentConfig(dir, srv.url, sim.port, "MEM", {
      server: { long_poll_wait: 25 },
    });
    const c = JSON.parse(await Deno.readTextFile(cfg));
    c.local_api = { enabled: true, port: apiPort };
    await Deno.writeTextFile(cfg, JSON.stringify(c));
    const a = spawnAgent(cfg);
    const heap = async () =>
      (await (await fetch(`http://127.0.0.1:${apiPort}/status`)).json()).memory_mb as {
        heap_used: number;
        heap_total: number;
      };
    try {
      const points: [number, number, number, number][] = [];
      let done = 0;
      const runTo = async (target: number) => {
        while (done < target) {
          const n = Math.min(1000, target - done);
          const ids = srv.insertMany("MEM", n, `mem-${done}`);
          await srv.create("MEM", "kick");
          await waitUntil(() => ids.every((id) => srv.completed.has(id)), 120_000, "mem batch");
          done += n + 1;
        }
        await new Promise((r) => setTimeout(r, 2000));
        const h = await heap();
        points.push([done, procStat(a.pid).rssMB, h.heap_used, h.heap_total]);
      };
      for (const t of [N.memSmall, 1000, 2000, 5000, N.memLarge].filter((t) => t <= N.memLarge)) {
        await runTo(t);
      }
      const small = points[0][1], large = points.at(-1)![1];
      const growth = large - small;
      row(
        `RSS after ${points[0][0]} jobs → after ${points.at(-1)![0]}`,
        `${f1(small)} → ${f1(large)} MB (${growth >= 0 ? "+" : ""}${f1(growth)})`,
        "no growth beyond noise (≤ 10 MB)",
        growth <= 10,
      );
      const mid = points.find((p) => p[0] >= 2000) ?? points.at(-1)!;
      row(
        `RSS after ${mid[0]} jobs → after ${points.at(-1)![0]} (warmed up)`,
        `${f1(mid[1])} → ${f1(large)} MB (${large - mid[1] >= 0 ? "+" : ""}${f1(large - mid[1])})`,
        "no growth beyond noise (≤ 10 MB)",
        large - mid[1] <= 10,
      );
      row(
        "JS heap in use at each checkpoint, garbage included (jobs: MB)",
        points.map((p) => `${p[0]}: ${f1(p[2])}`).join(", "),
        "(information: no forced GC here)",
        null,
      );
    } finally {
      await stopAgent(a);
    }
  }

  // 5. start-up to the first request, with an empty journal and with a long history
  const startup = async (terminal: string) => {
    const cfg = await agentConfig(dir, srv.url, sim.port, terminal, {
      server: { long_poll_wait: 25 },
    });
    const times: number[] = [];
    for (let i = 0; i < 5; i++) {
      srv.resetFirstRequest();
      const t0 = performance.now();
      const a = spawnAgent(cfg);
      await waitUntil(() => srv.firstRequestAt > 0, 20_000, "first request");
      times.push(srv.firstRequestAt - t0);
      await stopAgent(a);
    }
    return pct(times, 50);
  };
  const perJobCost = async (terminal: string) => {
    const cfg = await agentConfig(dir, srv.url, sim.port, terminal, {
      server: { long_poll_wait: 25 },
    });
    const a = spawnAgent(cfg);
    const cost: number[] = [];
    try {
      await srv.create(terminal, "warm-up");
      await new Promise((r) => setTimeout(r, 1000));
      for (let i = 0; i < N.perJob; i++) {
        const { id } = await srv.create(terminal, `${terminal}-${i}`);
        await waitUntil(() => srv.completed.has(id), 10_000, "COMPLETED");
        cost.push(srv.completed.get(id)! - srv.handedOut.get(id)!);
      }
    } finally {
      await stopAgent(a);
    }
    return pct(cost, 50);
  };
  const emptyStart = await startup("EMPTY");
  row(
    "start-up to the first request (empty journal, median of 5)",
    `${emptyStart.toFixed(0)} ms`,
    "≤ 1000 ms",
    emptyStart <= 1000,
  );
  {
    await Deno.mkdir(join(dir, "state-HIST"), { recursive: true });
    const j = Journal.open(join(dir, "state-HIST", "journal.db"));
    const now = Date.now();
    for (let i = 0; i < N.history; i += 5000) {
      j.importPrinted(
        Array.from({ length: Math.min(5000, N.history - i) }, (_, k) => `hist-${i + k}`),
        now,
        `fill-${i}`,
      );
    }
    j.close();
  }
  const histStart = await startup("HIST");
  const emptyCost = await perJobCost("EMPTY");
  const histCost = await perJobCost("HIST");
  row(
    `start-up with ${N.history.toLocaleString("en")} journal rows vs empty`,
    `${histStart.toFixed(0)} vs ${emptyStart.toFixed(0)} ms`,
    "≤ 2× empty",
    histStart <= 2 * emptyStart,
  );
  row(
    `per-job cost p50 with ${N.history.toLocaleString("en")} rows vs empty`,
    `${f1(histCost)} vs ${f1(emptyCost)} ms`,
    "≤ 2× empty",
    histCost <= 2 * emptyCost,
  );
} finally {
  sim.close();
  await srv.close();
  await Deno.remove(dir, { recursive: true }).catch(() => {});
}

const md = `# Benchmarks

Measured by \`deno task bench\` (tests/bench/suite.ts) on ${new Date().toISOString().slice(0, 10)}:
Deno ${Deno.version.deno}, ${cpuInfo}, ${navigator.hardwareConcurrency} cores, loopback, the reference server and the
TCP printer simulator, the agent as a separate process with its durable journal (SQLite WAL,
\`synchronous=FULL\`).${Q ? " **Quick run (smaller samples).**" : ""}

| measure | result | target | |
| --- | --- | --- | --- |
${rows.map((r) => `| ${r.join(" | ")} |`).join("\n")}

- *Pickup latency*: from the POS creating the job (HTTP POST to the server) to the first byte at
  the printer. Long-poll answers as soon as the job exists; the seed polled every 2 s.
- *Agent cost per job*: from the server handing the job out to the server receiving COMPLETED,
  with an instant printer: validate, journal RECEIVED, render, journal PRINTING, print (open,
  write, close), journal PRINTED, and the FETCHED/PRINTING/COMPLETED reports.
- *Idle*: CPU time (utime + stime from /proc) over the window, at the default intervals.
- Rendering alone: \`deno task bench:render\` (deno bench).

## Memory: what the RSS rows mean

The JavaScript heap in use never grew (15.8 → 16.6 MB from 100 to 8,000 jobs with forced
collection, 2026-11-28), but with only \`--max-semi-space-size=2\` V8 kept a larger committed heap
after bursts of 1,000 jobs: resident memory grew +36 to +59 MB from 100 to 10,000 jobs across
runs, and was not returned. Capping the old space (\`--max-old-space-size=48\`) flattened it but
ran out of memory rendering a 5,000-item receipt. Since 2026-11-29 the agent runs with
\`--max-semi-space-size=2,--optimize-for-size\` (baked into agent.exe and the service command):
V8 then sizes its heap for memory rather than speed. Three runs of the memory section alone: +1.7,
+5.9 and +4.6 MB from 100 to 10,000 jobs, the JS heap flat at 17–20 MB. The price is speed in
JavaScript: \`deno task bench:render\` renders a typical receipt in about 3.2 ms instead of 2.5 ms
— small next to a printer's own time — and the rows above were measured with the flags.
`;
// `deno task bench:cost` writes its own section by hand: kept as it is
const before = await Deno.readTextFile(join(ROOT, "docs/benchmarks.md")).catch(() => "");
const from = before.indexOf("## Cost beside the agent it replaces");
const to = from >= 0 ? before.indexOf("\n## ", from + 3) : -1;
const cost = from >= 0 ? before.slice(from, to >= 0 ? to + 1 : undefined) : "";
await Deno.writeTextFile(
  join(ROOT, "docs/benchmarks.md"),
  md.replace("## Memory: what the RSS rows mean", `${cost}## Memory: what the RSS rows mean`),
);
// the file is checked by `deno fmt --check` in CI: write it formatted
await new Deno.Command(Deno.execPath(), { args: ["fmt", join(ROOT, "docs/benchmarks.md")] })
  .output();
console.log("\nwrote docs/benchmarks.md");
