/**
 * Blocks → ESC/POS bytes through `@point-of-sale/receipt-printer-encoder`, with the profile's
 * quirks. Text reaching the encoder is already free of control characters and fitted to the
 * profile's code pages, and is checked once more here: commands come only from blocks, and no
 * character of text is written as a byte below 0x20 or 0x7F, in any code page (codepage.ts).
 * @module
 */
import ReceiptPrinterEncoder from "@point-of-sale/receipt-printer-encoder";
import type { Block } from "./layout.ts";
import type { LineStyle } from "./raster_text.ts";
import type { Profile } from "./profile.ts";
import type { Logo } from "./logo.ts";
import "./codepage.ts"; // the encoder's tables without control-byte positions
import { concatBytes } from "../bytes.ts";
import {
  type Bitmap,
  type Code128,
  code128Bitmap,
  code128Encode,
  code128Valid,
  qrBitmap,
  qrModuleFor,
  qrModules,
  rasterCommands,
} from "./codes.ts";

/** Dots per character of font A (12 × 24): a line of `columns` characters is this × columns. */
export const DOTS_PER_COLUMN = 12;
/** QR module size in dots (native `GS ( k` size 6, and the raster QR alike). */
const QR_MODULE = 6;
/** Barcode bar module in dots and height in dots (native `GS w`/`GS h`, and the raster bars). */
const BAR_MODULE = 3, BAR_HEIGHT = 60;

/** Encoded bytes, and the characters the last gate had to replace (0 when layout fitted all). */
export interface Encoded {
  /** The bytes the printer gets. */
  bytes: Uint8Array;
  /** Characters printed as "?" (no code page has them). */
  replaced: number;
  /** What could not be printed as asked and how it was printed instead (logged as warnings). */
  notes: string[];
  /**
   * The paper it takes, in dots, counted as it is encoded: each text line 24 dots × its height
   * plus the printer's default 6 dots of spacing, pictures and codes their height, feeds as sent.
   */
  paperDots: number;
  /** Text lines drawn as dots (characters no code page holds). */
  drawn?: number;
}

/** A text line on paper: font A is 24 dots tall, the default line spacing 30 (1/6 inch). */
const LINE_DOTS = 30;

/** Whether the profile can write `c` as a printable byte (printable ASCII, or in its code pages). */
function printableIn(profile: Profile, c: number): boolean {
  return (c >= 0x20 && c < 0x7f) || profile.codepageOf.has(c);
}

/**
 * Blocks encoded per encoder instance: the encoder's own bookkeeping grows faster than linearly
 * with the lines it holds, so a long receipt is encoded in pieces (linear in all).
 */
const ENCODE_CHUNK = 1000;

/**
 * How a barcode goes on this paper: the printer's CODE128 (`native`), drawn bars (`raster`), or
 * its value as a text line (`text`) when neither fits. A barcode wider than the paper is not
 * printed at all, so the bars are the widest (up to 3 dots) that fit with the 10-module quiet
 * zones, and never under 2 dots (scanners lose them), sized from the very data sent (code set C
 * for digit runs: two digits a symbol). The preview asks this too, so it says what the paper does.
 */
export function barcodePlan(
  value: string,
  profile: Profile,
  columns: number,
): { as: "native" | "raster" | "text"; code: Code128 | null; module: number; n: number } {
  const caps = profile.capabilities;
  const code = code128Valid(value) ? code128Encode(value) : null;
  const n = code ? code.modules.length + 20 : Infinity;
  const module = Math.min(BAR_MODULE, Math.floor(columns * DOTS_PER_COLUMN / n));
  const as = module >= 2 && caps.barcodes.value.includes("code128")
    ? "native"
    : module >= 2 && caps.raster_image.value
    ? "raster"
    : "text";
  return { as, code, module, n };
}

/**
 * Draws a line of text as dots (raster_text.ts): given where the profile prints raster images
 * and the line holds characters no code page has. `cols` is the line's columns at its size.
 */
export type DrawText = (text: string, style: LineStyle) => Bitmap;

/** Whether any character of `t` is beyond the profile's code pages (it is drawn, or `?`). */
export function needsDrawing(t: string, profile: Profile): boolean {
  for (const ch of t) {
    if (!printableIn(profile, ch.codePointAt(0)!)) return true;
  }
  return false;
}

/** Encodes blocks for a profile at a number of columns. */
export function encodeBlocks(
  blocks: Block[],
  profile: Profile,
  columns: number,
  logo: Logo | null = null,
  draw: DrawText | null = null,
): Encoded {
  if (blocks.length <= ENCODE_CHUNK) {
    return noFeedAfterCut(encodePiece(blocks, profile, columns, logo, true, draw));
  }
  const parts: Uint8Array[] = [];
  let replaced = 0, paperDots = 0, drawn = 0;
  const notes: string[] = [];
  for (let i = 0; i < blocks.length; i += ENCODE_CHUNK) {
    const piece = encodePiece(
      blocks.slice(i, i + ENCODE_CHUNK),
      profile,
      columns,
      logo,
      i === 0,
      draw,
    );
    parts.push(piece.bytes);
    replaced += piece.replaced;
    paperDots += piece.paperDots;
    drawn += piece.drawn ?? 0;
    notes.push(...piece.notes);
  }
  return noFeedAfterCut({ bytes: concatBytes(parts), replaced, notes, paperDots, drawn });
}

