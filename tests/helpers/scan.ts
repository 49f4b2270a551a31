/**
 * Reads QR codes and barcodes the way a phone or a scanner would: with ZXing, a decoder written
 * by nobody here, from the dots the printer gets (raster images) or the preview draws.
 */
import {
  BarcodeFormat,
  type Binarizer,
  BinaryBitmap,
  DecodeHintType,
  GlobalHistogramBinarizer,
  HybridBinarizer,
  MultiFormatReader,
  RGBLuminanceSource,
} from "@zxing/library";
import type { Bitmap } from "../../src/render/codes.ts";
import { type PaperOptions, readPaper } from "../../src/render/paper.ts";

/** A symbol read back: its kind and its text. */
export interface Scanned {
  kind: "qr" | "barcode";
  text: string;
}

/**
 * Reads one picture (grey levels, 0 black … 255 white); null where no symbol is found. Tries the
 * ways a phone app does, frame after frame: the local and the global threshold, then the picture
 * taken as a symbol alone (ZXing's detector misses some perfectly sharp large-module codes).
 */
export function scanLuminance(
  lum: Uint8ClampedArray,
  width: number,
  height: number,
): Scanned | null {
  const tries: [(s: RGBLuminanceSource) => Binarizer, boolean][] = [
    [(s) => new HybridBinarizer(s), false],
    [(s) => new GlobalHistogramBinarizer(s), false],
    [(s) => new HybridBinarizer(s), true],
  ];
  for (const [binarizer, pure] of tries) {
    const reader = new MultiFormatReader();
    const hints = new Map();
    hints.set(DecodeHintType.POSSIBLE_FORMATS, [BarcodeFormat.QR_CODE, BarcodeFormat.CODE_128]);
    hints.set(DecodeHintType.TRY_HARDER, true);
    if (pure) hints.set(DecodeHintType.PURE_BARCODE, true);
    reader.setHints(hints);
    try {
      const r = reader.decode(
        new BinaryBitmap(binarizer(new RGBLuminanceSource(lum, width, height))),
      );
      return {
        kind: r.getBarcodeFormat() === BarcodeFormat.QR_CODE ? "qr" : "barcode",
        text: r.getText(),
      };
    } catch { /* the next way */ }
  }
  return null;
}

/**
 * Reads a 1-bit picture, with a white margin around it as paper has, seen from near and from
 * further away (every 2nd and 3rd dot, as a camera at arm's length resolves it): ZXing's detector
 * misses some perfectly sharp codes with 5–6 px modules that it reads at 2–3 px.
 */
export function scanBitmap(b: Bitmap, margin = 24): Scanned | null {
  for (const k of [1, 2, 3]) {
    const w = Math.ceil((b.width + 2 * margin) / k), h = Math.ceil((b.height + 2 * margin) / k);
    const lum = new Uint8ClampedArray(w * h).fill(255);
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        const bx = x * k - margin, by = y * k - margin;
        if (bx >= 0 && by >= 0 && bx < b.width && by < b.height && b.dark[by * b.width + bx]) {
          lum[y * w + x] = 0;
        }
      }
    }
    const r = scanLuminance(lum, w, h);
    if (r) return r;
  }
  return null;
}

/** Every QR code and barcode on the paper these bytes make, in order, read with ZXing. */
export function scanPaper(bytes: Uint8Array, o: PaperOptions): (Scanned | null)[] {
  return readPaper(bytes, o).rows.flatMap((r) =>
    r.kind === "image" && r.what !== "image" || r.kind === "image" && r.bitmap.height > 40
      ? [scanBitmap(r.bitmap)]
      : []
  );
}
