/**
 * The fault-injection suite: the agent (a real subprocess) is killed with SIGKILL at each point of
 * a job's life, restarted, and every job is accounted for at the server and on the (simulated)
 * paper. Prints a summary line; `FAULT_TRIALS` sets trials per point (default 50).
 */
import { assert, assertEquals } from "../helpers/assert.ts";
import { waitFor, withServer, withTmpDir } from "../helpers/env.ts";
import { PrinterSim } from "../helpers/printer_sim.ts";
import { FAULT_POINTS, type FaultPoint } from "../../src/core/fault.ts";
import { join } from "node:path";

const MAIN = new URL("../../src/main.ts", import.meta.url).pathname;
const TRIALS = Number(Deno.env.get("FAULT_TRIALS") ?? 50);
const JOBS_PER_TRIAL = 3;
const FINAL = new Set(["COMPLETED", "FAILED"]);

interface Tally {
  trials: number;
  kills: number;
  jobs: number;
  duplicates: number;
  losses: number;
  ambiguous: number;
  ambiguousOnPaper: number;
  ambiguousPartial: number;
  ambiguousNotPrinted: number;
  policyReprints: number;
  /** Balanced: orders with tickets on paper at both printers. */
  splits: number;
}

const tally = (): Tally => ({
  trials: 0,
  kills: 0,
  jobs: 0,
  duplicates: 0,
  losses: 0,
  ambiguous: 0,
  ambiguousOnPaper: 0,
  ambiguousPartial: 0,
  ambiguousNotPrinted: 0,
  policyReprints: 0,
  splits: 0,
});

function add(a: Tally, b: Tally) {
  for (const k of Object.keys(a) as (keyof Tally)[]) a[k] += b[k];
}

async function writeConfig(
  dir: string,
  serverUrl: string,
  printerPort: number,
  extra: Record<string, unknown> = {},
) {
  const file = join(dir, "print_agent_config.json");
  const printer = extra.printers ? {} : {
    printer: {
      transport: "tcp",
      port: printerPort,
      brand: "GENERIC",
      paper_width: 32,
      timeout: 3,
    },
  };
  await Deno.writeTextFile(
    file,
    JSON.stringify({
      terminal_identity: { terminal_id: "POS-001" },
      server: {
        base_url: serverUrl,
        poll_interval: 0.05,
        long_poll_wait: 2,
        heartbeat_interval: 60,
      },
      ...printer,
      error_handling: { max_retry: 3, backoff_seconds: [0.05, 0.1] },
      logging: { level: "INFO", log_file: "agent.log" },
      local_api: { enabled: false },
      ...extra,
    }),
  );
  return file;
}

function spawnAgent(config: string, fault?: string) {
  return new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", MAIN, "--config", config],
    env: fault ? { PRINT_AGENT_FAULT: fault } : {},
    stdout: "null",
    stderr: "null",
  }).spawn();
}

/** Copies of a job on paper: complete (ends with a cut) and partial. */
function copies(sim: PrinterSim, marker: string) {
  let complete = 0, partial = 0;
  for (const j of sim.jobs) {
    const text = new TextDecoder("latin1").decode(j.bytes);
    if (!text.includes(marker)) continue;
    const cut = j.bytes.length >= 3 &&
      j.bytes.findLastIndex((b, i) => b === 0x1d && j.bytes[i + 1] === 0x56) >= 0;
    if (cut) complete++;
    else partial++;
  }
  return { complete, partial };
}

/**
 * Two stations for the failover trials: the kitchen printer is down (nothing listens on its
 * port), so every kitchen ticket fails over to the bar printer, which is the simulator.
 */
function failoverStations(simPort: number) {
  const dead = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const deadPort = (dead.addr as Deno.NetAddr).port;
  dead.close();
  const printer = { transport: "tcp", brand: "GENERIC", paper_width: 32, timeout: 3 };
  return {
    printers: [
      { id: "kitchen", roles: ["kitchen"], ...printer, port: deadPort, backup: "bar" },
      { id: "bar", roles: ["bar"], ...printer, port: simPort },
    ],
  };
}

/** Two kitchen printers balancing one role (each ticket on one of them; orders kept together). */
function balancedStations(ports: number[]) {
  const printer = { transport: "tcp", brand: "GENERIC", paper_width: 32, timeout: 3 };
  return {
    printers: ports.map((port, i) => ({
      id: `k${i + 1}`,
      roles: ["kitchen"],
      ...printer,
      port,
      balance: "least_queue",
    })),
  };
}

