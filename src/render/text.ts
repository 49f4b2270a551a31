/**
 * Text safety: server text is data, never printer commands. Every control character is removed
 * before layout, and characters the printer's code pages cannot print are transliterated or
 * replaced visibly with `?` — and counted, never dropped silently.
 * @module
 */

// C0 controls, DEL, C1 controls, bidi overrides/isolates, zero-width and separator characters.
const CONTROL_RE =
  // deno-lint-ignore no-control-regex
  /[\u0000-\u0008\u000B-\u001F\u007F-\u009F\u200B-\u200F\u202A-\u202E\u2028\u2029\u2060-\u2069\uFEFF]/g;

/**
 * Removes every control character from server text. Tabs and line breaks become spaces (a
 * field is one logical line; the layout wraps it).
 *
 * @example
 * ```ts
 * import { stripControls } from "./text.ts";
 * console.log(stripControls("Tea\x1b\x70\x00\x19\xfa")); // "Teap\xfa" (ESC and NUL gone)
 * ```
 */
export function stripControls(s: string): string {
  return s.replace(/[\t\n\r]/g, " ").replace(CONTROL_RE, "");
}

/** Turns any template value into safe text: null/undefined → "", controls removed. */
export function toSafeText(v: unknown): string {
  if (v === null || v === undefined) return "";
  if (typeof v === "string") return stripControls(v);
  if (typeof v === "number" || typeof v === "boolean" || typeof v === "bigint") return String(v);
  if (Array.isArray(v)) return v.map(toSafeText).join(", ");
  return stripControls(JSON.stringify(v));
}

const TRANSLIT: Record<string, string> = {
  "\u00a0": " ",
  "\u202f": " ",
  "\u2007": " ",
  "\u2009": " ",
  "\u2018": "'",
  "\u2019": "'",
  "\u201a": "'",
  "\u201c": '"',
  "\u201d": '"',
  "\u201e": '"',
  "\u2013": "-",
  "\u2014": "-",
  "\u2212": "-",
  "\u2026": "...",
  "\u2022": "*", // •
  "\u25e6": "o", // ◦
  "\u2219": "*", // ∙
  "\u00b7": ".", // ·
  "\u00a7": "S", // §
  "\u00b6": "P", // ¶
  "\u2192": ">", // →
  "\u2190": "<", // ←
  "\u2191": "^", // ↑
  "\u2193": "v", // ↓
  "\u2194": "<>", // ↔
  "\u2195": "|", // ↕
  "\u21a8": "|", // ↨
  "\u25ba": ">", // ►
  "\u25b6": ">", // ▶
  "\u25c4": "<", // ◄
  "\u25c0": "<", // ◀
  "\u25b2": "^", // ▲
  "\u25bc": "v", // ▼
  "\u203c": "!!", // ‼
  "\u25cb": "o", // ○
  "\u25d8": "#", // ◘
  "\u25d9": "#", // ◙
  "\u25ac": "-", // ▬
  "\u221f": "L", // ∟
  "\u2302": "^", // ⌂
  "\u263a": ":)", // ☺
  "\u263b": ":)", // ☻
  "\u2665": "<3", // ♥
  "\u00d7": "x",
  "\u20ac": "EUR",
  "\u0e3f": "THB", // ฿ (not in the code pages thermal printers carry)
  "\u20b1": "PHP", // ₱
  "\u20ab": "VND", // ₫
  "\u2116": "No",
  "\u00df": "ss",
  "\u00e6": "ae",
  "\u00c6": "AE",
  "\u0153": "oe",
  "\u0152": "OE",
  "\u00f8": "o",
  "\u00d8": "O",
  "\u0142": "l",
  "\u0141": "L",
  // letters with a stroke or of their own, which no decomposition takes apart (Vietnamese đ)
  "\u0111": "d", // đ
  "\u0110": "D", // Đ
  "\u00f0": "d", // ð
  "\u00d0": "D", // Ð
  "\u0127": "h", // ħ
  "\u0126": "H", // Ħ
  "\u0131": "i", // ı
  "\u0167": "t", // ŧ
  "\u0166": "T", // Ŧ
  "\u00fe": "th", // þ
  "\u00de": "Th", // Þ
  "\u0138": "k", // ĸ
  "\u017f": "s", // ſ
};

/** Selectors that only pick a glyph's look (text or emoji): nothing to print. */
const SELECTOR_RE = /^[\uFE00-\uFE0F\u{E0100}-\u{E01EF}]$/u;
/** A combining mark (accents, the keycap's enclosing square) or an emoji skin tone modifier. */
const MARK_RE = /^[\p{M}\p{Emoji_Modifier}]$/u;

