/**
 * USB printers behind the Windows spooler: the status channel found beside a `winspool` queue on
 * a `USB00x` port. Windows' own USB printer driver (`usbprint.sys`) exposes each printer as a
 * device interface; its registry key names the spooler port it is, and the device answers
 * `DLE EOT` on its USB IN pipe when the spooler does not hold it (its queue is empty). This module
 * holds what can be decided without Windows: the 1284 ID, the port's name, and how the spooler's
 * view and the printer's own answer are combined.
 * @module
 */
import type { PrinterStatusReport } from "./printer.ts";

/** A USB printer as the USB port monitor sees it. */
export interface UsbPrinter {
  /** The device interface path (`\\?\usb#vid_…#{28d78fad-…}`): what CreateFileW opens. */
  path: string;
  /** The spooler port it is (`USB001`), or null where its registry key does not say. */
  port: string | null;
  /** The printer's IEEE 1284 device ID, or null where it could not be read (in use). */
  id1284: string | null;
}

/** The fields of an IEEE 1284 device ID that say which printer it is. */
export interface Id1284 {
  /** The whole ID text. */
  raw: string;
  /** Manufacturer (`MFG` / `MANUFACTURER`). */
  mfg: string | null;
  /** Model (`MDL` / `MODEL`). */
  mdl: string | null;
  /** Command sets (`CMD` / `COMMAND SET`), e.g. `ESC/POS`. */
  cmd: string[];
}

/**
 * Reads the buffer `IOCTL_USBPRINT_GET_1284_ID` fills: a 2-byte big-endian length that counts
 * itself, then the ID. A length beyond the bytes given, or shorter than 2, is not trusted: the
 * text up to the first NUL is taken instead. Non-ASCII bytes are read as Latin-1.
 */
export function read1284Buffer(b: Uint8Array, got = b.length): string {
  const n = Math.min(got, b.length);
  if (n < 2) return "";
  const len = (b[0] << 8) | b[1];
  let end = len >= 2 && len <= n ? len : n;
  const nul = b.subarray(2, end).indexOf(0);
  if (nul >= 0) end = 2 + nul;
  return new TextDecoder("latin1").decode(b.subarray(2, end)).trim();
}

/** Splits an IEEE 1284 ID (`MFG:EPSON;MDL:TM-T20II;CMD:ESC/POS;`) into its fields. */
export function parse1284(raw: string): Id1284 {
  const fields = new Map<string, string>();
  for (const part of raw.split(";")) {
    const i = part.indexOf(":");
    if (i <= 0) continue;
    fields.set(part.slice(0, i).trim().toUpperCase(), part.slice(i + 1).trim());
  }
  const get = (...keys: string[]) => {
    for (const k of keys) if (fields.get(k)) return fields.get(k)!;
    return null;
  };
  const cmd = get("CMD", "COMMAND SET");
  return {
    raw,
    mfg: get("MFG", "MANUFACTURER"),
    mdl: get("MDL", "MODEL"),
    cmd: cmd ? cmd.split(",").map((s) => s.trim()).filter(Boolean) : [],
  };
}

/** The spooler port a USB interface's registry key names (`Base Name` USB, `Port Number` 1). */
export function usbPortName(base: string | null, number: number | null): string | null {
  if (number === null || !Number.isInteger(number) || number < 0) return null;
  return `${base || "USB"}${String(number).padStart(3, "0")}`;
}

/** Whether a spooler port is a USB printer port the USB monitor made (`USB001`). */
export function isUsbPort(port: string): boolean {
  return /^USB\d{3,}$/i.test(port.trim());
}

/**
 * The printer behind a queue's port: the interface whose key names that port. Never a guess:
 * without a port match there is no channel (a second USB printer must not be read as this one).
 */
export function findForPort(port: string, devices: readonly UsbPrinter[]): UsbPrinter | null {
  const want = port.trim().toUpperCase();
  const hits = devices.filter((d) => d.port?.toUpperCase() === want);
  return hits.length === 1 ? hits[0] : null;
}

/**
 * The queue's status from the spooler's view and the printer's own answer. A queue-level fault
 * (the queue paused or set offline by a person) stays; otherwise the printer's answer wins where
 * it gave one, since the spooler cannot see paper, cover or cutter.
 */
export function combineStatus(
  spooler: PrinterStatusReport,
  device: PrinterStatusReport | null,
  label: string,
): PrinterStatusReport {
  const queueFault = /paused|Use printer offline/.test(spooler.detail);
  if (!device || device.status === "UNKNOWN" || queueFault) {
    return device && device.status === "UNKNOWN" && !queueFault
      ? { ...spooler, detail: `${spooler.detail}; ${label}: ${device.detail}` }
      : spooler;
  }
  return { ...device, detail: `${label}: ${device.detail}`, source: "usbprint" };
}