/** Runs `trials` kill-and-restart trials at one point; returns the tally. */
async function runPoint(
  point: FaultPoint,
  trials: number,
  extra: Record<string, unknown> = {},
  mode: "one" | "failover" | "balanced" = "one",
): Promise<Tally> {
  const failover = mode === "failover";
  await using dir = await withTmpDir();
  await using server = withServer({ db: join(dir.path, "server.db") });
  using sim = PrinterSim.start();
  using sim2 = PrinterSim.start();
  const config = await writeConfig(
    dir.path,
    server.url,
    sim.port,
    failover
      ? { ...extra, ...failoverStations(sim.port) }
      : mode === "balanced"
      ? { ...extra, ...balancedStations([sim.port, sim2.port]) }
      : extra,
  );
  const t = tally();
  for (let trial = 0; trial < trials; trial++) {
    t.trials++;
    const jobs: { bill: string; job: Record<string, unknown> }[] = [];
    for (let k = 0; k < JOBS_PER_TRIAL; k++) {
      // (short on kitchen tickets: the table number prints big, at the top)
      const bill = mode !== "one" ? `T${trial}-${k}` : `FI-${point}-${trial}-${k}`;
      jobs.push({
        bill,
        job: await server.createJob(
          mode !== "one"
            ? {
              job_type: "kitchen",
              printer_role: "kitchen",
              // balanced: ticket 0 one order, 1 another and 2 its follow-up (on the second printer)
              receipt_data: {
                table: bill,
                bill_number: `O${trial}-${Math.min(k, 1)}`,
                items: [{ name: "Nasi", qty: 1 }],
              },
            }
            : {
              job_type: "receipt",
              receipt_data: { store_name: "Fault", bill_number: bill, total: 1000 + k },
            },
        ),
      });
    }
    const n = 1 + (trial % JOBS_PER_TRIAL);
    const victim = spawnAgent(config, `${point}:${n}`);
    const allFinal = async () => {
      for (const { job } of jobs) {
        if (!FINAL.has(String((await server.getJob(job.id)).status))) return false;
      }
      return true;
    };
    // Wait for the kill, or for the jobs to be done if the point was not reached n times.
    const exited = victim.status.then((s) => s);
    const outcome = await Promise.race([
      exited.then((s) => ({ killed: s.signal === "SIGKILL" })),
      waitFor(allFinal, "jobs final before a kill", 20_000).then(async () => {
        // let the outbox drain so after_ack / before_ack can still fire
        await new Promise((r) => setTimeout(r, 100));
        return null;
      }),
    ]);
    let killed = false;
    if (outcome === null) {
      try {
        victim.kill("SIGTERM");
      } catch { /* already gone */ }
      const s = await exited;
      killed = s.signal === "SIGKILL";
    } else killed = outcome.killed;
    if (killed) t.kills++;
    // Restart without faults and let it finish everything.
    const healer = spawnAgent(config);
    try {
      await waitFor(allFinal, `trial ${trial} at ${point}: every job final`, 30_000).catch(
        () => {},
      );
    } finally {
      healer.kill("SIGTERM");
      await healer.status;
    }
    const orderAt = new Map<string, Set<PrinterSim>>();
    for (const [k, { bill, job }] of jobs.entries()) {
      t.jobs++;
      const s = await server.getJob(job.id);
      const c1 = copies(sim, bill), c2 = copies(sim2, bill);
      if (mode === "balanced") {
        const at = orderAt.get(`O${trial}-${Math.min(k, 1)}`) ?? new Set();
        if (c1.complete + c1.partial) at.add(sim);
        if (c2.complete + c2.partial) at.add(sim2);
        orderAt.set(`O${trial}-${Math.min(k, 1)}`, at);
      }
      const c = { complete: c1.complete + c2.complete, partial: c1.partial + c2.partial };
      if (!FINAL.has(String(s.status))) {
        t.losses++;
        continue;
      }
      if (s.status === "COMPLETED" && c.complete === 0) t.losses++; // called printed, but no paper
      if (failover && s.status === "COMPLETED") {
        // printed on the backup, with the banner, and the report says where
        const done = (await server.reports(job.id)).find((r) => r.status === "COMPLETED");
        const paper = sim.jobs.find((j) =>
          new TextDecoder("latin1").decode(j.bytes).includes(bill)
        );
        const banner = paper && /CADANGAN/.test(new TextDecoder("latin1").decode(paper.bytes));
        if (done?.body.printed_on !== "bar" || done?.body.failover_from !== "kitchen" || !banner) {
          t.losses++;
        }
      }
      const onPaper = c.complete + c.partial;
      if (s.error_code === "INTERRUPTED_MAY_HAVE_PRINTED") {
        t.ambiguous++;
        // after a failover, the report says which printer to look at
        if (failover && !/on printer bar/.test(String(s.error_message))) t.losses++;
        if (c.complete > 0) t.ambiguousOnPaper++;
        else if (c.partial > 0) t.ambiguousPartial++;
        else t.ambiguousNotPrinted++;
      }
      if (onPaper > 1) {
        const reports = await server.reports(job.id);
        if (
          extra.jobs && reports.some((r) => r.status === "PRINTING" && Number(r.body.attempt) > 1)
        ) t.policyReprints++;
        else t.duplicates++;
      }
    }
    for (const at of orderAt.values()) if (at.size > 1) t.splits++;
  }
  return t;
}

const total = tally();

