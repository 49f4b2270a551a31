/**
 * Self-update (#24): the POS server names a release in its heartbeat reply
 * (`update: {version, url, release}`); the agent downloads it to a staging folder (resumable,
 * size-checked, sha256 and signature checked by site/release.ts), runs the staged program's own
 * quick check, drains (the job in hand finishes, nothing new is taken), swaps files by renaming
 * the running program aside, and exits so that the service manager starts the new version —
 * never starting it itself. The new version watches itself for max(10 min, 20 jobs) and swaps the
 * kept previous program back on a crash loop (counted at its own start, before anything heavy
 * loads), on 3 failed heartbeats in a row, or on a job failure the agent itself caused.
 *
 * Everything it decides is kept in `update.json` in the state folder, so a crash at any point
 * resumes or undoes the step: the state goes out in every heartbeat as `update: {state, target,
 * error}` (`idle`, `downloading`, `staged`, `swapped`, `watching`, `done`, `rolled_back`,
 * `failed`). A version that failed or was rolled back is never tried again.
 * @module
 */
import { join } from "node:path";
import { refuseRelease, ROOT_KEYS, type Running, type SignedRelease } from "./release.ts";

/** The states an update attempt goes through (the heartbeat's `update.state`). */
export type UpdateStateName =
  | "idle"
  | "downloading"
  | "staged"
  | "swapped"
  | "watching"
  | "done"
  | "rolled_back"
  | "failed";

/** What every heartbeat carries about updates. */
export interface UpdateReport {
  /** Where the last attempt is. */
  state: UpdateStateName;
  /** The version it is about (null: none offered). */
  target: string | null;
  /** Why it failed or was rolled back. */
  error: string | null;
  /** The platform a release must name for this agent (Deno's target, or `bundle`). */
  platform?: string;
  /** The release channel this terminal follows. */
  channel?: string;
}

/** What the server offers: a version, where its file is, and its signed manifest. */
export interface UpdateOffer {
  /** The version to run. */
  version: string;
  /** Where the file is (absolute, or a path on the POS server). */
  url: string;
  /** Manifest, signature and the signer's cert. */
  release: SignedRelease;
}

/** One start of a new version while it is watched. */
export interface StartRecord {
  /** When it started (ms). */
  at: number;
  /** Whether it became healthy (a heartbeat reached the server). */
  healthy: boolean;
  /** Whether it ended by a clean stop (the service stopped, Ctrl+C): not a crash. */
  clean?: boolean;
}

/** What `update.json` holds. */
export interface UpdateFile extends UpdateReport {
  /** The version that ran before the swap. */
  from: string | null;
  /** When the files were swapped (ms). */
  swapped_at: number | null;
  /** Starts of the new version since the swap. */
  starts: StartRecord[];
  /** Jobs printed by the new version while watched. */
  jobs: number;
  /** Heartbeats in a row that did not reach the server while watched. */
  heartbeat_failures: number;
  /** When `done` was reached (ms): the kept previous program goes 7 days later. */
  done_at: number | null;
  /** Versions never to try again, each with why. */
  refused: Record<string, string>;
}

/** How long and how many jobs a new version is watched. */
export const WATCH_MS = 10 * 60_000;
/** Jobs a new version must print before it is `done` (besides {@link WATCH_MS}). */
export const WATCH_JOBS = 20;
/** How long the previous program is kept after `done`. */
export const KEEP_PREVIOUS_MS = 7 * 24 * 3600_000;
/** Exit code that asks the service manager to start the agent again (an update or rollback). */
export const RESTART_EXIT_CODE = 3;
/** Job failures the agent itself caused (not the printer, not the payload). */
export const AGENT_FAULTS: ReadonlySet<string> = new Set([
  "INTERNAL_ERROR",
  "RENDER_ERROR",
  "POISON_JOB",
]);

const blank = (): UpdateFile => ({
  state: "idle",
  target: null,
  error: null,
  from: null,
  swapped_at: null,
  starts: [],
  jobs: 0,
  heartbeat_failures: 0,
  done_at: null,
  refused: {},
});

