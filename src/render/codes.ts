/**
 * QR codes and CODE128 barcodes as dots: for printers without the native command (the code goes
 * out as a raster image, `GS v 0`) and for the preview, which draws every code as the real thing.
 * The symbols come from qrcode-generator and JsBarcode; tests read them back with an independent
 * decoder (ZXing).
 * @module
 */
import qrcode from "qrcode-generator";
import Code128Auto from "jsbarcode/bin/barcodes/CODE128/CODE128_AUTO.js";

/** A 1-bit picture: `dark[y * width + x]` is 1 where the dot is black. */
export interface Bitmap {
  width: number;
  height: number;
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
  // byte mode takes a string of 8-bit characters
  q.addData(String.fromCharCode(...bytes), "Byte");
  q.make();
  const n = q.getModuleCount();
  return Array.from({ length: n }, (_, r) => Array.from({ length: n }, (_, c) => q.isDark(r, c)));
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

/** The CODE128 bars for `data` ("1" a bar module, "0" a space), start and stop included. */
export function code128Modules(data: string): string {
  // deno-lint-ignore no-explicit-any
  const C = ((Code128Auto as any).default ?? Code128Auto) as new (d: string, o: object) => {
    valid(): boolean;
    encode(): { data: string };
  };
  const b = new C(data, {});
  if (!code128Valid(data) || !b.valid()) throw new Error(`CODE128 cannot carry "${data}"`);
  return b.encode().data;
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
