/**
 * `agent --selftest`: the checks a technician runs on site. Prints a PASS / WARN / FAIL table
 * (or JSON with `--json`). The exit code is 0 when nothing FAILs; otherwise the sum of the
 * failed areas: 1 config, 2 state folder, 4 server, 8 printer, 16 log folder, 32 profile and
 * templates, 64 test page.
 * @module
 */
import type { Profile } from "../render/profile.ts";
import { dirname, join } from "node:path";
import { type Config, type ConfigError, serverToken, type StationConfig } from "../config.ts";
import { JobServerClient, ServerError } from "../server/job_server.ts";
import { selftestHeartbeat, statusReport } from "../server/protocol.ts";
import { listedNewestFirst } from "../core/intake.ts";
import { Journal, StateLockedError } from "../store/journal.ts";
import { journalPath, rendererFor } from "../run.ts";
import type { Renderer } from "../render/render.ts";
import { createPrinter } from "../printers/mod.ts";
import { type Printer, type PrinterStatus, statusError } from "../printers/printer.ts";
import { VERSION } from "../version.ts";
import { SERVICE_NAME } from "./service.ts";

/** One line of the table. */
export interface Check {
  /** What part of the set-up the check is about. */
  area:
    | "config"
    | "state"
    | "server"
    | "clock"
    | "printer"
    | "logs"
    | "templates"
    | "service"
    | "print";
  /** PASS, WARN or FAIL. */
  result: "PASS" | "WARN" | "FAIL";
  /** What was found, and what to do. */
  detail: string;
  /** Stable code of a FAIL or WARN, for machines (`--json`). */
  code?: string;
  /** What a technician checks next, in their words. */
  next?: string;
}

