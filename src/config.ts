/**
 * Configuration: the schema of `print_agent_config.json`, loading, validation with messages
 * that name the key, the value found and what is expected, and path resolution against the
 * config file's own folder (never the working directory: a service starts in System32).
 *
 * The seed agent's keys load unchanged; everything added has a default.
 * @module
 */
import * as z from "zod";
import { parse as parseJsonc, type ParseError, printParseErrorCode } from "jsonc-parser";

/** Escapes JSON turns a Windows path into: `"C:\temp"` is C:<TAB>emp. */
const PATH_HINT =
  'write \\\\ or / in JSON paths ("C:\\\\PrintAgent\\\\state" or "C:/PrintAgent/state")';

/** A file or folder path: a control character in it is a JSON escape the writer did not mean. */
function pathString() {
  const control = (s: string) => [...s].find((ch) => ch.charCodeAt(0) < 0x20 || ch === "\x7f");
  return z.string().refine((s) => control(s) === undefined, {
    error: (iss) => {
      const c = control(String(iss.input))!;
      return `the path holds a control character (${JSON.stringify(c)}): in JSON a backslash ` +
        `starts an escape, so "\\t" or "\\n" in a Windows path becomes one; ${PATH_HINT}`;
    },
  });
}

/** Keys whose values are names in capitals: taken in any case (`"debug"` is `DEBUG`). */
const ANY_CASE: [string, string][] = [["logging", "level"], ["server", "status_method"]];

/** A copy of the file's data with {@link ANY_CASE} values in capitals. */
function capitalized(raw: unknown): unknown {
  if (!raw || typeof raw !== "object" || Array.isArray(raw)) return raw;
  const out: Record<string, unknown> = { ...raw as Record<string, unknown> };
  for (const [section, key] of ANY_CASE) {
    const sec = out[section];
    if (sec && typeof sec === "object" && !Array.isArray(sec)) {
      const v = (sec as Record<string, unknown>)[key];
      if (typeof v === "string") out[section] = { ...sec, [key]: v.toUpperCase() };
    }
  }
  return out;
}

/** What each JSON syntax error means, in a technician's words. */
const SYNTAX: Record<string, string> = {
  InvalidSymbol: "unexpected text (a missing quote, or a word that is not true/false/null?)",
  InvalidNumberFormat: "a number is written wrong",
  PropertyNameExpected: "a key in double quotes was expected",
  ValueExpected: "a value was expected (a trailing comma before it, or nothing after a `:`?)",
  ColonExpected: "a `:` is missing after the key",
  CommaExpected: "a `,` is missing between two entries",
  CloseBraceExpected: "a `}` is missing",
  CloseBracketExpected: "a `]` is missing",
  EndOfFileExpected: "text after the end of the configuration (one `}` too many?)",
  InvalidCommentToken: "a comment is written wrong",
  UnexpectedEndOfComment: "a comment is not closed (`*/` is missing)",
  UnexpectedEndOfString: 'a string is not closed (a `"` is missing)',
  UnexpectedEndOfNumber: "a number is cut off",
  InvalidUnicode: "a \\u escape is written wrong",
  InvalidEscapeCharacter: `a backslash starts an escape JSON does not have; ${PATH_HINT}`,
  InvalidCharacter: "a control character (a tab or line break) inside a string",
};

/**
 * The config file's text as data: JSON with `//` and `/* *\/` comments and trailing commas
 * (JSONC, as VS Code and Deno's own config take it). A syntax error names its line, column and
 * cause.
 */
export function parseConfigText(text: string, file: string): unknown {
  const t = text.replace(/^\uFEFF/, ""); // Notepad writes a BOM
  if (t.trim() === "") {
    throw new ConfigError(file, [
      "the file is empty: write the configuration in it (`agent init` writes a starter)",
    ]);
  }
  const errors: ParseError[] = [];
  const raw = parseJsonc(t, errors, { allowTrailingComma: true, allowEmptyContent: false });
  if (errors.length === 0) return raw;
  const where = (offset: number) => {
    const before = t.slice(0, offset).split("\n");
    return `line ${before.length} column ${before.at(-1)!.length + 1}`;
  };
  const said = errors.map((e) => {
    const code = printParseErrorCode(e.error);
    return `not valid JSON at ${where(e.offset)}: ${SYNTAX[code] ?? code}`;
  });
  throw new ConfigError(file, [...new Set(said)].slice(0, 3));
}
import { dirname, isAbsolute, join, resolve } from "node:path";
import { LABEL_KEYS } from "./render/labels.ts";
import { isNaiveTimeZone } from "./server/server_time.ts";