for (const point of FAULT_POINTS.filter((p) => p !== "after_failover_chosen")) {
  Deno.test(`SIGKILL at ${point}: no duplicate, no loss, ambiguous jobs reported (${TRIALS} trials)`, async () => {
    const t = await runPoint(point, TRIALS);
    add(total, t);
    console.log(
      `  ${point}: trials=${t.trials} kills=${t.kills} jobs=${t.jobs} duplicates=${t.duplicates} losses=${t.losses} ` +
        `ambiguous=${t.ambiguous} (on paper ${t.ambiguousOnPaper}, partial ${t.ambiguousPartial}, not printed ${t.ambiguousNotPrinted})`,
    );
    assertEquals(t.duplicates, 0, "jobs printed twice");
    assertEquals(t.losses, 0, "jobs without a final status (or COMPLETED without paper)");
    assert(
      t.kills >= Math.ceil(t.trials * 0.9),
      `the fault fired in only ${t.kills} of ${t.trials} trials`,
    );
    if (point === "after_printing_commit" || point === "mid_write" || point === "after_close") {
      assertEquals(t.ambiguous, t.kills, "every kill while printing is reported ambiguous");
    } else {
      // a kill in the poll or report loop can still land while another job is being printed
      assert(t.ambiguous <= t.kills, "at most one ambiguous job per kill");
    }
    assertEquals(
      t.ambiguousOnPaper + t.ambiguousPartial + t.ambiguousNotPrinted,
      t.ambiguous,
      "each accounted for",
    );
  });
}

for (const point of ["after_failover_chosen", "mid_write"] as const) {
  Deno.test(`failover: SIGKILL at ${point} on the backup printer: no duplicate, no loss, the ambiguous job names the backup (${TRIALS} trials)`, async () => {
    const t = await runPoint(point, TRIALS, {}, "failover");
    add(total, t);
    console.log(
      `  failover ${point}: trials=${t.trials} kills=${t.kills} jobs=${t.jobs} duplicates=${t.duplicates} ` +
        `losses=${t.losses} ambiguous=${t.ambiguous} (on paper ${t.ambiguousOnPaper}, partial ${t.ambiguousPartial}, not printed ${t.ambiguousNotPrinted})`,
    );
    assertEquals(t.duplicates, 0, "jobs printed twice");
    assertEquals(
      t.losses,
      0,
      "jobs without a final status, or COMPLETED without paper or printed_on",
    );
    assert(
      t.kills >= Math.ceil(t.trials * 0.9),
      `the fault fired in only ${t.kills} of ${t.trials}`,
    );
    assertEquals(t.ambiguous, t.kills, "every kill while printing on the backup is reported");
  });
}

for (const point of FAULT_POINTS.filter((p) => p !== "after_failover_chosen")) {
  Deno.test(`balanced: SIGKILL at ${point} with two printers balancing a role: no duplicate, no loss, no order split (${TRIALS} trials)`, async () => {
    const t = await runPoint(point, TRIALS, {}, "balanced");
    add(total, t);
    console.log(
      `  balanced ${point}: trials=${t.trials} kills=${t.kills} jobs=${t.jobs} duplicates=${t.duplicates} ` +
        `losses=${t.losses} ambiguous=${t.ambiguous} orders split=${t.splits}`,
    );
    assertEquals(t.duplicates, 0, "jobs printed twice (on either printer)");
    assertEquals(t.losses, 0, "jobs without a final status, or COMPLETED without paper");
    // an order's follow-up keeps to the printer its first ticket went to, across the restart
    assertEquals(t.splits, 0, "orders with tickets on both printers");
    assert(t.kills >= Math.ceil(t.trials * 0.9), `the fault fired in only ${t.kills}`);
    // both printers may be printing when the agent dies: one ambiguous job each, at most
    const printing = ["after_printing_commit", "mid_write", "after_close"].includes(point);
    assert(
      (!printing || t.ambiguous >= t.kills) && t.ambiguous <= 2 * t.kills,
      `every job in hand at a kill is reported ambiguous: ${t.ambiguous} for ${t.kills} kills`,
    );
  });
}

Deno.test("with jobs.reprint_interrupted the interrupted job is printed again, as the policy says", async () => {
  const t = await runPoint("after_printing_commit", Math.max(3, Math.round(TRIALS / 10)), {
    jobs: { reprint_interrupted: ["receipt"] },
  });
  assertEquals(t.losses, 0);
  assertEquals(t.ambiguous, 0, "not reported ambiguous: reprinted by policy");
  assertEquals(t.duplicates, 0, "every second copy is a policy reprint");
});

Deno.test("fault suite summary", () => {
  const line = `FAULT SUITE: trials=${total.trials} kills=${total.kills} jobs=${total.jobs} ` +
    `duplicates=${total.duplicates} losses=${total.losses} ambiguous=${total.ambiguous} ` +
    `(on paper ${total.ambiguousOnPaper}, partial ${total.ambiguousPartial}, not printed ${total.ambiguousNotPrinted})`;
  console.log(line);
  Deno.mkdirSync(new URL("../out/", import.meta.url), { recursive: true });
  Deno.writeTextFileSync(new URL("../out/faults.txt", import.meta.url), line + "\n");
});