/** For each code: the likely causes and the next thing to check. */
const NEXT_STEPS: Record<string, (c: Config | null) => string> = {
  CONFIG_INVALID: () =>
    "fix each key named above (`agent config` shows them); a new file: `agent init`",
  STATE_UNWRITABLE: (c) =>
    `the account the agent runs as (LocalSystem for the service) must be able to write ${c?.state.path}; is the disk full?`,
  STATE_IN_USE: () => "nothing to do if the service is running; otherwise stop the other agent",
  LOGS_UNWRITABLE: (c) =>
    `the account the agent runs as must be able to write ${c?.logging.log_file}; is the disk full?`,
  PRINTER_VIRTUAL: () =>
    'name the real printer: transport "winspool" with its queue name (`agent printers`), or "tcp" with its address',
  PRINTER_BRAND_UNKNOWN: (c) =>
    `set ${
      c?.printers ? "that printer's brand" : "printer.brand"
    } to one of the brands named above, or add a profile file for this printer (docs/printing.md, Adding a printer)`,
  TEMPLATES_INVALID: () =>
    "fix the template or profile file named above, or remove it to use the built-in one",
  FONTS_UNREADABLE: () =>
    "the agent's own fonts (beside agent.exe's code) cannot be read: reinstall agent.exe",
  FONT_UNREADABLE: () =>
    "render.fonts names a file that is missing or not a font: fix the path or remove it",
  TEMPLATE_VARIANT_REFUSED: () =>
    "an experiment's variant must print totals, taxes, payments, the change and the bill number as the base template does (docs/printing.md, Receipt experiments)",
  PROFILE_OLD_FORMAT: () =>
    "it prints as before; when convenient, replace supports/codepages/codepage_mapping in that file with capabilities and where each comes from (docs/printing.md, Adding a printer)",
  SERVER_UNREACHABLE: (c) =>
    `is the POS server running? Is server.base_url (${c?.server.base_url}) right — does it open in a browser on this PC? Is a firewall or proxy blocking this PC?`,
  SERVER_TIMEOUT: (c) =>
    `the server did not answer in ${c?.server.request_timeout} s: is it overloaded, or is the network slow? (server.request_timeout)`,
  SERVER_AUTH: (c) =>
    `check server.token (or the ${c?.server.token_env} environment variable) against the token the POS server issued for this terminal`,
  SERVER_NOT_FOUND: () =>
    "the server answers but not at that path: check server.base_url (e.g. …/api) and server.paths",
  SERVER_BAD_ANSWER: () =>
    "server.base_url may point at a web page or a proxy, not the POS API: check the address",
  SERVER_HTTP_ERROR: () =>
    "the POS server reports an error: look at its own log; check server.paths and server.status_method",
  SERVER_PATH: () =>
    "check server.paths.status and server.status_method against the POS API (Django needs the trailing slash)",
  SERVER_HEARTBEAT: () => "check server.paths.heartbeat against the POS API",
  SERVER_JOBS_LEFT_ALONE: () =>
    "if this PC should print them, add a printer (printers[]) serving that role; else nothing to do",
  SERVER_ROLE_FILTER_HIDES: () =>
    'set server.query.printer_role to "" (the agent leaves jobs for other roles alone by itself), ' +
    "or make the backend's role filter also list jobs without a role",
  SERVER_STATUS_VALUES: () =>
    "give the backend's status field the values FETCHED, PRINTING, COMPLETED and FAILED as they are (docs/django.md)",
  SERVER_NEXT_ORIGIN: () =>
    "make the backend build its page links from the address this PC uses (the proxy's Host header), then run the selftest again",
  SERVER_NEWEST_FIRST: () =>
    'order the job list oldest first: the backend\'s ordering, or server.query.extra {"ordering": "id"}',
  CLOCK_SKEW: () => "set this PC's clock (Windows time sync), or jobs may expire or look old",
  PRINTER_OFFLINE: () =>
    "is the printer switched on and connected (USB cable / network cable)? For a network printer: is printer.host right (print the printer's self-test page to see its IP address)? Is there paper?",
  PRINTER_TIMEOUT: () =>
    "the printer did not take the data in time: check the cable or network, and that it is not busy or jammed",
  PRINTER_NOT_FOUND: () =>
    "check printer.name against `agent printers`; a printer installed for one user only is not seen by the service (LocalSystem): install it for all users",
  PRINTER_PAPER_OUT: () => "load paper (and close the cover)",
  PRINTER_COVER_OPEN: () => "close the printer cover",
  PRINTER_CUTTER_ERROR: () =>
    "open the cover, clear the paper jammed at the cutter, close it (some printers need the cutter knob turned); then switch the printer off and on",
  PRINTER_OVERHEAT: () =>
    "the print head is too hot: it resumes by itself when it cools; keep the printer's vents free and out of the sun or the kitchen's heat",
  PRINTER_PAPER_NEAR_END: () => "the roll is nearly finished: have a new roll ready",
  PRINTER_ERROR: () => "look at the printer's lights or display; switch it off and on",
  PRINTER_ACCESS_DENIED: () =>
    "the account the agent runs as may not use this printer: check the printer's security settings",
  SPOOLER_UNAVAILABLE: () =>
    'start the Windows "Print Spooler" service (services.msc), then try again',
  PRINTER_UNKNOWN: () =>
    "the printer cannot report its state over this connection; print a test page (--print) and look at the paper",
  TEST_PAGE_FAILED: () => "see the printer line above: the same causes",
  SERVICE_NOT_REGISTERED: () => "register it with `agent service install` (as Administrator)",
};

/** The code a printer status means (for a check line). */
function printerCode(s: { status: PrinterStatus; code?: string }): string {
  return s.code ?? statusError(s.status) ??
    (s.status === "UNKNOWN"
      ? "PRINTER_UNKNOWN"
      : s.status === "PAPER_NEAR_END"
      ? "PRINTER_PAPER_NEAR_END"
      : "PRINTER_ERROR");
}

/** The code of a failed request to the job server. */
function serverCode(e: unknown): string {
  if (!(e instanceof ServerError)) return "SERVER_UNREACHABLE";
  if (e.kind === "auth") return "SERVER_AUTH";
  if (e.kind === "timeout") return "SERVER_TIMEOUT";
  if (e.kind === "garbage") return "SERVER_BAD_ANSWER";
  if (e.kind === "http") return e.status === 404 ? "SERVER_NOT_FOUND" : "SERVER_HTTP_ERROR";
  return "SERVER_UNREACHABLE";
}

