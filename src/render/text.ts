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
  /** Characters kept to be drawn as dots (no code page has them; a font does). */
  drawn?: number;
}

/**
 * Whether a character no code page holds can be drawn as dots instead (the profile prints raster
 * images and a font has it): letters, marks and digits only — punctuation and symbols keep their
 * text look (quotes, dashes, `EUR`), and an emoji's keycap or skin tone is left off as before.
 */
export type Drawable = (cp: number) => boolean;

const DRAWN_RE = /^[\p{L}\p{M}\p{N}]$/u;
/** Vietnamese's own letters (ơ ư đ, and every vowel with its tone): stripped, a word changes. */
const VIETNAMESE_RE = /^[\u0110\u0111\u01a0\u01a1\u01af\u01b0\u1ea0-\u1ef9]$/u;

/**
 * Fits text to the characters a printer can print: kept if printable ASCII or in `charset`, else
 * transliterated, else `?`. Spacing characters (no-break space from `Intl`) always become a plain
 * space. A control character (never in a charset) is replaced and counted.
 */
export function fitToCharset(
  s: string,
  charset: ReadonlySet<number>,
  drawable?: Drawable,
): Fitted {
  let out = "";
  let transliterated = 0;
  let replaced = 0;
  let drawn = 0;
  let lastDrawn = false;
  // composed first: "e" + U+0301 is the é every code page has, not "e?"
  for (const ch of s.normalize("NFC")) {
    const cp = ch.codePointAt(0)!;
    if (
      (cp >= 0x20 && cp < 0x7f) || (charset.has(cp) && !(ch in TRANSLIT && TRANSLIT[ch] === " "))
    ) {
      out += ch;
      lastDrawn = false;
      continue;
    }
    if (cp >= 0xfe00 && SELECTOR_RE.test(ch)) continue; // 7 + VS16 + keycap: the 7 alone
    // Vietnamese letters carry their tone in the mark: drawn rather than stripped; and a mark
    // on a drawn letter (Thai vowels and tones, Arabic harakat) is drawn with it
    if (
      drawable &&
      (VIETNAMESE_RE.test(ch) ||
        (lastDrawn && cp >= 0x300 && /^\p{M}$/u.test(ch) && cp !== 0x20e3)) &&
      drawable(cp)
    ) {
      out += ch;
      drawn++;
      lastDrawn = true;
      continue;
    }
    lastDrawn = false;
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
    if (drawable && DRAWN_RE.test(ch) && drawable(cp)) {
      // Thai, Khmer, Arabic, Chinese…: what no code page has and nothing stands in for is drawn
      out += ch;
      drawn++;
      lastDrawn = true;
      continue;
    }
    out += "?";
    replaced++;
  }
  return drawn
    ? { text: out, transliterated, replaced, drawn }
    : { text: out, transliterated, replaced };
}

/** Server text → printable text for a charset: controls removed, then fitted and counted. */
export function fitText(s: string, charset: ReadonlySet<number>, drawable?: Drawable): Fitted {
  return fitToCharset(stripControls(s), charset, drawable);
}

const ZERO_WIDTH_RE = /^[\p{Mn}\p{Me}\p{Cf}]$/u;

/**
 * Columns a character takes on paper: 1 for everything a code page prints; for characters drawn
 * as dots (raster_text.ts), 0 for a mark on its letter (Thai vowels and tones, Arabic harakat, a
 * Khmer subscript after its coeng), 2 for the wide ones (Chinese, Japanese, Korean, full-width
 * forms), 1 for the rest. `prev` is the code point before it (0 at the start).
 */
export function charCols(cp: number, prev: number): number {
  if (cp < 0x300) return 1;
  if (prev === 0x17d2) return 0; // Khmer coeng: the next consonant goes under its letter
  if (
    (cp >= 0x1100 && cp <= 0x115f) || (cp >= 0x2e80 && cp <= 0x303e) ||
    (cp >= 0x3041 && cp <= 0x33ff) || (cp >= 0x3400 && cp <= 0x4dbf) ||
    (cp >= 0x4e00 && cp <= 0x9fff) || (cp >= 0xa000 && cp <= 0xa4cf) ||
    (cp >= 0xac00 && cp <= 0xd7a3) || (cp >= 0xf900 && cp <= 0xfaff) ||
    (cp >= 0xfe30 && cp <= 0xfe4f) || (cp >= 0xff00 && cp <= 0xff60) ||
    (cp >= 0xffe0 && cp <= 0xffe6) || (cp >= 0x20000 && cp <= 0x3fffd)
  ) return 2;
  return ZERO_WIDTH_RE.test(String.fromCodePoint(cp)) ? 0 : 1;
}

/**
 * Printed width of a string in columns: one a character for what a code page prints; drawn
 * characters as {@link charCols} says.
 */
export function width(s: string): number {
  let n = 0;
  let prev = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x300) {
      n++;
      prev = c;
      continue;
    }
    const cp = s.codePointAt(i)!;
    if (cp > 0xffff) i++;
    n += charCols(cp, prev);
    prev = cp;
  }
  return n;
}

