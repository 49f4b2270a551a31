/**
 * End to end over loopback: the reference server, the agent, and the TCP printer simulator.
 */
import { assert, assertEquals, assertMatch } from "./helpers/assert.ts";
import {
  LogCapture,
  SERVER_MODES,
  serverSection,
  testConfig,
  waitFor,
  withServer,
  withTmpDir,
} from "./helpers/env.ts";
import { PrinterSim } from "./helpers/printer_sim.ts";
import { startAgent, stopAgent } from "../src/run.ts";
import { readEscPos } from "./helpers/escpos_reader.ts";

const RECEIPT = {
  job_type: "receipt",
  receipt_data: {
    store_name: "Test Store",
    queue_number: "A001",
    bill_number: "INV-001",
    total: 50000,
  },
};

for (const mode of SERVER_MODES) {
  Deno.test(`a receipt created on the server is printed byte-exact on a TCP printer and ends COMPLETED (${mode} server)`, async () => {
    await using dir = await withTmpDir();
    await using server = withServer({ drf: mode === "drf" });
    using sim = PrinterSim.start();
    const logs = new LogCapture();
    await logs.install();
    const config = testConfig(dir.path, {
      server: serverSection(mode, server.url),
      printer: { transport: "tcp", port: sim.port },
    });
    const agent = await startAgent(config, { keepLogging: true });
    try {
      const job = await server.createJob(RECEIPT);
      await waitFor(async () => (await server.getJob(job.id)).status === "COMPLETED", "COMPLETED");
      assertEquals(sim.jobs.length, 1);
      const bytes = sim.jobs[0].bytes;
      // starts with ESC @ (init), ends with GS V (cut)
      assertEquals([...bytes.slice(0, 2)], [0x1b, 0x40]);
      const doc = readEscPos(bytes);
      assert(doc.commands.includes("cut"), `no cut in ${doc.commands}`);
      const text = doc.lines.join("\n");
      assertMatch(text, /Test Store/);
      assertMatch(text, /A001/);
      assertMatch(text, /INV-001/);
      assertMatch(text, /TOTAL\s+Rp 50\.000/);
      // exact bytes: what the renderer produces for this job is what the printer got
      const expected = await agent.stations[0].renderer.render({ ...job, priority: 0 } as never);
      assertEquals(bytes, expected.bytes);
      const reports = (await server.reports(job.id)).map((r) => r.status);
      assertEquals(reports, ["FETCHED", "PRINTING", "COMPLETED"]);
      assert(logs.find("[JOB 1] Processing: receipt").length === 1);
      // the first beat may go while the job is in hand (UNKNOWN: not asked yet); the printed job
      // makes it OK, and a change of status is sent at once
      const hb = await waitFor(async () => {
        const h = (await server.heartbeats())[0];
        return h?.printer_status === "OK" ? h : null;
      }, "a heartbeat with the printer OK");
      assertEquals(hb.terminal_id, "POS-001");
    } finally {
      await stopAgent(agent);
    }
    assert(logs.find("[STOP] Stopping Print Agent...").length === 1);
    assert(logs.find("[OK] Print Agent stopped").length === 1);
    const last = (await server.heartbeats())[0];
    assertEquals(last.agent_status, "STOPPED");
  });
}

for (const mode of SERVER_MODES) {
  Deno.test(`bad jobs are reported FAILED with a code and the agent keeps serving good ones (${mode} server)`, async () => {
    await using dir = await withTmpDir();
    await using server = withServer({ drf: mode === "drf" });
    using sim = PrinterSim.start();
    const logs = new LogCapture();
    await logs.install();
    const config = testConfig(dir.path, {
      server: serverSection(mode, server.url),
      printer: { transport: "tcp", port: sim.port },
      jobs: { accepted_types: ["receipt", "reprint", "raw"] },
    });
    await using _agent = await startAgent(config, { keepLogging: true });
    const unknownType = await server.createJob({ job_type: "hologram", receipt_data: {} });
    const badB64 = await server.createJob({ job_type: "raw", raw_base64: "not base64!!" });
    const noData = await server.createJob({ job_type: "receipt" });
    const badField = await server.createJob({
      job_type: "receipt",
      receipt_data: { items: [{ name: null }] },
    });
    const good = await server.createJob(RECEIPT);
    const raw = await server.createJob({ job_type: "raw", raw_base64: btoa("\x1b@RAW\n") });
    // a job type the agent knows but this terminal does not accept
    const notHere = await server.createJob({ job_type: "kitchen", receipt_data: {} });
    for (const j of [unknownType, badB64, noData, badField, good, raw, notHere]) {
      await waitFor(
        async () => ["COMPLETED", "FAILED"].includes(String((await server.getJob(j.id)).status)),
        `job ${j.id} final`,
      );
    }
    const code = async (j: Record<string, unknown>) => (await server.getJob(j.id)).error_code;
    assertEquals(await code(unknownType), "UNSUPPORTED_JOB_TYPE");
    assertEquals(await code(notHere), "UNSUPPORTED_JOB_TYPE");
    // every failure is in the log too: one [FAILED] line with its code, for each job
    for (const j of [unknownType, badB64, noData, badField, notHere]) {
      const failed = logs.lines.filter((l) =>
        l.msg.includes(`[JOB ${j.id}]`) && l.msg.includes("[FAILED]")
      );
      assertEquals(failed.length, 1, `job ${j.id}: ${JSON.stringify(failed)}`);
      assertEquals(failed[0].code, await code(j));
    }
    assertEquals(await code(badB64), "INVALID_BASE64");
    assertEquals(await code(noData), "BAD_PAYLOAD");
    assertEquals(await code(badField), "BAD_PAYLOAD");
    assertMatch(
      String((await server.getJob(badField.id)).error_message),
      /receipt_data\.items\.0\.name/,
    );
    assertEquals((await server.getJob(good.id)).status, "COMPLETED");
    assertEquals((await server.getJob(raw.id)).status, "COMPLETED");
    assertEquals(sim.jobs.length, 2);
    assertEquals(new TextDecoder().decode(sim.jobs[1].bytes), "\x1b@RAW\n");
    assert(
      logs.find(`[JOB ${badB64.id}] [FAILED]`).length === 1,
      "a FAILED line with the job id",
    );
  });
}