const EXIT_BITS: Partial<Record<Check["area"], number>> = {
  config: 1,
  state: 2,
  server: 4,
  printer: 8,
  logs: 16,
  templates: 32,
  print: 64,
};

/** The exit code for a set of checks. */
export function exitCode(checks: Check[]): number {
  let code = 0;
  for (const c of checks) if (c.result === "FAIL") code |= EXIT_BITS[c.area] ?? 1;
  return code;
}

async function checkState(c: Config): Promise<Check> {
  try {
    await Deno.mkdir(c.state.path, { recursive: true });
    const j = Journal.open(journalPath(c));
    try {
      j.probeWritable();
      return {
        area: "state",
        result: "PASS",
        detail: `${c.state.path} is writable (${j.count()} jobs in the journal)`,
      };
    } finally {
      j.close();
    }
  } catch (e) {
    if (e instanceof StateLockedError) {
      let who = "another process";
      try {
        const o = JSON.parse(await Deno.readTextFile(join(c.state.path, "agent.owner.json")));
        who = `process ${o.pid}, started ${o.started_at}`;
      } catch { /* unknown */ }
      return {
        area: "state",
        result: "WARN",
        code: "STATE_IN_USE",
        detail:
          `${c.state.path} is in use by a running agent (${who}): fine if that is the service`,
      };
    }
    return {
      area: "state",
      result: "FAIL",
      code: "STATE_UNWRITABLE",
      detail: `${c.state.path} cannot be written: ${(e as Error).message}`,
    };
  }
}

async function checkLogs(c: Config): Promise<Check> {
  try {
    await Deno.mkdir(dirname(c.logging.log_file), { recursive: true });
    const f = await Deno.open(c.logging.log_file, { append: true, create: true });
    f.close();
    return { area: "logs", result: "PASS", detail: `${c.logging.log_file} is writable` };
  } catch (e) {
    return {
      area: "logs",
      result: "FAIL",
      code: "LOGS_UNWRITABLE",
      detail: `${c.logging.log_file}: ${(e as Error).message}`,
    };
  }
}

async function checkServer(c: Config): Promise<Check[]> {
  let ca: string | null = null;
  if (c.server.ca_file) {
    try {
      ca = await Deno.readTextFile(c.server.ca_file);
    } catch (e) {
      return [{
        area: "server",
        result: "FAIL",
        detail: `server.ca_file ${c.server.ca_file}: ${(e as Error).message}`,
      }];
    }
  }
  const client = JobServerClient.fromConfig(
    c,
    serverToken(c),
    ca,
    Math.min(c.server.request_timeout, 10) * 1000,
  );
  const t0 = performance.now();
  try {
    const roles = [...new Set(c.stations.flatMap((st) => st.roles))];
    const r = await client.listPending({
      terminal: c.terminal_identity.terminal_id,
      role: roles.join(","),
      waitS: 0,
    });
    const ms = Math.round(performance.now() - t0);
    const out: Check[] = [{
      area: "server",
      result: "PASS",
      detail:
        `${c.server.base_url} answered in ${ms} ms, token accepted; ${r.items.length} job(s) pending`,
    }];
    out.push(...await checkListed(c, ca, r.items, roles));
    if (r.foreignNext) {
      out.push({
        area: "server",
        result: "WARN",
        code: "SERVER_NEXT_ORIGIN",
        detail: `the list's next page ${r.foreignNext} is not on ${c.server.base_url}: the agent ` +
          `will read only the first page. Behind a reverse proxy, pass the original Host ` +
          `(nginx: proxy_set_header Host $host) or set Django's USE_X_FORWARDED_HOST`,
      });
    }
    if (listedNewestFirst(r.items, c.server.naive_time_zone)) {
      out.push({
        area: "server",
        result: "WARN",
        code: "SERVER_NEWEST_FIRST",
        detail: `the server lists jobs newest first: a backlog longer than a page prints its ` +
          `newest jobs first. Order the list by creation (the backend's ordering, or ` +
          `server.query.extra {"ordering": "id"})`,
      });
    }
    out.push(await probeHeartbeat(c, client), await probeStatus(c, client, r.items));
    if (r.serverDate) {
      const skew = Math.round((Date.now() - Date.parse(r.serverDate)) / 1000);
      out.push({
        area: "clock",
        result: Math.abs(skew) > 120 ? "WARN" : "PASS",
        ...(Math.abs(skew) > 120 ? { code: "CLOCK_SKEW" } : {}),
        detail: Math.abs(skew) > 120
          ? `this PC's clock is ${skew} s off the server's: job expiry (jobs.max_age_seconds) and logs will be wrong`
          : `clock within ${Math.abs(skew)} s of the server`,
      });
    }
    return out;
  } catch (e) {
    const code = serverCode(e);
    const what = code === "SERVER_AUTH"
      ? `the server refused the token (HTTP ${(e as ServerError).status}${
        (e as ServerError).status === 401 ? ": missing or wrong" : ": forbidden"
      })`
      : code === "SERVER_UNREACHABLE"
      ? `cannot reach the POS server at ${c.server.base_url}: ${
        (e as Error).message.replace(/^GET \S+: /, "")
      }`
      : (e as Error).message;
    return [{ area: "server", result: "FAIL", code, detail: what }];
  } finally {
    client.close();
  }
}

