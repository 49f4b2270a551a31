/**
 * A job server that misbehaves for a while — refuses connections, answers 500, hangs past the
 * timeout, answers garbage, delivers jobs twice and again after they were completed — in front of
 * the real reference server. Every job must print exactly once and end COMPLETED there.
 */
import { assert, assertEquals } from "./helpers/assert.ts";
import { LogCapture, testConfig, waitFor, withServer, withTmpDir } from "./helpers/env.ts";
import { PrinterSim } from "./helpers/printer_sim.ts";
import { startAgent, stopAgent } from "../src/run.ts";

type Mode = "ok" | "refuse" | "500" | "hang" | "garbage" | "replay";

/** A proxy to the reference server whose behaviour the test switches. */
function chaosProxy(upstream: string) {
  let mode: Mode = "ok";
  let server: Deno.HttpServer | null = null;
  let port = 0;
  const completed: unknown[] = [];
  const handler = async (req: Request): Promise<Response> => {
    const url = new URL(req.url);
    const target = upstream.replace(/\/api$/, "") + url.pathname + url.search;
    if (mode === "500") return new Response("Internal Server Error", { status: 500 });
    if (mode === "garbage") {
      return new Response("\x00\x01garbage<html>", {
        headers: { "content-type": "application/json" },
      });
    }
    if (mode === "hang") {
      await new Promise((r) => setTimeout(r, 1500));
      return new Response("late", { status: 504 });
    }
    const res = await fetch(target, { method: req.method, headers: req.headers, body: req.body });
    if (mode === "replay" && req.method === "GET" && url.pathname.endsWith("/print-jobs/")) {
      // the same jobs twice, plus jobs that were already completed
      const list = await res.json();
      return Response.json([...list, ...list, ...completed]);
    }
    if (req.method === "GET" && url.pathname.endsWith("/print-jobs/")) {
      const list = await res.json();
      return Response.json(list);
    }
    return res;
  };
  const start = () => {
    server = Deno.serve({ port, hostname: "127.0.0.1", onListen() {} }, handler);
    port = (server.addr as Deno.NetAddr).port;
  };
  start();
  return {
    get url() {
      return `http://127.0.0.1:${port}/api`;
    },
    completed,
    async set(m: Mode) {
      if (m === "refuse" && server) {
        await server.shutdown();
        server = null;
      } else if (m !== "refuse" && !server) start();
      mode = m;
    },
    async close() {
      await server?.shutdown();
    },
  };
}

Deno.test("through refusals, 500s, timeouts, garbage and replays: every job printed once, every ack delivered", async () => {
  await using dir = await withTmpDir();
  await using server = withServer();
  using sim = PrinterSim.start();
  const proxy = chaosProxy(server.url);
  const logs = new LogCapture();
  await logs.install();
  const config = testConfig(dir.path, {
    server: {
      base_url: proxy.url,
      poll_interval: 0.05,
      long_poll_wait: 1,
      request_timeout: 0.5,
      heartbeat_interval: 0.3,
    },
    printer: { transport: "tcp", port: sim.port },
  });
  const agent = await startAgent(config, { keepLogging: true });
  const jobs: Record<string, unknown>[] = [];
  const modes: Mode[] = [
    "refuse",
    "ok",
    "500",
    "ok",
    "hang",
    "ok",
    "garbage",
    "ok",
    "replay",
    "ok",
    "refuse",
    "replay",
    "ok",
  ];
  let outages = 0;
  try {
    for (const [i, m] of modes.entries()) {
      for (let k = 0; k < 3; k++) {
        const j = await server.createJob({
          job_type: "receipt",
          receipt_data: { store_name: "Chaos", bill_number: `CH-${i}-${k}`, total: i },
        });
        jobs.push(j);
      }
      for (const j of jobs) {
        const s = await server.getJob(j.id);
        if (s.status === "COMPLETED") proxy.completed.push(s);
      }
      if (m !== "ok" && m !== "replay") outages++;
      await proxy.set(m);
      await new Promise((r) => setTimeout(r, 700));
    }
    await proxy.set("ok");
    await waitFor(
      async () => {
        for (const j of jobs) if ((await server.getJob(j.id)).status !== "COMPLETED") return false;
        return true;
      },
      "every job COMPLETED at the server",
      60_000,
    );
    await waitFor(() => agent.journal.outboxDepth() === 0, "every report delivered", 30_000);
  } finally {
    await stopAgent(agent);
    await proxy.close();
  }
  for (const [i] of modes.entries()) {
    for (let k = 0; k < 3; k++) {
      const bill = `CH-${i}-${k}`;
      const n = sim.jobs.filter((p) =>
        new TextDecoder("latin1").decode(p.bytes).includes(bill)
      ).length;
      assertEquals(n, 1, `${bill} printed ${n} times`);
    }
  }
  const offline = logs.find("[OFFLINE]").length;
  const online = logs.find("[ONLINE]").length;
  console.log(
    `  ${jobs.length} jobs, ${outages} outages, [OFFLINE] lines: ${offline}, [ONLINE] lines: ${online}`,
  );
  assert(offline >= 1 && offline <= outages, `${offline} [OFFLINE] lines for ${outages} outages`);
  assertEquals(online, offline, "each outage ends with one [ONLINE]");
  assert(agent.counters.duplicates > 0, "the replays were seen and refused");
});
