/**
 * An agent without its loops, for tests that drive one job at a time: the real intake, ledger,
 * stations and print pipeline over a real journal, a fake printer and a fake clock, and a server
 * client that reaches nothing (no reports are delivered).
 */
import { Agent } from "../../src/core/agent.ts";
import { printJob } from "../../src/core/station.ts";
import { JobServerClient } from "../../src/server/job_server.ts";
import type { Config } from "../../src/config.ts";
import type { Job } from "../../src/core/job.ts";
import type { Journal } from "../../src/store/journal.ts";
import type { Printer } from "../../src/printers/printer.ts";
import type { Renderer } from "../../src/render/render.ts";
import type { FakeClock } from "./fake_clock.ts";

/** The agent, `print` (one job, as a station's print loop does) and `stop` (the agent's stop). */
export function loopless(
  config: Config,
  journal: Journal,
  printer: Printer,
  renderer: Renderer,
  clock: FakeClock,
) {
  const server = new JobServerClient({
    baseUrl: "http://127.0.0.1:1",
    token: "",
    authScheme: "Token",
    paths: config.server.paths,
    timeoutMs: 100,
  });
  const agent = new Agent({
    config,
    journal,
    server,
    stations: [{ printer, renderer }],
    version: "t",
    clock,
  });
  // a stop while a job prints: the signal the agent's print loop would pass
  const stop = new AbortController();
  const env = { clock, config, serverClock: agent.serverClock, signal: stop.signal };
  /** Prints one job on its station, as the station's print loop does (no loop running). */
  const print = (j: Job) => printJob(j, agent.route(j) ?? agent.stations[0], agent.ledger, env);
  return { agent, print, stop };
}
