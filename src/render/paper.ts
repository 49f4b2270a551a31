/**
 * What a receipt looks like on paper, read from the ESC/POS bytes themselves — the bytes the
 * printer gets, so the picture cannot drift from the print. Text keeps its style (bold, underline,
 * white on black, double width and height) and alignment; QR codes and barcodes are drawn as the
 * real symbols (a phone scans them on screen), raster images dot for dot. A command this reader
 * does not know ends the picture with a note saying where, so a raw job from the server is shown
 * as far as it can be.
 * @module
 */
import CodepageEncoder from "@point-of-sale/codepage-encoder";
import {
  type Bitmap,
  code128Bitmap,
  code128Encode,
  code128FromEscpos,
  code128Valid,
  qrBitmap,
  type QrLevel,
  qrModules,
} from "./codes.ts";

/** A run of text in one style. */
export interface Run {
  /** The run's text. */
  text: string;
  /** Bold. */
  bold: boolean;
  /** Underlined. */
  underline: boolean;
  /** White on black. */
  invert: boolean;
  /** Character width and height multipliers (`GS !`). */
  w: number;
  /** Height multiple (1: normal). */
  h: number;
}

/** One row of the paper. */
export type Row =
  | {
    kind: "text";
    align: Align;
    runs: Run[]; /** the printer's own line under a barcode */
    hri?: true;
  }
  | { kind: "image"; align: Align; bitmap: Bitmap; what: "image" | "qr" | "barcode"; data?: string }
  | { kind: "feed"; dots: number }
  | { kind: "cut"; partial: boolean }
  | { kind: "pulse" }
  | { kind: "note"; text: string };

/** 0 left, 1 centre, 2 right (`ESC a`). */
export type Align = 0 | 1 | 2;

/** A receipt as rows, `width` dots wide. */
export interface Paper {
  /** Paper width in dots. */
  width: number;
  /** The rows, top to bottom. */
  rows: Row[];
  /** Where reading stopped at a command it does not know (the rest is not shown), or null. */
  stoppedAt: number | null;
}

/**
 * Commands that do more than print: a cash drawer kick, and what changes the printer for good
 * (power off, memory switches, NV images, NV graphics, NV user memory, saved settings).
 */
export type PrinterCommand =
  | "drawer_kick"
  | "power_off"
  | "memory_switch"
  | "nv_image"
  | "nv_graphics"
  | "nv_memory"
  | "nv_settings";

/** Told of each {@link PrinterCommand} read: what, and the bytes [at, end) it takes. */
export type CommandSeen = (what: PrinterCommand, at: number, end: number) => void;

/** How to read bytes for a printer: its `ESC t` table and its paper width in dots. */
export interface PaperOptions {
  /** ESC t table number → code page name. */
  escT: Record<number, string>;
  /** Printable width in dots (columns × 12 for font A). */
  width: number;
}

const QR_LEVELS: Record<number, QrLevel> = { 48: "L", 49: "M", 50: "Q", 51: "H" };

/**
 * A `GS ( x` command (x = `b2`, its first two parameters `p0`, `p1`) that changes the printer for
 * good, or null: `GS ( E` user setup (memory switches), `GS ( L` functions 65-68 (NV graphics:
 * delete, define), `GS ( C` (NV user memory), `GS ( M` function 1 (settings saved).
 */
function lastingGsParen(b2: number, p0: number, p1: number): PrinterCommand | null {
  if (b2 === 0x45) return "memory_switch";
  if (b2 === 0x4c && p0 === 0x30 && p1 >= 65 && p1 <= 68) return "nv_graphics";
  if (b2 === 0x43) return "nv_memory";
  if (b2 === 0x4d && (p0 === 1 || p0 === 49)) return "nv_settings";
  return null;
}

