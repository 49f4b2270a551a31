/**
 * The store's logo: `logo.png` in the templates folder, decoded (fast-png), scaled to fit the
 * paper, and turned into the plain RGBA object the encoder prints as a raster image.
 * @module
 */
import type { decode as Decode } from "fast-png";
import { join } from "node:path";

/** An RGBA image ready for the encoder (width and height multiples of 8). */
export interface Logo {
  /** Width in pixels. */
  width: number;
  /** Height in pixels. */
  height: number;
  /** RGBA pixels. */
  data: Uint8ClampedArray;
}

/** Dots per line for a number of text columns (font A is 12 dots wide). */
export function dotsFor(columns: number): number {
  return columns * 12;
}

/**
 * Decodes PNG bytes (with `decode`, fast-png's: loaded only when a store has a logo, see
 * {@link loadLogo}) and fits them into `maxWidth` dots (never wider, never upscaled).
 */
function prepareLogo(png: Uint8Array, maxWidth: number, decode: typeof Decode): Logo {
  const img = decode(png);
  const ch = img.channels;
  const src = img.data;
  const max = img.depth === 16 ? 65535 : 255;
  const scale = Math.min(1, maxWidth / img.width);
  const w = Math.max(8, Math.floor((img.width * scale) / 8) * 8);
  const h = Math.max(8, Math.ceil((img.height * scale) / 8) * 8);
  const out = new Uint8ClampedArray(w * h * 4).fill(255);
  const palette = img.palette;
  for (let y = 0; y < h; y++) {
    const sy = Math.min(img.height - 1, Math.floor(y / scale));
    if (y * 1 >= Math.ceil(img.height * scale)) break;
    for (let x = 0; x < w; x++) {
      const sx = Math.min(img.width - 1, Math.floor(x / scale));
      const i = (sy * img.width + sx) * ch;
      let r: number, g: number, b: number, a = 255;
      if (palette) {
        const p = palette[src[i]];
        [r, g, b] = p;
        a = p[3] ?? 255;
      } else if (ch <= 2) {
        r = g = b = (src[i] / max) * 255;
        if (ch === 2) a = (src[i + 1] / max) * 255;
      } else {
        r = (src[i] / max) * 255;
        g = (src[i + 1] / max) * 255;
        b = (src[i + 2] / max) * 255;
        if (ch === 4) a = (src[i + 3] / max) * 255;
      }
      // transparent pixels print as paper (white)
      const o = (y * w + x) * 4;
      const k = a / 255;
      out[o] = r * k + 255 * (1 - k);
      out[o + 1] = g * k + 255 * (1 - k);
      out[o + 2] = b * k + 255 * (1 - k);
      out[o + 3] = 255;
    }
  }
  return { width: w, height: h, data: out };
}

/** Loads `logo.png` from a templates folder, if there is one. */
export async function loadLogo(folder: string | null, maxWidth: number): Promise<Logo | null> {
  if (!folder) return null;
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(join(folder, "logo.png"));
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return null;
    throw e;
  }
  try {
    // fast-png (and fflate's Node build under it) is loaded only here: its module set-up alone
    // costs ~10 MB of resident memory a store without a logo never needs (docs/benchmarks.md)
    const { decode } = await import("fast-png");
    return prepareLogo(bytes, maxWidth, decode);
  } catch (e) {
    throw new Error(
      `${join(folder, "logo.png")} is not a PNG the agent can read: ${(e as Error).message}`,
    );
  }
}
