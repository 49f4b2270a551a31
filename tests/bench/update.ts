/**
 * `deno task bench:update`: what a self-update costs a store (#24), with real agent processes
 * (tests/helpers/update_bed.ts): jobs every 100 ms; the target set on the reference server; then
 * a broken build rolled back. Per run:
 * - **to the new version**: from the target set to the new version's first heartbeat;
 * - **downtime**: the longest time between two printed jobs from the target on (it includes the
 *   drain, the exit, the service manager's restart delay and the new start);
 * - **time to roll back**: from the broken build's target to the previous version's heartbeat
 *   saying `rolled_back`.
 * The service manager here restarts after `--restart-ms` (default 0.3 s; Windows' SCM waits the
 * first recovery action's 5 s, then 10 s, 30 s — add them). Prints a table; `--runs N` (3).
 * @module
 */
import { parseArgs } from "node:util";
import { updateBed } from "../helpers/update_bed.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    runs: { type: "string", default: "3" },
    "restart-ms": { type: "string", default: "300" },
  },
});
const runs = Number(values.runs);
const restartMs = Number(values["restart-ms"]);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1];

const rows: { up: number; down: number; back: number; jobs: number; problems: number }[] = [];
for (let i = 0; i < runs; i++) {
  const dir = await Deno.makeTempDir({ prefix: "pa-bench-update-" });
  try {
    await using bed = await updateBed({
      dir,
      restartDelayMs: restartMs,
      jobEveryMs: 100,
      watch: { minutes: 0.15, jobs: 5 },
    });
    await bed.updateIs("0.1.0", "idle", "0.1.0 running");
    await bed.publish("0.2.0", await bed.build("0.2.0"));
    await bed.publish("0.3.0", await bed.broken("0.3.0", 700));
    await new Promise((r) => setTimeout(r, 1000)); // jobs flowing before the update
    const t0 = Date.now(), p0 = performance.now();
    await bed.target("0.2.0");
    await bed.updateIs("0.2.0", "watching", "0.2.0 running");
    const up = Date.now() - t0;
    await new Promise((r) => setTimeout(r, 1500)); // printing again after the start
    const down = bed.longestGap(p0, performance.now());
    await bed.updateIs("0.2.0", "done", "0.2.0 kept");
    const t1 = Date.now();
    await bed.target("0.3.0");
    await bed.updateIs("0.2.0", "rolled_back", "0.3.0 rolled back", 120_000);
    const back = Date.now() - t1;
    const r = await bed.settle();
    rows.push({ up, down, back, jobs: r.jobs, problems: r.problems.length });
    console.log(
      `run ${i + 1}: to 0.2.0 ${up} ms, downtime ${down.toFixed(0)} ms, rollback ${back} ms, ` +
        `${r.jobs} jobs, ${r.interrupted} interrupted, problems ${r.problems.length}`,
    );
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}
console.log(
  `\n| measure (median of ${runs}; restart delay ${restartMs} ms) | ms |\n| --- | --- |\n` +
    `| target set → the new version's first heartbeat | ${median(rows.map((r) => r.up))} |\n` +
    `| downtime: longest gap between printed jobs (a job every 100 ms) | ${
      median(rows.map((r) => r.down)).toFixed(0)
    } |\n` +
    `| broken build's target → rolled back, reported | ${median(rows.map((r) => r.back))} |\n` +
    `| jobs lost or printed twice, all runs | ${rows.reduce((n, r) => n + r.problems, 0)} |`,
);
console.log(
  `UPDATE_BENCH: up_ms=${median(rows.map((r) => r.up))} downtime_ms=${
    median(rows.map((r) => r.down)).toFixed(0)
  } rollback_ms=${median(rows.map((r) => r.back))} problems=${
    rows.reduce((n, r) => n + r.problems, 0)
  }`,
);
