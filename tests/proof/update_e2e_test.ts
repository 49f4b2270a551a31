/**
 * Self-update end to end (#24), with real agent processes: the agent's own bundle, built here
 * three times (0.1.0; 0.2.0; a 0.3.0 that passes its quick check but dies a moment after it
 * starts), stamped with a test root key, published on the reference server and offered in the
 * heartbeat reply. The test plays the service manager: it starts the program file in place and
 * starts it again whenever it exits with a code (as the SCM's recovery actions do). Jobs flow the
 * whole time; none is lost or printed twice.
 */
import { assert, assertEquals, assertMatch } from "../helpers/assert.ts";
import { withTmpDir } from "../helpers/env.ts";
import { updateBed } from "../helpers/update_bed.ts";

Deno.test("end to end: 0.1.0 updates itself to 0.2.0 while jobs flow; a broken 0.3.0 is rolled back to 0.2.0; no job lost or printed twice", async () => {
  await using tmp = await withTmpDir();
  await using bed = await updateBed({
    dir: tmp.path,
    restartDelayMs: 300,
    jobEveryMs: 250,
    watch: { minutes: 0.2, jobs: 3 },
  });
  try {
    await bed.updateIs("0.1.0", "idle", "0.1.0 running");
    await bed.publish("0.2.0", await bed.build("0.2.0"));
    await bed.publish("0.3.0", await bed.broken("0.3.0", 700));
    const t0 = Date.now();
    await bed.target("0.2.0");
    await bed.updateIs("0.2.0", "watching", "0.2.0 running, watched");
    const upAt = Date.now() - t0;
    const done = await bed.updateIs("0.2.0", "done", "0.2.0 kept after its watch");
    assertEquals((done.update as { target: string }).target, "0.2.0");

    const t1 = Date.now();
    await bed.target("0.3.0");
    const back = await bed.updateIs("0.2.0", "rolled_back", "0.3.0 rolled back to 0.2.0");
    const backAt = Date.now() - t1;
    assertMatch(String((back.update as { error: string }).error), /crash loop|heartbeats/);
    // the promise, as the fault suite counts it: every job final, COMPLETED ones on paper once,
    // none twice; a job the broken build was printing when it died is FAILED
    // INTERRUPTED_MAY_HAVE_PRINTED (said to the server, never printed again)
    const r = await bed.settle();
    assertEquals(r.problems, []);
    assert(r.interrupted <= 3, `${r.interrupted} jobs interrupted: at most one per crash of 0.3.0`);
    assertEquals((await bed.beat())?.version, "0.2.0", "0.2.0 goes on, 0.3.0 not tried again");
    assertEquals(await Deno.readTextFile(bed.program), await bed.build("0.2.0"), "0.2.0 in place");
    console.log(
      `UPDATE: swapped to 0.2.0 and reporting in ${upAt} ms; broken 0.3.0 rolled back in ${backAt} ms; ${r.jobs} jobs (${r.interrupted} interrupted by a crash), exits ${
        bed.exits.join(",")
      }`,
    );
  } catch (e) {
    // what the agent said, for whoever reads the failure
    const log = (await bed.log()).trim().split("\n");
    console.error(
      `exits ${bed.exits.join(",")}\nlog (last 40 lines):\n${log.slice(-40).join("\n")}`,
    );
    throw e;
  }
});