/**
 * What the list holds that this agent will leave alone (another terminal's or a role no station
 * serves), and whether the server's role filter hides jobs created without a role: listed again
 * without it, role-less jobs for this terminal that the filtered list lacked would never print.
 */
async function checkListed(
  c: Config,
  ca: string | null,
  items: unknown[],
  roles: string[],
): Promise<Check[]> {
  const me = c.terminal_identity.terminal_id;
  const fields = (x: unknown) => {
    const o = (x && typeof x === "object" ? x : {}) as Record<string, unknown>;
    const role = typeof o.printer_role === "string" && o.printer_role ? o.printer_role : null;
    const terminal = typeof o.terminal_id === "string" && o.terminal_id ? o.terminal_id : null;
    return { role, terminal, id: String(o.id ?? "?") };
  };
  const out: Check[] = [];
  const others = new Map<string, number>();
  for (const x of items) {
    const f = fields(x);
    if (f.terminal && f.terminal !== me) continue;
    if (f.role && !roles.includes(f.role)) others.set(f.role, (others.get(f.role) ?? 0) + 1);
  }
  if (others.size) {
    const n = [...others.values()].reduce((a, b) => a + b, 0);
    out.push({
      area: "server",
      result: "WARN",
      code: "SERVER_JOBS_LEFT_ALONE",
      detail:
        `${n} pending job(s) for this terminal are for printer roles no printer here serves (${
          [...others].map(([r, k]) => `${r} ${k}`).join(", ")
        }): they stay PENDING for another agent`,
    });
  }
  if (!c.server.query.printer_role) return out;
  // a client of its own: it reads from page 1, without the role
  const client = JobServerClient.fromConfig(c, serverToken(c), ca, 10_000);
  try {
    const all = await client.listPending({ terminal: me, role: "", waitS: 0, maxPages: 5 });
    const seen = new Set(items.map((x) => fields(x).id));
    const hidden = all.items.map(fields).filter((f) =>
      !f.role && (!f.terminal || f.terminal === me) && !seen.has(f.id)
    );
    if (hidden.length) {
      out.push({
        area: "server",
        result: "WARN",
        code: "SERVER_ROLE_FILTER_HIDES",
        detail: `the server's ${c.server.query.printer_role} filter hides ${hidden.length} ` +
          `pending job(s) created without a printer role (ids ${
            hidden.slice(0, 5).map((f) => f.id).join(", ")
          }): they would never print`,
      });
    }
  } catch {
    /* the list answered once already; a second try failing says nothing new */
  } finally {
    client.close();
  }
  return out;
}

