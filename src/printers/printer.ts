/**
 * The printer interface every transport implements: one job is one open → write all → close,
 * so the output never waits in a buffer for the next job (the seed's flush lesson).
 * @module
 */

import type { PaperOptions } from "../render/paper.ts";
import { faultArmed, faultPoint } from "../core/fault.ts";
import { AgentError, type ErrorCode } from "../errors.ts";

/**
 * Printer status as reported in heartbeats. UNKNOWN is never reported as OK. PAPER_NEAR_END is a
 * warning: the printer still prints.
 */
export type PrinterStatus =
  | "OK"
  | "PAPER_NEAR_END"
  | "OFFLINE"
  | "PAPER_OUT"
  | "COVER_OPEN"
  | "CUTTER_ERROR"
  | "OVERHEAT"
  | "ERROR"
  | "UNKNOWN";

/** Every status, best first (metrics list them all, so a dashboard sees a 0 as well as a 1). */
export const PRINTER_STATUSES: readonly PrinterStatus[] = [
  "OK",
  "PAPER_NEAR_END",
  "UNKNOWN",
  "OFFLINE",
  "PAPER_OUT",
  "COVER_OPEN",
  "CUTTER_ERROR",
  "OVERHEAT",
  "ERROR",
];

/** Statuses in which the printer takes jobs (UNKNOWN: not known not to). */
export function printable(s: PrinterStatus): boolean {
  return s === "OK" || s === "PAPER_NEAR_END" || s === "UNKNOWN";
}

/** The one table from a printer status to the error code it means (OK, near end, UNKNOWN: none). */
const STATUS_ERRORS: Partial<Record<PrinterStatus, ErrorCode>> = {
  OFFLINE: "PRINTER_OFFLINE",
  PAPER_OUT: "PRINTER_PAPER_OUT",
  COVER_OPEN: "PRINTER_COVER_OPEN",
  CUTTER_ERROR: "PRINTER_CUTTER_ERROR",
  OVERHEAT: "PRINTER_OVERHEAT",
  ERROR: "PRINTER_ERROR",
};

/** Codes that mean the printer cannot be reached at all: shown as OFFLINE. */
const UNREACHABLE: ReadonlySet<ErrorCode> = new Set([
  "PRINTER_TIMEOUT",
  "PRINTER_NOT_FOUND",
  "SPOOLER_UNAVAILABLE",
]);

/** The error a printer status implies, if it means printing now would fail. */
export function statusError(s: PrinterStatus): ErrorCode | null {
  return STATUS_ERRORS[s] ?? null;
}

/**
 * Refuses to send a job to a printer that just said it cannot print it (paper out, cover open,
 * an error): nothing is sent, and the attempt fails with the printer's code, so the retry or the
 * backup takes the job. A warning (near end) or no answer (UNKNOWN) lets the job go.
 */
export function refuseIfDown(r: PrinterStatusReport, label: string): void {
  const code = statusError(r.status);
  if (code) {
    throw new AgentError(code, `${label} is ${r.status} (${r.detail}): the job was not sent`);
  }
}

/** The printer status a failed print implies (shown until the printer is checked again). */
export function statusOf(code: ErrorCode): PrinterStatus {
  for (const [status, c] of Object.entries(STATUS_ERRORS)) {
    if (c === code) return status as PrinterStatus;
  }
  return UNREACHABLE.has(code) ? "OFFLINE" : "ERROR";
}

/** A status with a human-readable detail for logs and `--selftest`. */
export interface PrinterStatusReport {
  /** The printer's status. */
  status: PrinterStatus;
  /** What it means, for a person. */
  detail: string;
  /** The agent error code behind a bad status, when more precise than the status (e.g. PRINTER_NOT_FOUND). */
  code?: ErrorCode;
  /** Where the status came from: `dle-eot` (the printer said), `spooler`, `file`, `job`. */
  source?: string;
}

/** What a transport knows about the job it prints. */
export interface PrintDocument {
  /** Shown in the Windows queue and in file names: `POS-001 job 39`. */
  title: string;
  /** Server job id, for file names. */
  jobId: string;
  /** Human-readable text of what is printed, for the virtual printer. */
  preview?: string;
  /** How to read the bytes back into a picture (the virtual printer's `.svg`). */
  paper?: PaperOptions;
}

/** Options of {@link Printer.status}. */
export interface StatusOptions {
  /**
   * Ends the question instead of the transport's own timeouts: the printer's answer is waited for
   * until this aborts, and no timer is set. The idle probe gives each question until its next
   * round: a timer wakes the process at its time even when cleared, and a probe every 2 s with
   * two timeouts of its own cost the agent three wake-ups a second more when idle (#21).
   * Transports that cannot end a question this way (a device, the spooler) keep their timeouts.
   */
  until?: AbortSignal;
}

/** A printer transport. */
export interface Printer {
  /** e.g. `tcp 192.168.1.50:9100`. */
  readonly description: string;
  /** Sends the whole job and closes the connection/handle. Throws {@link AgentError}. */
  print(data: Uint8Array, doc: PrintDocument): Promise<void>;
  /** Checks the printer now. Never throws. */
  status(o?: StatusOptions): Promise<PrinterStatusReport>;
  /**
   * Whether {@link status} asks the printer itself (`DLE EOT` over TCP, serial or USB), so it is
   * worth asking every few seconds; otherwise it is asked with each heartbeat only.
   */
  readonly answersStatus?: boolean;
  /** Releases resources held between jobs (Workers). */
  close?(): Promise<void> | void;
}

/** Writes all of `data`, handling partial writes. */
export async function writeAll(
  w: { write(p: Uint8Array): Promise<number> },
  data: Uint8Array,
): Promise<void> {
  let off = 0;
  if (faultArmed("mid_write")) {
    // reliability suite: half the job reaches the printer, then the process dies
    const half = data.subarray(0, data.length >> 1);
    while (off < half.length) off += await w.write(half.subarray(off));
    await new Promise((r) => setTimeout(r, 20));
    faultPoint("mid_write");
  }
  while (off < data.length) {
    const n = await w.write(data.subarray(off));
    if (n <= 0) throw new Error(`write returned ${n} at byte ${off} of ${data.length}`);
    off += n;
  }
}

/** Rejects with `onTimeout()` if `p` does not settle within `ms`. */
export function withTimeout<T>(p: Promise<T>, ms: number, onTimeout: () => Error): Promise<T> {
  let t: ReturnType<typeof setTimeout> | undefined;
  const timer = new Promise<never>((_, rej) => {
    t = setTimeout(() => rej(onTimeout()), ms);
  });
  return Promise.race([p, timer]).finally(() => clearTimeout(t));
}
