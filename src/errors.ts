/**
 * Stable error codes: what support searches the log for, and what the server receives in a
 * FAILED report. A code never changes meaning; new situations get new codes.
 * @module
 */

/** Every error code the agent reports, with whether trying again can help. */
export const ERROR_CODES = {
  BAD_PAYLOAD: { transient: false, text: "the job from the server is malformed" },
  UNSUPPORTED_JOB_TYPE: { transient: false, text: "this agent does not accept that job_type" },
  JOB_TOO_LARGE: {
    transient: false,
    text: "the job is over one of the agent's size limits (limits.* in the configuration)",
  },
  DUPLICATE_UUID: {
    transient: false,
    text: "another job id already carried this uuid; this one is not printed",
  },
  POISON_JOB: {
    transient: false,
    text: "the agent died or hung twice while this job was in hand; it is not taken up again",
  },
  INVALID_BASE64: { transient: false, text: "raw_base64 is not valid base64" },
  RAW_COMMAND_REFUSED: {
    transient: false,
    text: "the raw job would change the printer for good (power off, memory switches, NV memory)",
  },
  RENDER_ERROR: { transient: false, text: "the receipt could not be rendered" },
  TEMPLATE_ERROR: { transient: false, text: "the store template has an error" },
  EXPIRED: { transient: false, text: "the job is older than the allowed age and was not printed" },
  INTERRUPTED_MAY_HAVE_PRINTED: {
    transient: false,
    text: "the agent stopped while printing this job; it may be on paper; reprint if missing",
  },
  JOURNAL_RESET_MAY_HAVE_PRINTED: {
    transient: false,
    text: "the journal was damaged and replaced; this older job may already be on paper",
  },
  WRONG_PRINTER_ROLE: { transient: false, text: "the job is for another printer role" },
  PRINTER_OFFLINE: { transient: true, text: "the printer is not reachable" },
  PRINTER_TIMEOUT: { transient: true, text: "the printer did not take the data in time" },
  PRINTER_NOT_FOUND: { transient: true, text: "no printer with that name is installed" },
  PRINTER_PAPER_OUT: { transient: true, text: "the printer is out of paper" },
  PRINTER_COVER_OPEN: { transient: true, text: "the printer cover is open" },
  PRINTER_CUTTER_ERROR: {
    transient: true,
    text: "the printer's cutter is stuck (paper jammed at the cutter?)",
  },
  PRINTER_OVERHEAT: {
    transient: true,
    text: "the print head is too hot; it resumes when it cools",
  },
  PRINTER_ERROR: { transient: true, text: "the printer reported an error" },
  PRINTER_ACCESS_DENIED: { transient: true, text: "this account may not use the printer" },
  SPOOLER_UNAVAILABLE: { transient: true, text: "the Windows print spooler is not running" },
  PRINT_STUCK_IN_QUEUE: {
    transient: false,
    text: "the job stayed in the Windows print queue (struk tidak keluar)",
  },
  STATE_STORE_UNWRITABLE: { transient: true, text: "the agent's state folder cannot be written" },
  REPORT_REFUSED: {
    transient: false,
    text: "the server refused a status report (4xx) and will keep refusing it; it was dropped",
  },
  REPORT_UNDELIVERED: {
    transient: false,
    text: "a status report was not accepted for server.report_expiry_hours and was dropped",
  },
  INTERNAL_ERROR: { transient: false, text: "an unexpected error in the agent" },
} as const;

/** One of {@link ERROR_CODES}. */
export type ErrorCode = keyof typeof ERROR_CODES;

/** An error with a stable code; `transient` says whether a retry may succeed. */
export class AgentError extends Error {
  /** Stable code, e.g. `PRINTER_OFFLINE`. */
  code: ErrorCode;
  /** Windows error number where one applies (e.g. 1801). */
  win32?: number;
  /** Creates a AgentError. */
  constructor(code: ErrorCode, message: string, options?: ErrorOptions & { win32?: number }) {
    super(message, options);
    this.name = "AgentError";
    this.code = code;
    this.win32 = options?.win32;
  }
  /** Whether retrying may succeed. */
  get transient(): boolean {
    return ERROR_CODES[this.code].transient;
  }
}

/** Whether a string (e.g. read back from the journal) is one of the codes. */
export function isErrorCode(s: string): s is ErrorCode {
  return Object.hasOwn(ERROR_CODES, s);
}

/** Wraps anything thrown into an {@link AgentError} (unknown errors become INTERNAL_ERROR). */
export function toAgentError(e: unknown, fallback: ErrorCode = "INTERNAL_ERROR"): AgentError {
  if (e instanceof AgentError) return e;
  const msg = e instanceof Error ? e.message : String(e);
  return new AgentError(fallback, msg, { cause: e });
}
