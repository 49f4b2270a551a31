import { assert, assertEquals, assertMatch } from "./helpers/assert.ts";
import { withTmpDir } from "./helpers/env.ts";
import { closeLogging, formatTimestamp, log, setupLogging } from "../src/log.ts";
import { join } from "node:path";

Deno.test("log lines keep the seed's shape and carry the error code", async () => {
  await using dir = await withTmpDir();
  const file = join(dir.path, "logs", "print_agent.log");
  await setupLogging({ level: "INFO", file, console: false });
  log.info("[JOB 39] Processing: receipt");
  log.warn("braces {are} data");
  log.error("[JOB 40] [FAILED] All 3 attempts failed", { code: "PRINTER_OFFLINE" });
  log.debug("hidden at INFO");
  await closeLogging();
  const lines = (await Deno.readTextFile(file)).trimEnd().split("\n");
  assertEquals(lines.length, 3);
  assertMatch(
    lines[0],
    /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \| INFO {5}\| \[JOB 39\] Processing: receipt$/,
  );
  assertMatch(lines[1], /\| WARNING {2}\| braces \{are\} data$/);
  assertMatch(
    lines[2],
    /\| ERROR {4}\| \[JOB 40\] \[FAILED\] All 3 attempts failed \(code=PRINTER_OFFLINE\)$/,
  );
});

Deno.test("the log file rotates at max_bytes and keeps backup_count files", async () => {
  await using dir = await withTmpDir();
  const file = join(dir.path, "print_agent.log");
  await setupLogging({ level: "DEBUG", file, console: false, maxBytes: 2048, backups: 3 });
  for (let i = 0; i < 200; i++) log.info(`[JOB ${i}] Processing: receipt ${"x".repeat(40)}`);
  await closeLogging();
  const names = (await Array.fromAsync(Deno.readDir(dir.path))).map((e) => e.name).sort();
  assertEquals(names, [
    "print_agent.log",
    "print_agent.log.1",
    "print_agent.log.2",
    "print_agent.log.3",
  ]);
  for (const n of names) {
    assert((await Deno.stat(join(dir.path, n))).size <= 2048 + 200, `${n} too big`);
  }
  assertMatch(await Deno.readTextFile(file), /\[JOB 199\]/);
});

Deno.test("timestamps are local time, seconds precision", () => {
  const t = new Date(2026, 0, 23, 16, 7, 28).getTime();
  assertEquals(formatTimestamp(t), "2026-01-23 16:07:28");
});