/** The files around the program: the kept previous one, the staged one, and the state. */
export function updatePaths(program: string, stateDir: string): {
  previous: string;
  failed: string;
  staging: string;
  state: string;
} {
  return {
    previous: `${program}.previous`,
    failed: `${program}.failed`,
    staging: join(stateDir, "update"),
    state: join(stateDir, "update.json"),
  };
}

/** Reads `update.json` (a missing or damaged file is a blank state: nothing in progress). */
export async function readUpdateFile(path: string): Promise<UpdateFile> {
  try {
    const v = JSON.parse(await Deno.readTextFile(path));
    if (v && typeof v === "object" && typeof v.state === "string") return { ...blank(), ...v };
  } catch { /* none yet, or damaged: start over */ }
  return blank();
}

let tmpSeq = 0;
async function writeUpdateFile(path: string, f: UpdateFile): Promise<void> {
  // write-and-rename: a crash leaves the old state or the new, never half of one (a temporary
  // name of its own: two writes at once must not move each other's file)
  const tmp = `${path}.${Deno.pid}-${++tmpSeq}.tmp`;
  const file = await Deno.open(tmp, { write: true, create: true, truncate: true });
  try {
    await file.write(new TextEncoder().encode(JSON.stringify(f, null, 2) + "\n"));
    await file.syncData().catch(() => {});
  } finally {
    file.close();
  }
  await Deno.rename(tmp, path);
}

async function writeAllTo(file: Deno.FsFile, bytes: Uint8Array): Promise<void> {
  for (let off = 0; off < bytes.length;) off += await file.write(bytes.subarray(off));
}

const exists = (p: string) => Deno.stat(p).then(() => true, () => false);

/**
 * Puts the kept previous program back in place of the running one (which goes to `.failed`).
 * Either both renames happen or neither: a failed second rename puts the first back.
 */
export async function swapBack(program: string, stateDir: string): Promise<void> {
  const p = updatePaths(program, stateDir);
  if (!(await exists(p.previous))) {
    throw new Error(`no previous program is kept (${p.previous})`);
  }
  await Deno.remove(p.failed).catch(() => {});
  await Deno.rename(program, p.failed);
  try {
    await Deno.rename(p.previous, program);
  } catch (e) {
    await Deno.rename(p.failed, program);
    throw e;
  }
}

/** What {@link earlyStart} decided. */
export interface EarlyDecision {
  /** Exit with this code at once (rolled back: the service manager starts the previous one). */
  exit: number | null;
  /** What to log. */
  message: string | null;
}

/**
 * Run first thing at start, before the configuration or journal load: records this start of a
 * watched new version and rolls it back when it is in a crash loop: two earlier starts since the
 * swap that ended without a clean stop, either both before a heartbeat reached the server or both
 * within the last two minutes (with `agent service install`'s recovery actions the SCM restarts
 * after 1 s, 5 s, then 10 s: the third start of a crashing version comes about 16 s after the
 * swap).
 */
export async function earlyStart(
  program: string,
  stateDir: string,
  version: string,
  now = Date.now(),
): Promise<EarlyDecision> {
  const p = updatePaths(program, stateDir);
  const f = await readUpdateFile(p.state);
  if (f.state !== "swapped" && f.state !== "watching") {
    if (f.state === "done" && f.done_at && now - f.done_at > KEEP_PREVIOUS_MS) {
      await Deno.remove(p.previous).catch(() => {});
    }
    return { exit: null, message: null };
  }
  if (version !== f.target) {
    // the previous program runs (put back by hand, or the swap did not take): nothing to watch
    f.state = "rolled_back";
    f.error ??= `version ${version} is running, not ${f.target}`;
    f.refused[f.target ?? ""] = f.error;
    await writeUpdateFile(p.state, f);
    return { exit: null, message: `update to ${f.target} is not running: ${f.error}` };
  }
  // a start that ended without a clean stop is a crash (this start is the proof it ended)
  const crashed = f.starts.filter((s) => !s.clean);
  const unhealthy = crashed.filter((s) => !s.healthy).length;
  const recent = crashed.filter((s) => now - s.at < 120_000).length;
  if (unhealthy >= 2 || recent >= 2) {
    const why = unhealthy >= 2
      ? `crash loop: ${unhealthy} starts of ${version} ended before a heartbeat reached the server`
      : `crash loop: ${recent} starts of ${version} ended without a stop within 2 minutes`;
    try {
      await swapBack(program, stateDir);
    } catch (e) {
      f.error = `${why}; rolling back failed: ${(e as Error).message}`;
      await writeUpdateFile(p.state, f);
      return { exit: null, message: f.error };
    }
    f.state = "rolled_back";
    f.error = why;
    f.refused[version] = why;
    await writeUpdateFile(p.state, f);
    return { exit: RESTART_EXIT_CODE, message: `Rolled back to ${f.from}: ${why}` };
  }
  f.starts.push({ at: now, healthy: false });
  f.state = "watching";
  await writeUpdateFile(p.state, f);
  return { exit: null, message: null };
}

