/**
 * QR codes and CODE128 barcodes as dots: for printers without the native command (the code goes
 * out as a raster image, `GS v 0`) and for the preview, which draws every code as the real thing.
 * The symbols come from qrcode-generator and JsBarcode; tests read them back with an independent
 * decoder (ZXing).
 * @module
 */
import qrcode from "qrcode-generator";
import { BARS } from "jsbarcode/bin/barcodes/CODE128/constants.js";

/** A 1-bit picture: `dark[y * width + x]` is 1 where the dot is black. */
export interface Bitmap {
  /** Width in modules. */
  width: number;
  /** Height in modules. */
  height: number;
  /** One byte per module or dot: 1 dark, 0 light. */
  dark: Uint8Array;
}

/** QR error correction, as ESC/POS numbers it (`GS ( k` function 169: 48–51). */
export type QrLevel = "L" | "M" | "Q" | "H";

/** Bytes a version-40 QR symbol holds in byte mode (ISO/IEC 18004, table 7). */
const QR_MAX_BYTES: Record<QrLevel, number> = { L: 2953, M: 2331, Q: 1663, H: 1273 };

/**
 * The QR symbol for `data`: `size × size` modules, `true` where dark (no quiet zone). Text is
 * carried as UTF-8 (what phones expect); bytes (a native `GS ( k` read back) as they are.
 */
export function qrModules(data: string | Uint8Array, level: QrLevel = "M"): boolean[][] {
  const bytes = typeof data === "string" ? new TextEncoder().encode(data) : data;
  const max = QR_MAX_BYTES[level];
  if (bytes.length > max) {
    throw new Error(
      `the QR code value is ${bytes.length} bytes (UTF-8); a QR code holds at most ${max} ` +
        `at error correction ${level}`,
    );
  }
  const q = qrcode(0, level);
  // text in the fewest bits (digits and QR's 45 capitals and signs take fewer than bytes), so the
  // same payload is a smaller symbol with bigger dots; bytes (a native GS ( k read back) as sent
  const segments = typeof data === "string"
    ? qrSegments(data)
    : [{ mode: "Byte" as const, text: "" }];
  for (const seg of segments) {
    // byte mode takes a string of 8-bit characters: the UTF-8 bytes, one character each
    if (seg.mode !== "Byte") q.addData(seg.text, seg.mode);
    else {
      const b = typeof data === "string" ? new TextEncoder().encode(seg.text) : bytes;
      q.addData(String.fromCharCode(...b), "Byte");
    }
  }
  q.make();
  const n = q.getModuleCount();
  return Array.from({ length: n }, (_, r) => Array.from({ length: n }, (_, c) => q.isDark(r, c)));
}

/** A run of QR data in one mode (ISO/IEC 18004, 7.4). */
export interface QrSegment {
  /** Numeric: digits; Alphanumeric: `0-9 A-Z` and ` $%*+-./:`; Byte: UTF-8. */
  mode: "Numeric" | "Alphanumeric" | "Byte";
  /** The characters of the run. */
  text: string;
}

const QR_ALNUM = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:";
const QR_MODES = ["Numeric", "Alphanumeric", "Byte"] as const;
// in sixths of a bit: a digit is 10/3 bits, an alphanumeric character 11/2, a byte 8; a segment
// header is 4 mode bits and a count of 12 / 11 / 16 bits (versions 10-26, where long text lands)
const QR_CHAR = [20, 33, 48], QR_HEAD = [(4 + 12) * 6, (4 + 11) * 6, (4 + 16) * 6];

/**
 * `text` split into QR segments that take the fewest bits in all (dynamic programming over the
 * characters: each may stay in the current mode or open a segment in another). A QRIS payload,
 * all capitals, digits and `.`, is one alphanumeric segment: version 16 where bytes need 21.
 */
export function qrSegments(text: string): QrSegment[] {
  const chars = [...text];
  if (!chars.length) return [];
  const can = (m: number, ch: string) =>
    m === 2 || (m === 0 ? ch >= "0" && ch <= "9" : QR_ALNUM.includes(ch));
  const charCost = (m: number, ch: string) =>
    m === 2 ? QR_CHAR[2] * new TextEncoder().encode(ch).length : QR_CHAR[m];
  const whole = (c: number) => Math.ceil(c / 6) * 6; // a segment ends on a whole bit
  let cost = QR_MODES.map((_, m) =>
    can(m, chars[0]) ? QR_HEAD[m] + charCost(m, chars[0]) : Infinity
  );
  const from: number[][] = [[-1, -1, -1]];
  for (let i = 1; i < chars.length; i++) {
    const next = [Infinity, Infinity, Infinity], back = [-1, -1, -1];
    for (let m = 0; m < 3; m++) {
      if (!can(m, chars[i])) continue;
      for (let p = 0; p < 3; p++) {
        const c = (p === m ? cost[p] : whole(cost[p]) + QR_HEAD[m]) + charCost(m, chars[i]);
        if (c < next[m]) [next[m], back[m]] = [c, p];
      }
    }
    cost = next;
    from.push(back);
  }
  let m = 0;
  for (let k = 1; k < 3; k++) if (whole(cost[k]) < whole(cost[m])) m = k;
  const modes = new Array<number>(chars.length);
  for (let i = chars.length - 1; i >= 0; i--) {
    modes[i] = m;
    m = from[i][m];
  }
  const out: QrSegment[] = [];
  for (let i = 0; i < chars.length; i++) {
    const mode = QR_MODES[modes[i]];
    if (out.at(-1)?.mode === mode) out.at(-1)!.text += chars[i];
    else out.push({ mode, text: chars[i] });
  }
  return out;
}