/** The heartbeat path, with a real heartbeat (marked as the selftest's). */
async function probeHeartbeat(c: Config, client: JobServerClient): Promise<Check> {
  const me = c.terminal_identity;
  try {
    await client.heartbeat(selftestHeartbeat(me, Date.now()));
    return {
      area: "server",
      result: "PASS",
      detail: `heartbeat ${c.server.paths.heartbeat} accepted`,
    };
  } catch (e) {
    return {
      area: "server",
      result: "FAIL",
      code: "SERVER_HEARTBEAT",
      detail: `heartbeat to ${c.server.paths.heartbeat} failed: ${(e as Error).message}`,
    };
  }
}

/** The statuses the agent reports; a backend's status field must take each of them. */
const REPORTED = ["FETCHED", "PRINTING", "COMPLETED", "FAILED"];

/**
 * The status path and method. Where the server answers OPTIONS (a DRF backend does), it tells
 * whether the route exists, which methods it takes and, for a real job, which status values it
 * accepts and which fields a PUT would require: nothing is changed. Elsewhere a report for a job
 * id no server has is sent: a 404 from the route itself (not the server's "no such page") is the
 * right answer; a 405, a 500 or a redirect means the path or method is wrong.
 */
async function probeStatus(
  c: Config,
  client: JobServerClient,
  listed: unknown[],
): Promise<Check> {
  const method = c.server.status_method;
  const what = `${method} ${c.server.paths.status}`;
  const fail = (detail: string, code = "SERVER_PATH"): Check => ({
    area: "server",
    result: "FAIL",
    code,
    detail: `status reports (${what}) would fail: ${detail}`,
  });
  const id = await someJobId(c, client, listed);
  const at = (jobId: string) => c.server.paths.status.replace("{id}", encodeURIComponent(jobId));
  try {
    const opt = await client.probe("OPTIONS", at(id ?? "0"));
    if (opt.status === 200 && opt.allow) {
      const allowed = opt.allow.split(",").map((m) => m.trim().toUpperCase());
      if (!allowed.includes(method)) {
        return fail(
          `the server takes ${opt.allow} there, not ${method}: set server.status_method ` +
            `(a stock DRF viewset updates a job by PATCH on /print-jobs/{id}/)`,
        );
      }
      const fields = (opt.data as { actions?: Record<string, Record<string, DrfField>> } | null)
        ?.actions?.PUT;
      if (fields) {
        const choices = fields.status?.choices?.map((x) => String(x.value));
        const missing = choices ? REPORTED.filter((v) => !choices.includes(v)) : [];
        if (missing.length) {
          return fail(
            `the backend's status field takes ${choices!.join(", ")}, not ${
              missing.join(", ")
            }: its choices must include the agent's statuses as they are (upper case)`,
            "SERVER_STATUS_VALUES",
          );
        }
        const required = Object.entries(fields)
          .filter(([k, f]) => f.required && !f.read_only && k !== "status")
          .map(([k]) => k);
        if (method === "PUT" && required.length) {
          return fail(
            `PUT replaces the whole job and the server requires ${required.join(", ")}: ` +
              `set server.status_method to PATCH`,
          );
        }
      }
      return {
        area: "server",
        result: "PASS",
        detail: `status reports (${what}) reach a route that takes ${method}` +
          (fields ? ` and the agent's status values (job ${id})` : " (no job to check its values)"),
      };
    }
    if (opt.status === 404 && (await client.probe("OPTIONS", c.server.paths.jobs)).allow) {
      // the server answers OPTIONS on its routes, and this one is not among them
      return fail(
        `no such route on the server (OPTIONS ${at(id ?? "0")} answers 404 while the job list ` +
          `answers it): set server.paths.status to the job's own route (a stock DRF viewset: ` +
          `/print-jobs/{id}/ with server.status_method PATCH)`,
      );
    }
  } catch { /* no OPTIONS here: the probe report below decides */ }
  try {
    await client.report("0", statusReport("FETCHED", 0, Date.now()));
    return { area: "server", result: "PASS", detail: `status reports (${what}) accepted` };
  } catch (e) {
    if (e instanceof ServerError && (e.status === 404 || e.status === 400)) {
      return {
        area: "server",
        result: "PASS",
        detail: `status reports (${what}) reach the server (HTTP ${e.status} for a probe job id)`,
      };
    }
    const hint = e instanceof ServerError && e.status === 405
      ? `; the server does not take ${method} there: check server.status_method`
      : "";
    return fail(`${(e as Error).message}${hint}`);
  }
}

