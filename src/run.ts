/**
 * Wiring: from a validated configuration to a running agent — logging, the state folder and its
 * journal (one owner, corruption kept aside), the seed agent's history, the renderer, the
 * printer and the server client.
 * @module
 */
import { join } from "node:path";
import { Agent, type RemoteHooks } from "./core/agent.ts";
import { type Config, serverToken, type StationConfig } from "./config.ts";
import { AgentError } from "./errors.ts";
import { JobServerClient } from "./server/job_server.ts";
import { Journal, JournalCorruptError, StateLockedError } from "./store/journal.ts";
import { log, setupLogging } from "./log.ts";
import { createPrinter } from "./printers/mod.ts";
import type { Printer } from "./printers/printer.ts";
import { Renderer } from "./render/render.ts";
import { startLocalApi } from "./api/local_api.ts";
import { VERSION } from "./version.ts";
import { unwritableHeartbeat } from "./server/protocol.ts";
import { type Clock, systemClock } from "./core/clock.ts";

/** A start-up failure with a one-line reason; the CLI prints it and exits non-zero. */
export class StartupError extends Error {
  /** Creates a StartupError. */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "StartupError";
  }
}

/** The state folder cannot be written (read-only, disk full, no permission). */
export class StateUnwritableError extends StartupError {
  /** Creates a StateUnwritableError. */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "StateUnwritableError";
  }
}

/** The journal file inside a state folder. */
export function journalPath(c: Config): string {
  return join(c.state.path, "journal.db");
}

const OWNER_FILE = "agent.owner.json";

/**
 * Opens the journal of a state folder: refuses when another agent holds it (naming that
 * process), keeps a damaged database aside and starts a new one marked `reset_at`.
 */
export async function openJournal(c: Config, clock: { now(): number } = Date): Promise<Journal> {
  try {
    await Deno.mkdir(c.state.path, { recursive: true });
  } catch (e) {
    throw new StateUnwritableError(
      `cannot create the state folder ${c.state.path}: ${(e as Error).message}`,
      { cause: e },
    );
  }
  const path = journalPath(c);
  const ownerFile = join(c.state.path, OWNER_FILE);
  let journal: Journal;
  try {
    journal = Journal.open(path);
  } catch (e) {
    if (e instanceof StateLockedError) {
      let who = "another process";
      try {
        const o = JSON.parse(await Deno.readTextFile(ownerFile));
        who = `process ${o.pid} (${o.exe}, started ${o.started_at}, terminal ${o.terminal_id})`;
      } catch { /* no owner file: keep the generic words */ }
      throw new StartupError(
        `another Print Agent is already running on the state folder ${c.state.path}: ${who}. ` +
          `Only one agent may own a state folder; stop the other one or give this one its own state.path`,
        { cause: e },
      );
    }
    if (e instanceof JournalCorruptError) {
      const stamp = new Date(clock.now()).toISOString().replace(/[:.]/g, "-");
      const aside = `${path}.corrupt-${stamp}`;
      for (const suffix of ["", "-wal", "-shm"]) {
        await Deno.rename(path + suffix, aside + suffix).catch(() => {});
      }
      log.error(
        `[STATE] The journal was damaged (${e.message}); kept aside as ${aside} and a new one started. ` +
          `Jobs created before now will be reported FAILED (JOURNAL_RESET_MAY_HAVE_PRINTED), not printed, ` +
          `because the agent can no longer tell whether they were printed`,
        { code: "JOURNAL_RESET_MAY_HAVE_PRINTED" },
      );
      journal = Journal.open(path);
      journal.setMeta("reset_at", new Date(clock.now()).toISOString());
    } else if (e instanceof AgentError) {
      throw new StateUnwritableError(`cannot open the journal: ${e.message}`, { cause: e });
    } else throw e;
  }
  try {
    await Deno.writeTextFile(
      ownerFile,
      JSON.stringify({
        pid: Deno.pid,
        exe: Deno.execPath(),
        started_at: new Date(clock.now()).toISOString(),
        terminal_id: c.terminal_identity.terminal_id,
        version: VERSION,
      }) + "\n",
    );
  } catch { /* informational only */ }
  return journal;
}

/**
 * Imports the seed agent's `printed_jobs.json` (beside the config) once, so an upgraded
 * terminal does not print old jobs again. Accepts a list of UUIDs, a list of objects with
 * `uuid`, or an object holding such a list.
 */
