/**
 * Runs the agent and lets the POS server change its configuration (remote_config.ts): an offer
 * that passes the checks is tried by restarting the agent's loops in this process with it
 * (the job in hand finishes first; queued jobs stay in the journal and go on after), and watched
 * for one heartbeat interval: it holds when a heartbeat reaches the server and every role has a
 * printer that prints; else the last good configuration runs again, and the heartbeat says why.
 * @module
 */
import { type Config, parseConfigText } from "../config.ts";
import { log } from "../log.ts";
import { printable, type PrinterStatus } from "../printers/printer.ts";
import { type RunningAgent, startAgent, type StartOptions, stopAgent } from "../run.ts";
import { type ConfigOffer, RemoteConfig } from "./remote_config.ts";
import type { Updater } from "./updater.ts";

/** What the supervisor needs besides the configuration. */
export interface SuperviseOptions extends StartOptions {
  /** Resolves when the agent is to stop for good. */
  stopped: Promise<void>;
  /** Called once the first agent runs. */
  onStarted?: () => void;
  /** How often a trial is looked at, ms (default 250). */
  pollMs?: number;
  /** Self-update (site/updater.ts), loaded; none: offers are not taken. */
  updater?: Updater;
}

/**
 * Why a tried configuration does not hold yet (null: it holds): a heartbeat must have reached
 * the server, and every role must have a station whose printer prints (status known, or the
 * window over).
 */
export function trialProblem(agent: RunningAgent, final: boolean): string | null {
  if (agent.heartbeatOkAt === null) {
    return "no heartbeat reached the server with it";
  }
  const snap = agent.snapshot();
  const roles = new Set(snap.printers.flatMap((p) => p.roles));
  const problems: string[] = [];
  for (const role of roles) {
    const serving = snap.printers.filter((p) => p.roles.includes(role));
    const ok = serving.some((p) =>
      printable(p.status as PrinterStatus) &&
      (p.status !== "UNKNOWN" || final || p.transport === "winspool")
    );
    if (!ok) {
      problems.push(
        `role ${role} has no printer that prints (${
          serving.map((p) => `${p.id} ${p.status}${p.detail ? `: ${p.detail}` : ""}`).join("; ")
        })`,
      );
    }
  }
  return problems.length ? problems.join("; ") : null;
}

/**
 * Runs `config` (the local file, with the server's last good revision over it) until `stopped`,
 * trying each configuration the server offers. Resolves to null when stopped, or to the exit code
 * that has the service manager start the program again (an update swapped in, or rolled back).
 */