/** Columns per line for each accepted `printer.paper_width` (columns, or millimetres). */
export const PAPER_COLUMNS: Record<number, number> = { 32: 32, 42: 42, 48: 48, 58: 32, 80: 48 };

const seconds = (d: number) => z.number().positive().default(d);

const TerminalIdentity = z.object({
  terminal_id: z.string().min(1).max(64),
  printer_role: z.string().min(1).max(64).default("cashier"),
  location_id: z.union([z.string(), z.number().int()]).nullable().default(null),
}).strict();

const ServerPaths = z.object({
  jobs: z.string().startsWith("/").default("/print-jobs/"),
  status: z.string().startsWith("/").includes("{id}").default("/print-jobs/{id}/status/"),
  heartbeat: z.string().startsWith("/").default("/print-agents/heartbeat/"),
}).strict();

/** The job list's query parameters: names as the backend calls them ("" leaves one out). */
const Query = z.object({
  terminal_id: z.string().default("terminal_id"),
  status: z.string().default("status"),
  status_value: z.string().default("PENDING"),
  printer_role: z.string().default("printer_role"),
  wait: z.string().default("wait"),
  /** Fixed extra parameters, e.g. {"page_size": "20"}. */
  extra: z.record(z.string(), z.string()).default({}),
}).strict();

const Server = z.object({
  base_url: z.url({ protocol: /^https?$/ }).default("http://127.0.0.1:8765/api"),
  token: z.string().default(""),
  token_env: z.string().default("PRINT_AGENT_TOKEN"),
  auth_scheme: z.string().min(1).default("Token"),
  poll_interval: seconds(2),
  heartbeat_interval: seconds(30),
  long_poll_wait: z.number().int().min(0).max(120).default(25),
  request_timeout: seconds(10),
  ca_file: pathString().nullable().default(null),
  paths: ServerPaths.default(ServerPaths.parse({})),
  /** How a status report is sent: POST to paths.status (default), or PATCH/PUT (a DRF viewset). */
  status_method: z.enum(["POST", "PATCH", "PUT"]).default("POST"),
  query: Query.default(Query.parse({})),
  /** A report the server has not accepted for this long is dropped with one ERROR line. */
  report_expiry_hours: z.number().positive().default(72),
  /** How `created_at` values without a time zone are read: `local`, `UTC` or `+07:00`. */
  naive_time_zone: z.string().refine(isNaiveTimeZone, {
    message: 'expected "local", "UTC" or an offset like "+07:00"',
  }).default("local"),
}).strict();

const Printer = z.object({
  name: z.string().default(""),
  brand: z.string().min(1).default("GENERIC"),
  paper_width: z.number().int().refine((n) => n in PAPER_COLUMNS, {
    message: "expected one of 32, 42, 48 (columns) or 58, 80 (mm)",
  }).default(80),
  transport: z.enum(["winspool", "tcp", "file", "virtual"]).default("winspool"),
  host: z.string().default("127.0.0.1"),
  port: z.number().int().min(1).max(65535).default(9100),
  path: pathString().default("printer-out"),
  timeout: seconds(10),
  spool_watch_seconds: z.number().min(0).default(15),
  /**
   * Seconds between status questions to a printer that answers them (tcp, a serial or USB
   * device) while nothing is queued for it; 0: only with each heartbeat.
   */
  status_interval: z.number().min(0).max(3600).default(2),
}).strict();

