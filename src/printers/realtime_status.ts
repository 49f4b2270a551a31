/**
 * ESC/POS real-time status (`DLE EOT n`): the four answers decoded into the states a store needs,
 * and the conversation that asks for them over any two-way byte link (a TCP socket, a serial
 * port, a USB printer device).
 * @module
 */
import type { PrinterStatusReport } from "./printer.ts";

/** The answers to `DLE EOT 1`…`4`; 3 and 4 are null where the printer does not answer them. */
export interface RealtimeAnswers {
  /** Printer status (online, drawer). */
  s1: number;
  /** Offline cause (cover, paper end, error). */
  s2: number;
  /** Error cause (cutter, unrecoverable, overheat), where answered. */
  s3?: number | null;
  /** Roll paper sensor (near end, end), where answered. */
  s4?: number | null;
}

/** The bits of each answer (Epson's ESC/POS reference; the clones follow it). */
const BIT = {
  s1Offline: 0x08,
  s1WaitingRecovery: 0x20,
  s2CoverOpen: 0x04,
  s2FeedButton: 0x08,
  s2PaperEndStop: 0x20,
  s2Error: 0x40,
  s3Recoverable: 0x04,
  s3Cutter: 0x08,
  s3Unrecoverable: 0x20,
  s3AutoRecoverable: 0x40,
  s4NearEnd: 0x0c,
  s4End: 0x60,
} as const;

/** Whether `b` has the fixed bits of a status answer (bit 4 set, bit 7 clear). */
export function isStatusByte(b: number): boolean {
  return Number.isInteger(b) && b >= 0 && b <= 0xff && (b & 0x90) === 0x10;
}

/**
 * The printer's state from its answers, worst first: cover open, paper out, cutter error,
 * unrecoverable error, overheat (an automatically recoverable error: the head is too hot),
 * another error, offline, paper near end (a warning: it still prints), ready. The detail names
 * every condition seen, so a technician reads all of them, not only the worst.
 */
export function decodeRealtimeStatus(a: RealtimeAnswers): PrinterStatusReport {
  const given = [a.s1, a.s2, a.s3, a.s4].filter((b): b is number => b !== null && b !== undefined);
  if (!given.every(isStatusByte)) {
    const hex = given.map((b) => `0x${b.toString(16).padStart(2, "0")}`).join(" ");
    return {
      status: "UNKNOWN",
      detail: `the printer answered, but not with ESC/POS status (${hex})`,
    };
  }
  const s3 = a.s3 ?? 0;
  const s4 = a.s4 ?? 0;
  const seen: string[] = [];
  const cover = !!(a.s2 & BIT.s2CoverOpen);
  const paperOut = (s4 & BIT.s4End) === BIT.s4End || !!(a.s2 & BIT.s2PaperEndStop);
  const nearEnd = (s4 & BIT.s4NearEnd) === BIT.s4NearEnd;
  const cutter = !!(s3 & BIT.s3Cutter);
  const unrecoverable = !!(s3 & BIT.s3Unrecoverable);
  const hot = !!(s3 & BIT.s3AutoRecoverable);
  const recoverable = !!(s3 & BIT.s3Recoverable);
  const error = !!(a.s2 & BIT.s2Error);
  const offline = !!(a.s1 & BIT.s1Offline);
  if (cover) seen.push("cover open");
  if (paperOut) seen.push("paper out");
  else if (nearEnd) seen.push("paper near end");
  if (cutter) seen.push("cutter error (paper jammed at the cutter?)");
  if (unrecoverable) seen.push("unrecoverable error: switch the printer off and on");
  if (hot) seen.push("print head too hot: it resumes when it cools");
  if (recoverable) seen.push("recoverable error");
  if (error && !cutter && !unrecoverable && !hot && !recoverable) seen.push("printer error");
  if (a.s2 & BIT.s2FeedButton) seen.push("paper being fed by the button");
  if (offline && !seen.length) seen.push("offline");
  if (a.s1 & BIT.s1WaitingRecovery) seen.push("waiting to come back online");
  const detail = seen.join("; ");
  if (cover) return { status: "COVER_OPEN", detail };
  if (paperOut) return { status: "PAPER_OUT", detail };
  if (cutter) return { status: "CUTTER_ERROR", detail };
  if (unrecoverable) return { status: "ERROR", detail };
  if (hot) return { status: "OVERHEAT", detail };
  if (error || recoverable) return { status: "ERROR", detail };
  if (offline) return { status: "OFFLINE", detail };
  if (nearEnd) return { status: "PAPER_NEAR_END", detail: detail + "; it still prints" };
  const partial = a.s4 === null || a.s4 === undefined ? " (no paper sensor answer)" : "";
  return { status: "OK", detail: (detail ? detail + "; " : "") + "ready" + partial };
}

