/**
 * Remote configuration: the POS server's heartbeat reply may carry `config: {revision, body}` —
 * `body` in print_agent_config.json's own shape, holding only the keys to change. The agent
 * checks it (what a server may change, the schema and its meaning, templates and brands), runs
 * it as a trial, keeps it when the trial holds and goes back to the last good configuration when
 * it does not, saying why in every heartbeat (`config: {running_revision, pending_revision, state,
 * error}`). What ran last is kept in the state folder (`remote_config.json`, with the last 10 good
 * revisions), so a restart runs it again; the local file is never rewritten.
 *
 * What a server may not change: anything that writes files or opens the terminal (every path,
 * the `file`/`virtual` transports, the local API), the server address, its token and CA, the
 * terminal's identity, and which lasting printer commands raw jobs may send. A pushed config
 * that names one is refused whole — a compromised or mistaken POS server must not be able to
 * turn the agent into a file writer or point it at another server.
 * @module
 */
import { join } from "node:path";
import { type Config, parseConfig } from "../config.ts";

/** What the server offers in its heartbeat reply. */
export interface ConfigOffer {
  /** The revision (the same revision again changes nothing). */
  revision: string | number;
  /** The keys to change, in the config file's shape. */
  body: Record<string, unknown>;
  /**
   * Ed25519 signature (base64) over the canonical JSON of `{revision, body}` by a key in the
   * local file's `update.config_keys`: needed when the body sets what a server may not change.
   */
  signature?: string;
}

/** The state of remote configuration, as every heartbeat says it. */
export interface ConfigReport {
  /** The revision running now (null: the local file alone). */
  running_revision: string | number | null;
  /** A revision being tried, or the one just refused or reverted. */
  pending_revision: string | number | null;
  /** `none` (never offered), `trial`, `applied`, `rejected` or `reverted`. */
  state: "none" | "trial" | "applied" | "rejected" | "reverted";
  /** Why it was rejected or reverted. */
  error: string | null;
}

/** Keys (dot paths; `*` any station) a server may not set: files, the terminal, who it talks to. */
const FORBIDDEN: RegExp[] = [
  /^terminal_identity(\.|$)/,
  /^state(\.|$)/,
  /^local_api(\.|$)/,
  /^logging\.log_file$/,
  /^server\.(base_url|token|token_env|ca_file)$/,
  /^render\.(templates_path|profiles_path|fonts)$/,
  /^jobs\.raw_allow$/,
  /^update(\.|$)/,
  /^printers?(\.\d+)?\.path$/,
  /^\$schema$/,
];

/** Every key path of a body (`printers.0.port`), leaves and objects alike. */
function paths(v: unknown, at = ""): string[] {
  if (!v || typeof v !== "object") return [];
  const out: string[] = [];
  for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
    const p = at ? `${at}.${k}` : k;
    out.push(p, ...paths(x, p));
  }
  return out;
}

/**
 * What in a body a server may not change, each with why: a forbidden key, or a transport that
 * writes files (`file`) or only pretends to print (`virtual`).
 */
export function forbidden(body: Record<string, unknown>): string[] {
  const out: string[] = [];
  for (const p of paths(body)) {
    if (FORBIDDEN.some((re) => re.test(p))) out.push(p);
  }
  const stations = [
    ...(Array.isArray(body.printers) ? body.printers.map((s, i) => [`printers.${i}`, s]) : []),
    ...(body.printer ? [["printer", body.printer]] : []),
  ] as [string, Record<string, unknown>][];
  for (const [p, s] of stations) {
    if (s && typeof s === "object" && (s.transport === "file" || s.transport === "virtual")) {
      out.push(`${p}.transport (${s.transport})`);
    }
  }
  return out;
}

/** `body` over `local`: objects merged key by key, anything else (lists too) replaced. */
export function merged(
  local: Record<string, unknown>,
  body: Record<string, unknown>,
): Record<string, unknown> {
  const out: Record<string, unknown> = { ...local };
  // one printer or a list of stations: what the server sends replaces the other form
  if (body.printers !== undefined) delete out.printer;
  if (body.printer !== undefined) delete out.printers;
  for (const [k, v] of Object.entries(body)) {
    const l = out[k];
    out[k] = v && typeof v === "object" && !Array.isArray(v) && l && typeof l === "object" &&
        !Array.isArray(l)
      ? merged(l as Record<string, unknown>, v as Record<string, unknown>)
      : v;
  }
  return out;
}