/** Scripts written without spaces between words, broken where a word ends (`Intl.Segmenter`). */
const UNSPACED_RE =
  /[\u0e00-\u0eff\u1000-\u109f\u1780-\u17ff\u3040-\u30ff\u3400-\u9fff\uf900-\ufaff]/;
let segmenter: Intl.Segmenter | null = null;

/** A word of a space-less script, in pieces a line may break between (Thai words, each hanzi). */
function pieces(word: string): string[] {
  if (!UNSPACED_RE.test(word)) return [word];
  segmenter ??= new Intl.Segmenter("th", { granularity: "word" });
  return [...segmenter.segment(word)].map((x) => x.segment);
}

/**
 * Splits text into lines of at most `first` columns (the first line) and `rest` (the lines after
 * it, e.g. a hanging indent), at spaces where possible — and between the words of Thai, Khmer,
 * Lao, Burmese, Chinese and Japanese, which have none; a word longer than a line fills the line
 * and is hard-broken (never inside a letter with its marks). Linear in the length of the text
 * (each code point is visited a bounded number of times), so a huge field costs time in
 * proportion, never more.
 */
export function wrap(s: string, first: number, rest: number = first): string[] {
  if (first < 1 || rest < 1) return [s];
  const lines: string[] = [];
  let cur = "";
  let curW = 0;
  for (const word of s.split(" ")) {
    const parts = pieces(word);
    for (const [k, part] of parts.entries()) {
      const sep = k === 0 ? " " : ""; // a space before each word, none inside one
      let w = part;
      let wW = width(w);
      for (;;) {
        const cols = lines.length ? rest : first;
        const sepW = curW || cur ? sep.length : 0;
        if (wW > cols) {
          // a word longer than the line: fill the current line, then hard-break
          const room = curW ? cols - curW - sepW : cols;
          const head = room > 0 ? takeColumns(w, room, !curW) : "";
          if (head) {
            lines.push((curW ? cur + (sepW ? sep : "") : "") + head);
            w = w.slice(head.length);
            wW = widthAfter(w, head, wW);
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
        } else if (curW + sepW + wW <= cols) {
          cur += (sepW ? sep : "") + w;
          curW += sepW + wW;
        } else {
          lines.push(cur);
          cur = "";
          curW = 0;
          continue; // the word starts the next line, whose width may differ
        }
        break;
      }
    }
  }
  lines.push(cur);
  return lines;
}

/**
 * The width of `rest` alone, from the width of `head + rest` (`whole`): only the first character
 * of `rest` can count otherwise alone (a Khmer subscript after its coeng). Constant time.
 */
function widthAfter(rest: string, head: string, whole: number): number {
  if (!rest || !head) return rest ? whole - width(head) : 0;
  const first = rest.codePointAt(0)!;
  const lastUnit = head.charCodeAt(head.length - 1);
  const last = lastUnit >= 0xdc00 && lastUnit <= 0xdfff && head.length > 1
    ? head.codePointAt(head.length - 2)!
    : lastUnit;
  return whole - width(head) - charCols(first, last) + charCols(first, 0);
}

/**
 * The longest head of `s` (as a string) at most `n` columns wide, never parting a letter from its
 * marks (a whole grapheme cluster at a time, where the text has any beyond Latin's); with
 * `atLeastOne`, one cluster even if wider, so an empty line always moves on.
 */
function takeColumns(s: string, n: number, atLeastOne: boolean): string {
  // only the head is looked at (a long word is broken line by line: linear in all)
  const want = Math.max(n, atLeastOne ? 1 : 0);
  if (!/[^\u0020-\u02ff]/.test(s.slice(0, want + 1))) return s.slice(0, want);
  graphemes ??= new Intl.Segmenter(undefined, { granularity: "grapheme" });
  // units: letters with their marks, and a Khmer subscript with the letter above its coeng
  let end = 0, w = 0;
  let unitEnd = 0; // where the unit being read began
  let joined = false;
  for (const { segment, index } of graphemes.segment(s.slice(0, 8 * want + 16))) {
    if (!joined) unitEnd = end;
    w += joined ? width("\u17d2" + segment) : width(segment);
    if (w > n && (unitEnd > 0 || !atLeastOne)) return s.slice(0, unitEnd);
    end = index + segment.length;
    joined = segment.endsWith("\u17d2");
  }
  return s.slice(0, end);
}
let graphemes: Intl.Segmenter | null = null;

/** The head of `s` that fits `n` columns (whole letters with their marks); "" if none fits. */
export function headColumns(s: string, n: number): string {
  return n > 0 ? takeColumns(s, n, false) : "";
}

/** Pads a line to `cols` for an alignment. */
export function align(s: string, cols: number, how: "left" | "center" | "right"): string {
  const gap = Math.max(0, cols - width(s));
  if (how === "right") return " ".repeat(gap) + s;
  if (how === "center") return " ".repeat(Math.floor(gap / 2)) + s;
  return s;
}