/** A two-way byte link to a printer, for one status conversation. */
export interface StatusLink {
  /** Sends bytes. */
  write(bytes: Uint8Array): Promise<void>;
  /** The next byte from the printer, or null when none came within `timeoutMs`. */
  readByte(timeoutMs: number): Promise<number | null>;
}

/** Options of {@link askRealtimeStatus}. */
export interface AskOptions {
  /** How long to wait for each answer, ms. */
  timeoutMs: number;
  /**
   * Ask once and drop the answer first: on USB and serial links the first byte read after opening
   * is often left over from before (escpos-rs #18: "always the status of the previous request").
   */
  throwaway?: boolean;
  /**
   * With {@link RealtimeStatusAsker}: ask all four in one write once the printer is known to
   * answer all four. For questions whose answer may come late (the idle probe): a printer whose
   * network stack holds small answers back until the first is acknowledged (Nagle) sends the
   * last three only after the agent's delayed acknowledgement (up to 40 ms on Linux, 200 ms on
   * Windows), which a question before each job must not wait for. One question at a time, each
   * acknowledges the answer before.
   */
  oneWrite?: boolean;
}

/**
 * Asks `DLE EOT 1`…`4` and decodes the answers: 1 and 2 together, then 3 once both are read, then
 * 4 once 3 is answered (a late answer to an unanswered question would be read as the next one's).
 * A printer that answers 1 and 2 but not 3 (or 4) still gets a status; one that answers nothing
 * is UNKNOWN, never OK. {@link RealtimeStatusAsker} remembers what a printer answers and asks it
 * all four at once.
 */
export async function askRealtimeStatus(
  link: StatusLink,
  o: AskOptions,
): Promise<PrinterStatusReport> {
  return (await converse(link, o, false)).report;
}

/**
 * The status conversation with one printer, kept across questions: once the printer has answered
 * all four questions one after the other, the four go in one write where the question allows it
 * (`oneWrite`) and come back in one round trip (answers come in the order asked). Four answers
 * decode as four; fewer (a printer swapped for one without `DLE EOT 3` or 4, or a slow one) cannot
 * be told apart, so only 1 and 2 (always the first two) are used, and the next conversation goes
 * one question at a time again.
 */
export class RealtimeStatusAsker {
  #allFour = false;

  /** Whether the next conversation that allows it asks all four questions in one write. */
  get together(): boolean {
    return this.#allFour;
  }

  /** Asks the printer at the other end of `link` how it is. */
  async ask(link: StatusLink, o: AskOptions): Promise<PrinterStatusReport> {
    const { report, answered } = await converse(link, o, this.#allFour && !!o.oneWrite);
    this.#allFour = answered === 4;
    return report;
  }
}

async function converse(
  link: StatusLink,
  o: AskOptions,
  together: boolean,
): Promise<{ report: PrinterStatusReport; answered: number }> {
  const ask = async (n: number, timeoutMs = o.timeoutMs) => {
    await link.write(new Uint8Array([0x10, 0x04, n]));
    return await link.readByte(timeoutMs);
  };
  if (o.throwaway) {
    await ask(1);
    // whatever else was waiting goes too
    while (await link.readByte(Math.min(50, o.timeoutMs)) !== null) { /* drained */ }
  }
  // 1 and 2 go in one write and come back in order (one round trip, not two): every printer
  // that answers status answers both; the conversation waits for each before asking 3
  await link.write(
    new Uint8Array(
      together ? [...dleEot(1), ...dleEot(2), ...dleEot(3), ...dleEot(4)] : [
        ...dleEot(1),
        ...dleEot(2),
      ],
    ),
  );
  const s1 = await link.readByte(o.timeoutMs);
  if (s1 === null) {
    return {
      report: {
        status: "UNKNOWN",
        detail: "the printer does not answer status requests (DLE EOT)",
      },
      answered: 0,
    };
  }
  const s2 = await link.readByte(o.timeoutMs);
  if (s2 === null) {
    return {
      report: { status: "UNKNOWN", detail: "the printer answered DLE EOT 1 but not DLE EOT 2" },
      answered: 1,
    };
  }
  if (together) {
    const s3 = await link.readByte(o.timeoutMs);
    const s4 = s3 === null ? null : await link.readByte(o.timeoutMs);
    // three answers to four questions: which one went unanswered cannot be told
    if (s4 === null) return { report: decodeRealtimeStatus({ s1, s2 }), answered: 2 };
    return { report: decodeRealtimeStatus({ s1, s2, s3, s4 }), answered: 4 };
  }
  // after a question goes unanswered the conversation ends: a late answer would be read as the
  // next question's
  const s3 = await ask(3);
  const s4 = s3 === null ? null : await ask(4);
  return {
    report: decodeRealtimeStatus({ s1, s2, s3, s4 }),
    answered: s4 !== null ? 4 : s3 !== null ? 3 : 2,
  };
}

function dleEot(n: number): number[] {
  return [0x10, 0x04, n];
}
