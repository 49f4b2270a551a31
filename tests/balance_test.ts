/**
 * Load balancing across the printers of one role (issue #27, 1): a new order to the healthy
 * station with the least queued work, its follow-ups and reprints to the same one, a failing
 * station's waiting jobs to its siblings; never split, never printed twice.
 */
import { assert, assertEquals, assertMatch, assertThrows } from "./helpers/assert.ts";
import { stationsConfig, waitFor, withServer, withTmpDir } from "./helpers/env.ts";
import { PrinterSim } from "./helpers/printer_sim.ts";
import { readEscPos } from "./helpers/escpos_reader.ts";
import {
  balanced,
  kitchen,
  queueTicket,
  service,
  switchOff,
  ticket,
} from "./helpers/balance_sim.ts";
import type { FakePrinter } from "./helpers/fake_printer.ts";
import { AgentError } from "../src/errors.ts";
import { startAgent } from "../src/run.ts";

Deno.test("two stations share a role only when both balance it; the error says how", async () => {
  await using dir = await withTmpDir();
  const c = stationsConfig(dir.path, [balanced("k1"), balanced("k2", { weight: 2 })]);
  assertEquals(c.stations.map((s) => [s.id, s.balance, s.weight]), [
    ["k1", "least_queue", 1],
    ["k2", "least_queue", 2],
  ]);
  assertThrows(
    () => stationsConfig(dir.path, [balanced("k1"), { ...balanced("k2"), balance: null }]),
    /role "kitchen" is already served by "k1" \(stations share a role only with "balance": "least_queue" on each\)/,
  );
  assertThrows(
    () => stationsConfig(dir.path, [balanced("k1"), balanced("k2", { weight: 0 })]),
    /weight/,
  );
});

Deno.test("60 tickets in 10 simulated minutes on 2 printers, 200 services: new orders keep the queues within 2; every follow-up with its order", async () => {
  const apart: Record<number, number> = {};
  for (let seed = 1; seed <= 200; seed++) {
    const worst = await service(seed, 0);
    assert(worst <= 2, `seed ${seed}: new orders alone, queues ${worst} apart`);
  }
  // a fifth of the tickets follow up an open order: kept with it, they can pile up on one side
  // (the service checks that then nothing waiting there could move); measured for kitchen
  // printers (2-4 s a ticket) and slow ones (12-20 s), held to what the policy does today
  // (docs/configuration.md)
  for (
    const [printMs, floor, most] of [
      [[2_000, 2_000], 200, 2],
      [[12_000, 8_000], 190, 3],
    ] as [[number, number], number, number][]
  ) {
    for (const k of Object.keys(apart)) delete apart[Number(k)];
    for (let seed = 1; seed <= 200; seed++) {
      const worst = await service(seed, 0.2, printMs);
      apart[worst] = (apart[worst] ?? 0) + 1;
    }
    const within2 = Object.entries(apart).reduce((n, [w, c]) => n + (Number(w) <= 2 ? c : 0), 0);
    console.log(
      `BALANCE: ${printMs[0] / 1000}-${(printMs[0] + printMs[1]) / 1000} s a ticket, ` +
        `follow-ups 20%: services by how far apart the queues got ${
          JSON.stringify(apart)
        }; within 2: ${within2}/200`,
    );
    assert(within2 >= floor, `within 2 on ${within2} of 200 services`);
    assert(Math.max(...Object.keys(apart).map(Number)) <= most, JSON.stringify(apart));
  }
});

Deno.test("a weight takes its share; a failing station hands its waiting tickets to its sibling, and gets new ones when well", async () => {
  await using dir = await withTmpDir();
  using k = kitchen(dir.path, [1, 2]);
  const [k1, k2] = k.stations;
  for (let i = 0; i < 30; i++) {
    const job = ticket(`W-${i}`);
    k.intake.enqueue(job, k.intake.route(job)!);
  }
  assertEquals([k1.queue.length, k2.queue.length], [10, 20], "weight 2: twice the tickets");
  // k1's printer fails while it prints: its 9 waiting tickets go to k2 at the next ticket
  k1.take(k.clock.now());
  k1.printFailed(new AgentError("PRINTER_OFFLINE", "switched off"));
  const next = ticket("W-new");
  const to = k.intake.route(next)!;
  assertEquals(to.id, "k2", "new orders avoid the failing printer");
  k.intake.enqueue(next, to);
  assertEquals([k1.queue.length, k2.queue.length], [0, 30]);
  // a follow-up of an order first sent to k1 goes to k2 while k1 fails, and stays there
  const follow = ticket("W-0");
  assertEquals(k.intake.route(follow)?.id, "k2");
  // k1 prints again: new orders come back to it (least work), the moved order stays on k2
  k1.jobPrinted("1", k1);
  k1.put();
  assertEquals(k.intake.route(ticket("W-later"))?.id, "k1");
  assertEquals(k.intake.route(ticket("W-0"))?.id, "k2");
  // a drawer kick is never moved: it opens this station's drawer
  const kick = ticket("D", { job_type: "drawer" });
  k1.queue.push(kick, 0);
  k1.printFailed(new AgentError("PRINTER_OFFLINE", "again"));
  assertEquals(k.intake.handOff(k1), 0);
  assertEquals(k1.queue.length, 1);
});