/** Reads ESC/POS bytes into rows of paper; `seen` is told of each {@link PrinterCommand}. */
export function readPaper(b: Uint8Array, o: PaperOptions, seen?: CommandSeen): Paper {
  const rows: Row[] = [];
  let stoppedAt: number | null = null;
  const tables = new Map<string, number[]>();
  const table = (name: string) => {
    let t = tables.get(name);
    if (!t) tables.set(name, t = CodepageEncoder.getCodepoints(name as never, true));
    return t;
  };
  const style = { bold: false, underline: false, invert: false, w: 1, h: 1 };
  let align: Align = 0;
  let cp = table(o.escT[0] ?? "cp437");
  let runs: Run[] = [];
  let lineDots = 0;
  let lineAlign: Align | null = null;
  const qr = { size: 3, level: "L" as QrLevel, data: null as Uint8Array | null };
  const bar = { height: 162, module: 3, hri: 0 };

  const endLine = (hri?: true) => {
    rows.push({ kind: "text", align: lineAlign ?? align, runs, ...(hri ? { hri } : {}) });
    runs = [];
    lineDots = 0;
    lineAlign = null;
  };
  const put = (ch: string) => {
    const dots = 12 * style.w;
    if (lineDots + dots > o.width) endLine(); // the printer wraps a full line
    if (lineAlign === null) lineAlign = align;
    const last = runs.at(-1);
    if (
      last && last.bold === style.bold && last.underline === style.underline &&
      last.invert === style.invert && last.w === style.w && last.h === style.h
    ) last.text += ch;
    else runs.push({ text: ch, ...style });
    lineDots += dots;
  };
  /** A picture prints on its own: a pending line goes first. */
  const image = (bitmap: Bitmap, what: "image" | "qr" | "barcode", data?: string) => {
    if (runs.length) endLine();
    const last = rows.at(-1);
    if (
      what === "image" && last?.kind === "image" && last.what === "image" &&
      last.align === align && last.bitmap.width === bitmap.width
    ) {
      // an image sent in bands (GS v 0 has a height limit) is one picture on paper
      const dark = new Uint8Array(last.bitmap.dark.length + bitmap.dark.length);
      dark.set(last.bitmap.dark);
      dark.set(bitmap.dark, last.bitmap.dark.length);
      last.bitmap = { width: bitmap.width, height: last.bitmap.height + bitmap.height, dark };
      return;
    }
    rows.push({ kind: "image", align, bitmap, what, data });
  };
  const reset = () => {
    Object.assign(style, { bold: false, underline: false, invert: false, w: 1, h: 1 });
    align = 0;
    cp = table(o.escT[0] ?? "cp437");
    Object.assign(qr, { size: 3, level: "L", data: null });
    Object.assign(bar, { height: 162, module: 3, hri: 0 });
  };
  const latin1 = (from: number, to: number) => String.fromCharCode(...b.subarray(from, to));
  const utf8 = new TextDecoder();

  let i = 0;
  const stop = (what: string) => {
    stoppedAt ??= i;
    if (runs.length) endLine();
    rows.push({ kind: "note", text: `${what} at byte ${i}: the rest is not shown` });
    i = b.length;
  };
  while (i < b.length) {
    const c = b[i];
    const n = (k: number) => (i + k < b.length ? b[i + k] : -1);
    if (c >= 0x20 && c !== 0x7f) {
      put(c < 0x80 ? String.fromCharCode(c) : String.fromCodePoint(cp[c] || 0xfffd));
      i++;
      continue;
    }
    if (c === 0x0a) {
      endLine();
      i++;
      continue;
    }
    if (c === 0x0d) {
      i++;
      continue;
    }
    if (c === 0x09) { // HT: to the next tab stop (every 8 characters, the power-on default)
      do put(" "); while ((lineDots / 12) % 8 !== 0 && lineDots + 12 <= o.width);
      i++;
      continue;
    }
    if (c === 0x10) { // DLE EOT n / DLE ENQ n (status requests), DLE DC4 fn m t (real-time)
      if (n(1) === 0x04 || n(1) === 0x05) {
        i += 3;
        continue;
      }
      if (n(1) === 0x14) {
        if (n(2) === 1) {
          if (runs.length) endLine();
          rows.push({ kind: "pulse" });
          seen?.("drawer_kick", i, i + 5);
        } else if (n(2) === 2) {
          seen?.("power_off", i, i + 5);
          if (runs.length) endLine();
          rows.push({ kind: "note", text: "the printer is told to power off (DLE DC4 2)" });
        }
        i += 5;
        continue;
      }
    }
    if (n(1) < 0) {
      stop(`a command cut short (0x${c.toString(16)})`);
      continue;
    }
    const b1 = n(1), b2 = n(2);
    const need = (len: number) => {
      if (i + len > b.length) {
        stop("a command cut short");
        return false;
      }
      return true;
    };
    if (c === 0x1b) {
      if (b1 === 0x40) {
        reset();
        i += 2;
        continue;
      }
      if (b1 === 0x32) { // ESC 2: default line spacing
        i += 2;
        continue;
      }
      if (b1 === 0x70) { // ESC p: drawer pulse
        if (!need(5)) continue;
        if (runs.length) endLine();
        rows.push({ kind: "pulse" });
        seen?.("drawer_kick", i, i + 5);
        i += 5;
        continue;
      }
      if (!need(3)) continue;
      switch (b1) {
        case 0x21: // ESC ! n
          style.bold = !!(b2 & 0x08);
          style.h = b2 & 0x10 ? 2 : 1;
          style.w = b2 & 0x20 ? 2 : 1;
          style.underline = !!(b2 & 0x80);
          break;
        case 0x45: // ESC E
          style.bold = !!(b2 & 1);
          break;
        case 0x2d: // ESC -
          style.underline = (b2 & 0x0f) > 0 || b2 === 0x31 || b2 === 0x32;
          break;
        case 0x61: // ESC a
          align = (b2 % 48 <= 2 ? b2 % 48 : 0) as Align;
          break;
        case 0x74: { // ESC t
          const name = o.escT[b2];
          if (!name) {
            stop(`code page ESC t ${b2}, which this printer's profile does not list,`);
            continue;
          }
          cp = table(name);
          break;
        }
        case 0x64: // ESC d n: print and feed n lines
          if (runs.length) endLine();
          for (let k = 0; k < b2; k++) endLine();
          break;
        case 0x4a: // ESC J n: feed n dots
          if (runs.length) endLine();
          rows.push({ kind: "feed", dots: b2 });
          break;
        case 0x4d: // ESC M: font (the picture shows font A)
        case 0x33: // ESC 3: line spacing
        case 0x52: // ESC R: international set
        case 0x47: // ESC G: double strike
        case 0x20: // ESC SP: character spacing
        case 0x55: // ESC U: unidirectional
        case 0x56: // ESC V: 90° rotation
        case 0x7b: // ESC {: upside down
        case 0x63: // ESC c 3/4/5 n: panel and sensors (one more byte below)
          if (b1 === 0x63) i++;
          break;
        case 0x24: // ESC $ nL nH: absolute position (dots)
        case 0x5c: { // ESC \ nL nH: relative position
          if (!need(4)) continue;
          const dots = b2 + b[i + 3] * 256;
          const at = b1 === 0x24 ? dots : lineDots + (dots > 32767 ? dots - 65536 : dots);
          while (lineDots + 12 <= Math.min(at, o.width)) put(" ");
          i += 4;
          continue;
        }
        case 0x2a: { // ESC * m nL nH d…: column bit image (8 or 24 dots tall)
          if (!need(5)) continue;
          const cols = b[i + 3] + b[i + 4] * 256, tall = b2 >= 32 ? 24 : 8;
          const len = cols * (tall / 8);
          if (!need(5 + len)) continue;
          const dark = new Uint8Array(cols * tall);
          for (let x = 0; x < cols; x++) {
            for (let y = 0; y < tall; y++) {
              const byte = b[i + 5 + x * (tall / 8) + (y >> 3)];
              if (byte & (0x80 >> (y & 7))) dark[y * cols + x] = 1;
            }
          }
          image({ width: cols, height: tall, dark }, "image");
          i += 5 + len;
          continue;
        }
        default:
          stop(`unknown command ESC 0x${b1.toString(16)}`);
          continue;
      }
      i += 3;
      continue;
    }
    if (c === 0x1c) { // FS . / FS &: leave / enter Kanji mode
      if (b1 === 0x2e || b1 === 0x26) {
        i += 2;
        continue;
      }
      if (b1 === 0x71) { // FS q n [xL xH yL yH d...]...: define NV bit images
        if (!need(3)) continue;
        let end = i + 3;
        for (let k = 0; k < b2 && end + 4 <= b.length; k++) {
          end += 4 + (b[end] + b[end + 1] * 256) * (b[end + 2] + b[end + 3] * 256) * 8;
        }
        seen?.("nv_image", i, Math.min(end, b.length));
        if (!need(end - i)) continue;
        i = end;
        continue;
      }
      if (b1 === 0x67 && (b2 === 0x31 || b2 === 0x32)) { // FS g 1 / FS g 2: NV user memory
        if (!need(10)) continue;
        const len = b2 === 0x31 ? b[i + 8] + b[i + 9] * 256 : 0;
        if (b2 === 0x31) seen?.("nv_memory", i, Math.min(i + 10 + len, b.length));
        if (!need(10 + len)) continue;
        i += 10 + len;
        continue;
      }
      if (b1 === 0x70) { // FS p n m: print an NV bit image stored in the printer
        if (!need(4)) continue;
        if (runs.length) endLine();
        rows.push({ kind: "note", text: `NV bit image ${b2} printed from the printer's memory` });
        i += 4;
        continue;
      }
      stop(`unknown command FS 0x${b1.toString(16)}`);
      continue;
    }
    if (c === 0x1d) {
      if (!need(3)) continue;
      switch (b1) {
        case 0x21: // GS ! n
          style.w = (b2 >> 4) + 1;
          style.h = (b2 & 0x0f) + 1;
          i += 3;
          continue;
        case 0x42: // GS B
          style.invert = !!(b2 & 1);
          i += 3;
          continue;
        case 0x68: // GS h
          bar.height = b2;
          i += 3;
          continue;
        case 0x77: // GS w
          bar.module = b2;
          i += 3;
          continue;
        case 0x48: // GS H
          bar.hri = b2 % 48;
          i += 3;
          continue;
        case 0x66: // GS f: HRI font
        case 0x62: // GS b: smoothing
        case 0x61: // GS a: automatic status back
          i += 3;
          continue;
        case 0x4c: // GS L nL nH: left margin
        case 0x57: // GS W nL nH: print area width
        case 0x50: // GS P x y: motion units
          if (!need(4)) continue;
          i += 4;
          continue;
        case 0x56: { // GS V m [n]
          if (runs.length) endLine();
          const m = b2;
          rows.push({ kind: "cut", partial: m === 1 || m === 49 || m === 66 });
          i += m === 65 || m === 66 ? 4 : 3;
          continue;
        }
        case 0x28: { // GS ( k: QR code
          if (!need(5)) continue;
          const len = b[i + 3] + b[i + 4] * 256;
          if (!need(5 + len)) continue;
          const cn = b[i + 5], fn = b[i + 6], arg = b[i + 7];
          if (b2 === 0x6b && cn === 0x31) {
            if (fn === 0x43) qr.size = arg;
            else if (fn === 0x45) qr.level = QR_LEVELS[arg] ?? "L";
            else if (fn === 0x50) qr.data = b.slice(i + 8, i + 5 + len);
            else if (fn === 0x51 && qr.data !== null) {
              // drawn from the very bytes the printer encodes, at the size it was asked for
              let symbol: boolean[][];
              try {
                symbol = qrModules(qr.data, qr.level);
              } catch (e) { // a raw job's QR no symbol can hold: the printer prints nothing
                if (runs.length) endLine();
                rows.push({ kind: "note", text: `QR code not printable: ${(e as Error).message}` });
                i += 5 + len;
                continue;
              }
              const width = (symbol.length + 8) * qr.size; // checked before any dot is drawn
              if (width > o.width) {
                if (runs.length) endLine();
                rows.push({
                  kind: "note",
                  text: `a QR code ${width} dots wide on ${o.width}-dot paper: not printed`,
                });
              } else {
                image(qrBitmap(symbol, qr.size, Infinity), "qr", utf8.decode(qr.data));
              }
            }
          } else if (b2 !== 0x6b) {
            const lasting = lastingGsParen(b2, b[i + 5], b[i + 6]);
            if (!lasting) {
              stop(`unknown command GS ( 0x${b2.toString(16)}`);
              continue;
            }
            seen?.(lasting, i, i + 5 + len);
          }
          i += 5 + len;
          continue;
        }
        case 0x6b: { // GS k m: barcode
          let data: string;
          let raw: Uint8Array | null = null;
          if (b2 >= 65) {
            if (!need(4) || !need(4 + b[i + 3])) continue;
            raw = b.subarray(i + 4, i + 4 + b[i + 3]);
            data = latin1(i + 4, i + 4 + b[i + 3]);
            i += 4 + b[i + 3];
          } else {
            const end = b.indexOf(0, i + 3);
            if (end < 0) {
              stop("a barcode without its end");
              continue;
            }
            data = latin1(i + 3, end);
            i = end + 1;
          }
          // CODE128 (73) is drawn from the data as the printer reads it: its code sets, digit
          // pairs and escapes; another symbology is shown as a CODE128 of its text
          const symbol = b2 === 73 && raw
            ? code128FromEscpos(raw)
            : code128Valid(data)
            ? { text: data, modules: code128Encode(data).modules }
            : null;
          const text = symbol?.text ?? data;
          const bars = symbol?.modules ?? "";
          if (!bars) rows.push({ kind: "note", text: `barcode ${text}` });
          else if (bars.length * bar.module > o.width) { // wider than paper: the printer skips it
            if (runs.length) endLine();
            rows.push({
              kind: "note",
              text: `a barcode ${bars.length * bar.module} dots wide on ${o.width}-dot paper: ` +
                "not printed",
            });
            continue;
          } else image(code128Bitmap(bars, bar.module, bar.height, Infinity), "barcode", text);
          if (bar.hri === 2 || bar.hri === 3) {
            const saved = { ...style };
            Object.assign(style, { bold: false, underline: false, invert: false, w: 1, h: 1 });
            const keep = align;
            align = 1;
            for (const ch of text) put(ch);
            endLine(true);
            align = keep;
            Object.assign(style, saved);
          }
          continue;
        }
        case 0x76: { // GS v 0 m xL xH yL yH d…
          if (!need(8)) continue;
          const wb = b[i + 4] + b[i + 5] * 256, h = b[i + 6] + b[i + 7] * 256;
          if (!need(8 + wb * h)) continue;
          const width = wb * 8;
          const dark = new Uint8Array(width * h);
          for (let y = 0; y < h; y++) {
            for (let x = 0; x < width; x++) {
              if (b[i + 8 + y * wb + (x >> 3)] & (0x80 >> (x & 7))) dark[y * width + x] = 1;
            }
          }
          image({ width, height: h, dark }, "image");
          i += 8 + wb * h;
          continue;
        }
      }
      stop(`unknown command GS 0x${b1.toString(16)}`);
      continue;
    }
    stop(`control byte 0x${c.toString(16)}`);
  }
  if (runs.length) endLine();
  return { width: o.width, rows, stoppedAt };
}

/** Dots a millimetre at 203 dpi, the resolution of the thermal printers the profiles describe. */
export const DOTS_PER_MM = 8;

/**
 * The paper a receipt takes, in millimetres, from its bytes: each text line 24 dots × its height
 * plus the printer's default 6 dots of spacing, pictures their height, feeds as sent (203 dpi).
 * An estimate a store compares between templates, not a ruler.
 */
export function paperLengthMm(bytes: Uint8Array, o: PaperOptions): number {
  let dots = 0;
  for (const row of readPaper(bytes, o).rows) {
    if (row.kind === "text") dots += 24 * Math.max(1, ...row.runs.map((r) => r.h)) + 6;
    else if (row.kind === "image") dots += row.bitmap.height;
    else if (row.kind === "feed") dots += row.dots;
  }
  return Math.round(dots / DOTS_PER_MM);
}
