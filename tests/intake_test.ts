/**
 * Intake: what one listed page becomes. A backend listing newest first still has each page
 * printed oldest first, and is told once an hour.
 */
import { assertEquals } from "./helpers/assert.ts";
import { LogCapture, testConfig, withTmpDir } from "./helpers/env.ts";
import { FakeClock } from "./helpers/fake_clock.ts";
import { FakePrinter } from "./helpers/fake_printer.ts";
import { Intake, listedNewestFirst } from "../src/core/intake.ts";
import { Ledger } from "../src/core/ledger.ts";
import { Station } from "../src/core/station.ts";
import { Bell } from "../src/core/bell.ts";
import { Journal } from "../src/store/journal.ts";
import type { Renderer } from "../src/render/render.ts";
import { join } from "node:path";

const receipt = (id: number, minute: number) => ({
  id,
  uuid: `u-${id}`,
  job_type: "receipt",
  created_at: `2026-12-02T09:${String(minute).padStart(2, "0")}:00Z`,
  receipt_data: { total: id },
});

Deno.test("a page listed newest first is queued oldest first, and said once an hour", async () => {
  await using dir = await withTmpDir();
  const logs = new LogCapture();
  await logs.install();
  const config = testConfig(dir.path);
  const clock = new FakeClock(Date.parse("2026-12-02T09:30:00Z"));
  const journal = Journal.open(join(dir.path, "j.db"));
  using _closed = { [Symbol.dispose]: () => journal.close() };

  const station = new Station(config.stations[0], new FakePrinter(), {} as Renderer, 60_000);
  Station.wire([station]);
  const intake = new Intake(
    config,
    [station],
    new Ledger(journal, clock, config),
    clock,
    new Bell(),
  );
  const signal = new AbortController().signal;
  await intake.page([receipt(5, 5), receipt(4, 4), receipt(3, 3)], signal);
  await intake.page([receipt(2, 2), receipt(1, 1)], signal);
  const order = [];
  for (let j = station.take(clock.now()); j; j = station.take(clock.now())) order.push(j.id);
  assertEquals(order, [3, 4, 5, 1, 2], "each page oldest first");
  assertEquals(logs.lines.filter((l) => l.code === "SERVER_NEWEST_FIRST").length, 1);
});

Deno.test("only a page that surely runs newest first is reordered", () => {
  const at = (m: number) => ({ created_at: `2026-12-02T09:0${m}:00Z` });
  const cases: [unknown[], boolean][] = [
    [[at(3), at(2), at(1)], true],
    [[at(3), at(3), at(1)], true],
    [[at(1), at(2), at(3)], false],
    [[at(3), at(1), at(2)], false],
    [[at(3), at(3)], false],
    [[at(3), {}, at(1)], false],
    [[at(3), { created_at: "yesterday" }], false],
    [[at(1)], false],
    [[], false],
  ];
  for (const [items, newest] of cases) {
    assertEquals(listedNewestFirst(items, "UTC"), newest, JSON.stringify(items));
  }
});
