/**
 * The wire format of the job server contract (docs/protocol.md), in one place: the status report
 * body, the heartbeat body, and the job list's page. The journal stores report bodies built here;
 * the job server client sends them; nobody else builds or parses them.
 * @module
 */
import type { ConfigReport } from "../site/remote_config.ts";
import type { UpdateReport } from "../site/updater.ts";
import type { Config } from "../config.ts";

/** Status values reported to the server. */
export type ReportStatus = "FETCHED" | "PRINTING" | "COMPLETED" | "FAILED";

/** The body of a status report. */
export interface StatusReport {
  /** The printer's status. */
  status: ReportStatus;
  /** The attempt the report is about (0: not printed). */
  attempt: number;
  /** The stable error code of the last failure, if any. */
  error_code?: string;
  /** What went wrong, for a person, if anything. */
  error_message?: string;
  /** PRINTING: the station whose printer this attempt goes to. */
  printer?: string;
  /** COMPLETED: the station whose printer printed the job. */
  printed_on?: string;
  /** COMPLETED on a backup printer: the job's own station. */
  failover_from?: string;
  /** COMPLETED on a backup printer: why, the own printer's last error code (`PRINTER_PAPER_OUT`). */
  failover_reason?: string;
  /** When (ms). */
  at: string;
}

/**
 * What a COMPLETED report says of the paper, figures only the agent has: the template and its
 * hash, the experiment arm (when the job named one), the paper's length and the printing time.
 */
export interface PrintedWith {
  /** The template printed (`receipt`, `receipt.<variant>`). */
  template?: string;
  /** A short hash of its source. */
  template_hash?: string;
  /** The experiment's id, when the job named one. */
  experiment?: string | null;
  /** The variant asked for (a reprint: its original's). */
  variant?: string | null;
  /** The variant had no template: the base printed. */
  variant_fallback?: boolean;
  /** Paper used, in millimetres, computed from the bytes (203 dpi). */
  paper_mm?: number;
  /** From the first byte sent to the printer handle closed (ms). */
  print_ms?: number;
}

/** Longest `error_message` sent. */
const MAX_ERROR_MESSAGE = 500;

/** Builds a status report body. */
export function statusReport(
  status: ReportStatus,
  attempt: number,
  at: number,
  extra: Omit<Partial<StatusReport>, "status" | "attempt" | "at"> & PrintedWith = {},
): StatusReport & PrintedWith {
  const r: StatusReport & PrintedWith = {
    status,
    attempt,
    ...definedOnly(extra),
    at: new Date(at).toISOString(),
  };
  if (r.error_message !== undefined) r.error_message = r.error_message.slice(0, MAX_ERROR_MESSAGE);
  return r;
}

function definedOnly<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** A station as the heartbeat's `printers` lists it. */
export interface PrinterBeat {
  /** The station's id. */
  id: string;
  /** The printer roles it serves. */
  roles: string[];
  /** The printer's name. */
  name: string;
  /** How the printer is reached: tcp, winspool, file or virtual. */
  transport: string;
  /** The printer's status. */
  status: string;
  /** What it means, for a person. */
  detail: string;
  /** When the printer's status became what it is (ISO 8601). */
  status_since: string;
  /** Jobs waiting to print. */
  queue_depth: number;
  /** The last finished job's id. */
  last_job_id: string | null;
  /** Jobs failed in a row. */
  consecutive_errors: number;
  /** Whether its jobs go to its backup now. */
  failover_active: boolean;
  /** The backup station's id, if any. */
  backup: string | null;
  /** Whether receipts (customer copies) may go to the backup too (`failover_receipts`). */
  failover_receipts: boolean;
}

/** Agent status as sent in heartbeats. */
export type AgentStatus = "READY" | "PRINTING" | "ERROR" | "STOPPED";

