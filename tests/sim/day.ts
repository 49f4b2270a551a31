/**
 * One simulated store day: the real agent (journal on a real SQLite file, stations, outbox,
 * renderer, HTTP client, poll loop) against the simulated server and printers, with faults and
 * crashes drawn from the seed, and the invariants checked as it runs and at quiescence.
 * @module
 */
import { join } from "node:path";
import { Agent } from "../../src/core/agent.ts";
import { type Config, parseConfig } from "../../src/config.ts";
import { JobServerClient } from "../../src/server/job_server.ts";
import type { Journal } from "../../src/store/journal.ts";
import { setupLogging } from "../../src/log.ts";
import type { Printer } from "../../src/printers/printer.ts";
import type { Renderer } from "../../src/render/render.ts";
import { openJournal, rendererFor } from "../../src/run.ts";
import { type ServerFault, type SimJob, SimServer } from "./server.ts";
import { type PaperMark, type PrinterFault, Rng, SimPrinter, Timeline } from "./world.ts";

const MIN = 60_000;
/** Trading hours of one simulated day (faults and crashes happen only then). */
export const TRADING_MS = 25 * MIN;
/** Fault-free time after trading in which every job must settle. */
const SETTLE_MS = 12 * MIN;
const START = Date.UTC(2026, 11, 1, 2, 0, 0);
const PROFILES = new URL("../../profiles", import.meta.url).pathname;

/** What a day found. */
export interface DayResult {
  seed: number;
  violations: string[];
  trace: string[];
  jobs: number;
  crashes: number;
  /** Timers the day ran. */
  steps: number;
}

/** A station of a simulated store; `balance` marks the kitchen shared by two printers. */
interface Layout {
  id: string;
  roles: string[];
  backup?: string;
  balance?: boolean;
}

/** The station layouts a seed may draw. */
const LAYOUTS: Layout[][] = [
  [{ id: "cashier", roles: ["cashier"] }],
  [{ id: "cashier", roles: ["cashier"] }, { id: "kitchen", roles: ["kitchen"] }],
  [
    { id: "cashier", roles: ["cashier"] },
    { id: "kitchen", roles: ["kitchen"], backup: "bar" },
    { id: "bar", roles: ["bar"] },
  ],
];

let loggingFor: ((line: string) => void) | null = null;
let loggingReady = false;