/** What the updater needs from the world (tests pass fakes for some). */
export interface UpdaterOptions {
  /** The program file the service runs: agent.exe, or the bundle under `deno run`. */
  program: string;
  /** The state folder. */
  stateDir: string;
  /** This agent: version, platform, channel. */
  running: Omit<Running, "now">;
  /** Root keys (default: those built in). */
  roots?: readonly string[];
  /** GETs a release file from `offset` on (a Range request when offset > 0). */
  get(url: string, offset: number): Promise<Response>;
  /** Runs the staged program's quick check; resolves to why it failed, or null. */
  quickCheck(staged: string, version: string): Promise<string | null>;
  /** The clock, ms. */
  now?: () => number;
  /** How long a new version is watched, ms (default {@link WATCH_MS}). */
  watchMs?: number;
  /** Jobs a new version must print before it is kept (default {@link WATCH_JOBS}). */
  watchJobs?: number;
  /** A download that receives nothing for this long is cut (and resumed later), ms (30 s). */
  stallMs?: number;
  /** Up to how long to wait before downloading, ms (spreads a fleet's downloads; default 0). */
  jitterMs?: number;
  /** Why this agent cannot update itself (from source; no service manager to restart it). */
  disabled?: string | null;
  /** Logs a line (info or error). */
  log?: (level: "info" | "warn" | "error", message: string, code: string) => void;
}

/** Whether a heartbeat reply's `update` is an offer (else why not, or null: none). */
export function readUpdateOffer(reply: unknown): UpdateOffer | string | null {
  const u = (reply as { update?: unknown } | null)?.update;
  if (u === undefined || u === null) return null;
  if (typeof u !== "object") return "update is not an object";
  const o = u as Record<string, unknown>;
  if (typeof o.version !== "string" || !o.version) return "update.version is not a string";
  if (typeof o.url !== "string" || !o.url) return "update.url is not a string";
  // http(s) or a path on the POS server: never a file: or data: URL the agent would read locally
  if (!/^(https?:\/\/|\/)/i.test(o.url)) return "update.url is neither http(s) nor a server path";
  const r = o.release as Record<string, unknown> | undefined;
  if (
    !r || typeof r !== "object" || !r.manifest || typeof r.manifest !== "object" ||
    typeof r.signature !== "string" || !r.cert || typeof r.cert !== "object"
  ) return "update.release is not {manifest, signature, cert}";
  if ((r.manifest as { version?: unknown }).version !== o.version) {
    return "update.version is not the version its release names";
  }
  return { version: o.version, url: o.url, release: r as unknown as SignedRelease };
}

/**
 * One terminal's updates: takes offers, downloads and checks them, asks to be restarted into a
 * staged one, and watches a new version (with {@link earlyStart} at each start).
 */
export class Updater {
  #o: UpdaterOptions;
  #f: UpdateFile = blank();
  #busy = false;
  #ready: (() => void) | null = null;
  #rollback: ((why: string) => void) | null = null;
  #paths: ReturnType<typeof updatePaths>;
  #staged: string | null = null;
  /** What was wrong with the last offer, if it was malformed (said once until it changes). */
  #malformed: string | null = null;

  /** An updater for `o.program`. */
  constructor(o: UpdaterOptions) {
    this.#o = o;
    this.#paths = updatePaths(o.program, o.stateDir);
  }

  #now(): number {
    return (this.#o.now ?? Date.now)();
  }