Deno.test("a server answering HTML, invalid JSON or a non-list is logged once per outage and survived", async (t) => {
  for (
    const [name, answer] of [
      [
        "HTML",
        () =>
          new Response("<html><body>Bad gateway</body></html>", {
            headers: { "content-type": "text/html" },
          }),
      ],
      [
        "invalid JSON",
        () => new Response("{not json", { headers: { "content-type": "application/json" } }),
      ],
      ["a non-list", () => Response.json({ jobs: "none" })],
      ["HTTP 500", () => new Response("boom", { status: 500 })],
    ] as const
  ) {
    await t.step(name, async () => {
      await using dir = await withTmpDir();
      const logs = new LogCapture();
      await logs.install();
      let calls = 0;
      const srv = Deno.serve({ port: 0, hostname: "127.0.0.1", onListen() {} }, (req) => {
        if (new URL(req.url).pathname.endsWith("/print-jobs/")) calls++;
        return answer();
      });
      const config = testConfig(dir.path, {
        server: {
          base_url: `http://127.0.0.1:${srv.addr.port}/api`,
          poll_interval: 0.05,
          long_poll_wait: 0,
        },
      });
      const agent = await startAgent(config, { keepLogging: true });
      await waitFor(() => calls >= 3, "three polls");
      await stopAgent(agent);
      await srv.shutdown();
      const offline = logs.find("[OFFLINE]");
      assertEquals(
        offline.length,
        1,
        `one [OFFLINE] line, got ${offline.map((l) => l.msg).join(" / ")}`,
      );
      assert(logs.lines.every((l) => l.code !== "INTERNAL_ERROR"), "no internal error");
    });
  }
});

Deno.test("a server without long-poll is detected, logged once, and still served at poll_interval", async () => {
  await using dir = await withTmpDir();
  await using server = withServer({ noLongPoll: true, paginate: true, token: "k-123" });
  const logs = new LogCapture();
  await logs.install();
  const config = testConfig(dir.path, {
    server: { base_url: server.url, token: "k-123", poll_interval: 0.1 },
  });
  await using _agent = await startAgent(config, { keepLogging: true });
  await waitFor(() => logs.find("[POLL]").length > 0, "the no-long-poll notice");
  // two jobs served after the notice: many empty answers in between, still one line
  for (let i = 0; i < 2; i++) {
    const job = await server.createJob(RECEIPT);
    await waitFor(async () => (await server.getJob(job.id)).status === "COMPLETED", "COMPLETED");
  }
  assertEquals(logs.find("[POLL]").length, 1);
});

Deno.test("a server outage is logged once when it starts and once when it ends; queued reports arrive after", async () => {
  await using dir = await withTmpDir();
  const db = `${dir.path}/server.db`;
  const first = withServer({ db });
  const port = first.port;
  const logs = new LogCapture();
  await logs.install();
  const config = testConfig(dir.path, {
    server: { base_url: first.url, poll_interval: 0.05, heartbeat_interval: 0.2 },
  });
  await using _agent = await startAgent(config, { keepLogging: true });
  const job = await first.createJob(RECEIPT);
  await waitFor(
    async () => (await first.getJob(job.id)).status === "COMPLETED",
    "first job COMPLETED",
  );
  await first.shutdown();
  await waitFor(() => logs.find("[OFFLINE]").length > 0, "[OFFLINE]");
  await new Promise((r) => setTimeout(r, 600)); // many failed polls and heartbeats
  const { startServer } = await import("../src/reference_server/main.ts");
  const second = startServer({ port, db, quiet: true });
  try {
    await waitFor(() => logs.find("[ONLINE] Server connection restored").length > 0, "[ONLINE]");
    assertEquals(logs.find("[OFFLINE]").length, 1);
    assertEquals(logs.find("[ONLINE]").length, 1);
  } finally {
    await second.shutdown();
  }
});
