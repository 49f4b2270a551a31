/**
 * What a raw job (`raw_base64`, the server's own ESC/POS bytes) may do to the printer. The bytes
 * are read with the paper reader first: commands that change the printer for good — power off,
 * memory switches, NV images and graphics, NV user memory, saved settings — are refused unless
 * `jobs.raw_allow` names them (NV writes wear the printer's flash and outlive the job), and a cash
 * drawer kick follows the drawer rules every other job follows: a copy or a stale job prints
 * without it.
 * @module
 */
import { AgentError } from "../errors.ts";
import { type PaperOptions, type PrinterCommand, readPaper } from "./paper.ts";

/** The commands `jobs.raw_allow` can open, with what each does (for messages and docs). */
export const LASTING_COMMANDS: Record<Exclude<PrinterCommand, "drawer_kick">, string> = {
  power_off: "powers the printer off (DLE DC4 2)",
  memory_switch: "changes the printer's memory switches (GS ( E)",
  nv_image: "writes NV bit images into the printer's flash (FS q)",
  nv_graphics: "writes or deletes NV graphics in the printer's flash (GS ( L / GS 8 L)",
  nv_memory: "writes the printer's NV user memory (GS ( C / FS g 1)",
  nv_settings: "saves settings into the printer's flash (GS ( M)",
};

/** Byte patterns of the same commands, for bytes after a command the reader does not know. */
const PATTERNS: { what: PrinterCommand; bytes: (number | null)[] }[] = [
  { what: "power_off", bytes: [0x10, 0x14, 0x02] },
  { what: "memory_switch", bytes: [0x1d, 0x28, 0x45] },
  { what: "nv_image", bytes: [0x1c, 0x71] },
  { what: "nv_graphics", bytes: [0x1d, 0x28, 0x4c, null, null, 0x30] },
  { what: "nv_graphics", bytes: [0x1d, 0x38, 0x4c, null, null, null, null, 0x30] },
  { what: "nv_memory", bytes: [0x1d, 0x28, 0x43] },
  { what: "nv_memory", bytes: [0x1c, 0x67, 0x31] },
  { what: "nv_settings", bytes: [0x1d, 0x28, 0x4d] },
  { what: "drawer_kick", bytes: [0x1b, 0x70] },
  { what: "drawer_kick", bytes: [0x10, 0x14, 0x01] },
];

/** What {@link checkRaw} did with a raw job's bytes. */
export interface RawChecked {
  /** The bytes to send: the server's, without drawer kicks the drawer rules refuse. */
  bytes: Uint8Array;
  /** What was taken out, for the log. */
  notes: string[];
}

/**
 * Checks a raw job's bytes: throws RAW_COMMAND_REFUSED naming the first command that changes the
 * printer for good (unless `allow` names it); takes out drawer kicks when `drawer` is false.
 */
export function checkRaw(
  bytes: Uint8Array,
  paper: PaperOptions,
  o: { allow: readonly string[]; drawer: boolean; why?: string },
): RawChecked {
  const found: { what: PrinterCommand; at: number; end: number; exact: boolean }[] = [];
  const read = readPaper(
    bytes,
    paper,
    (what, at, end) => found.push({ what, at, end, exact: true }),
  );
  if (read.stoppedAt !== null) {
    // past a command the reader does not know, lengths are unknown: any byte run that looks like
    // a lasting command counts (a picture's data may look like one: it is refused, never sent)
    for (let i = read.stoppedAt; i < bytes.length; i++) {
      for (const p of PATTERNS) {
        if (p.bytes.every((x, k) => x === null || bytes[i + k] === x)) {
          found.push({ what: p.what, at: i, end: i + p.bytes.length, exact: false });
        }
      }
    }
  }
  for (const f of found) {
    if (f.what === "drawer_kick" || o.allow.includes(f.what)) continue;
    throw new AgentError(
      "RAW_COMMAND_REFUSED",
      `the raw job ${LASTING_COMMANDS[f.what]} at byte ${f.at}; it is not printed ` +
        `(jobs.raw_allow: "${f.what}" allows it)`,
    );
  }
  const kicks = found.filter((f) => f.what === "drawer_kick");
  if (o.drawer || kicks.length === 0) return { bytes, notes: [] };
  if (kicks.some((k) => !k.exact)) {
    throw new AgentError(
      "RAW_COMMAND_REFUSED",
      `the raw job kicks the cash drawer at byte ${
        kicks.find((k) => !k.exact)!.at
      }, after a command this agent cannot read, and ${o.why ?? "the drawer may not open"}; ` +
        `it is not printed`,
    );
  }
  const out: number[] = [];
  let from = 0;
  for (const k of kicks) {
    out.push(...bytes.subarray(from, k.at));
    from = k.end;
  }
  out.push(...bytes.subarray(from));
  return {
    bytes: new Uint8Array(out),
    notes: [
      `${kicks.length} cash drawer kick(s) taken out of the raw job: ${o.why ?? "not allowed"}`,
    ],
  };
}
