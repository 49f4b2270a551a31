/**
 * `deno task sim`: the store simulator. Runs one simulated store day per seed (seeds `--seed`,
 * `--seed`+1, … for `--days` days) and prints a line per failing seed with its replay command,
 * then the summary `SIM: seeds=N days=N violations=N wall_s=N`. `--trace` prints each day's
 * trace (the same seed prints the same trace, byte for byte).
 * @module
 */
import { parseArgs } from "node:util";
import { runDay } from "./day.ts";

/** A short stable digest of a trace (FNV-1a, 32 bits), to compare runs. */
export function digest(lines: string[]): string {
  let h = 0x811c9dc5;
  for (const l of lines) {
    for (let i = 0; i < l.length; i++) h = Math.imul(h ^ l.charCodeAt(i), 0x01000193);
    h = Math.imul(h ^ 10, 0x01000193);
  }
  return (h >>> 0).toString(16).padStart(8, "0");
}

/**
 * Runs the days in `n` processes (seeds split in contiguous ranges; each day is independent, so
 * the seeds and their traces are the same as in one process), printing each one's lines and one
 * summary. Returns the exit code.
 */
async function runWorkers(
  first: number,
  days: number,
  n: number,
  quiet: boolean,
  t0: number,
): Promise<number> {
  const per = Math.ceil(days / n);
  const runs = Array.from({ length: n }, (_, k) => {
    const seed = first + k * per;
    const count = Math.min(per, days - k * per);
    if (count <= 0) return null;
    const args = ["run", "-A", new URL(import.meta.url).pathname, "--seed", String(seed), "--days"];
    return new Deno.Command(Deno.execPath(), {
      args: [...args, String(count), ...(quiet ? ["--quiet"] : [])],
      stdout: "piped",
      stderr: "inherit",
    }).output();
  }).filter((r) => r !== null);
  let violations = 0, jobs = 0, crashes = 0, failed = false;
  for (const r of await Promise.all(runs)) {
    const out = new TextDecoder().decode(r!.stdout).trimEnd().split("\n");
    for (const line of out) {
      const m = line.match(/^SIM: seeds=\d+ days=\d+ violations=(\d+)/);
      const t = line.match(/^jobs=(\d+) crashes=(\d+)$/);
      if (m) violations += Number(m[1]);
      else if (t) [jobs, crashes] = [jobs + Number(t[1]), crashes + Number(t[2])];
      else console.log(line);
    }
    if (!out.some((l) => l.startsWith("SIM: "))) failed = true; // a worker that died
  }
  const wall = (performance.now() - t0) / 1000;
  console.log(`jobs=${jobs} crashes=${crashes} workers=${n}`);
  console.log(`SIM: seeds=${days} days=${days} violations=${violations} wall_s=${wall.toFixed(1)}`);
  return violations || failed ? 1 : 0;
}

if (import.meta.main) {
  const usage = "usage: deno task sim [--seed N] [--days N] [--workers N] [--trace] [--quiet]";
  let values;
  try {
    ({ values } = parseArgs({
      args: Deno.args.filter((a) => a !== "--"),
      options: {
        seed: { type: "string", default: "1" },
        days: { type: "string", default: "1" },
        trace: { type: "boolean", default: false },
        quiet: { type: "boolean", default: false },
        workers: { type: "string", default: "1" },
      },
    }));
  } catch (e) {
    console.error(`sim: ${e instanceof Error ? e.message : e}\n${usage}`);
    Deno.exit(2);
  }
  const first = Number(values.seed);
  const days = Number(values.days);
  if (!Number.isInteger(first) || !Number.isInteger(days) || days < 1) {
    console.error(
      `sim: --seed and --days must be whole numbers (--days >= 1): got ${values.seed}, ${values.days}`,
    );
    Deno.exit(2);
  }
  // journals on a memory file system where there is one (real SQLite files, no disk flushes)
  const dir = Deno.env.get("SIM_DIR") ??
    (await Deno.stat("/dev/shm").then((s) => s.isDirectory, () => false) ? "/dev/shm" : undefined);
  const t0 = performance.now();
  const workers = Math.max(1, Math.min(Number(values.workers) || 1, days));
  if (workers > 1) Deno.exit(await runWorkers(first, days, workers, values.quiet, t0));
  let violations = 0;
  let jobs = 0;
  let crashes = 0;
  for (let d = 0; d < days; d++) {
    const seed = first + d;
    const r = await runDay(seed, { dir });
    jobs += r.jobs;
    crashes += r.crashes;
    if (values.trace) { for (const l of r.trace) console.log(l); }
    if (!values.quiet || r.violations.length) {
      console.log(
        `seed ${seed}: jobs=${r.jobs} crashes=${r.crashes} steps=${r.steps} trace=${
          digest(r.trace)
        } ` +
          `violations=${r.violations.length}`,
      );
    }
    for (const v of r.violations) console.log(`  VIOLATION ${v}`);
    if (r.violations.length) {
      console.log(`  replay: deno task sim --seed ${seed} --days 1 --trace`);
      violations += r.violations.length;
    }
  }
  const wall = (performance.now() - t0) / 1000;
  console.log(`jobs=${jobs} crashes=${crashes}`);
  console.log(`SIM: seeds=${days} days=${days} violations=${violations} wall_s=${wall.toFixed(1)}`);
  Deno.exit(violations ? 1 : 0);
}