/** The offer in a heartbeat reply: null when there is none, a reason when it is malformed. */
export function readOffer(reply: unknown): ConfigOffer | { error: string } | null {
  const c = (reply as { config?: unknown } | null)?.config;
  if (c === undefined || c === null) return null;
  const o = c as { revision?: unknown; body?: unknown };
  const rev = o.revision;
  if (
    !(typeof rev === "string" && rev.length > 0 && rev.length <= 64) &&
    !(typeof rev === "number" && Number.isFinite(rev))
  ) {
    return { error: "config.revision must be a string (1-64 characters) or a number" };
  }
  if (!o.body || typeof o.body !== "object" || Array.isArray(o.body)) {
    return { error: `config.body of revision ${rev} must be an object` };
  }
  const sig = (o as { signature?: unknown }).signature;
  if (sig !== undefined && sig !== null && typeof sig !== "string") {
    return { error: `config.signature of revision ${rev} must be a string` };
  }
  return {
    revision: rev,
    body: o.body as Record<string, unknown>,
    ...(typeof sig === "string" ? { signature: sig } : {}),
  };
}

interface Saved {
  running: ConfigOffer | null;
  good: (ConfigOffer & { applied_at: string })[];
  report: ConfigReport;
}

const NONE: ConfigReport = {
  running_revision: null,
  pending_revision: null,
  state: "none",
  error: null,
};

/** The config-signing keys pinned in a configuration (`update.config_keys`). */
export function pinnedKeys(c: Record<string, unknown>): string[] {
  const keys = (c.update as { config_keys?: unknown } | undefined)?.config_keys;
  return Array.isArray(keys) ? keys.filter((k): k is string => typeof k === "string") : [];
}

/** Remote configuration for one state folder: what runs, what was refused, the good history. */
export class RemoteConfig {
  readonly #file: string;
  #saved: Saved = { running: null, good: [], report: { ...NONE } };

  /** For the state folder `stateDir` (its `remote_config.json`). */
  constructor(stateDir: string) {
    this.#file = join(stateDir, "remote_config.json");
  }