/**
 * The encoder ends the cut's line with a line feed, which lands at the top of the *next* receipt
 * as a blank line. Paper is fed before the cut (`feed_before_cut`), never after: the feed right
 * after the final cut (before a drawer pulse, if one follows) is dropped.
 */
function noFeedAfterCut(e: Encoded): Encoded {
  const b = e.bytes;
  const at = (i: number, ...want: number[]) => want.every((w, k) => b[i + k] === w);
  const cutEndsAt = (i: number) =>
    i >= 3 && b[i] === 0x0a && at(i - 3, 0x1d, 0x56) && b[i - 1] <= 1 // GS V 0|1, then LF
      ? i
      : -1;
  let lf = cutEndsAt(b.length - 1);
  if (lf < 0 && b.length >= 9 && at(b.length - 5, 0x1b, 0x70)) lf = cutEndsAt(b.length - 6);
  if (lf < 0) return e;
  return { ...e, bytes: concatBytes([b.subarray(0, lf), b.subarray(lf + 1)]) };
}

/**
 * One piece of a receipt. Each piece leaves the printer in the default style (and a new piece
 * selects its code page again), so pieces join without carrying state.
 */
function encodePiece(
  blocks: Block[],
  profile: Profile,
  columns: number,
  logo: Logo | null,
  first: boolean,
  draw: DrawText | null,
): Encoded {
  // deno-lint-ignore no-explicit-any
  const options: any = {
    language: "esc-pos",
    columns,
    newline: "\n",
    feedBeforeCut: profile.feed_before_cut,
    imageMode: profile.image_mode,
    codepageMapping: profile.capabilities.codepages.value,
    codepageCandidates: profile.codepages,
  };
  const e = new ReceiptPrinterEncoder(options);
  // ESC @ resets, FS . leaves Kanji mode (only where the profile declares it: clones without a
  // Kanji mode may print it), ESC M 0 selects font A: the only font some printers (HRPT TP808)
  // have — they garble ESC ! 0x01 (condensed), so it is never sent.
  const caps = profile.capabilities;
  if (first) {
    if (caps.cancel_kanji.value) e.initialize();
    else e.raw([0x1b, 0x40, 0x1b, 0x4d, 0x00]);
  }
  const dots = columns * DOTS_PER_COLUMN;
  /**
   * A code drawn as dots, centred on the paper: `ESC a 1`, raster `GS v 0`, `ESC a 0` (GS v 0 leaves
   * the position at the start of a line, where ESC a takes effect), then the encoder's line feed.
   * Written directly: the encoder would put its alignment after raw bytes, and its image path
   * costs more than the whole receipt.
   */
  let paperDots = 0, drawn = 0;
  const picture = (b: Bitmap) => {
    paperDots += b.height + LINE_DOTS; // the picture, then the encoder's line feed
    const raster = rasterCommands(b);
    const bytes = new Uint8Array(raster.length + 6);
    bytes.set([0x1b, 0x61, 1]);
    bytes.set(raster, 3);
    bytes.set([0x1b, 0x61, 0], raster.length + 3);
    e.raw(bytes as never).newline();
  };
  // Code pages are chosen here, per run of text, from the profile's own table: the encoder's
  // "auto" mode looks every character up through a deep copy of its tables, which made a
  // 5,000-item receipt take seconds.
  const primary = profile.codepages[0];
  let current = "";
  // The last gate: text that did not come through layout's fitting (or a bug there) still
  // cannot become a command; what it catches is counted with the other replacements.
  let replaced = 0;
  const notes: string[] = [];
  const text = (t: string) => {
    let run = "";
    let runCp = current || primary;
    const flush = () => {
      if (!run) return;
      if (runCp !== current) e.codepage((current = runCp) as never);
      e.text(run);
      run = "";
    };
    for (let ch of t) {
      let c = ch.codePointAt(0)!;
      if (!printableIn(profile, c)) {
        ch = "?";
        c = 0x3f;
        replaced++;
      }
      const cp = c < 0x80 ? runCp : profile.codepageOf.get(c) ?? runCp;
      if (cp !== runCp) {
        flush();
        runCp = cp;
      }
      run += ch;
    }
    flush();
  };
  let bold = false, underline = false, invert = false, size = 1;
  const textLine = (t: string, how: "center") => {
    // plain text, whatever the line before it was
    if (bold) e.bold(bold = false);
    if (underline) e.underline(underline = false);
    if (invert) e.invert(invert = false);
    e.align(how);
    text(t);
    e.newline();
    e.align("left");
    paperDots += LINE_DOTS;
  };
  for (const b of blocks) {
    if (b.kind === "text" && draw && caps.raster_image.value && needsDrawing(b.text, profile)) {
      // characters no code page has (Thai, Arabic, Chinese…): the line as dots, one text line
      // tall, no line feed after it (GS v 0 leaves the paper at the start of the next line)
      const inv = b.invert && caps.inverse.value;
      const bitmap = draw(b.text, {
        size: b.size,
        bold: b.bold || (b.invert && !inv),
        underline: b.underline,
        invert: inv,
        center: b.center,
        cols: Math.floor(columns / b.size),
      });
      e.raw(rasterCommands(bitmap) as never);
      paperDots += bitmap.height;
      drawn++;
      continue;
    }
    if (b.kind === "text") {
      // without GS B an inverted line prints bold (its text says what it is: BATAL, REPRINT)
      const inv = b.invert && caps.inverse.value;
      const wantBold = b.bold || (b.invert && !inv);
      if (wantBold !== bold) e.bold(bold = wantBold);
      if (b.underline !== underline) e.underline(underline = b.underline);
      if (inv !== invert) e.invert(invert = inv);
      if (b.size !== size) e.size(size = b.size, b.size);
      // an inverted bar keeps its right padding: trimmed, the bar would sit off centre
      const t = inv ? b.text : b.text.trimEnd();
      // ESC a itself: the encoder's align() pads with single-width spaces instead
      if (b.center) e.raw([0x1b, 0x61, 1] as never);
      if (t) text(t);
      e.newline();
      // an empty line feeds the line spacing whatever the size; characters their height
      paperDots += t ? 24 * b.size + LINE_DOTS - 24 : LINE_DOTS;
      if (b.center) e.raw([0x1b, 0x61, 0] as never);
      continue;
    }
    if (size !== 1) e.size(size = 1, 1);
    switch (b.kind) {
      case "qr":
        if (caps.qr_native.value) {
          // the symbol carries UTF-8, as the raster QR does (phones read UTF-8): the encoder
          // writes QR data as ISO-8859-1, so it gets the UTF-8 bytes one character each
          const bytes = new TextEncoder().encode(b.value);
          const utf8 = String.fromCharCode(...bytes);
          // a symbol wider than the paper is not printed at all: smaller modules where needed
          const symbol = qrModules(bytes);
          const size = qrModuleFor(symbol, QR_MODULE, dots);
          e.align("center").qrcode(utf8, { model: 2, size, errorlevel: "m" }).align("left");
          paperDots += (symbol.length + 8) * size + LINE_DOTS; // the symbol, the encoder's LF
        } else if (caps.raster_image.value) {
          picture(qrBitmap(qrModules(b.value), QR_MODULE, dots));
        } else textLine(b.value, "center");
        break;
      case "barcode": {
        const { code, module, n, as } = barcodePlan(b.value, profile, columns);
        const bars = code?.modules ?? null;
        if (as === "native") {
          // written directly: the encoder's barcode() passes its data through an ASCII table
          // that turns code set C's pairs (bytes 0-99) into "?"
          const data = code!.data;
          e.raw([
            ...[0x1b, 0x61, 1], // centred
            ...[0x1d, 0x68, BAR_HEIGHT, 0x1d, 0x77, module, 0x1d, 0x48, 2], // height, bar, HRI below
            ...[0x1d, 0x6b, 73, data.length, ...data, 0x0a],
            ...[0x1b, 0x61, 0],
          ] as never);
          // the bars, the printer's human-readable line under them, the LF after GS k
          paperDots += BAR_HEIGHT + 2 * LINE_DOTS;
        } else if (as === "raster") {
          picture(code128Bitmap(bars!, module, BAR_HEIGHT, dots));
          textLine(b.value, "center"); // the human-readable line the printer would add
        } else {
          textLine(b.value, "center");
          notes.push(
            module < 2
              ? `barcode "${b.value}" needs ${n * 2} dots at 2 dots per bar; the paper has ` +
                `${dots}: printed as text`
              : `profile ${profile.id} has neither CODE128 nor raster images: barcode ` +
                `"${b.value}" printed as text`,
          );
        }
        break;
      }
      case "feed":
        e.newline(b.lines);
        paperDots += LINE_DOTS * b.lines;
        break;
      case "cut":
        if (profile.cut !== "none") e.cut(profile.cut);
        paperDots += LINE_DOTS * profile.feed_before_cut;
        break;
      case "pulse":
        if (profile.drawer) {
          e.pulse(profile.drawer.pin, profile.drawer.on_ms, profile.drawer.off_ms);
        }
        break;
      case "logo":
        if (logo && caps.raster_image.value) {
          paperDots += logo.height;
          e.align("center").image(logo as never, logo.width, logo.height, "threshold", 128).align(
            "left",
          );
        }
        break;
    }
  }
  if (bold) e.bold(false);
  if (underline) e.underline(false);
  if (invert) e.invert(false);
  if (size !== 1) e.size(1, 1);
  return { bytes: e.encode() as Uint8Array, replaced, notes, paperDots, drawn };
}