/** Runs the day of `seed` (`dir`: where its temporary files go). */
export async function runDay(seed: number, o: { dir?: string } = {}): Promise<DayResult> {
  const rng = new Rng(seed * 2654435761);
  const trace: string[] = [];
  const tl = new Timeline(START);
  const t = (s: string) => trace.push(`${((tl.now - START) / 1000).toFixed(3)} ${s}`);
  let dirName = "\u0000";
  loggingFor = (line) => t(`log ${line.replaceAll(dirName, "<dir>")}`);
  if (!loggingReady) {
    loggingReady = true;
    await setupLogging({
      level: "INFO",
      file: null,
      console: false,
      extraSink: (r) => {
        const p = r.properties as { msg?: string; code?: string };
        loggingFor?.(`${r.level} ${p.msg ?? ""}${p.code ? ` (code=${p.code})` : ""}`);
      },
    });
  }
  const dir = await Deno.makeTempDir({ dir: o.dir, prefix: "print-agent-sim-" });
  dirName = dir;
  const violations: string[] = [];
  const violate = (s: string) => {
    if (violations.length < 20) violations.push(s);
    t(`VIOLATION ${s}`);
  };

  // ---- the store --------------------------------------------------------------------------
  // what the first layouts did not have draws from a second source, so a seed's world (its
  // jobs, faults, crashes) stays what it was: a busy kitchen run by two balanced printers, with
  // follow-ups of recent orders
  const more = new Rng(seed * 2654435761 + 0x5bd1e995);
  let layout = rng.pick(LAYOUTS);
  const balanced = layout.some((s) => s.id === "kitchen") && more.chance(0.35);
  if (balanced) {
    layout = [
      ...layout.map((s) => s.id === "kitchen" ? { ...s, balance: true } : s),
      { id: "kitchen2", roles: ["kitchen"], balance: true },
    ];
  }
  // how rough the day is: many stores never send a bad payload, some PCs never lose power
  const hostile = rng.pick([0, 0, 1, 2]);
  const crashy = rng.pick([0, 1, 1, 2]);
  const served = new Set(layout.flatMap((s) => s.roles));
  const server = new SimServer(tl, rng, {
    pageSize: rng.pick([0, 20, 20, 5]),
    roleFilter: rng.chance(0.3) ? "ignored" : "list",
    terminalIgnored: rng.chance(0.15),
    longPoll: rng.chance(0.6),
    skewMs: rng.chance(0.3) ? rng.int(-15, 15) * MIN + rng.int(0, 999) : rng.int(-2000, 2000),
    shuffle: rng.chance(0.3),
    // some backends send stale FETCHED jobs back to PENDING, most never do
    staleMs: rng.chance(0.5) ? 8 * MIN : 0,
  }, t);
  const paper: PaperMark[] = [];
  const printers = new Map(layout.map((s) => [s.id, new SimPrinter(s.id, tl, paper, t)]));
  const config = buildConfig(dir, layout, server, rng, more);
  const renderers: Renderer[] = [];
  // templates print "now" from the simulated clock
  const worldClock = tl.clock(-1);
  for (const st of config.stations) renderers.push(await rendererFor(config, st, worldClock));
  t(
    `day seed=${seed} stations=${
      layout.map((s) => s.id + (s.balance ? "(balanced)" : "")).join(",")
    } ${JSON.stringify(server.shape)}`,
  );

  // faults, in windows during trading hours
  const faultKinds: ServerFault[] = [
    "down",
    "error500",
    "slow",
    "garbage",
    "truncated",
    "lost_ack",
    "throttle",
    "reports500",
  ];
  for (let n = rng.int(0, 6); n > 0; n--) {
    const from = START + rng.int(0, TRADING_MS - MIN);
    server.faults.push({ from, to: from + rng.int(2_000, 4 * MIN), kind: rng.pick(faultKinds) });
  }
  for (const f of server.faults) {
    t(`fault server ${f.kind} ${(f.from - START) / 1000}..${(f.to - START) / 1000} s`);
  }
  const pfKinds: PrinterFault[] = ["offline", "paper_out", "slow", "partial", "stuck"];
  for (const p of printers.values()) {
    const r = p.id === "kitchen2" ? more : rng;
    for (let n = r.int(0, 4); n > 0; n--) {
      const from = START + r.int(0, TRADING_MS - MIN);
      const long = r.chance(0.3);
      p.faults.push({
        from,
        to: from + (long ? r.int(MIN, 5 * MIN) : r.int(500, 20_000)),
        kind: r.pick(pfKinds),
      });
    }
  }

  // ---- the POS ----------------------------------------------------------------------------
  const me = config.terminal_identity.terminal_id;
  let n = 0;
  /** The kitchen's recent orders (balanced kitchens): a follow-up names one of them. */
  const kitchenOrders: string[] = [];
  const makeJob = (r = rng, kitchen = false) => {
    n++;
    const roll = kitchen ? 0.5 : r.next();
    const type = roll < 0.45
      ? "receipt"
      : roll < 0.65
      ? "kitchen"
      : roll < 0.72
      ? "bar"
      : roll < 0.78
      ? "drawer"
      : roll < 0.84
      ? "reprint"
      : roll < 0.9
      ? "raw"
      : roll < 0.93
      ? "test"
      : "expo"; // a role nobody here serves
    const role = type === "receipt" || type === "drawer" || type === "reprint" || type === "raw" ||
        type === "test"
      ? (r.chance(0.3) ? null : "cashier")
      : type;
    const terminal = r.chance(0.08) ? "POS-OTHER" : me;
    let kind: SimJob["kind"] = "good";
    const k = r.next() / hostile;
    if (k < 0.02) kind = "nan";
    else if (k < 0.03) kind = "huge";
    else if (k < 0.04) kind = "no_payload";
    else if (k < 0.05 && type === "drawer") kind = "future_drawer";
    // ids a URL path cannot carry unchanged (each at most once a day: the server keys by id)
    const hostileId = r.chance(0.02 * hostile) ? r.pick([".", ".."]) : null;
    const id: number | string = hostileId && !server.jobs.has(hostileId) ? hostileId : n;
    if (typeof id === "string") kind = "bad_id";
    const created = server.now();
    const createdAt = kind === "future_drawer"
      ? "2099-01-01T00:00:00Z"
      : r.chance(0.015 * hostile)
      ? "yesterday"
      : r.chance(0.1)
      ? naiveLocal(created)
      : new Date(created).toISOString();
    const jobType = type === "expo" ? "kitchen" : type;
    const routedRole = role ?? (served.has(jobType) ? jobType : "cashier");
    const ours = terminal === me && served.has(role ?? routedRole) && kind !== "bad_id";
    const body: Record<string, unknown> = {
      id,
      uuid: `u${seed}-${n}`,
      terminal_id: terminal,
      printer_role: role,
      job_type: jobType,
      priority: jobType === "drawer" ? 5 : 0,
      created_at: createdAt,
    };
    if (jobType === "raw") body.raw_base64 = btoa(`RAW JOB ${n}\n\n\n\x1dV\x00`);
    else if (jobType !== "drawer" && jobType !== "test" && kind !== "no_payload") {
      // a balanced kitchen gets additions and voids for its recent orders
      const follow = balanced && jobType === "kitchen" && kitchenOrders.length > 0 &&
        more.chance(0.3);
      const order = follow ? more.pick(kitchenOrders.slice(-6)) : `B-${n}`;
      if (balanced && jobType === "kitchen" && !follow) kitchenOrders.push(order);
      body.receipt_data = {
        bill_number: order,
        items: Array.from({ length: r.int(1, 6) }, (_, i) => ({
          name: `Item ${i}`,
          qty: 1,
          price: 1000 * (i + 1),
        })),
        total: 1000,
        notes: kind === "huge" ? "x".repeat(300_000) : "",
      };
    }
    let text = JSON.stringify(body);
    if (kind === "nan") text = text.replace(`"total":1000`, `"total":NaN`);
    // a kind the job's type cannot carry is a healthy job
    if (kind === "nan" && !text.includes("NaN")) kind = "good";
    if (kind === "huge" && text.length < 100_000) kind = "good";
    if (kind === "no_payload" && ["drawer", "test", "raw"].includes(jobType)) kind = "good";
    if (kind === "future_drawer" && jobType !== "drawer") kind = "good";
    server.add({
      id,
      uuid: String(body.uuid),
      terminal_id: terminal,
      printer_role: role,
      job_type: jobType,
      status: "PENDING",
      text,
      createdAt: tl.now,
      changedAt: tl.now,
      reports: [],
      ours,
      kind,
      refused: false,
      undated: createdAt === "yesterday",
      order: (body.receipt_data as { bill_number?: string } | undefined)?.bill_number,
    });
  };
  // bursts: a rush at lunch, a trickle otherwise
  for (let b = rng.int(3, 10); b > 0; b--) {
    const at = rng.int(0, TRADING_MS - 2 * MIN);
    const size = rng.chance(0.2) ? rng.int(20, 60) : rng.int(1, 8);
    for (let i = 0; i < size; i++) tl.at(at + i * rng.int(100, 4000), () => makeJob());
  }
  // a balanced kitchen's rushes: tickets faster than one printer prints them
  if (balanced) {
    for (let b = more.int(2, 5); b > 0; b--) {
      const at = more.int(0, TRADING_MS - 2 * MIN);
      const size = more.int(10, 40);
      for (let i = 0; i < size; i++) tl.at(at + i * more.int(100, 3000), () => makeJob(more, true));
    }
  }
  // the backend refuses one job's reports for ever, now and then
  if (rng.chance(0.2)) {
    tl.at(rng.int(0, TRADING_MS / 2), () => {
      const j = server.order.find((x) => x.ours && x.status === "PENDING");
      if (j) {
        j.refused = true;
        t(`server will refuse every report of job ${j.id}`);
      }
    });
  }
  // jobs flipped back to PENDING by a backend bug
  for (let f = rng.chance(0.3) ? rng.int(1, 3) : 0; f > 0; f--) {
    tl.at(rng.int(MIN, TRADING_MS), () => {
      const done = server.order.filter((j) => j.status !== "PENDING");
      if (done.length) server.flipBack(rng.pick(done));
    });
  }
  const sweep = () => {
    server.sweep();
    tl.at(MIN, sweep);
  };
  tl.at(MIN, sweep);

  // ---- the agent: incarnations, crashes, restarts -----------------------------------------
  let epoch = 0;
  let agent: Agent | null = null;
  let journal: Journal | null = null;
  const crashes: { at: number; epoch: number }[] = [];
  const resets: number[] = [];
  const start = async () => {
    epoch++;
    const e = epoch;
    if (epoch > 1 && rng.chance(0.04)) {
      // journal damage: the file is overwritten (a failing disk, a bad restore)
      await Deno.writeTextFile(join(config.state.path, "journal.db"), "not a database ".repeat(64));
      await Deno.remove(join(config.state.path, "journal.db-wal")).catch(() => {});
      resets.push(tl.now);
      t("journal damaged");
    }
    journal = await openJournal(config, { now: () => tl.now });
    const clock = tl.clock(e);
    const client = JobServerClient.fromConfig(config, "sim-token", null, undefined, {
      fetch: server.fetchFor(e),
      clock,
    });
    const stations = config.stations.map((st, i) => ({
      printer: crashingPrinter(printers.get(st.id)!.forEpoch(e), e),
      renderer: renderers[i],
    }));
    agent = new Agent({ config, journal, server: client, stations, version: "sim", clock });
    agent.start();
    t(`agent ${e} started`);
  };
  const crash = (e: number, why: string) => {
    if (e !== epoch || !agent) return;
    t(`CRASH agent ${e} (${why})`);
    crashes.push({ at: tl.now, epoch: e });
    tl.kill(e);
    journal?.close();
    agent = null;
    journal = null;
    tl.at(rng.int(1000, 20_000), () => restart());
  };
  let restarting: Promise<void> | null = null;
  const restart = () => {
    restarting = start();
  };
  const crashingPrinter = (p: Printer, e: number): Printer => ({
    description: p.description,
    status: () => p.status(),
    print: (data, doc) => {
      if (tl.now < START + TRADING_MS && rng.chance(0.05 * crashy)) {
        tl.at(rng.int(0, 800), () => crash(e, `while printing job ${doc.jobId}`));
      }
      return p.print(data, doc);
    },
  });
  for (let c = rng.int(0, 3 * crashy); c > 0; c--) {
    tl.at(rng.int(0, TRADING_MS), () => crash(epoch, "power cut"));
  }
  await start();

  // ---- run ----------------------------------------------------------------------------------
  const end = START + TRADING_MS + SETTLE_MS;
  while (await tl.step(end)) {
    if (restarting) {
      await restarting;
      restarting = null;
      await tl.settle(); // the new agent's first steps, at the restart's moment
    }
  }
  await tl.settle();
  const a = agent as Agent | null;
  if (a) {
    tl.kill(epoch);
    (journal as Journal | null)?.close();
  }

  // ---- invariants -----------------------------------------------------------------------------
  checkInvariants({ server, paper, printers, config, crashes, resets, violate, layout });
  tl.close();
  loggingFor = null;
  await Deno.remove(dir, { recursive: true }).catch(() => {});
  return { seed, violations, trace, jobs: n, crashes: crashes.length, steps: tl.steps };
}