/** One station: a printer of this terminal, the roles it serves, and its backup. */
/** @internal The schema of one station (a `printers[]` entry). */
export const StationSchema = Printer.extend({
  id: z.string().regex(/^[A-Za-z0-9_.-]{1,32}$/, "1-32 letters, digits, - _ ."),
  roles: z.array(z.string().min(1).max(64)).min(1),
  /** Another station's id: where this station's jobs print when its own printer fails. */
  backup: z.string().nullable().default(null),
  /** Failed attempts on this station's printer before a job goes to the backup. */
  failover_after: z.number().int().min(1).default(1),
  /** Whether cashier receipts (receipt, reprint, raw) may print on the backup. */
  failover_receipts: z.boolean().default(false),
  /**
   * Shares its roles with the other stations marked so: a new order goes to the healthy one with
   * the least queued work (per `weight`), its follow-ups and reprints to the same one.
   */
  balance: z.enum(["least_queue"]).nullable().default(null),
  /** This station's share of a balanced role's work (2 takes twice the tickets of 1). */
  weight: z.number().positive().max(100).default(1),
}).strict();

/** A validated station (a `printers[]` entry, or the seed's single `printer`). */
export type StationConfig = ReturnType<typeof StationSchema.parse>;

/** Problems in `printers[]` as [path, message]: ids, backups, cycles, roles. */
function stationProblems(list: StationConfig[]): [PropertyKey[], string][] {
  const out: [PropertyKey[], string][] = [];
  const ids = new Map<string, number>();
  list.forEach((st, i) => {
    if (ids.has(st.id)) {
      out.push([["printers", i, "id"], `"${st.id}" is already printers[${ids.get(st.id)}].id`]);
    } else ids.set(st.id, i);
  });
  const roles = new Map<string, string>();
  list.forEach((st, i) => {
    st.roles.forEach((r, k) => {
      const other = roles.get(r);
      const shared = st.balance !== null &&
        list.find((x) => x.id === other)?.balance !== null;
      if (other && other !== st.id && !shared) {
        out.push([
          ["printers", i, "roles", k],
          `role "${r}" is already served by "${other}" (stations share a role only with ` +
          `"balance": "least_queue" on each)`,
        ]);
      } else if (!other) roles.set(r, st.id);
    });
    if (st.backup === null) return;
    if (st.backup === st.id) {
      out.push([["printers", i, "backup"], "a station cannot back itself up"]);
    } else if (!ids.has(st.backup)) {
      out.push([
        ["printers", i, "backup"],
        `no station has id "${st.backup}" (ids: ${[...ids.keys()].join(", ")})`,
      ]);
    }
  });
  // a chain of backups must end: kitchen → bar → kitchen would pass a job round for ever
  list.forEach((st, i) => {
    const seen = new Set([st.id]);
    for (let b = st.backup; b !== null;) {
      if (seen.has(b)) {
        if (b === st.id) {
          out.push([
            ["printers", i, "backup"],
            `backups form a cycle: ${[...seen, b].join(" → ")}`,
          ]);
        }
        break;
      }
      seen.add(b);
      b = list.find((x) => x.id === b)?.backup ?? null;
    }
  });
  return out;
}

const ErrorHandling = z.object({
  max_retry: z.number().int().min(1).max(20).default(3),
  backoff_seconds: z.array(z.number().min(0)).min(1).default([5, 10, 30]),
}).strict();

const Logging = z.object({
  level: z.enum(["DEBUG", "INFO", "WARNING", "ERROR"]).default("INFO"),
  log_file: pathString().default("print_agent.log"),
  max_bytes: z.number().int().min(1024).default(10 * 1024 * 1024),
  backup_count: z.number().int().min(1).max(100).default(5),
}).strict();

const JobTypes = ["receipt", "reprint", "kitchen", "raw", "test", "drawer"] as const;

const Jobs = z.object({
  accepted_types: z.array(z.enum(JobTypes)).min(1).default([...JobTypes]),
  /** A waiting job gains one priority level per this many seconds (no job waits for ever). */
  priority_aging_seconds: z.number().positive().default(30),
  max_age_seconds: z.number().int().min(0).default(3600),
  drawer_max_age_seconds: z.number().int().min(0).default(10),
  reprint_interrupted: z.array(z.enum(JobTypes)).default([]),
  /**
   * Commands a raw job may send that change the printer for good (all refused by default):
   * power_off, memory_switch, nv_image, nv_graphics, nv_memory, nv_settings.
   */
  raw_allow: z.array(
    z.enum(["power_off", "memory_switch", "nv_image", "nv_graphics", "nv_memory", "nv_settings"]),
  ).default([]),
}).strict();

const State = z.object({
  path: pathString().default("state"),
  retention_days: z.number().min(0).default(14),
  max_rows: z.number().int().min(100).default(200_000),
}).strict();

