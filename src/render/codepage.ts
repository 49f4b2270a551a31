/**
 * Code pages as the printer reads them. CP437 and the tables built on it (CP850, CP858, ...) give
 * glyphs — •, §, ¶, arrows, card suits, smileys — to the bytes 0x01–0x1F and 0x7F, but a printer
 * reads those bytes as commands: `ESC p` opens the drawer, `GS V` cuts, `ESC @` resets. So a byte
 * below 0x20 or 0x7F is never a position for text here, in any code page.
 *
 * This module replaces the encoder library's tables once, for the whole process, by tables without
 * those positions: every way the library turns text into bytes (text, QR data, a code page's
 * fallback `?`) can only produce a printable byte, and a glyph that also sits at a printable
 * position (§ at 0xF5 in CP858) is written there.
 * @module
 */
import CodepageEncoder from "@point-of-sale/codepage-encoder";

/** A byte that a printer reads as a command, never as text: C0 controls and DEL. */
export function isControlByte(byte: number): boolean {
  return byte < 0x20 || byte === 0x7f;
}

/** What a table holds at a position that is not printable (no code point is negative). */
const NOT_PRINTABLE = -1;
/** What the library fills unmapped positions with. */
const UNMAPPED = 0xfffd;

type Encoding = ReturnType<typeof CodepageEncoder.getEncoding>;
const library = CodepageEncoder.getEncoding.bind(CodepageEncoder);
const printable = new Map<string, Encoding>();

function printableEncoding(codepage: string): Encoding {
  let d = printable.get(codepage);
  if (!d) {
    d = library(codepage as never);
    d.codepoints = d.codepoints.map((c, byte) =>
      isControlByte(byte) || c === UNMAPPED ? NOT_PRINTABLE : c
    );
    printable.set(codepage, d);
  }
  return d;
}

// The library deep-copies its whole definition on every lookup (once per text run, in "auto" mode
// once per character): most of the cost of a receipt. One copy is kept per code page, and each
// caller gets a cheap copy of the 256-entry table (getCodepoints writes into it).
CodepageEncoder.getEncoding = (codepage) => {
  const d = printableEncoding(codepage);
  return { ...d, codepoints: d.codepoints.slice() };
};

// The library's encode looks each character up by a linear search through the 256-entry table
// (a tenth of the time rendering a 1,000-item receipt): the same answer from a table indexed by
// code point, built once per code page. A code point at no printable position is `?`, as in the
// library.
const bytesByCodepage = new Map<string, { bmp: Uint8Array; astral: ReadonlyMap<number, number> }>();
CodepageEncoder.encode = (input, codepage) => {
  let t = bytesByCodepage.get(codepage);
  if (!t) {
    const bmp = new Uint8Array(0x10000).fill(0x3f);
    const astral = new Map<number, number>();
    for (const [cp, byte] of printableBytes(codepage)) {
      if (cp < 0x10000) bmp[cp] = byte;
      else astral.set(cp, byte);
    }
    bytesByCodepage.set(codepage, t = { bmp, astral });
  }
  const out = new Uint8Array(input.length);
  for (let c = 0; c < input.length; c++) {
    const cp = input.codePointAt(c)!;
    out[c] = cp < 0x10000 ? t.bmp[cp] : t.astral.get(cp) ?? 0x3f;
  }
  return out;
};

/**
 * For each code point a code page can print, the byte it is written as: the first printable
 * position (control positions are never used).
 *
 * @example
 * ```ts
 * import { printableBytes } from "./codepage.ts";
 * printableBytes("cp858").get(0xa7); // 0xf5: § at its printable position, not 0x15 (NAK)
 * printableBytes("cp437").has(0x2022); // false: • exists only at 0x07 (BEL)
 * ```
 */
export function printableBytes(codepage: string): ReadonlyMap<number, number> {
  const byCodepoint = new Map<number, number>();
  printableEncoding(codepage).codepoints.forEach((c, byte) => {
    if (c !== NOT_PRINTABLE && !byCodepoint.has(c)) byCodepoint.set(c, byte);
  });
  return byCodepoint;
}

/** Every code page the encoder knows (a profile may select any of them). */
export function knownCodepages(): string[] {
  return CodepageEncoder.getEncodings();
}