/** A field as DRF's OPTIONS describes it. */
interface DrfField {
  required?: boolean;
  read_only?: boolean;
  choices?: { value: unknown }[];
}

/** A real job's id to look at: one listed for us, else the first the job list holds at all. */
async function someJobId(
  c: Config,
  client: JobServerClient,
  listed: unknown[],
): Promise<string | null> {
  const idOf = (x: unknown) => {
    const id = (x as { id?: unknown } | null)?.id;
    return typeof id === "number" || (typeof id === "string" && id) ? String(id) : null;
  };
  for (const x of listed) if (idOf(x)) return idOf(x);
  try {
    const any = await client.probe("GET", c.server.paths.jobs);
    const page = Array.isArray(any.data)
      ? any.data
      : (any.data as { results?: unknown[] } | null)?.results ?? [];
    for (const x of page) if (idOf(x)) return idOf(x);
  } catch { /* none to look at */ }
  return null;
}

/** "printer kitchen (backup: bar): " where there are several stations; "" for one. */
function stationTag(c: Config, st: StationConfig): string {
  if (!c.printers) return "";
  return `printer ${st.id}${st.backup ? ` (backup: ${st.backup})` : ""}: `;
}

async function printTestPage(printer: Printer, renderer: Renderer, tag: string): Promise<Check> {
  try {
    const r = await renderer.render({
      id: "selftest",
      uuid: `selftest-${Date.now()}`,
      job_type: "test",
      priority: 0,
    });
    await printer.print(r.bytes, {
      title: "Print Agent test page",
      jobId: "selftest",
      preview: r.preview,
    });
    return {
      area: "print",
      result: "PASS",
      detail: `${tag}test page sent (${r.bytes.length} bytes): check the paper`,
    };
  } catch (e) {
    return {
      area: "print",
      result: "FAIL",
      code: "TEST_PAGE_FAILED",
      detail: `${tag}test page failed: ${(e as Error).message}`,
    };
  }
}

async function checkPrinter(st: StationConfig, printer: Printer): Promise<Check[]> {
  const out: Check[] = [];
  if (st.transport === "virtual") {
    return [{
      area: "printer",
      result: "FAIL",
      code: "PRINTER_VIRTUAL",
      detail: `the printer is virtual (${st.path}): every receipt would be reported COMPLETED to ` +
        `the POS while it only lands in a folder`,
    }];
  }
  if (st.transport === "winspool") {
    const { listSpoolerPrinters } = await import("../printers/winspool.ts");
    const account = Deno.env.get("USERNAME") ?? "this account";
    try {
      const list = await listSpoolerPrinters();
      const found = list.printers.find((p) => p.name.toLowerCase() === st.name.toLowerCase());
      if (!found) {
        out.push({
          area: "printer",
          result: "FAIL",
          code: "PRINTER_NOT_FOUND",
          detail: `"${st.name}" is not visible to ${account}; visible: ${
            list.printers.map((p) => `"${p.name}"`).join(", ") || "none"
          }. A service running as LocalSystem does not see printers installed for one user only`,
        });
        return out;
      }
      out.push({
        area: "printer",
        result: "PASS",
        detail:
          `"${found.name}" visible to ${account}: driver ${found.driver}, port ${found.port}, datatype ${
            found.datatype || "RAW"
          }`,
      });
    } catch (e) {
      out.push({
        area: "printer",
        result: "FAIL",
        code: "SPOOLER_UNAVAILABLE",
        detail: `cannot list printers: ${(e as Error).message}`,
      });
      return out;
    }
  }
  const s = await printer.status();
  const result = s.status === "OK"
    ? "PASS"
    : s.status === "UNKNOWN" || s.status === "PAPER_NEAR_END"
    ? "WARN"
    : "FAIL";
  out.push({
    area: "printer",
    result,
    ...(result === "PASS" ? {} : { code: printerCode(s) }),
    detail: `${printer.description}: ${s.status} (${s.detail})`,
  });
  return out;
}