function printable(ch: string, charset: ReadonlySet<number>): boolean {
  const c = ch.codePointAt(0)!;
  return (c >= 0x20 && c < 0x7f) || charset.has(c);
}

/** The result of fitting text to a printer's character set. */
export interface Fitted {
  /** The fitted text. */
  text: string;
  /** Characters transliterated (e.g. `é` → `e` where `é` is missing). */
  transliterated: number;
  /** Characters replaced with `?` because nothing close exists. */
  replaced: number;
}

/**
 * Fits text to the characters a printer can print: kept if printable ASCII or in `charset`, else
 * transliterated, else `?`. Spacing characters (no-break space from `Intl`) always become a plain
 * space. A control character (never in a charset) is replaced and counted.
 */
export function fitToCharset(s: string, charset: ReadonlySet<number>): Fitted {
  let out = "";
  let transliterated = 0;
  let replaced = 0;
  // composed first: "e" + U+0301 is the é every code page has, not "e?"
  for (const ch of s.normalize("NFC")) {
    const cp = ch.codePointAt(0)!;
    if (
      (cp >= 0x20 && cp < 0x7f) || (charset.has(cp) && !(ch in TRANSLIT && TRANSLIT[ch] === " "))
    ) {
      out += ch;
      continue;
    }
    if (cp >= 0xfe00 && SELECTOR_RE.test(ch)) continue; // 7 + VS16 + keycap: the 7 alone
    if (cp >= 0x300 && MARK_RE.test(ch)) {
      // a mark the printer cannot put on its letter: the letter prints bare, counted
      transliterated++;
      continue;
    }
    const t = TRANSLIT[ch];
    if (
      t !== undefined && [...t].every((c) => printable(c, charset))
    ) {
      out += t;
      if (t !== " ") transliterated++;
      continue;
    }
    const base = ch.normalize("NFKD").replace(/[\u0300-\u036f]/g, "");
    if (
      base && base !== ch && [...base].every((c) => printable(c, charset))
    ) {
      out += base;
      transliterated++;
      continue;
    }
    out += "?";
    replaced++;
  }
  return { text: out, transliterated, replaced };
}

/** Server text → printable text for a charset: controls removed, then fitted and counted. */
export function fitText(s: string, charset: ReadonlySet<number>): Fitted {
  return fitToCharset(stripControls(s), charset);
}

/** Printed width of a string (one column per code point after fitting). */
export function width(s: string): number {
  let n = 0;
  for (const _ of s) n++;
  return n;
}

/**
 * Splits text into lines of at most `first` columns (the first line) and `rest` (the lines after
 * it, e.g. a hanging indent), at spaces where possible; a word longer than a line fills the line
 * and is hard-broken. Linear in the length of the text (each code point is visited a bounded
 * number of times), so a huge field costs time in proportion, never more.
 */
export function wrap(s: string, first: number, rest: number = first): string[] {
  if (first < 1 || rest < 1) return [s];
  const lines: string[] = [];
  let cur = "";
  let curW = 0;
  for (const word of s.split(" ")) {
    let w = word;
    let wW = width(w);
    for (;;) {
      const cols = lines.length ? rest : first;
      if (wW > cols) {
        // a word longer than the line: fill the current line, then hard-break
        const room = curW ? cols - curW - 1 : cols;
        if (room > 0) {
          const head = takeCodePoints(w, room);
          lines.push((curW ? cur + " " : "") + head);
          w = w.slice(head.length);
          wW -= room;
        } else {
          lines.push(cur);
        }
        cur = "";
        curW = 0;
        continue;
      }
      if (!curW && !cur) {
        cur = w;
        curW = wW;
      } else if (curW + 1 + wW <= cols) {
        cur += " " + w;
        curW += 1 + wW;
      } else {
        lines.push(cur);
        cur = "";
        curW = 0;
        continue; // the word starts the next line, whose width may differ
      }
      break;
    }
  }
  lines.push(cur);
  return lines;
}

/** The first `n` code points of `s` (as a string), reading only those. */
function takeCodePoints(s: string, n: number): string {
  let i = 0;
  for (let k = 0; k < n && i < s.length; k++) {
    const c = s.charCodeAt(i);
    i += c >= 0xd800 && c <= 0xdbff && i + 1 < s.length ? 2 : 1;
  }
  return s.slice(0, i);
}

/** Pads a line to `cols` for an alignment. */
export function align(s: string, cols: number, how: "left" | "center" | "right"): string {
  const gap = Math.max(0, cols - width(s));
  if (how === "right") return " ".repeat(gap) + s;
  if (how === "center") return " ".repeat(Math.floor(gap / 2)) + s;
  return s;
}
