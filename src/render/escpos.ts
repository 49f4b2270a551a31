/**
 * Blocks → ESC/POS bytes through `@point-of-sale/receipt-printer-encoder`, with the profile's
 * quirks. Text reaching the encoder is already free of control characters and fitted to the
 * profile's code pages, and is checked once more here: commands come only from blocks, and no
 * character of text is written as a byte below 0x20 or 0x7F, in any code page (codepage.ts).
 * @module
 */
import ReceiptPrinterEncoder from "@point-of-sale/receipt-printer-encoder";
import type { Block } from "./layout.ts";
import type { Profile } from "./profile.ts";
import type { Logo } from "./logo.ts";
import "./codepage.ts"; // the encoder's tables without control-byte positions
import { concatBytes } from "../bytes.ts";

/** Encoded bytes, and the characters the last gate had to replace (0 when layout fitted all). */
export interface Encoded {
  bytes: Uint8Array;
  replaced: number;
}

/** Whether the profile can write `c` as a printable byte (printable ASCII, or in its code pages). */
function printableIn(profile: Profile, c: number): boolean {
  return (c >= 0x20 && c < 0x7f) || profile.codepageOf.has(c);
}

/**
 * Blocks encoded per encoder instance: the encoder's own bookkeeping grows faster than linearly
 * with the lines it holds, so a long receipt is encoded in pieces (linear in all).
 */
const ENCODE_CHUNK = 1000;

/** Encodes blocks for a profile at a number of columns. */
export function encodeBlocks(
  blocks: Block[],
  profile: Profile,
  columns: number,
  logo: Logo | null = null,
): Encoded {
  if (blocks.length <= ENCODE_CHUNK) {
    return noFeedAfterCut(encodePiece(blocks, profile, columns, logo, true));
  }
  const parts: Uint8Array[] = [];
  let replaced = 0;
  for (let i = 0; i < blocks.length; i += ENCODE_CHUNK) {
    const piece = encodePiece(blocks.slice(i, i + ENCODE_CHUNK), profile, columns, logo, i === 0);
    parts.push(piece.bytes);
    replaced += piece.replaced;
  }
  return noFeedAfterCut({ bytes: concatBytes(parts), replaced });
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
): Encoded {
  // deno-lint-ignore no-explicit-any
  const options: any = {
    language: "esc-pos",
    columns,
    newline: "\n",
    feedBeforeCut: profile.feed_before_cut,
    imageMode: profile.image_mode,
    codepageMapping: profile.codepage_mapping,
    codepageCandidates: profile.codepages,
  };
  const e = new ReceiptPrinterEncoder(options);
  // ESC @ resets, FS . leaves Kanji mode, ESC M 0 selects font A: the only font some
  // printers (HRPT TP808) have — they garble ESC ! 0x01 (condensed), so it is never sent.
  if (first) e.initialize();
  // Code pages are chosen here, per run of text, from the profile's own table: the encoder's
  // "auto" mode looks every character up through a deep copy of its tables, which made a
  // 5,000-item receipt take seconds.
  const primary = profile.codepages[0];
  let current = "";
  // The last gate: text that did not come through layout's fitting (or a bug there) still
  // cannot become a command; what it catches is counted with the other replacements.
  let replaced = 0;
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
  const textLine = (t: string, how: "center") => {
    e.align(how);
    text(t);
    e.newline();
    e.align("left");
  };
  let bold = false, underline = false, invert = false, size = 1;
  for (const b of blocks) {
    if (b.kind === "text") {
      if (b.bold !== bold) e.bold(bold = b.bold);
      if (b.underline !== underline) e.underline(underline = b.underline);
      if (b.invert !== invert) e.invert(invert = b.invert);
      if (b.size !== size) e.size(size = b.size, b.size);
      // an inverted bar keeps its right padding: trimmed, the bar would sit off centre
      const t = b.invert ? b.text : b.text.trimEnd();
      if (t) text(t);
      e.newline();
      continue;
    }
    if (size !== 1) e.size(size = 1, 1);
    switch (b.kind) {
      case "qr":
        if (profile.supports.qr) {
          e.align("center").qrcode(b.value, { model: 2, size: 6, errorlevel: "m" }).align("left");
        } else textLine(b.value, "center");
        break;
      case "barcode":
        if (profile.supports.barcode) {
          e.align("center").barcode(b.value, "code128", { height: 60, text: true }).align("left");
        } else textLine(b.value, "center");
        break;
      case "feed":
        e.newline(b.lines);
        break;
      case "cut":
        if (profile.cut !== "none") e.cut(profile.cut);
        break;
      case "pulse":
        if (profile.drawer) {
          e.pulse(profile.drawer.pin, profile.drawer.on_ms, profile.drawer.off_ms);
        }
        break;
      case "logo":
        if (logo && profile.supports.image) {
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
  return { bytes: e.encode() as Uint8Array, replaced };
}