Deno.test("an idle printer claims the oldest orders waiting on its sibling; a started order, a job sent by name and a drawer kick stay", async () => {
  await using dir = await withTmpDir();
  using k = kitchen(dir.path);
  const [k1, k2] = k.stations;
  // k2 fails: six new orders go to k1, which starts the first
  switchOff(k2);
  for (let i = 0; i < 6; i++) queueTicket(k, `C-${i}`);
  assertEquals(k.intake.take(k1, k.clock.now())?.receipt_data?.bill_number, "C-0");
  // C-0's follow-up waits behind it; a drawer kick and a job sent to k1 by name wait too
  const follow = ticket("C-0", { receipt_data: { bill_number: "C-0", items: [] } });
  k.intake.enqueue(follow, k.intake.route(follow)!);
  k1.queue.push(ticket("K", { job_type: "drawer" }), k.clock.now());
  k1.queue.push(ticket("BY-NAME"), k.clock.now());
  assertEquals(k1.queue.length, 8);
  // k2 prints again: taking its next job, it claims whole waiting orders, oldest first, while
  // that leaves the two closer
  k2.jobPrinted("1", k2);
  const first = k.intake.take(k2, k.clock.now());
  const orders = (s: typeof k1) => s.queue.waiting().map((j) => j.receipt_data?.bill_number);
  assertEquals(first?.receipt_data?.bill_number, "C-1", "the oldest first");
  // nine tickets with the one in hand: four orders move (5 and 4), the fifth would not help
  assertEquals(orders(k2), ["C-2", "C-3", "C-4"]);
  assertEquals(orders(k1), ["C-5", "C-0", "K", "BY-NAME"]);
  // where each order is now is where its follow-ups go
  assertEquals(k.intake.route(ticket("C-4"))?.id, "k2");
  assertEquals(k.intake.route(ticket("C-5"))?.id, "k1");
  assertEquals(k.intake.route(ticket("C-0"))?.id, "k1", "C-0 started on k1");
  // k2 drains; C-0's follow-up, the kick and the job sent by name never move to it
  while (k.intake.take(k2, k.clock.now())) k2.put();
  assertEquals(k2.queue.length, 0);
  assertEquals(orders(k1).slice(-3), ["C-0", "K", "BY-NAME"]);
});

Deno.test("a ticket sent to a station by name keeps its order there: the order's waiting tickets never move", async () => {
  await using dir = await withTmpDir();
  using k = kitchen(dir.path);
  const [k1, k2] = k.stations;
  switchOff(k2);
  for (const order of ["P-0", "P-1", "P-2", "P-3"]) queueTicket(k, order);
  k.intake.take(k1, k.clock.now()); // P-0 in hand
  const byName = k.intake.accept(
    {
      id: 9001,
      uuid: "by-name-P-1",
      job_type: "kitchen",
      printer_role: "kitchen",
      receipt_data: { bill_number: "P-1", items: [{ name: "Es teh", qty: 1 }] },
    },
    "local",
    { station: "k1" },
  );
  assertEquals(byName.outcome, "queued");
  // k2 back: P-1's two tickets would even the queues best, but one was sent to k1 by name
  k2.jobPrinted("1", k2);
  assertEquals(k.intake.take(k2, k.clock.now())?.receipt_data?.bill_number, "P-2");
  const orders = (s: typeof k1) => s.queue.waiting().map((j) => j.receipt_data?.bill_number);
  assertEquals(orders(k2), ["P-3"]);
  assertEquals(orders(k1), ["P-1", "P-1"]);
});

