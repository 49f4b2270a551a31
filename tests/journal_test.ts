import { assert, assertEquals, assertThrows } from "./helpers/assert.ts";
import { withTmpDir } from "./helpers/env.ts";
import {
  Journal,
  JOURNAL_CACHE_KB,
  PAPER_KEEP_JOBS,
  PAPER_KEEP_MAX,
  StateLockedError,
} from "../src/store/journal.ts";
import type { Job } from "../src/core/job.ts";
import { join } from "node:path";

const job = (uuid: string, over: Partial<Job> = {}): Job => ({
  id: uuid.replace(/\D/g, "") || 1,
  uuid,
  job_type: "receipt",
  priority: 0,
  receipt_data: {},
  ...over,
});

Deno.test("a job moves RECEIVED → PRINTING → PRINTED with one report per step, in order", async () => {
  await using dir = await withTmpDir();
  const j = Journal.open(join(dir.path, "j.db"));
  try {
    assertEquals(j.receive(job("u1"), 1000), null);
    j.markPrinting("u1", 1, 2000);
    j.markPrinted("u1", 3000);
    const e = j.get("u1")!;
    assertEquals([e.state, e.attempts, e.received_at, e.printing_at, e.finished_at], [
      "PRINTED",
      1,
      1000,
      2000,
      3000,
    ]);
    assertEquals(j.outboxPeek().map((o) => o.status), ["FETCHED", "PRINTING", "COMPLETED"]);
  } finally {
    j.close();
  }
});

Deno.test("the journal runs in WAL with every state change flushed (FULL), back to FULL after a relaxed write, and a 512 KB cache", async () => {
  await using dir = await withTmpDir();
  const path = join(dir.path, "j.db");
  for (const round of ["new", "reopened"]) {
    const j = Journal.open(path);
    try {
      const want = { journalMode: "wal", synchronous: 2, cacheSize: JOURNAL_CACHE_KB };
      assertEquals(j.settings(), want, `${round}: as opened`);
      assertEquals(JOURNAL_CACHE_KB, -512);
      const uuid = `s-${round}`;
      j.receive(job(uuid), 1000);
      j.setPreview(uuid, "a preview is written relaxed"); // synchronous=NORMAL for that write only
      assertEquals(j.settings(), want, `${round}: after a relaxed write`);
      j.markPrinting(uuid, 1, 2000);
      assertEquals(j.settings().synchronous, 2, `${round}: after a state change`);
    } finally {
      j.close();
    }
  }
});

Deno.test("a known UUID is not received again; its final status is re-queued once", async () => {
  await using dir = await withTmpDir();
  const j = Journal.open(join(dir.path, "j.db"));
  try {
    j.receive(job("u1"), 1);
    j.markPrinting("u1", 1, 2);
    j.markFailed("u1", "PRINTER_OFFLINE", "down", 3);
    for (const o of j.outboxPeek()) j.outboxDone(o.seq);
    assertEquals(j.receive(job("u1"), 4)?.state, "FAILED");
    assertEquals(j.resendFinal("u1", 5), true);
    assertEquals(j.resendFinal("u1", 6), false, "not twice while one is waiting");
    const r = JSON.parse(j.outboxPeek()[0].body);
    assertEquals([r.status, r.error_code], ["FAILED", "PRINTER_OFFLINE"]);
  } finally {
    j.close();
  }
});

Deno.test("state survives closing and reopening (what a restart sees)", async () => {
  await using dir = await withTmpDir();
  const path = join(dir.path, "j.db");
  let j = Journal.open(path);
  j.receive(job("u1"), 1);
  j.receive(job("u2"), 2);
  j.markPrinting("u2", 1, 3);
  j.close();
  j = Journal.open(path);
  try {
    assertEquals(j.openJobs().map((e) => [e.uuid, e.state]), [["u1", "RECEIVED"], [
      "u2",
      "PRINTING",
    ]]);
    assertEquals(JSON.parse(j.get("u1")!.payload!).uuid, "u1");
  } finally {
    j.close();
  }
});