  #log(level: "info" | "warn" | "error", message: string, code: string): void {
    this.#o.log?.(level, message, code);
  }

  /** Reads the kept state (after {@link earlyStart}). */
  async load(): Promise<void> {
    this.#f = await readUpdateFile(this.#paths.state);
    // a download or check cut short by a stop: taken up again at the next offer
    if (this.#f.state === "downloading" || this.#f.state === "staged") this.#f.state = "idle";
  }

  /** The state for the heartbeat. */
  report(): UpdateReport {
    const { platform, channel } = this.#o.running;
    return {
      state: this.#f.state,
      target: this.#f.target,
      error: this.#f.error,
      platform,
      channel,
    };
  }

  /** The whole kept state (`agent update status`). */
  get file(): UpdateFile {
    return structuredClone(this.#f);
  }

  /** Called when a staged version is ready to be swapped in (the caller drains, then swaps). */
  onReady(fn: () => void): void {
    this.#ready = fn;
  }

  /** Called when the watched version must be rolled back (the caller drains, then exits). */
  onRollback(fn: (why: string) => void): void {
    this.#rollback = fn;
  }

  #saving: Promise<void> = Promise.resolve();
  /** Writes the state; writes happen one after another, the last one holding the newest. */
  #save(): Promise<void> {
    const snapshot = structuredClone(this.#f);
    const next = this.#saving.catch(() => {}).then(() =>
      writeUpdateFile(this.#paths.state, snapshot)
    );
    this.#saving = next;
    return next;
  }

  /** A heartbeat's reply: an offer may be in it. */
  onReply(reply: unknown): void {
    const offer = readUpdateOffer(reply);
    // said once until it changes: a server repeating the same malformed offer every heartbeat
    // would otherwise write 2,880 lines a day
    const malformed = typeof offer === "string" ? offer : null;
    if (malformed !== null && malformed !== this.#malformed) {
      this.#log("warn", `[UPDATE] The server's offer is malformed: ${malformed}`, "UPDATE_REFUSED");
    }
    this.#malformed = malformed;
    if (offer === null || typeof offer === "string") return;
    if (this.#busy) return;
    const f = this.#f;
    if (offer.version === this.#o.running.version) return; // running it
    if (this.#o.disabled) {
      if (f.target !== offer.version || f.error !== this.#o.disabled) {
        this.#f = { ...f, target: offer.version, error: this.#o.disabled };
        this.#log("warn", `[UPDATE] ${offer.version} offered: ${this.#o.disabled}`, "UPDATE_OFF");
      }
      return;
    }
    if (f.refused[offer.version]) return; // failed or rolled back before: never again
    if (f.state === "watching" || f.state === "swapped") return; // one at a time
    if (f.state === "staged" && f.target === offer.version) return;
    this.#busy = true;
    const jitter = Math.random() * (this.#o.jitterMs ?? 0);
    new Promise((r) => setTimeout(r, jitter)).then(() => this.#prepare(offer)).catch((e) =>
      this.#fail(offer.version, `unexpected: ${(e as Error).message}`)
    ).finally(() => this.#busy = false);
  }

  async #fail(version: string, why: string): Promise<void> {
    this.#f = { ...this.#f, state: "failed", target: version, error: why };
    this.#f.refused[version] = why;
    this.#log("error", `[UPDATE] ${version} refused: ${why}`, "UPDATE_FAILED");
    await this.#save().catch(() => {});
  }

  async #prepare(offer: UpdateOffer): Promise<void> {
    const running = { ...this.#o.running, now: this.#now() };
    const roots = this.#o.roots ?? ROOT_KEYS;
    // the claim before a single byte: signature, channel, platform, newer, reachable
    const claim = await refuseRelease(offer.release, running, roots);
    if (claim) return await this.#fail(offer.version, claim);
    this.#f = { ...this.#f, state: "downloading", target: offer.version, error: null };
    await this.#save();
    this.#log("info", `[UPDATE] Downloading ${offer.version}`, "UPDATE_DOWNLOADING");
    await Deno.mkdir(this.#paths.staging, { recursive: true });
    const m = offer.release.manifest;
    const part = join(this.#paths.staging, `${m.version}-${m.sha256.slice(0, 16)}.part`);
    let bytes: Uint8Array;
    try {
      bytes = await this.#download(offer.url, part, m.size);
    } catch (e) {
      // the part stays: the next offer goes on from where this one stopped
      this.#f = { ...this.#f, state: "idle", error: `download: ${(e as Error).message}` };
      await this.#save();
      this.#log("warn", `[UPDATE] ${offer.version}: ${this.#f.error}`, "UPDATE_DOWNLOAD");
      return;
    }
    const whole = await refuseRelease(offer.release, running, roots, bytes);
    if (whole) {
      await Deno.remove(part).catch(() => {});
      return await this.#fail(offer.version, whole);
    }
    const ext = this.#o.program.match(/\.[a-z]+$/i)?.[0] ?? "";
    const staged = join(this.#paths.staging, `${m.version}${ext}`);
    await Deno.rename(part, staged);
    if (Deno.build.os !== "windows") await Deno.chmod(staged, 0o755).catch(() => {});
    const check = await this.#o.quickCheck(staged, m.version).catch((e) => (e as Error).message);
    if (check) {
      await Deno.remove(staged).catch(() => {});
      return await this.#fail(offer.version, `the staged program's quick check: ${check}`);
    }
    this.#staged = staged;
    this.#f = { ...this.#f, state: "staged", error: null };
    await this.#save();
    this.#log("info", `[UPDATE] ${offer.version} staged and checked`, "UPDATE_STAGED");
    this.#ready?.();
  }

  async #download(url: string, part: string, size: number): Promise<Uint8Array> {
    let have = await Deno.stat(part).then((s) => s.size, () => 0);
    if (have > size) {
      await Deno.remove(part);
      have = 0;
    }
    if (have < size) {
      const res = await this.#o.get(url, have);
      if (res.status === 200 && have > 0) have = 0; // no ranges: from the start
      else if (have > 0 && res.status !== 206) {
        await res.body?.cancel();
        throw new Error(`the server answered ${res.status} to a range request`);
      } else if (res.status !== 200 && res.status !== 206) {
        await res.body?.cancel();
        throw new Error(`the server answered ${res.status}`);
      }
      const file = await Deno.open(part, { write: true, create: true, truncate: have === 0 });
      try {
        await file.seek(have, Deno.SeekMode.Start);
        let got = have;
        const reader = res.body?.getReader();
        const stallMs = this.#o.stallMs ?? 30_000;
        try {
          for (;;) {
            // a connection that goes quiet (a proxy, a Wi-Fi drop) must not hold the update for ever
            let timer: ReturnType<typeof setTimeout> | undefined;
            const next = await Promise.race([
              reader ? reader.read() : Promise.resolve({ done: true as const, value: undefined }),
              new Promise<"stall">((r) => timer = setTimeout(() => r("stall"), stallMs)),
            ]).finally(() => clearTimeout(timer));
            if (next === "stall") {
              throw new Error(
                `nothing arrived for ${stallMs / 1000} s (at ${got} of ${size} bytes)`,
              );
            }
            if (next.done) break;
            got += next.value.length;
            if (got > size) throw new Error(`the file is longer than the ${size} bytes named`);
            await writeAllTo(file, next.value);
          }
        } finally {
          await reader?.cancel().catch(() => {});
        }
        await file.syncData().catch(() => {});
        if (got < size) throw new Error(`the download ended at ${got} of ${size} bytes`);
      } finally {
        file.close();
      }
    }
    return await Deno.readFile(part);
  }

  /**
   * Puts the staged program in place of the running one (after the caller drained): the
   * running file is renamed aside (Windows lets a running program be renamed, not replaced) and
   * kept as the previous one. Returns the exit code that has the service manager start it.
   */
  async swap(): Promise<number> {
    const staged = this.#staged;
    if (!staged || this.#f.state !== "staged") throw new Error("nothing is staged");
    const program = this.#o.program;
    await Deno.remove(this.#paths.previous).catch(() => {});
    await Deno.rename(program, this.#paths.previous);
    try {
      await Deno.rename(staged, program);
    } catch (e) {
      await Deno.rename(this.#paths.previous, program);
      await this.#fail(this.#f.target!, `the swap failed: ${(e as Error).message}`);
      throw e;
    }
    this.#f = {
      ...this.#f,
      state: "swapped",
      from: this.#o.running.version,
      swapped_at: this.#now(),
      starts: [],
      jobs: 0,
      heartbeat_failures: 0,
      done_at: null,
    };
    await this.#save();
    this.#log(
      "info",
      `[UPDATE] ${program} is now ${this.#f.target}; exiting for the service manager to start it`,
      "UPDATE_SWAPPED",
    );
    return RESTART_EXIT_CODE;
  }

  /** Whether this run is a new version being watched. */
  get watching(): boolean {
    return this.#f.state === "watching" && this.#f.target === this.#o.running.version;
  }

  /** A heartbeat reached the server (or not). */
  async heartbeat(ok: boolean): Promise<void> {
    if (!this.watching) return;
    const f = this.#f;
    if (ok) {
      f.heartbeat_failures = 0;
      const last = f.starts.at(-1);
      if (last && !last.healthy) {
        last.healthy = true;
        await this.#save();
      }
      await this.#maybeDone();
      return;
    }
    f.heartbeat_failures++;
    await this.#save();
    if (f.heartbeat_failures >= 3) {
      this.#rollbackNow(`${f.heartbeat_failures} heartbeats in a row did not reach the server`);
    }
  }

  /** The agent stops cleanly (not for a restart): this start of a watched version did not crash. */
  async stopped(): Promise<void> {
    if (!this.watching) return;
    const last = this.#f.starts.at(-1);
    if (last) last.clean = true;
    await this.#save();
  }

  /** A job ended: printed (null) or failed with a code. */
  async job(code: string | null): Promise<void> {
    if (!this.watching) return;
    if (code && AGENT_FAULTS.has(code)) {
      this.#rollbackNow(`a job failed with ${code}, a fault of the agent itself`);
      return;
    }
    if (code === null) {
      this.#f.jobs++;
      await this.#maybeDone();
    }
  }

  async #maybeDone(): Promise<void> {
    const f = this.#f;
    const jobs = this.#o.watchJobs ?? WATCH_JOBS;
    const ms = this.#o.watchMs ?? WATCH_MS;
    if (f.jobs >= jobs && this.#now() - (f.swapped_at ?? 0) >= ms) {
      f.state = "done";
      f.done_at = this.#now();
      f.error = null;
      await this.#save();
      this.#log("info", `[UPDATE] ${f.target} watched and kept`, "UPDATE_DONE");
    } else await this.#save();
  }

  #rolling = false;
  #rollbackNow(why: string): void {
    if (this.#rolling) return;
    this.#rolling = true;
    this.#log("error", `[UPDATE] Rolling back ${this.#f.target}: ${why}`, "UPDATE_ROLLBACK");
    this.#rollback?.(why);
  }

  /**
   * Swaps the previous program back (after the caller drained) and records why; returns the
   * exit code that has the service manager start it.
   */
  async rollback(why: string): Promise<number> {
    await swapBack(this.#o.program, this.#o.stateDir);
    const target = this.#f.target ?? this.#o.running.version;
    this.#f = { ...this.#f, state: "rolled_back", error: why };
    this.#f.refused[target] = why;
    await this.#save();
    this.#log("info", `[UPDATE] Rolled back to ${this.#f.from}: ${why}`, "UPDATE_ROLLED_BACK");
    return RESTART_EXIT_CODE;
  }
}

/**
 * `agent update rollback` by hand: the previous program back in place and the state saying so.
 * The running agent (a service) keeps running the new code until it is restarted.
 */
export async function rollbackByHand(program: string, stateDir: string): Promise<string> {
  const p = updatePaths(program, stateDir);
  const f = await readUpdateFile(p.state);
  await swapBack(program, stateDir);
  const target = f.target ?? "the new version";
  f.state = "rolled_back";
  f.error = "rolled back by hand (agent update rollback)";
  f.refused[target] = f.error;
  await writeUpdateFile(p.state, f);
  return `${program} is ${f.from ?? "the previous version"} again (${target} kept as ${p.failed})`;
}