const Render = z.object({
  templates_path: pathString().default("templates"),
  profiles_path: pathString().nullable().default(null),
  locale: z.string().default("id-ID"),
  currency: z.string().length(3).default("IDR"),
  time_zone: z.string().nullable().default(null),
  /** `id`, `en`, or a pair `id/en` (both, as "Antrian / Queue"); null: from the locale. */
  language: z.enum(["id", "en", "id/en", "en/id"]).nullable().default(null),
  /** The store's own words for any built-in label, e.g. {"thanks": "Sampai jumpa"}. */
  labels: z.partialRecord(z.enum(LABEL_KEYS), z.string().max(60)).default({}),
  /**
   * Font files (`.ttf`, `.otf`, `.ttc`) for text no code page holds, asked after the built-in
   * ones and before the system's Chinese/Japanese/Korean fonts (e.g. a store's own CJK font).
   */
  fonts: z.array(pathString()).max(16).default([]),
}).strict();

const LocalApi = z.object({
  enabled: z.boolean().default(true),
  host: z.string().default("127.0.0.1"),
  port: z.number().int().min(0).max(65535).default(8787),
  /** Sent as `Authorization: Bearer <token>`: letters, digits and `-._~+/` (RFC 6750). */
  token: z.string().regex(
    /^([A-Za-z0-9._~+/-]+=*)?$/,
    "use only letters, digits and - . _ ~ + / (a Bearer token; e.g. from `agent init`)",
  ).default(""),
}).strict();

/** Self-update (docs/updates.md): which releases this terminal takes. */
const Update = z.object({
  /** The release channel this terminal follows ("stable", "beta", …). */
  channel: z.string().regex(/^[a-z0-9][a-z0-9._-]{0,31}$/, "a channel name: a-z, 0-9, . _ -")
    .default("stable"),
  /** How long a new version is watched before it is kept (and at least `watch_jobs` jobs). */
  watch_minutes: z.number().min(0).max(1440).default(10),
  /** Jobs a new version must print before it is kept. */
  watch_jobs: z.number().int().min(0).max(10_000).default(20),
  /**
   * Ed25519 public keys (raw, base64) whose signature lets a server's configuration change what
   * a server alone may not (docs/updates.md).
   */
  config_keys: z.array(z.string().regex(/^[A-Za-z0-9+/]{43}=$/, "a raw Ed25519 public key, base64"))
    .max(8).default([]),
}).strict();

/** Size limits: a job over one fails at once with JOB_TOO_LARGE, never freezes the agent. */
/** @internal The schema of `limits`. */
export const LimitsSchema = z.object({
  /** Bytes of one job list answer (one page). */
  list_bytes: z.number().int().min(64 * 1024).default(64 * 1024 * 1024),
  /** Bytes of one job's JSON. */
  job_bytes: z.number().int().min(1024).default(256 * 1024),
  /** Characters of one text field (any string in the job). */
  text_chars: z.number().int().min(64).default(4096),
  /** Items on one receipt. */
  items: z.number().int().min(1).default(1000),
  /** Bytes sent to the printer for one job. */
  rendered_bytes: z.number().int().min(4096).default(1024 * 1024),
  /** Jobs held in the queue at once; the rest stay PENDING on the server. */
  queue: z.number().int().min(1).max(10_000).default(200),
  /** Pages of a paginated job list followed in one poll. */
  pages_per_poll: z.number().int().min(1).max(100).default(5),
}).strict();

/** The limits with their defaults. */
export type Limits = ReturnType<typeof LimitsSchema.parse>;
/** The default limits (tests and tools that render without a configuration). */
export const DEFAULT_LIMITS: Limits = LimitsSchema.parse({});

/** @internal The full configuration schema (input: the file; output: with defaults applied). */
export const ConfigSchema = z.object({
  $schema: z.string().optional(),
  terminal_identity: TerminalIdentity,
  server: Server.default(Server.parse({})),
  printer: Printer.default(Printer.parse({})),
  /** Several printers (stations); without it, `printer` is the one station. */
  printers: z.array(StationSchema).min(1).max(16).optional(),
  error_handling: ErrorHandling.default(ErrorHandling.parse({})),
  logging: Logging.default(Logging.parse({})),
  jobs: Jobs.default(Jobs.parse({})),
  state: State.default(State.parse({})),
  render: Render.default(Render.parse({})),
  local_api: LocalApi.default(LocalApi.parse({})),
  limits: LimitsSchema.default(DEFAULT_LIMITS),
  update: Update.default(Update.parse({})),
}).strict().superRefine((c, ctx) => {
  if (!c.printers) return;
  for (const [path, message] of stationProblems(c.printers)) {
    ctx.addIssue({ code: "custom", path, message });
  }
});