Deno.test("a second opener of the same journal is refused while the first holds it", async () => {
  await using dir = await withTmpDir();
  const path = join(dir.path, "j.db");
  const a = Journal.open(path);
  try {
    assertThrows(() => Journal.open(path), /in use by another agent/);
    try {
      Journal.open(path);
    } catch (e) {
      assert(e instanceof StateLockedError);
    }
  } finally {
    a.close();
  }
  Journal.open(path).close(); // free again once closed
});

Deno.test("pruning removes old, final, acknowledged rows only, in small batches, and caps the row count", async () => {
  await using dir = await withTmpDir();
  const j = Journal.open(join(dir.path, "j.db"));
  try {
    const day = 86_400_000;
    for (let i = 0; i < 1200; i++) {
      j.receive(job(`old${i}`), 0);
      j.markPrinting(`old${i}`, 1, 0);
      j.markPrinted(`old${i}`, 0);
    }
    j.receive(job("unacked"), 0);
    j.markPrinting("unacked", 1, 0);
    j.markPrinted("unacked", 0);
    j.receive(job("open"), 0);
    for (const o of j.outboxPeek(5000)) if (o.job_uuid !== "unacked") j.outboxDone(o.seq);
    const now = 20 * day;
    assertEquals(j.prune(now, 14 * day, 100_000, 500), 500);
    assertEquals(j.prune(now, 14 * day, 100_000, 500), 500);
    assertEquals(j.prune(now, 14 * day, 100_000, 500), 200);
    assertEquals(j.prune(now, 14 * day, 100_000, 500), 0);
    assert(j.get("unacked"), "a row with a report still waiting is kept");
    assert(j.get("open"), "an open job is kept");
    // the bytes kept for a job's picture go with the job; too large ones are never kept
    const reader = { escT: { 0: "cp437" }, width: 576 };
    j.setPreview("unacked", "text", { bytes: new Uint8Array([0x41, 0x0a]), reader });
    j.setPreview("open", "text", { bytes: new Uint8Array(PAPER_KEEP_MAX + 1), reader });
    assertEquals(j.paper("unacked"), { bytes: new Uint8Array([0x41, 0x0a]), reader });
    assertEquals(j.paper("open"), undefined);
    assertEquals(j.get("open")!.preview, "text", "the text preview is kept anyway");
    for (let i = 0; i < 300; i++) {
      j.receive(job(`new${i}`), now);
      j.markPrinting(`new${i}`, 1, now);
      j.markPrinted(`new${i}`, now);
    }
    for (const o of j.outboxPeek(5000)) if (o.job_uuid !== "unacked") j.outboxDone(o.seq);
    for (const o of j.outboxPeek(5000)) j.outboxDone(o.seq);
    j.prune(now, 14 * day, 200, 500);
    assertEquals(j.count(), 200);
    assertEquals(j.get("unacked"), undefined);
    assertEquals(j.paper("unacked"), undefined, "pruned with its job");
  } finally {
    j.close();
  }
});

Deno.test("a full disk surfaces as STATE_STORE_UNWRITABLE and rolls back (nothing half-written)", async () => {
  await using dir = await withTmpDir();
  // max_page_count makes SQLite answer SQLITE_FULL exactly as a full disk does (the empty
  // journal takes 14 pages: tables and indexes)
  const j = Journal.open(join(dir.path, "j.db"), { pragmas: ["max_page_count = 15"] });
  try {
    let err: unknown = null;
    let i = 0;
    for (; i < 10_000 && !err; i++) {
      try {
        j.receive(job(`u${i}`, { receipt_data: { pad: "x".repeat(500) } }), i);
      } catch (e) {
        err = e;
      }
    }
    assertEquals((err as { code?: string })?.code, "STATE_STORE_UNWRITABLE");
    assertEquals(j.get(`u${i - 1}`), undefined, "the failed receive left no row");
  } finally {
    j.close();
  }
});