async function checkService(name: string): Promise<Check | null> {
  if (Deno.build.os !== "windows") return null;
  try {
    const r = await new Deno.Command("C:\\Windows\\System32\\sc.exe", {
      args: ["qc", name],
      stdout: "piped",
      stderr: "piped",
    })
      .output();
    const text = new TextDecoder().decode(r.stdout);
    if (!r.success) {
      return {
        area: "service",
        result: "WARN",
        code: "SERVICE_NOT_REGISTERED",
        detail: `service ${name} is not registered (agent service install)`,
      };
    }
    const account = text.match(/SERVICE_START_NAME\s*:\s*(.+)/)?.[1]?.trim() ?? "unknown";
    const start = text.match(/START_TYPE\s*:\s*\d*\s*(.+)/)?.[1]?.trim() ?? "unknown";
    return {
      area: "service",
      result: "PASS",
      detail: `service ${name} registered: account ${account}, start ${start}` +
        (/LocalSystem/i.test(account)
          ? " (LocalSystem sees only printers installed for all users)"
          : ""),
    };
  } catch (e) {
    return {
      area: "service",
      result: "WARN",
      detail: `cannot query the service: ${(e as Error).message}`,
    };
  }
}

/** Options of {@link runChecks}. */
export interface SelftestOptions {
  /** The validated configuration. */
  config: Config | null;
  /** Why the configuration did not load, if so. */
  configError: ConfigError | null;
  /** Where the configuration was looked for. */
  configPath: string;
  /** Print JSON instead of lines. */
  json: boolean;
  /** Also print a test page. */
  print: boolean;
}

/** Runs every check; returns the lines in order. */
export async function runChecks(o: SelftestOptions): Promise<Check[]> {
  const checks: Check[] = [];
  if (!o.config) {
    checks.push({
      area: "config",
      result: "FAIL",
      code: "CONFIG_INVALID",
      detail: o.configError?.message ?? `cannot load ${o.configPath}`,
    });
    return advise(checks, null);
  }
  const c = o.config;
  checks.push({
    area: "config",
    result: "PASS",
    detail: `${c.source} is valid (terminal ${c.terminal_identity.terminal_id})`,
  });
  checks.push(await checkState(c));
  checks.push(await checkLogs(c));
  const renderers: (Renderer | null)[] = [];
  for (const st of c.stations) {
    const tag = stationTag(c, st);
    try {
      const renderer = await rendererFor(c, st);
      renderers.push(renderer);
      for (const why of renderer.refusedVariants.values()) {
        checks.push({
          area: "templates",
          result: "FAIL",
          code: "TEMPLATE_VARIANT_REFUSED",
          detail: `${tag}${why}. Jobs naming this variant print the base template`,
        });
      }
      const upgraded = renderer.profile.upgraded;
      checks.push({
        area: "templates",
        result: upgraded ? "WARN" : "PASS",
        ...(upgraded ? { code: "PROFILE_OLD_FORMAT" } : {}),
        detail: `${tag}profile ${renderer.profile.id} (${renderer.profile.source}), ` +
          `${renderer.columns} columns, ${capabilitySummary(renderer.profile)}; templates compile`,
      });
      checks.push(scriptsCheck(renderer, tag));
    } catch (e) {
      renderers.push(null);
      checks.push({
        area: "templates",
        result: "FAIL",
        code: /^Unknown printer brand/.test((e as Error).message)
          ? "PRINTER_BRAND_UNKNOWN"
          : "TEMPLATES_INVALID",
        detail: `${tag}${(e as Error).message}`,
      });
    }
  }
  checks.push(...await checkServer(c));
  // every station, its backup included: a backup that is down is found now, not at failover
  for (const [i, st] of c.stations.entries()) {
    const tag = stationTag(c, st);
    let printer: Printer | null = null;
    try {
      printer = await createPrinter(st);
      checks.push(
        ...(await checkPrinter(st, printer)).map((k) => ({ ...k, detail: tag + k.detail })),
      );
      const renderer = renderers[i];
      if (o.print && renderer) checks.push(await printTestPage(printer, renderer, tag));
    } catch (e) {
      checks.push({
        area: "printer",
        result: "FAIL",
        code: (e as { code?: string }).code ?? "PRINTER_ERROR",
        detail: `${tag}${(e as Error).message}`,
      });
    } finally {
      await printer?.close?.();
    }
  }
  const svc = await checkService(SERVICE_NAME);
  if (svc) checks.push(svc);
  return advise(checks, c);
}