export async function importSeedHistory(
  c: Config,
  journal: Journal,
  now: number,
): Promise<number | null> {
  const marker = "seed_import";
  if (journal.getMeta(marker)) return null;
  const file = join(c.base_dir, "printed_jobs.json");
  let raw: unknown;
  try {
    raw = JSON.parse(await Deno.readTextFile(file));
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return null;
    log.warn(
      `[UPGRADE] ${file} could not be read (${(e as Error).message}); old jobs are not imported`,
    );
    return null;
  }
  const list = Array.isArray(raw)
    ? raw
    : Object.values(raw as Record<string, unknown>).find(Array.isArray) as unknown[] ?? [];
  const uuids = list
    .map((x) => typeof x === "string" ? x : (x as { uuid?: unknown })?.uuid)
    .filter((x): x is string => typeof x === "string" && x.length > 0 && x.length <= 64);
  const n = journal.importPrinted(uuids, now, marker);
  log.info(`[UPGRADE] Imported ${n} printed job UUID(s) from the seed agent's ${file}`);
  return n;
}

/**
 * The renderer for a station (default: the first) — its brand and paper — with the profiles and
 * templates beside the config.
 */
export function rendererFor(
  c: Config,
  station: Pick<StationConfig, "brand" | "paper_width" | "roles" | "name" | "id"> = c.stations[0],
  clock?: Clock,
): Promise<Renderer> {
  return Renderer.create({
    now: clock ? () => clock.now() : undefined,
    brand: station.brand,
    paperWidth: station.paper_width,
    profilesPath: c.render.profiles_path ?? join(c.base_dir, "profiles"),
    templatesPath: c.render.templates_path,
    locale: c.render.locale,
    currency: c.render.currency,
    timeZone: c.render.time_zone,
    maxBytes: c.limits.rendered_bytes,
    rawAllow: c.jobs.raw_allow,
    language: c.render.language,
    labels: c.render.labels,
    fonts: c.render.fonts,
    agent: {
      version: VERSION,
      ...c.terminal_identity,
      printer_role: station.roles[0],
      station: c.printers ? station.name || station.id : "",
    },
  });
}

/** Options of {@link startAgent}. */
export interface StartOptions {
  /** Use this printer instead of the first station's configured one (tests). */
  printer?: Printer;
  /** Use these printers instead of the configured ones, one per station (tests). */
  printers?: Printer[];
  /** The clock (tests: a fake). */
  clock?: Clock;
  /** Skip logging set-up (the caller configured it). */
  keepLogging?: boolean;
  /** Console logging (default true). */
  console?: boolean;
  /** Aborts waiting for an unwritable state folder. */
  signal?: AbortSignal;
  /** How often to retry an unwritable state folder, ms (default 5000). */
  stateRetryMs?: number;
  /** The demo: its virtual printers are meant (no warning). */
  demo?: boolean;
  /** Remote configuration's hooks (the supervisor in main.ts; tests). */
  remote?: RemoteHooks;
}

/**
 * A running agent with its local API: `await using agent = await startAgent(c)` stops it, its
 * local API and its journal at the end of the scope.
 */
export class RunningAgent extends Agent implements AsyncDisposable {
  #api: { url: string; stop: () => Promise<void> } | null = null;
  #stopped = false;

  /** Starts the loops and the local API. */
  override start(): void {
    super.start();
    this.#api = startLocalApi(this);
  }

  /** The local API's address, if it is on. */
  get localApiUrl(): string | null {
    return this.#api?.url ?? null;
  }

  /** Stops the local API, the loops (finishing the job in hand) and closes the journal. */
  async shutdown(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    await this.#api?.stop().catch(() => {});
    await this.stop();
    this.journal.close();
    log.info("[OK] Print Agent stopped");
  }

  /** Stops the agent (`await using`). */
  [Symbol.asyncDispose](): Promise<void> {
    return this.shutdown();
  }
}