Deno.test("pictures are kept for the newest jobs only, whatever the history's length", () => {
  const j = Journal.open(":memory:");
  try {
    const reader = { escT: { 0: "cp437" }, width: 576 };
    const n = PAPER_KEEP_JOBS + 300;
    for (let i = 0; i < n; i++) {
      j.receive(job(`p${i}`), 0);
      j.setPreview(`p${i}`, "text", { bytes: new Uint8Array([0x41, i & 0xff]), reader });
    }
    j.prune(0, 14 * 86_400_000, 1_000_000, 500);
    assertEquals(j.paper("p0"), undefined, "the oldest picture is dropped");
    assertEquals(j.paper(`p${n - PAPER_KEEP_JOBS - 1}`), undefined);
    assert(j.paper(`p${n - PAPER_KEEP_JOBS}`), "the newest PAPER_KEEP_JOBS stay");
    assert(j.paper(`p${n - 1}`));
    assertEquals(j.get("p0")!.preview, "text", "the job and its text preview stay");
  } finally {
    j.close();
  }
});

Deno.test("after a rollback the previous version reads a journal a newer one wrote (new columns, tables, indexes): its jobs go on, none printed again", async () => {
  await using dir = await withTmpDir();
  const path = join(dir.path, "j.db");
  let j = Journal.open(path);
  j.receive(job("u1"), 1);
  j.markPrinting("u1", 1, 2);
  j.markPrinted("u1", 3);
  j.receive(job("u2"), 4); // received by the newer version, not yet printed
  j.close();
  // what a newer version's migration may add: only columns with defaults, tables and indexes
  const { DatabaseSync } = await import("node:sqlite");
  const db = new DatabaseSync(path);
  db.exec("ALTER TABLE jobs ADD COLUMN future_note TEXT DEFAULT 'x'");
  db.exec("ALTER TABLE jobs ADD COLUMN future_count INTEGER NOT NULL DEFAULT 0");
  db.exec("CREATE TABLE future_things (id INTEGER PRIMARY KEY, body TEXT)");
  db.exec("CREATE INDEX jobs_future ON jobs(future_count)");
  db.exec("PRAGMA user_version = 99");
  db.close();
  j = Journal.open(path);
  try {
    assertEquals(j.get("u1")?.state, "PRINTED");
    assertEquals(j.receive(job("u1"), 5)?.state, "PRINTED", "listed again: not printed again");
    assertEquals(j.openJobs().map((e) => e.uuid), ["u2"], "the newer version's job goes on");
    j.markPrinting("u2", 1, 6);
    j.markPrinted("u2", 7);
    j.receive(job("u3"), 8);
    assertEquals(j.get("u3")?.state, "RECEIVED");
  } finally {
    j.close();
  }
  // the version says the newest schema that wrote it: not lowered by the older agent
  const after = new DatabaseSync(path);
  assertEquals(
    (after.prepare("PRAGMA user_version").get() as { user_version: number }).user_version,
    99,
  );
  after.close();
  const fresh = Journal.open(join(dir.path, "fresh.db"));
  fresh.close();
  const f = new DatabaseSync(join(dir.path, "fresh.db"));
  const { JOURNAL_SCHEMA } = await import("../src/store/journal.ts");
  assertEquals(
    (f.prepare("PRAGMA user_version").get() as { user_version: number }).user_version,
    JOURNAL_SCHEMA,
  );
  f.close();
});

Deno.test("each change of remote configuration or self-update is a journal entry; the newest 200 are kept", async () => {
  const { FLEET_EVENTS_KEPT } = await import("../src/store/journal.ts");
  await using dir = await withTmpDir();
  const j = Journal.open(join(dir.path, "j.db"));
  try {
    for (let i = 0; i < FLEET_EVENTS_KEPT + 50; i++) {
      j.recordFleet(i, { update: { state: "watching", target: `0.${i}.0` } });
    }
    const all = j.fleetEvents(1000);
    assertEquals(all.length, FLEET_EVENTS_KEPT);
    assertEquals(all[0].at, FLEET_EVENTS_KEPT + 49, "newest first");
    assertEquals(
      (all[0].body.update as { target: string }).target,
      `0.${FLEET_EVENTS_KEPT + 49}.0`,
    );
  } finally {
    j.close();
  }
});