/** What the agent knows of itself at one moment: the heartbeat, `/status` and `/metrics`. */
export interface AgentSnapshot {
  /** This terminal. */
  terminal_id: string;
  /** The store or location. */
  location_id: string | number | null;
  /** READY, PRINTING, ERROR or STOPPED. */
  agent_status: AgentStatus;
  /** Every station. */
  printers: PrinterBeat[];
  /** Jobs waiting to print. */
  queue_depth: number;
  /** Status reports waiting for the server. */
  outbox_depth: number;
  /** Age of the oldest waiting report. */
  oldest_report_age_seconds: number;
  /** Jobs whose status report the server refused for good in the last 24 h (400 and the like). */
  reports_refused: number;
  /** Whether the journal can be written. */
  state_store: "OK" | "UNWRITABLE";
  /** The agent's version. */
  version: string;
  /** Seconds since start. */
  uptime_seconds: number;
  /** When (ms). */
  at: number;
  /** Remote configuration's state (absent where the agent takes none, e.g. the selftest). */
  config?: ConfigReport;
  /** Self-update's state (site/updater.ts). */
  update?: UpdateReport;
}

/** The heartbeat body: the seed's fields for the first station, then every station. */
export function heartbeatBody(s: AgentSnapshot): Record<string, unknown> {
  const first = s.printers[0];
  return {
    terminal_id: s.terminal_id,
    printer_role: first?.roles[0] ?? null,
    location_id: s.location_id,
    agent_status: s.agent_status,
    printer_status: first?.status ?? "UNKNOWN",
    printer_detail: first?.detail ?? "",
    printer_name: first?.name ?? "",
    last_job_id: first?.last_job_id ?? null,
    consecutive_errors: first?.consecutive_errors ?? 0,
    queue_depth: s.queue_depth,
    outbox_depth: s.outbox_depth,
    oldest_report_age_seconds: s.oldest_report_age_seconds,
    reports_refused: s.reports_refused,
    state_store: s.state_store,
    version: s.version,
    uptime_seconds: s.uptime_seconds,
    ...(s.config ? { config: s.config } : {}),
    ...(s.update ? { update: s.update } : {}),
    printers: s.printers,
    at: new Date(s.at).toISOString(),
  };
}

/**
 * The heartbeat of an agent that cannot start because its state folder cannot be written: ERROR,
 * every configured printer UNKNOWN (not checked), nothing queued.
 */
export function unwritableHeartbeat(
  c: Pick<Config, "terminal_identity" | "stations">,
  version: string,
  upMs: number,
  at: number,
): Record<string, unknown> {
  return heartbeatBody({
    terminal_id: c.terminal_identity.terminal_id,
    location_id: c.terminal_identity.location_id,
    agent_status: "ERROR",
    printers: c.stations.map((st) => ({
      id: st.id,
      roles: st.roles,
      name: st.name,
      transport: st.transport,
      status: "UNKNOWN",
      detail: "not checked: the agent cannot write its state folder",
      queue_depth: 0,
      status_since: new Date(at - upMs).toISOString(),
      last_job_id: null,
      consecutive_errors: 0,
      failover_active: false,
      backup: st.backup,
      failover_receipts: st.failover_receipts,
    })),
    queue_depth: 0,
    outbox_depth: 0,
    oldest_report_age_seconds: 0,
    reports_refused: 0,
    state_store: "UNWRITABLE",
    version,
    uptime_seconds: Math.round(upMs / 1000),
    at,
  });
}

/** The selftest's heartbeat: marked `selftest: true`, so the server can tell it from service. */
export function selftestHeartbeat(
  me: { terminal_id: string; printer_role: string; location_id: string | number | null },
  at: number,
): Record<string, unknown> {
  return {
    terminal_id: me.terminal_id,
    printer_role: me.printer_role,
    location_id: me.location_id,
    agent_status: "READY" satisfies AgentStatus,
    selftest: true,
    at: new Date(at).toISOString(),
  };
}

/** A job list answer: a JSON list, or a DRF page `{"results": [...], "next": ...}`; else null. */
export function parseJobPage(data: unknown): { items: unknown[]; next: string | null } | null {
  if (Array.isArray(data)) return { items: data, next: null };
  const page = data as { results?: unknown; next?: unknown } | null;
  if (page && typeof page === "object" && Array.isArray(page.results)) {
    return {
      items: page.results,
      next: typeof page.next === "string" && page.next ? page.next : null,
    };
  }
  return null;
}