interface Checked {
  server: SimServer;
  paper: PaperMark[];
  printers: Map<string, SimPrinter>;
  config: Config;
  crashes: { at: number; epoch: number }[];
  resets: number[];
  violate: (s: string) => void;
  layout: Layout[];
}

/**
 * A job made this soon after a journal reset may be refused: the server's clock is read from
 * whole-second Date headers, and a slow server (the header written as it finally answers) widens
 * what the agent can know until later answers narrow it.
 */
const RESET_UNCERTAINTY_MS = 20_000;

/** Lifecycle rank of a report: a job's reports never go back. */
const RANK: Record<string, number> = { FETCHED: 1, PRINTING: 2, COMPLETED: 3, FAILED: 3 };

/** Codes a job may fail with only when its printer really was failing. */
const PRINTER_CODES = /^(PRINTER_|SPOOLER_)/;

function checkInvariants(c: Checked): void {
  const { server, paper, violate, config } = c;
  const onPaper = new Map<string, number>();
  for (const p of paper) if (p.complete) onPaper.set(p.jobId, (onPaper.get(p.jobId) ?? 0) + 1);
  const stationsOf = (j: SimJob) => {
    const role = j.printer_role ??
      (c.layout.some((s) => s.roles.includes(j.job_type)) ? j.job_type : "cashier");
    return c.layout.filter((s) => s.roles.includes(role));
  };
  for (const j of server.order) {
    const id = String(j.id);
    const printed = onPaper.get(id) ?? 0;
    const ambiguous = j.reports.some((r) => r.code === "INTERRUPTED_MAY_HAVE_PRINTED");
    if (printed > 1 && !ambiguous) {
      violate(`job ${id} (${j.uuid}) is on paper ${printed} times, never reported ambiguous`);
    }
    if (j.kind === "bad_id" && printed > 0) {
      violate(`job "${id}" printed though its id cannot be put in the status URL`);
    }
    if (!j.ours) {
      if (printed > 0 && j.terminal_id !== config.terminal_identity.terminal_id) {
        violate(`job ${id} for ${j.terminal_id} printed here`);
      }
      continue;
    }
    // reports in lifecycle order; one final outcome
    let rank = 0;
    let final: string | null = null;
    for (const r of j.reports) {
      const k = RANK[r.status] ?? 0;
      // a journal reset forgets what was reported: the lifecycle may start over
      if (k < rank && !ambiguous && !c.resets.some((x) => x >= j.createdAt)) {
        violate(
          `job ${id}: report ${r.status} after a later state (${j.reports.map((x) => x.status)})`,
        );
        break;
      }
      if (k === 3) {
        // after a journal reset the agent cannot know it printed the job: it says so
        const forgot = r.code === "JOURNAL_RESET_MAY_HAVE_PRINTED" && c.resets.length > 0;
        if (final && final !== r.status && !forgot) {
          violate(`job ${id}: reported ${final}, then ${r.status}`);
        }
        final = r.status;
      }
      rank = Math.max(rank, k);
    }
    if (j.refused) continue; // the server never takes its reports: nothing can end it there
    if (j.status !== "COMPLETED" && j.status !== "FAILED") {
      // a journal replaced after the job left PENDING forgets it: only a server that sends stale
      // jobs back to PENDING can have it printed (or refused) again
      const fetched = j.reports.find((r) => r.status === "FETCHED")?.at ?? j.createdAt;
      const forgotten = !server.shape.staleMs && c.resets.some((r) => r >= fetched);
      if (!forgotten) {
        violate(`job ${id} (${j.job_type}, ${j.kind}) ends ${j.status} at the server`);
      }
      continue;
    }
    const last = [...j.reports].reverse().find((r) => r.status === j.status);
    const code = last?.code ?? "";
    if (j.status === "COMPLETED" && printed === 0) {
      violate(`job ${id} reported COMPLETED but never reached the paper`);
    }
    if (j.kind === "nan" || j.kind === "huge" || j.kind === "no_payload") {
      if (j.status !== "FAILED") violate(`bad job ${id} (${j.kind}) was not FAILED`);
      continue;
    }
    if (j.kind === "future_drawer" && printed > 0) {
      violate(`drawer job ${id} dated 2099 opened the drawer`);
    }
    if (j.status !== "FAILED") continue;
    if (code === "POISON_JOB") {
      violate(`healthy job ${id} (${j.job_type}) quarantined as POISON_JOB`);
    } else if (PRINTER_CODES.test(code)) {
      const mine = stationsOf(j).flatMap((st) => [st.id, ...(st.backup ? [st.backup] : [])]);
      const from = j.createdAt;
      const failedAt = last?.at ?? Infinity;
      if (!mine.some((p) => c.printers.get(p)?.faultyDuring(from, failedAt))) {
        violate(`job ${id} FAILED ${code} while its printer never failed`);
      }
    } else if (code === "INTERRUPTED_MAY_HAVE_PRINTED") {
      if (!c.crashes.some((x) => x.at >= j.createdAt)) {
        violate(`job ${id} reported INTERRUPTED with no crash after it arrived`);
      }
    } else if (code === "JOURNAL_RESET_MAY_HAVE_PRINTED") {
      // a reset after it arrived (or within the second a Date header leaves uncertain), or any
      // reset for a job whose date cannot be read
      if (!c.resets.some((r) => r >= j.createdAt - RESET_UNCERTAINTY_MS || j.undated)) {
        violate(`job ${id} refused as JOURNAL_RESET with no reset after it arrived`);
      }
    }
  }
  // a balanced kitchen reads each order at one printer: its tickets on one, unless a printer of
  // the kitchen failed or the journal was reset while the order was open (a failing printer
  // hands its waiting tickets and the order's next ones to its sibling)
  const byId = new Map(server.order.map((j) => [String(j.id), j]));
  const orders = new Map<string, { printers: Set<string>; from: number; to: number }>();
  for (const p of paper) {
    const j = byId.get(p.jobId);
    if (!p.complete || !j?.order || stationsOf(j).filter((s) => s.balance).length < 2) continue;
    const o = orders.get(j.order) ?? { printers: new Set(), from: j.createdAt, to: p.at };
    o.printers.add(p.printer);
    o.from = Math.min(o.from, j.createdAt);
    o.to = Math.max(o.to, p.at);
    orders.set(j.order, o);
  }
  for (const [order, o] of orders) {
    if (o.printers.size < 2) continue;
    const failing = [...c.printers.values()].some((p) => p.faultyDuring(o.from, o.to));
    const reset = c.resets.some((r) => r >= o.from && r <= o.to);
    if (!failing && !reset) {
      violate(`order ${order} printed on ${[...o.printers].join(" and ")} with no printer failing`);
    }
  }
  // a balanced kitchen printer back from a fault takes work again: between its faults and the
  // agent's crashes (from a retry's longest wait after one), new orders share out between equally
  // idle printers, so one that prints none while its sibling prints 8 or more kitchen tickets
  // (beyond those it was ahead by in the 10 minutes before) was left out
  const kitchens = c.layout.filter((s) => s.balance).map((s) => c.printers.get(s.id)!);
  const kitchenPaper = paper.filter((p) => {
    const j = byId.get(p.jobId);
    return p.complete && j && stationsOf(j).filter((s) => s.balance).length > 1;
  });
  for (const k of kitchens) {
    // its faults and the agent's crashes (a restart resumes a job in hand, in its retry wait),
    // overlapping ones merged: [START - 90 s, from, to, from, to, ..., end]
    const bounds = [START - 90_000];
    const quiet = [...k.faults, ...c.crashes.map((x) => ({ from: x.at, to: x.at }))];
    for (const f of quiet.sort((a, b) => a.from - b.from)) {
      if (bounds.length > 1 && f.from <= bounds.at(-1)!) {
        bounds[bounds.length - 1] = Math.max(bounds.at(-1)!, f.to);
      } else bounds.push(f.from, f.to);
    }
    bounds.push(Infinity);
    for (let i = 0; i < bounds.length; i += 2) {
      const [from, to] = [bounds[i] + 90_000, bounds[i + 1]];
      const inWindow = kitchenPaper.filter((p) => p.at > from && p.at < to);
      const others = inWindow.filter((p) => p.printer !== k.id).length;
      // among equally idle printers new orders go to the one with fewer orders of the last 10
      // minutes: what this printer printed more than its sibling just before may come back to
      // the sibling first
      const before = kitchenPaper.filter((p) => p.at > from - 600_000 && p.at <= from);
      const mine = before.filter((p) => p.printer === k.id).length;
      const ahead = Math.max(0, mine - (before.length - mine));
      if (others >= 8 + ahead && !inWindow.some((p) => p.printer === k.id)) {
        violate(
          `${k.id} printed none of ${others} kitchen tickets from ${(from - START) / 1000} s ` +
            `(no fault of its own or crash until ${
              to === Infinity ? "the end" : `${(to - START) / 1000} s`
            })`,
        );
      }
    }
  }
  // the poll rate: without new work, never above the configured one
  const base = config.server.poll_interval * 1000;
  const polls = server.log.polls;
  for (let i = 1; i < polls.length; i++) {
    const [p, q] = [polls[i - 1], polls[i]];
    if (p.epoch !== q.epoch || p.items > 0) continue;
    const created = server.log.pendingAt.some((t) => t > p.at - 1 && t <= q.at);
    const throttled = server.log.throttles.find((x) =>
      x.epoch === q.epoch && x.at < q.at && x.at > p.at - 1
    );
    if (throttled && q.at - throttled.at < throttled.ms - 1) {
      violate(`poll ${((q.at - throttled.at) / 1000).toFixed(1)} s after Retry-After: 30`);
    }
    if (!created && q.at - p.at < base - 50) {
      violate(
        `polls ${(q.at - p.at).toFixed(0)} ms apart with no new work (poll_interval ${base} ms) ` +
          `at ${((q.at - START) / 1000).toFixed(3)} s`,
      );
      break;
    }
  }
  // heartbeats: never a gap beyond two intervals within one incarnation
  const hb = server.log.heartbeats;
  const every = config.server.heartbeat_interval * 1000;
  for (let i = 1; i < hb.length; i++) {
    if (hb[i].epoch === hb[i - 1].epoch && hb[i].at - hb[i - 1].at > 2 * every + 1000) {
      violate(`heartbeat gap of ${((hb[i].at - hb[i - 1].at) / 1000).toFixed(0)} s`);
      break;
    }
  }
}