/** The keys the schema allows at a path of the file (`["server", "paths"]`, `["printers", 0]`). */
function keysAt(path: PropertyKey[]): string[] {
  const unwrap = (t: z.ZodType): z.ZodType => {
    while (t instanceof z.ZodDefault || t instanceof z.ZodOptional || t instanceof z.ZodNullable) {
      t = t.unwrap() as z.ZodType;
    }
    return t;
  };
  let t: z.ZodType = ConfigSchema;
  for (const k of path) {
    t = unwrap(t);
    if (t instanceof z.ZodArray) t = t.element as z.ZodType;
    else if (t instanceof z.ZodObject) t = t.shape[k as string];
    else return [];
    if (!t) return [];
  }
  t = unwrap(t);
  if (t instanceof z.ZodArray) t = unwrap(t.element as z.ZodType);
  if (t instanceof z.ZodRecord && t.keyType instanceof z.ZodEnum) {
    return t.keyType.options.map(String); // e.g. render.labels
  }
  return t instanceof z.ZodObject ? Object.keys(t.shape) : [];
}

/** The valid key closest to a misspelt one (by edits), if it is close enough to be a typo. */
export function nearest(key: string, valid: string[]): string | null {
  let best: string | null = null;
  let bestD = Infinity;
  for (const v of valid) {
    const d = editDistance(key.toLowerCase(), v.toLowerCase());
    if (d < bestD) [best, bestD] = [v, d];
  }
  return best !== null && bestD <= Math.max(2, Math.floor(key.length / 3)) ? best : null;
}

/** Edits (insert, delete, replace, swap two neighbours) between two strings. */
function editDistance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0][j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
      }
    }
  }
  return d[a.length][b.length];
}

/** Validated configuration with absolute paths. */
export type Config = ReturnType<typeof ConfigSchema.parse> & {
  /** The stations: `printers`, or one made of the seed's `printer` and `printer_role`. */
  stations: StationConfig[];
  /** Absolute path of the file this came from, or "(embedded defaults)". */
  source: string;
  /** Folder that relative paths were resolved against. */
  base_dir: string;
};

/** A config file that could not be used; `problems` lists each bad key. */
export class ConfigError extends Error {
  /** One line per problem: `key.path: found X, expected Y`. */
  problems: string[];
  /** Creates a ConfigError. */
  constructor(source: string, problems: string[], options?: ErrorOptions) {
    super(`Invalid configuration in ${source}:\n  - ${problems.join("\n  - ")}`, options);
    this.name = "ConfigError";
    this.problems = problems;
  }
}

function valueAt(raw: unknown, path: PropertyKey[]): unknown {
  let v: unknown = raw;
  for (const k of path) {
    if (v === null || typeof v !== "object") return undefined;
    v = (v as Record<PropertyKey, unknown>)[k];
  }
  return v;
}

function describe(v: unknown): string {
  if (v === undefined) return "nothing (key missing)";
  const s = JSON.stringify(v);
  return s.length > 60 ? s.slice(0, 57) + "..." : s;
}

/**
 * Validates a parsed JSON value as configuration and resolves paths against `baseDir`.
 *
 * @example
 * ```ts
 * import { parseConfig } from "./config.ts";
 * const c = parseConfig({ terminal_identity: { terminal_id: "POS-001" } }, "/opt/agent");
 * console.log(c.state.path); // "/opt/agent/state"
 * ```
 */