Deno.test("a waiting order moves whole, its follow-ups with it, or not at all", async () => {
  await using dir = await withTmpDir();
  using k = kitchen(dir.path);
  const [k1, k2] = k.stations;
  const put = (order: string) => queueTicket(k, order);
  // k1 prints A; B (new) waits on k2 with two follow-ups; k2 is busy with nothing in hand
  assertEquals(put("A"), "k1");
  k.intake.take(k1, k.clock.now());
  assertEquals([put("B"), put("B"), put("B")], ["k2", "k2", "k2"]);
  // loads 1 and 3: moving B's three tickets would leave 4 and 0; it stays whole on k2
  assertEquals([k1.queue.length, k2.queue.length], [0, 3]);
  // k2 takes B's first ticket: B has started, its two follow-ups stay even with k1 idle
  k1.put();
  k.intake.take(k2, k.clock.now());
  assertEquals(k.intake.take(k1, k.clock.now()), undefined);
  assertEquals([k1.queue.length, k2.queue.length], [0, 2]);
  // a new order C, then its follow-up, while k2 is 2 ahead: C goes to k1 and stays together
  assertEquals([put("C"), put("C")], ["k1", "k1"]);
});

Deno.test("a balanced printer back from a failure takes new orders and claims waiting ones: once the idle printer answers OK, or a minute on where it cannot say", async () => {
  await using dir = await withTmpDir();
  using k = kitchen(dir.path);
  const [k1, k2] = k.stations;
  const p1 = k1.printer as FakePrinter, p2 = k2.printer as FakePrinter;
  const put = (order: string) => queueTicket(k, order);
  // k1's ticket fails on its printer and goes to k2 (its backup), printed there
  assertEquals(put("F-0"), "k1");
  k.intake.take(k1, k.clock.now());
  k1.printFailed(new AgentError("PRINTER_OFFLINE", "switched off"));
  await k1.recheck(); // before the retry, in hand: the printer answers, but that is not printing
  k1.failingOver();
  k1.jobPrinted("1", k2);
  k1.put();
  assert(!k1.healthy, "failed over: no new work");
  assertEquals([put("F-1"), put("F-2"), put("F-3")], ["k2", "k2", "k2"]);
  // the idle printer is asked (the probe, 2 s on): still off, then back
  await k.clock.advance(2_000);
  p1.statuses.push("OFFLINE");
  await k1.check();
  assert(!k1.healthy, "still off");
  assertEquals(put("F-4"), "k2");
  await k1.check(); // OK
  assert(k1.healthy, "answered OK while idle: back");
  // it claims the orders waiting on k2 (none started), then gets new ones again
  const first = k.intake.take(k1, k.clock.now());
  assertEquals(first?.receipt_data?.bill_number, "F-1");
  assertEquals([k1.queue.length, k2.queue.length], [1, 2]);
  k1.jobPrinted("2", k1);
  k1.put();
  // k2's ticket fails for good on a printer that cannot say how it is (a spooler without a
  // status channel): out for a minute, then the next order is its trial
  k.intake.take(k2, k.clock.now());
  k2.printFailed(new AgentError("PRINTER_OFFLINE", "spooler error"));
  k2.jobFailed("3", true);
  k2.put();
  p2.statuses.push("UNKNOWN");
  await k2.check();
  assert(!k2.healthy, "failed, and its printer cannot say it is back");
  assertEquals(k.intake.handOff(k2), 1, "as the print loop does after the job");
  assertEquals([k1.queue.length, k2.queue.length], [2, 0], "its waiting ticket handed to k1");
  await k.clock.advance(59_000);
  assert(!k2.healthy);
  await k.clock.advance(1_000);
  assert(k2.healthy, "a minute on: its trial");
  assertEquals(put("F-5"), "k2");
});

Deno.test("after a restart an order's follow-ups keep to the printer the journal says it printed on", async () => {
  await using dir = await withTmpDir();
  using k = kitchen(dir.path);
  // the orders of the last run: R-1 printed on k2, R-2 on k1
  for (const [order, printer] of [["R-1", "k2"], ["R-2", "k1"]]) {
    const job = ticket(order);
    k.journal.receive(job, k.clock.now());
    k.journal.markPrinting(job.uuid, 1, k.clock.now(), printer);
    k.journal.markPrinted(job.uuid, k.clock.now(), { printedOn: printer });
  }
  const unreadable = ticket("R-3");
  k.journal.receive(unreadable, k.clock.now());
  k.intake.recall(k.journal.recent(100));
  assertEquals(k.intake.route(ticket("R-1"))?.id, "k2", "R-1's follow-up where R-1 printed");
  assertEquals(k.intake.route(ticket("R-2"))?.id, "k1");
  assertEquals(k.intake.route(ticket("R-3"))?.id, "k1", "no printer recorded: balanced as new");
});