function buildConfig(
  dir: string,
  layout: Layout[],
  server: SimServer,
  rng: Rng,
  more: Rng,
): Config {
  return parseConfig(
    {
      terminal_identity: { terminal_id: "POS-001", location_id: 1 },
      server: {
        base_url: server.base,
        poll_interval: 2,
        heartbeat_interval: 30,
        long_poll_wait: rng.chance(0.7) ? 25 : 0,
        request_timeout: 10,
      },
      printers: layout.map((s) => {
        const r = s.id === "kitchen2" ? more : rng;
        return {
          id: s.id,
          roles: s.roles,
          backup: s.backup ?? null,
          failover_receipts: false,
          brand: r.pick(["EPSON", "GENERIC", "HRPT", "XPRINTER"]),
          paper_width: r.pick([58, 80]),
          transport: "virtual",
          balance: s.balance ? "least_queue" : null,
        };
      }),
      error_handling: { max_retry: 3, backoff_seconds: [5, 10, 30] },
      state: { path: join(dir, "state") },
      logging: { level: "INFO", log_file: "agent.log" },
      local_api: { enabled: false },
      limits: { list_bytes: 256 * 1024, job_bytes: 64 * 1024, text_chars: 100_000 },
      render: { profiles_path: PROFILES },
    },
    dir,
    "(sim)",
  );
}

/** A server writing naive local times (Django with USE_TZ = False). */
function naiveLocal(ms: number): string {
  const d = new Date(ms);
  const p = (x: number) => String(x).padStart(2, "0");
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${
    p(d.getMinutes())
  }:${p(d.getSeconds())}`;
}