export function parseConfig(raw: unknown, baseDir: string, source = "(inline)"): Config {
  const given = raw && typeof raw === "object" ? raw as Record<string, unknown> : {};
  if (given.printer !== undefined && given.printers !== undefined) {
    throw new ConfigError(source, [
      "printer: found both printer and printers; use printers (a list of stations) alone, or " +
      "printer (one printer) alone",
    ]);
  }
  const r = ConfigSchema.safeParse(capitalized(raw));
  if (!r.success) {
    const problems = r.error.issues.map((i) => {
      const key = i.path.length ? i.path.join(".") : "(top level)";
      if (i.code === "unrecognized_keys") {
        const where = i.path.length ? i.path.join(".") + "." : "";
        const valid = keysAt(i.path);
        return i.keys.map((k) => {
          const near = nearest(k, valid);
          return `${where}${k}: unknown key` +
            (near ? `; did you mean "${near}"?` : " (a typo?); remove it or fix its name");
        }).join("\n  - ");
      }
      return `${key}: found ${describe(valueAt(raw, i.path))}; ${i.message}`;
    });
    throw new ConfigError(source, problems);
  }
  const c = r.data;
  const abs = (p: string) => isAbsolute(p) || /^[A-Za-z]:[\\/]/.test(p) ? p : resolve(baseDir, p);
  c.logging.log_file = abs(c.logging.log_file);
  c.state.path = abs(c.state.path);
  c.render.templates_path = abs(c.render.templates_path);
  c.render.fonts = c.render.fonts.map(abs);
  if (c.render.profiles_path) c.render.profiles_path = abs(c.render.profiles_path);
  if (c.server.ca_file) c.server.ca_file = abs(c.server.ca_file);
  const stations: StationConfig[] = c.printers ?? [{
    ...c.printer,
    id: c.terminal_identity.printer_role,
    roles: [c.terminal_identity.printer_role],
    backup: null,
    failover_after: 1,
    failover_receipts: false,
    balance: null,
    weight: 1,
  }];
  for (const p of [c.printer, ...stations]) {
    if (p.transport === "file" || p.transport === "virtual") {
      // device names (\\.\COM3, LPT1, /dev/usb/lp0) are absolute or bare; keep bare device names
      if (!/^(LPT\d|COM\d+|PRN)$/i.test(p.path)) p.path = abs(p.path);
    }
  }
  if (c.printers) Object.assign(c.printer, stripStation(stations[0])); // `printer`: the first
  c.server.base_url = c.server.base_url.replace(/\/+$/, "");
  return { ...c, stations, source, base_dir: baseDir };
}

function stripStation(st: StationConfig): z.output<typeof Printer> {
  const {
    id: _i,
    roles: _r,
    backup: _b,
    failover_after: _f,
    failover_receipts: _x,
    balance: _bal,
    weight: _w,
    ...p
  } = st;
  return p;
}

/** Reads and validates a config file. Errors name the file, the key and the value. */
export async function loadConfig(path: string): Promise<Config> {
  const file = resolve(path);
  let text: string;
  try {
    text = await Deno.readTextFile(file);
  } catch (e) {
    const why = e instanceof Deno.errors.NotFound
      ? "file not found; create one with `agent init` (or pass --config PATH)"
      : String(e);
    throw new ConfigError(file, [`cannot read the config file: ${why}`], { cause: e });
  }
  return parseConfig(parseConfigText(text, file), dirname(file), file);
}

/** The token to send: `server.token`, else the environment variable named by `token_env`. */
export function serverToken(c: Config): string {
  if (c.server.token) return c.server.token;
  try {
    return Deno.env.get(c.server.token_env) ?? "";
  } catch {
    return "";
  }
}

/** The configuration as JSON with secrets masked, for `config` and logs. */
export function maskedConfig(c: Config): Record<string, unknown> {
  const copy = structuredClone(c) as Config;
  const mask = (s: string) => s ? s.slice(0, 2) + "***" : "";
  copy.server.token = mask(copy.server.token);
  copy.local_api.token = mask(copy.local_api.token);
  return copy as unknown as Record<string, unknown>;
}

/** JSON Schema of the config file, for editors (`"$schema"` in the file). */
export function configJsonSchema(): Record<string, unknown> {
  return z.toJSONSchema(ConfigSchema, { io: "input" }) as Record<string, unknown>;
}

if (import.meta.main) {
  const i = Deno.args.indexOf("--write-schema");
  const text = JSON.stringify(configJsonSchema(), null, 2) + "\n";
  if (i >= 0) await Deno.writeTextFile(join(Deno.cwd(), Deno.args[i + 1]), text);
  else console.log(text);
}
