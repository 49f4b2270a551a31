/**
 * Trust II, point 1, with real processes: a power cut while a receipt waits for its retry (the
 * printer is off) is not a death "with the job in hand". Killed twice in the backoff, the agent
 * prints the receipt once the printer is back, never FAILED POISON_JOB.
 */
import { assertEquals } from "../helpers/assert.ts";
import { waitFor, withServer, withTmpDir } from "../helpers/env.ts";
import { PrinterSim } from "../helpers/printer_sim.ts";
import { join } from "node:path";

const MAIN = new URL("../../src/main.ts", import.meta.url).pathname;

Deno.test("killed twice while the receipt waits for its retry, the agent prints it when the printer is back", async () => {
  await using dir = await withTmpDir();
  await using server = withServer();
  const free = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (free.addr as Deno.NetAddr).port;
  free.close(); // the printer is off: nothing answers on its port
  const config = join(dir.path, "print_agent_config.json");
  const log = join(dir.path, "agent.log");
  await Deno.writeTextFile(
    config,
    JSON.stringify({
      terminal_identity: { terminal_id: "POS-001" },
      server: { base_url: server.url, poll_interval: 0.2, heartbeat_interval: 5 },
      printer: { transport: "tcp", port, brand: "GENERIC", paper_width: 32, timeout: 1 },
      error_handling: { max_retry: 3, backoff_seconds: [3, 3] },
      logging: { level: "INFO", log_file: "agent.log" },
      local_api: { enabled: false },
    }),
  );
  const job = await server.createJob({
    job_type: "receipt",
    receipt_data: { store_name: "Toko", total: 1000 },
  });
  const spawn = () =>
    new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", MAIN, "--config", config],
      stdout: "null",
      stderr: "null",
    }).spawn();
  const retries = async () =>
    (await Deno.readTextFile(log).catch(() => "")).split("\n").filter((l) =>
      /\[JOB \S+\] Retry \d\/\d after/.test(l)
    ).length;
  for (let kill = 1; kill <= 2; kill++) {
    const before = await retries();
    const agent = spawn();
    await waitFor(async () => (await retries()) > before, `waiting for its retry (${kill})`);
    agent.kill("SIGKILL"); // a power cut in the backoff
    await agent.status;
  }
  const agent = spawn();
  const sim = PrinterSim.start(port); // the printer is back
  try {
    const done = await waitFor(
      async () => {
        const j = await server.getJob(job.id);
        return j.status === "COMPLETED" || j.status === "FAILED" ? j : null;
      },
      "the receipt's outcome",
      30_000,
    );
    assertEquals(done.status, "COMPLETED", `${done.error_code}: ${done.error_message}`);
    assertEquals(sim.jobs.length, 1, "on paper once");
  } finally {
    agent.kill("SIGTERM");
    await agent.status;
    await sim.close();
  }
});