export async function supervise(config: Config, o: SuperviseOptions): Promise<number | null> {
  const remote = new RemoteConfig(config.state.path);
  let local: Record<string, unknown> | null = null;
  try {
    local = parseConfigText(await Deno.readTextFile(config.source), config.source) as Record<
      string,
      unknown
    >;
  } catch {
    local = null; // an inline configuration (tests, the demo): no remote configuration
  }
  let running = config;
  if (local) {
    try {
      await Deno.mkdir(config.state.path, { recursive: true });
    } catch { /* startAgent says what is wrong with the state folder */ }
    const problem = await remote.load();
    if (problem) log.warn(`[CONFIG] ${problem}`, { code: "CONFIG_REMOTE" });
    try {
      running = remote.effective(local, config.base_dir, config.source);
    } catch (e) {
      log.error(
        `[CONFIG] The server's revision ${remote.running?.revision} no longer fits the local ` +
          `file (${(e as Error).message}); running the local file alone`,
        { code: "CONFIG_REMOTE" },
      );
    }
  }
  let offered: { offer: ConfigOffer; config: Config } | null = null;
  let wake: () => void = () => {};
  let considering = false;
  const up = o.updater ?? null;
  let restartFor: { why: string | null } | null = null;
  up?.onReady(() => {
    restartFor = { why: null };
    wake();
  });
  up?.onRollback((why) => {
    restartFor = { why };
    wake();
  });
  const hooks = local || up
    ? {
      report: () => remote.report(),
      onReply: (reply: unknown) => {
        up?.onReply(reply);
        if (!local || considering || offered) return;
        considering = true;
        remote.consider(reply, local!, config.base_dir, config.source).then((c) => {
          if (c) {
            offered = c;
            wake();
          } else if (remote.report().state === "rejected") {
            const r = remote.report();
            log.warn(`[CONFIG] Refused: ${r.error}`, { code: "CONFIG_REJECTED" });
            agent.heartbeatSoon();
          }
        }).catch((e) => log.error(`[CONFIG] ${(e as Error).message}`))
          .finally(() => considering = false);
      },
      ...(up
        ? {
          updateReport: () => up.report(),
          onHeartbeat: (ok: boolean) => {
            up.heartbeat(ok).catch((e) => log.error(`[UPDATE] ${(e as Error).message}`));
          },
          onJob: (code: string | null) => {
            up.job(code).catch((e) => log.error(`[UPDATE] ${(e as Error).message}`));
          },
        }
        : {}),
    }
    : undefined;
  const start = (c: Config) => startAgent(c, { ...o, remote: hooks, keepLogging: o.keepLogging });
  let agent = await start(running);
  o.onStarted?.();
  const restartLogging = { ...o, keepLogging: true };
  let stopping = false;
  o.stopped.then(() => stopping = true);
  for (;;) {
    if (!offered && !restartFor) {
      const change = new Promise<"change">((r) => wake = () => r("change"));
      const ev = await Promise.race([o.stopped.then(() => "stop" as const), change]);
      if (ev === "stop") break;
    }
    if (stopping) break;
    if (restartFor && up) {
      // drained: the job in hand finishes, reports flush; queued jobs wait in the journal
      const { why } = restartFor as { why: string | null };
      await stopAgent(agent);
      try {
        return why === null ? await up.swap() : await up.rollback(why);
      } catch (e) {
        log.error(`[UPDATE] ${(e as Error).message}; going on with this version`, {
          code: "UPDATE_FAILED",
        });
        restartFor = null;
        agent = await startAgent(running, { ...restartLogging, remote: hooks });
        continue;
      }
    }
    if (!offered) continue;
    const { offer, config: candidate } = offered!;
    offered = null;
    // an offer made stale by what happened meanwhile (it runs already, or was judged)
    const now = remote.report();
    if (offer.revision === now.running_revision) continue;
    await remote.trial(offer);
    log.info(`[CONFIG] Trying the server's revision ${offer.revision}`, { code: "CONFIG_TRIAL" });
    await stopAgent(agent);
    let problem: string | null = null;
    let stoppedDuringTrial = false;
    try {
      agent = await startAgent(candidate, { ...restartLogging, remote: hooks });
      const windowMs = running.server.heartbeat_interval * 1000;
      const until = Date.now() + windowMs;
      agent.heartbeatSoon();
      for (;;) {
        const final = Date.now() >= until;
        problem = trialProblem(agent, final);
        if (!problem || final) break;
        const stop = await Promise.race([
          o.stopped.then(() => true),
          new Promise<false>((r) => setTimeout(() => r(false), o.pollMs ?? 250)),
        ]);
        if (stop) {
          stoppedDuringTrial = true;
          break;
        }
      }
    } catch (e) {
      problem = `it did not start: ${(e as Error).message}`;
      agent = await startAgent(running, { ...restartLogging, remote: hooks });
      await remote.reverted(offer, problem);
      log.error(`[CONFIG] Revision ${offer.revision} reverted: ${problem}`, {
        code: "CONFIG_REVERTED",
      });
      agent.heartbeatSoon();
      continue;
    }
    if (stoppedDuringTrial) {
      // stopped before the trial was judged: the next start runs the last good configuration
      await remote.abandoned(offer);
      break;
    }
    if (!problem) {
      await remote.applied(offer, Date.now());
      running = candidate;
      log.info(`[CONFIG] Revision ${offer.revision} applied`, { code: "CONFIG_APPLIED" });
      agent.heartbeatSoon();
      continue;
    }
    await remote.reverted(offer, problem);
    log.error(`[CONFIG] Revision ${offer.revision} reverted: ${problem}`, {
      code: "CONFIG_REVERTED",
    });
    await stopAgent(agent);
    agent = await startAgent(running, { ...restartLogging, remote: hooks });
    agent.heartbeatSoon();
  }
  await stopAgent(agent);
  await up?.stopped().catch(() => {});
  return null;
}