/**
 * The module size (dots) at which a QR symbol fits `maxWidth` with its quiet zone: at most
 * `module`, at least 1. A native QR wider than the paper is not printed at all, so the agent asks
 * the printer for this size.
 */
export function qrModuleFor(symbol: boolean[][], module: number, maxWidth: number): number {
  return Math.max(1, Math.min(module, Math.floor(maxWidth / (symbol.length + 8))));
}

/**
 * A QR symbol ({@link qrModules}) as dots: each module `module` dots square, with the 4-module
 * quiet zone the standard
 * asks for. `maxWidth` shrinks the module until the symbol fits the paper (at least 1 dot).
 */
export function qrBitmap(m: boolean[][], module: number, maxWidth: number): Bitmap {
  const n = m.length + 8;
  const dots = qrModuleFor(m, module, maxWidth);
  const width = n * dots;
  const dark = new Uint8Array(width * width);
  for (let r = 0; r < m.length; r++) {
    for (let c = 0; c < m.length; c++) {
      if (!m[r][c]) continue;
      for (let y = 0; y < dots; y++) {
        const row = ((r + 4) * dots + y) * width + (c + 4) * dots;
        dark.fill(1, row, row + dots);
      }
    }
  }
  return { width, height: width, dark };
}

/** Whether CODE128 can carry `data` (printable ASCII, as the agent sends barcodes). */
export function code128Valid(data: string): boolean {
  return data.length > 0 && /^[\x20-\x7e]+$/.test(data);
}

// CODE128 symbol values (ISO/IEC 15417): start codes, code set switches, stop
const START = { A: 103, B: 104, C: 105 } as const;
const TO_C = 99, TO_B = 100, TO_A = 101, SHIFT = 98, STOP = 106;
const FNC1 = 102, FNC2 = 97, FNC3 = 96;

/** The bars of symbol values, checksum and stop added ("1" a bar module, "0" a space). */
function barsOf(values: number[]): string {
  let sum = values[0];
  for (let i = 1; i < values.length; i++) sum += i * values[i];
  return [...values, sum % 103, STOP].map((v) => String(BARS[v])).join("");
}

/** CODE128 as the agent sends it: the `GS k 73` data and the bars that data makes. */
export interface Code128 {
  /** The `GS k 73` data: `{B` / `{C` code sets, `{{` for a `{`, digit pairs in C as bytes 0-99. */
  data: Uint8Array;
  /** The symbol's bars, start to stop ("1" a bar module). */
  modules: string;
}

/**
 * CODE128 for printable ASCII `text` with the fewest symbols: code set C (two digits a symbol)
 * wherever that is shorter, code set B elsewhere. The data sent and the bars sized are one
 * encoding, so what the agent measures against the paper is what the printer prints.
 */
export function code128Encode(text: string): Code128 {
  if (!code128Valid(text)) throw new Error(`CODE128 cannot carry ${JSON.stringify(text)}`);
  const n = text.length;
  const digit = (i: number) => i < n && text.charCodeAt(i) >= 48 && text.charCodeAt(i) <= 57;
  // fewest symbols for text[i..] starting in code set B / C (a switch costs one symbol)
  const inB = new Array<number>(n + 2).fill(0), inC = new Array<number>(n + 2).fill(0);
  const emitB = (i: number) => 1 + inB[i + 1];
  const emitC = (i: number) => digit(i) && digit(i + 1) ? 1 + inC[i + 2] : Infinity;
  for (let i = n - 1; i >= 0; i--) {
    inB[i] = Math.min(emitB(i), 1 + emitC(i));
    inC[i] = Math.min(emitC(i), 1 + emitB(i));
  }
  let c = emitC(0) < emitB(0); // the start code picks the set for free; a tie keeps B
  const values: number[] = [c ? START.C : START.B];
  const data: number[] = [0x7b, c ? 0x43 : 0x42];
  for (let i = 0; i < n;) {
    const stay = c ? emitC(i) <= 1 + emitB(i) : emitB(i) <= 1 + emitC(i);
    if (!stay) {
      c = !c;
      values.push(c ? TO_C : TO_B);
      data.push(0x7b, c ? 0x43 : 0x42);
    } else if (c) {
      const pair = Number(text.slice(i, i + 2));
      values.push(pair);
      data.push(pair);
      i += 2;
    } else {
      const ch = text.charCodeAt(i);
      values.push(ch - 32);
      if (ch === 0x7b) data.push(0x7b, 0x7b);
      else data.push(ch);
      i++;
    }
  }
  return { data: new Uint8Array(data), modules: barsOf(values) };
}