/** Scripts a font draws (a letter each), as the selftest names them. */
const SCRIPT_PROBES: [string, number][] = [
  ["Thai", 0x0e01],
  ["Khmer", 0x1780],
  ["Arabic", 0x0628],
  ["Hebrew", 0x05d0],
  ["Vietnamese", 0x1ec5],
  ["Chinese/Japanese/Korean", 0x4e2d],
];

/**
 * How this printer prints text its code pages lack: drawn (which scripts, with which fonts), or
 * transliterated and `?` where the profile has no raster images. A font the agent carries or that
 * `render.fonts` names and that cannot be read is a FAIL / WARN; no CJK font on the PC is said.
 */
export function scriptsCheck(renderer: Renderer, tag: string): Check {
  const fonts = renderer.fonts;
  if (!fonts) {
    return {
      area: "templates",
      result: "PASS",
      detail: `${tag}profile ${renderer.profile.id} has no raster images: text beyond its code ` +
        `pages (Thai, Arabic, Chinese…) prints transliterated where a close letter exists, else ?`,
    };
  }
  const drawn: string[] = [], missing: string[] = [];
  for (const [name, cp] of SCRIPT_PROBES) {
    const f = fonts.fontFor(cp);
    if (f) drawn.push(`${name} (${f.source.name})`);
    else missing.push(name);
  }
  const broken = fonts.problems;
  const own = broken.some((p) => p.includes("harfbuzz") || /Noto/.test(p));
  return {
    area: "templates",
    result: own ? "FAIL" : broken.length ? "WARN" : "PASS",
    ...(own ? { code: "FONTS_UNREADABLE" } : broken.length ? { code: "FONT_UNREADABLE" } : {}),
    detail: `${tag}text beyond the code pages is drawn: ${drawn.join(", ") || "none"}` +
      (missing.length
        ? `; no font on this PC for ${missing.join(", ")} (printed as ?; render.fonts can name one)`
        : "") +
      (broken.length ? `; cannot read ${broken.join("; ")}` : ""),
  };
}

/** Adds the next step to every FAIL and WARN line that has a code. */
function advise(checks: Check[], c: Config | null): Check[] {
  for (const k of checks) {
    if (k.result !== "PASS" && k.code && !k.next) k.next = NEXT_STEPS[k.code]?.(c);
  }
  return checks;
}

/** What the printer is asked to do, as the profile declares it (docs/printing.md has sources). */
function capabilitySummary(p: Profile): string {
  const c = p.capabilities;
  const qr = c.qr_native.value ? "native QR" : c.raster_image.value ? "QR as image" : "QR as text";
  return `${qr}, ${c.inverse.value ? "inverse" : "no inverse"}, code pages ${
    p.codepages.join("/")
  }`;
}

/** `agent selftest`: runs every check, prints the table or JSON; resolves to the exit code. */
export async function selftest(o: SelftestOptions): Promise<number> {
  const checks = await runChecks(o);
  const code = exitCode(checks);
  if (o.json) {
    console.log(
      JSON.stringify({ version: VERSION, config: o.configPath, exit_code: code, checks }, null, 2),
    );
    return code;
  }
  console.log(`Print Agent ${VERSION} selftest — config ${o.configPath}`);
  for (const c of checks) {
    console.log(`${c.result.padEnd(5)} ${c.area.padEnd(10)} ${c.detail}`);
    if (c.next) console.log(`${" ".repeat(16)}→ ${c.next}`);
  }
  const fails = checks.filter((c) => c.result === "FAIL").length;
  const warns = checks.filter((c) => c.result === "WARN").length;
  console.log(`Result: ${fails} FAIL, ${warns} WARN — exit code ${code}`);
  return code;
}