/** Starts an agent for a configuration. */
export async function startAgent(c: Config, o: StartOptions = {}): Promise<RunningAgent> {
  if (!o.keepLogging) {
    try {
      await setupLogging({
        level: c.logging.level,
        file: c.logging.log_file,
        maxBytes: c.logging.max_bytes,
        backups: c.logging.backup_count,
        console: o.console,
      });
    } catch (e) {
      throw new StartupError(
        `cannot open the log file ${c.logging.log_file}: ${(e as Error).message}`,
        { cause: e },
      );
    }
  }
  const me = c.terminal_identity;
  const renderers: Renderer[] = [];
  for (const st of c.stations) {
    try {
      renderers.push(await rendererFor(c, st, o.clock));
    } catch (e) {
      const where = c.printers ? `printers "${st.id}": ` : "";
      throw new StartupError(`${where}${(e as Error).message}`, { cause: e });
    }
  }
  // an experiment's variant that would change a fiscal field is refused, said once at start
  for (const why of new Set(renderers.flatMap((r) => [...r.refusedVariants.values()]))) {
    log.error(`[TEMPLATE] Refused, never printed (its jobs get the base template): ${why}`, {
      code: "TEMPLATE_ERROR",
    });
  }
  let caCert: string | null = null;
  if (c.server.ca_file) {
    try {
      caCert = await Deno.readTextFile(c.server.ca_file);
    } catch (e) {
      throw new StartupError(
        `cannot read server.ca_file ${c.server.ca_file}: ${(e as Error).message}`,
        { cause: e },
      );
    }
  }
  const server = JobServerClient.fromConfig(c, serverToken(c), caCert);
  const journal = await waitForJournal(c, server, o);
  await importSeedHistory(c, journal, o.clock?.now() ?? Date.now());
  const printers: Printer[] = [];
  try {
    for (const [i, st] of c.stations.entries()) {
      printers.push(
        o.printers?.[i] ?? (i === 0 ? o.printer : undefined) ?? await createPrinter(st),
      );
    }
  } catch (e) {
    journal.close();
    throw new StartupError((e as Error).message, { cause: e });
  }
  log.info("=".repeat(60));
  log.info(`Print Agent ${VERSION} starting`);
  const roles = [...new Set(c.stations.flatMap((st) => st.roles))].join(", ");
  log.info(`Terminal: ${me.terminal_id} | Role: ${roles} | Location: ${me.location_id ?? "-"}`);
  c.stations.forEach((st, i) => {
    const r = renderers[i];
    // one printer: the seed's line, unchanged; several: one line each, named
    const who = c.printers ? `Printer ${st.id} [${st.roles.join(", ")}]` : "Printer";
    log.info(
      `${who}: ${printers[i].description} | Brand: ${st.brand} (profile ${r.profile.id}) | ` +
        `Paper: ${st.paper_width} (${r.columns} columns)` +
        (st.backup ? ` | Backup: ${st.backup}` : ""),
    );
    if (r.profile.upgraded) log.warn(`[PROFILE] ${r.profile.upgraded}`);
    if (st.transport === "virtual" && !o.demo) {
      log.warn(
        `[PRINTER] ${c.printers ? `Printer ${st.id} is` : "The printer is"} virtual: receipts ` +
          `become pictures in ${st.path} and are reported COMPLETED to the POS, but nothing is ` +
          `printed. For a real printer set transport winspool or tcp`,
        { code: "PRINTER_VIRTUAL" },
      );
    }
  });
  log.info(`Job types: ${c.jobs.accepted_types.join(", ")}`);
  log.info(`Server: ${c.server.base_url} | State: ${c.state.path} | Config: ${c.source}`);
  log.info("=".repeat(60));
  const agent = new RunningAgent({
    config: c,
    journal,
    server,
    stations: printers.map((printer, i) => ({ printer, renderer: renderers[i] })),
    version: VERSION,
    clock: o.clock,
    remote: o.remote,
  });
  agent.start();
  return agent;
}

/** The local API's address for a running agent, if it is on. */
export function localApiUrl(agent: RunningAgent): string | null {
  return agent.localApiUrl;
}

/**
 * Opens the journal; while the state folder cannot be written, prints nothing, says so in the
 * log once and in an ERROR heartbeat every `heartbeat_interval`, and tries again.
 */
async function waitForJournal(
  c: Config,
  server: JobServerClient,
  o: StartOptions,
): Promise<Journal> {
  let lastBeat = 0;
  let warned = false;
  const started = Date.now();
  while (true) {
    try {
      const j = await openJournal(c, o.clock);
      if (warned) {
        log.info(`[STATE] The state folder ${c.state.path} can be written again; starting`);
      }
      return j;
    } catch (e) {
      if (!(e instanceof StateUnwritableError)) throw e;
      if (!warned) {
        warned = true;
        log.error(
          `[STATE] ${e.message}. Nothing will be printed until the state folder can be written ` +
            `(disk full? read-only? permissions?)`,
          { code: "STATE_STORE_UNWRITABLE" },
        );
      }
      if (Date.now() - lastBeat >= c.server.heartbeat_interval * 1000) {
        lastBeat = Date.now();
        await server.heartbeat(
          unwritableHeartbeat(c, VERSION, Date.now() - started, Date.now()),
        ).catch(() => {});
      }
      await systemClock.sleep(o.stateRetryMs ?? 5000, o.signal);
      if (o.signal?.aborted) throw new StartupError("stopped while waiting for the state folder");
    }
  }
}

/** Stops an agent, its local API, and closes its journal (as `await using` does). */
export function stopAgent(agent: RunningAgent): Promise<void> {
  return agent.shutdown();
}