/**
 * The symbol a printer makes of `GS k 73` data (code sets A, B and C, `{S` shift, `{1`-`{3` and
 * `{4` FNC, `{{`): the bars and the human-readable text, or null when the data is not a symbol
 * (no code set first, a bad pair in code set C, an unknown `{` escape).
 */
export function code128FromEscpos(data: Uint8Array): { text: string; modules: string } | null {
  if (data.length < 2 || data[0] !== 0x7b) return null;
  const sets: Record<number, "A" | "B" | "C"> = { 0x41: "A", 0x42: "B", 0x43: "C" };
  let set = sets[data[1]];
  if (!set) return null;
  const values: number[] = [START[set]];
  let text = "";
  let shift = false;
  const value = (ch: number, s: "A" | "B"): number | null => {
    if (s === "B") return ch >= 32 && ch <= 127 ? ch - 32 : null;
    if (ch >= 32 && ch <= 95) return ch - 32;
    return ch < 32 ? ch + 64 : null;
  };
  for (let i = 2; i < data.length; i++) {
    const ch = data[i];
    if (ch === 0x7b && i + 1 < data.length && data[i + 1] !== 0x7b) {
      const e = data[++i];
      const to = sets[e];
      if (to) {
        if (to !== set) values.push(to === "C" ? TO_C : to === "B" ? TO_B : TO_A);
        set = to;
      } else if (e === 0x53 && set !== "C") { // {S: the next character in the other of A/B
        values.push(SHIFT);
        shift = true;
      } else if (e === 0x31) values.push(FNC1);
      else if (e === 0x32) values.push(FNC2);
      else if (e === 0x33) values.push(FNC3);
      else if (e === 0x34 && set !== "C") values.push(set === "A" ? TO_A : TO_B); // FNC4
      else return null;
      continue;
    }
    if (ch === 0x7b) i++; // "{{" is one "{"
    if (set === "C") {
      if (ch > 99) return null;
      values.push(ch);
      text += String(ch).padStart(2, "0");
      continue;
    }
    const s = shift ? (set === "A" ? "B" : "A") : set;
    shift = false;
    const v = value(ch, s);
    if (v === null) return null;
    values.push(v);
    text += String.fromCharCode(ch);
  }
  if (values.length < 2) return null;
  return { text, modules: barsOf(values) };
}

/** The CODE128 bars for `data` as the agent sends it ({@link code128Encode}). */
export function code128Modules(data: string): string {
  return code128Encode(data).modules;
}

/**
 * CODE128 bars ({@link code128Modules}) as dots: `module` dots per bar module, `height` dots tall, a 10-module quiet
 * zone each side; `maxWidth` narrows the module until it fits.
 */
export function code128Bitmap(
  bars: string,
  module: number,
  height: number,
  maxWidth: number,
): Bitmap {
  const n = bars.length + 20;
  const dots = Math.max(1, Math.min(module, Math.floor(maxWidth / n)));
  const width = n * dots;
  const row = new Uint8Array(width);
  for (let i = 0; i < bars.length; i++) {
    if (bars[i] === "1") row.fill(1, (i + 10) * dots, (i + 11) * dots);
  }
  const dark = new Uint8Array(width * height);
  for (let y = 0; y < height; y++) dark.set(row, y * width);
  return { width, height, dark };
}

/** Rows per `GS v 0` band: some clones read only yL, so no band is taller than 255 dots. */
const BAND = 255;

/**
 * A bitmap as `GS v 0` raster commands (normal density), in bands of at most 255 rows, each row
 * padded to whole bytes: the command every ESC/POS command set consulted keeps.
 */
export function rasterCommands(b: Bitmap): Uint8Array {
  const wb = Math.ceil(b.width / 8);
  const bands = Math.ceil(b.height / BAND);
  const out = new Uint8Array(bands * 8 + wb * b.height);
  let o = 0;
  for (let y0 = 0; y0 < b.height; y0 += BAND) {
    const h = Math.min(BAND, b.height - y0);
    out.set([0x1d, 0x76, 0x30, 0, wb & 0xff, wb >> 8, h & 0xff, h >> 8], o);
    o += 8;
    for (let y = y0; y < y0 + h; y++) {
      for (let x = 0; x < b.width; x++) {
        if (b.dark[y * b.width + x]) out[o + (x >> 3)] |= 0x80 >> (x & 7);
      }
      o += wb;
    }
  }
  return out;
}
