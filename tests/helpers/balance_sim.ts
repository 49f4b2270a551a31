/**
 * Load balancing simulated (tests/balance_test.ts, `deno task bench`): two balanced kitchen
 * stations, the real intake and stations, a fake clock, printers that take a given time a ticket.
 */
import { join } from "node:path";
import { assert, assertEquals } from "./assert.ts";
import { stationsConfig, withTmpDir } from "./env.ts";
import { FakeClock } from "./fake_clock.ts";
import { FakePrinter } from "./fake_printer.ts";
import { Intake } from "../../src/core/intake.ts";
import { Ledger } from "../../src/core/ledger.ts";
import { Station } from "../../src/core/station.ts";
import { Bell } from "../../src/core/bell.ts";
import { Journal } from "../../src/store/journal.ts";
import type { Renderer } from "../../src/render/render.ts";
import type { Job } from "../../src/core/job.ts";
import { AgentError } from "../../src/errors.ts";

/** A balanced kitchen station's `printers[]` entry. */
export const balanced = (id: string, extra: Record<string, unknown> = {}) => ({
  id,
  roles: ["kitchen"],
  transport: "virtual",
  path: id,
  balance: "least_queue",
  ...extra,
});

/** Two balanced kitchen stations, an intake, and a fake clock: the routing policy alone. */
export function kitchen(dir: string, weights = [1, 1]) {
  const config = stationsConfig(dir, [
    balanced("k1", { weight: weights[0] }),
    balanced("k2", { weight: weights[1] }),
  ]);
  const clock = new FakeClock(Date.parse("2026-12-04T09:00:00Z"));
  const journal = Journal.open(join(dir, "j.db"));
  const stations = config.stations.map((s) =>
    new Station(s, new FakePrinter(), {} as Renderer, 600_000, () => clock.now())
  );
  Station.wire(stations);
  const intake = new Intake(
    config,
    stations,
    new Ledger(journal, clock, config),
    clock,
    new Bell(),
  );
  return { stations, intake, clock, journal, [Symbol.dispose]: () => journal.close() };
}

let n = 0;
/** A kitchen ticket of an order (its bill number). */
export const ticket = (order: string, extra: Partial<Job> = {}): Job => ({
  id: ++n,
  uuid: `t-${n}`,
  job_type: "kitchen",
  printer_role: "kitchen",
  priority: 0,
  created_at: null,
  receipt_data: { bill_number: order, items: [{ name: "Nasi", qty: 1 }] },
  ...extra,
} as Job);

/** A station's printer found off while idle: no new work goes to it until it is back. */
export function switchOff(st: Station): void {
  st.take(0);
  st.printFailed(new AgentError("PRINTER_OFFLINE", "switched off"));
  st.put();
}

/** Routes a new ticket of `order` and queues it where routing says: that station's id. */
export function queueTicket(k: ReturnType<typeof kitchen>, order: string): string {
  const job = ticket(order);
  const to = k.intake.route(job)!;
  k.intake.enqueue(job, to);
  return to.id;
}

/**
 * One simulated service: 60 tickets arriving in bursts over about 10 minutes (a burst every 20 s
 * on average), `followShare` of them follow-ups (an addition, a void, a reprint) of one of the last
 * six orders; each printer takes `printMs` (least, spread) a ticket. Returns how far apart the
 * queues ever were, after each simulated second's arrivals and the printers taking their next.
 */
export async function service(
  seed: number,
  followShare: number,
  printMs: [number, number] = [12_000, 8_000],
): Promise<number> {
  await using dir = await withTmpDir();
  using k = kitchen(dir.path);
  let s = seed;
  const rnd = () => (s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  const arrivals: { at: number; job: Job }[] = [];
  const orders: string[] = [];
  let t = 0;
  while (arrivals.length < 60) {
    t += Math.floor(rnd() * 40_000);
    const burst = 1 + Math.floor(rnd() * 3);
    for (let i = 0; i < burst && arrivals.length < 60; i++) {
      const follow = orders.length > 0 && rnd() < followShare;
      const recent = orders.slice(-6);
      const order = follow
        ? recent[Math.floor(rnd() * recent.length)]
        : `B-${seed}-${orders.push(`B-${seed}-${orders.length}`) - 1}`;
      const reprint = follow && rnd() < 0.2;
      arrivals.push({
        at: t,
        job: ticket(order, reprint ? { job_type: "reprint", printer_role: "kitchen" } : {}),
      });
    }
  }
  const where = new Map<string, string>();
  const printed = new Set<string>();
  const busyUntil = new Map<Station, number>();
  let worst = 0;
  for (let now = 0, next = 0; now <= t + 600_000; now += 1000) {
    if (now > 0) await k.clock.advance(1000);
    while (next < arrivals.length && arrivals[next].at <= now) {
      const { job } = arrivals[next++];
      k.intake.enqueue(job, k.intake.route(job)!);
    }
    for (const st of k.stations) {
      if ((busyUntil.get(st) ?? 0) > now) continue;
      st.put();
      const job = k.intake.take(st, k.clock.now());
      if (!job) continue;
      assert(!printed.has(job.uuid), `${job.uuid} printed twice`);
      // every ticket of an order on one printer: the first to print decides which
      const order = String((job.receipt_data as { bill_number: string }).bill_number);
      if (where.has(order)) assertEquals(st.id, where.get(order), `follow-up of ${order}`);
      where.set(order, st.id);
      printed.add(job.uuid);
      busyUntil.set(st, now + printMs[0] + Math.floor(rnd() * printMs[1]));
    }
    const [a, b] = k.stations.map((x) => x.queue.length);
    worst = Math.max(worst, Math.abs(a - b));
    if (Math.abs(a - b) > 2) {
      // only where keeping orders together forces it: each order waiting on the longer side has
      // started printing there, or has so many tickets waiting that moving them all would leave
      // the queues as far apart the other way
      const longer = k.stations[a > b ? 0 : 1];
      const waiting = new Map<string, number>();
      for (const job of longer.queue.waiting()) {
        const order = String((job.receipt_data as { bill_number: string }).bill_number);
        waiting.set(order, (waiting.get(order) ?? 0) + 1);
      }
      for (const [order, n] of waiting) {
        assert(
          where.get(order) === longer.id || n >= Math.abs(a - b),
          `seed ${seed}, ${now} ms: queues ${a} and ${b}; ${n} ticket(s) of ${order} could move`,
        );
      }
    }
  }
  assertEquals(printed.size, 60, `seed ${seed}: every ticket printed, once`);
  assertEquals(new Set(where.values()).size, 2, `seed ${seed}: both printers take orders`);
  return worst;
}
