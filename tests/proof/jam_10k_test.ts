/**
 * Proof at scale: 10,000 jobs in one list, through a restart. Slow (minutes), so it runs in
 * `deno task test:proof`, not in the fast suite.
 */
import { assert, assertEquals } from "../helpers/assert.ts";
import { LogCapture, testConfig, waitFor, withServer, withTmpDir } from "../helpers/env.ts";
import { FakePrinter } from "../helpers/fake_printer.ts";
import { startAgent, stopAgent } from "../../src/run.ts";

const RECEIPT = { job_type: "receipt", receipt_data: { store_name: "Toko", total: 1000 } };

Deno.test("10,000 jobs in one list: bounded intake, every job printed once and COMPLETED, a stop in seconds", async () => {
  await using dir = await withTmpDir();
  await using server = withServer({ noLongPoll: true });
  await new LogCapture().install("INFO");
  const N = 10_000;
  const now = new Date().toISOString();
  const ins = server.db.prepare(
    `INSERT INTO jobs (uuid, terminal_id, job_type, receipt_data, created_at, updated_at)
     VALUES (?, 'POS-001', 'receipt', ?, ?, ?)`,
  );
  server.db.exec("BEGIN");
  for (let i = 0; i < N; i++) ins.run(`bulk-${i}`, JSON.stringify(RECEIPT.receipt_data), now, now);
  server.db.exec("COMMIT");
  const completed = () =>
    (server.db.prepare("SELECT COUNT(*) AS n FROM jobs WHERE status = 'COMPLETED'").get() as {
      n: number;
    }).n;
  const printer = new FakePrinter();
  const config = testConfig(dir.path, {
    // one list of all 10,000 (the reference server's `limit`, through server.query.extra)
    server: { base_url: server.url, long_poll_wait: 0, query: { extra: { limit: String(N) } } },
    logging: { level: "INFO" },
  });
  let agent = await startAgent(config, { keepLogging: true, printer });
  await waitFor(() => completed() >= 300, "the first jobs COMPLETED on the server", 60_000);
  const t0 = performance.now();
  await stopAgent(agent);
  const stopS = (performance.now() - t0) / 1000;
  assert(stopS < 8, `stop took ${stopS.toFixed(1)} s with thousands of jobs still to come`);
  agent = await startAgent(config, { keepLogging: true, printer });
  try {
    await waitFor(() => completed() === N, "every job COMPLETED on the server", 240_000);
    const ids = printer.printed.map((p) => p.doc.jobId);
    assertEquals(ids.length, N, "printed exactly once each");
    assertEquals(new Set(ids).size, N);
  } finally {
    await stopAgent(agent);
  }
});