  /** Reads what ran last (a missing or damaged file: the local file alone, said by the caller). */
  async load(): Promise<string | null> {
    try {
      const s = JSON.parse(await Deno.readTextFile(this.#file)) as Saved;
      if (s && typeof s === "object" && Array.isArray(s.good) && s.report) this.#saved = s;
      if (this.#saved.report.state === "trial") {
        // the process ended during a trial without judging it (a crash, a power cut): the
        // revision may be what crashed it, so it is not tried again; the last good one runs
        const pending = this.#saved.report.pending_revision;
        await this.#set({
          running_revision: this.#saved.running?.revision ?? null,
          pending_revision: pending,
          state: "reverted",
          error: `the agent ended during the trial of revision ${pending} (a crash or a power ` +
            `cut?); not tried again`,
        });
      }
      return null;
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) return null;
      return `${this.#file}: ${(e as Error).message}; running the local file alone`;
    }
  }

  async #save(): Promise<void> {
    const tmp = `${this.#file}.tmp`;
    await Deno.writeTextFile(tmp, JSON.stringify(this.#saved, null, 2) + "\n");
    await Deno.rename(tmp, this.#file);
  }

  /** The state every heartbeat carries. */
  report(): ConfigReport {
    return { ...this.#saved.report };
  }

  /** The revision running now, with its body (null: the local file alone). */
  get running(): ConfigOffer | null {
    return this.#saved.running;
  }

  /** The last good revisions, newest first (at most 10). */
  get good(): readonly (ConfigOffer & { applied_at: string })[] {
    return this.#saved.good;
  }

  /** The configuration to run: the local file's keys with the running revision's over them. */
  effective(local: Record<string, unknown>, baseDir: string, source: string): Config {
    const run = this.#saved.running;
    if (!run) return parseConfig(local, baseDir, source);
    return parseConfig(
      merged(local, run.body),
      baseDir,
      `${source} + server revision ${run.revision}`,
    );
  }

  /**
   * Looks at a heartbeat reply. Returns the configuration to try, or null (nothing new, or
   * refused: the report says why). A revision refused or reverted is not tried again.
   */
  async consider(
    reply: unknown,
    local: Record<string, unknown>,
    baseDir: string,
    source: string,
  ): Promise<{ offer: ConfigOffer; config: Config } | null> {
    const o = readOffer(reply);
    if (o === null) return null;
    const r = this.#saved.report;
    if ("error" in o) {
      if (r.state === "rejected" && r.error === o.error) return null;
      await this.#set({ ...r, state: "rejected", error: o.error });
      return null;
    }
    if (o.revision === this.#saved.running?.revision) return null;
    if (
      o.revision === r.pending_revision &&
      (r.state === "rejected" || r.state === "reverted" || r.state === "trial")
    ) return null;
    const refuse = async (why: string) => {
      await this.#set({ ...r, pending_revision: o.revision, state: "rejected", error: why });
      return null;
    };
    const bad = forbidden(o.body);
    if (bad.length) {
      // only with a signature from a key the terminal pinned (its local file, or a revision
      // that was itself signed to run) — whoever answers heartbeats cannot pin one
      const pinned = pinnedKeys(merged(local, this.#saved.running?.body ?? {}));
      const what = `revision ${o.revision} sets what a server may not change: ${bad.join(", ")}`;
      if (!o.signature) {
        return await refuse(
          pinned.length
            ? `${what}; it is not signed`
            : `${what} (no signing key is pinned in update.config_keys)`,
        );
      }
      const { signedByAny } = await import("./release.ts");
      const ok = await signedByAny(pinned, o.signature, { revision: o.revision, body: o.body });
      if (!ok) return await refuse(`${what}; its signature is not by a key in update.config_keys`);
    }
    try {
      const config = parseConfig(
        merged(local, o.body),
        baseDir,
        `${source} + server revision ${o.revision}`,
      );
      return { offer: o, config };
    } catch (e) {
      return await refuse(`revision ${o.revision}: ${(e as Error).message}`);
    }
  }

  /** A revision is being tried. */
  async trial(o: ConfigOffer): Promise<void> {
    await this.#set({
      ...this.#saved.report,
      pending_revision: o.revision,
      state: "trial",
      error: null,
    });
  }

  /** A tried revision held: it runs from now on (and after a restart), kept among the good. */
  async applied(o: ConfigOffer, at: number): Promise<void> {
    this.#saved.running = o;
    this.#saved.good = [
      { ...o, applied_at: new Date(at).toISOString() },
      ...this.#saved.good.filter((g) => g.revision !== o.revision),
    ].slice(0, 10);
    await this.#set({
      running_revision: o.revision,
      pending_revision: null,
      state: "applied",
      error: null,
    });
  }

  /** A tried revision failed (or could not start): the last good one runs again. */
  async reverted(o: ConfigOffer, why: string): Promise<void> {
    await this.#set({
      running_revision: this.#saved.running?.revision ?? null,
      pending_revision: o.revision,
      state: "reverted",
      error: why,
    });
  }

  /** The agent stopped while a revision was tried: nothing judged, it is tried again later. */
  async abandoned(o: ConfigOffer): Promise<void> {
    const run = this.#saved.running?.revision ?? null;
    await this.#set({
      running_revision: run,
      pending_revision: null,
      state: run === null ? "none" : "applied",
      error: `revision ${o.revision} was being tried when the agent stopped; it is tried again`,
    });
  }

  /** A revision refused before any trial (it starts nothing). */
  async rejected(o: ConfigOffer, why: string): Promise<void> {
    await this.#set({
      ...this.#saved.report,
      pending_revision: o.revision,
      state: "rejected",
      error: why,
    });
  }

  async #set(report: ConfigReport): Promise<void> {
    this.#saved.report = report;
    await this.#save();
  }
}
