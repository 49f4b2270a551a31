/**
 * What a simulated ESC/POS printer answers to `DLE EOT 1`…`4` in each state, written from the
 * bit tables of the ESC/POS reference (not from the agent's decoder), for the TCP and serial
 * printer simulators and the decoder's tests.
 */

/** A simulated printer's condition. */
export type PrinterState =
  | "ok"
  | "paper_near_end"
  | "paper_out"
  | "cover_open"
  | "cutter_error"
  | "overheat"
  | "unrecoverable"
  | "offline";

/** The agent status each state must read as. */
export const EXPECTED_STATUS: Record<PrinterState, string> = {
  ok: "OK",
  paper_near_end: "PAPER_NEAR_END",
  paper_out: "PAPER_OUT",
  cover_open: "COVER_OPEN",
  cutter_error: "CUTTER_ERROR",
  overheat: "OVERHEAT",
  unrecoverable: "ERROR",
  offline: "OFFLINE",
};

/** Whether a printer in this state puts what it receives on paper. */
export function prints(s: PrinterState): boolean {
  return s === "ok" || s === "paper_near_end";
}

/** The answer byte to `DLE EOT n` (fixed bits 0x12 plus the state's bits). */
export function statusAnswer(s: PrinterState, n: number): number {
  const stopped = !prints(s); // every error stops the printer and takes it offline
  switch (n) {
    case 1:
      return 0x12 | (stopped ? 0x08 : 0);
    case 2:
      return 0x12 | (s === "cover_open" ? 0x04 : 0) | (s === "paper_out" ? 0x20 : 0) |
        (["cutter_error", "overheat", "unrecoverable"].includes(s) ? 0x40 : 0);
    case 3:
      return 0x12 | (s === "cutter_error" ? 0x08 : 0) | (s === "unrecoverable" ? 0x20 : 0) |
        (s === "overheat" ? 0x40 : 0);
    case 4:
      return 0x12 | (s === "paper_near_end" || s === "paper_out" ? 0x0c : 0) |
        (s === "paper_out" ? 0x60 : 0);
    default:
      return 0x12;
  }
}