/** Two balanced kitchen stations printing to TCP printer simulators. */
function tcpKitchen(dir: string, sims: PrinterSim[], serverUrl: string) {
  return stationsConfig(
    dir,
    sims.map((sim, i) => ({
      id: `k${i + 1}`,
      roles: ["kitchen"],
      transport: "tcp",
      host: "127.0.0.1",
      port: sim.port,
      brand: "EPSON",
      paper_width: 48,
      balance: "least_queue",
    })),
    { server: { base_url: serverUrl } },
  );
}

/** Waits until the server has every one of these jobs COMPLETED. */
async function allCompleted(
  server: { getJob(id: unknown): Promise<Record<string, unknown>> },
  ids: unknown[],
) {
  await waitFor(async () => {
    for (const id of ids) if ((await server.getJob(id)).status !== "COMPLETED") return false;
    return true;
  }, "all COMPLETED");
}

Deno.test("balanced kitchen printers over real TCP: every ticket once, each order's tickets on one printer, printed_on says which", async () => {
  await using dir = await withTmpDir();
  await using server = withServer();
  const sims = [PrinterSim.start(), PrinterSim.start()];
  try {
    const c = tcpKitchen(dir.path, sims, server.url);
    await using _agent = await startAgent(c, { keepLogging: true });
    const made: { id: unknown; order: string }[] = [];
    for (let i = 0; i < 24; i++) {
      // 8 orders, each with two follow-ups (an addition, a void)
      const order = `ORD-${i % 8}`;
      const items = i < 8
        ? [{ name: `Menu ${i}`, qty: 1 }]
        : [{ name: `Extra ${i}`, qty: 1, status: i < 16 ? "new" : "void" }];
      const j = await server.createJob({
        job_type: "kitchen",
        printer_role: "kitchen",
        receipt_data: { bill_number: order, items },
      });
      made.push({ id: j.id, order });
    }
    await allCompleted(server, made.map((m) => m.id));
    const onPaper = sims.map((s) => s.jobs.map((j) => readEscPos(j.bytes).lines.join("\n")));
    assertEquals(onPaper[0].length + onPaper[1].length, 24, "every ticket once, none twice");
    for (let o = 0; o < 8; o++) {
      const holders = onPaper.map((p) => p.filter((t) => t.includes(`ORD-${o}`)).length);
      assert(holders.includes(0), `ORD-${o} split across printers: ${holders}`);
      assertEquals(holders[0] + holders[1], 3);
    }
    assert(onPaper.every((p) => p.length > 0), "both printers used");
    for (const m of made) {
      const done = (await server.reports(m.id)).find((r) => r.status === "COMPLETED")!;
      assertMatch(String(done.body.printed_on), /^k[12]$/);
    }
  } finally {
    for (const s of sims) s.close();
  }
});

Deno.test("over real TCP a fast printer claims the orders waiting behind a slow one; every ticket once, each order on one printer", async () => {
  await using dir = await withTmpDir();
  await using server = withServer();
  const [slow, fast] = [PrinterSim.start(), PrinterSim.start()];
  slow.answerDelayMs = 300; // its status questions before each ticket: about a second a ticket
  try {
    const c = tcpKitchen(dir.path, [slow, fast], server.url);
    // ten orders waiting before the agent starts: one list, split five and five by routing
    const made: unknown[] = [];
    for (let i = 0; i < 10; i++) {
      const j = await server.createJob({
        job_type: "kitchen",
        printer_role: "kitchen",
        receipt_data: { bill_number: `RUSH-${i}`, items: [{ name: `Menu ${i}`, qty: 1 }] },
      });
      made.push(j.id);
    }
    await using _agent = await startAgent(c, { keepLogging: true });
    await allCompleted(server, made);
    const onPaper = [slow, fast].map((s) =>
      s.jobs.map((j) => readEscPos(j.bytes).lines.join("\n"))
    );
    assertEquals(onPaper[0].length + onPaper[1].length, 10, "every ticket once, none twice");
    for (let o = 0; o < 10; o++) {
      const holders = onPaper.map((p) => p.filter((t) => t.includes(`RUSH-${o}`)).length);
      assertEquals(holders.sort(), [0, 1], `RUSH-${o}`);
    }
    assert(
      onPaper[1].length >= 7,
      `the fast printer claimed the slow one's orders: ${onPaper.map((p) => p.length)}`,
    );
    for (const id of made) {
      const done = (await server.reports(id)).find((r) => r.status === "COMPLETED")!;
      const on = String(done.body.printed_on);
      const paper = onPaper[on === "k1" ? 0 : 1];
      const bill = String(
        ((await server.getJob(id)).receipt_data as { bill_number?: string })?.bill_number,
      );
      assert(paper.some((t) => t.includes(bill)), `${bill}: printed_on ${on} is where it printed`);
    }
  } finally {
    slow.close();
    fast.close();
  }
});
