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
  "\u2022": "*",
  "\u00d7": "x",
  "\u20ac": "EUR",
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
};

/** The result of fitting text to a printer's character set. */
export interface Fitted {
  text: string;
  /** Characters transliterated (e.g. `é` → `e` where `é` is missing). */
  transliterated: number;
  /** Characters replaced with `?` because nothing close exists. */
  replaced: number;
}

/**
 * Fits text to the characters a printer can print: kept if in `charset`, else transliterated,
 * else `?`. Spacing characters (no-break space from `Intl`) always become a plain space.
 */
export function fitToCharset(s: string, charset: ReadonlySet<number>): Fitted {
  let out = "";
  let transliterated = 0;
  let replaced = 0;
  for (const ch of s) {
    const cp = ch.codePointAt(0)!;
    if (cp < 0x80 || (charset.has(cp) && !(ch in TRANSLIT && TRANSLIT[ch] === " "))) {
      out += ch;
      continue;
    }
    const t = TRANSLIT[ch];
    if (
      t !== undefined &&
      [...t].every((c) => c.codePointAt(0)! < 0x80 || charset.has(c.codePointAt(0)!))
    ) {
      out += t;
      if (t !== " ") transliterated++;
      continue;
    }
    const base = ch.normalize("NFKD").replace(/[\u0300-\u036f]/g, "");
    if (
      base && base !== ch &&
      [...base].every((c) => c.codePointAt(0)! < 0x80 || charset.has(c.codePointAt(0)!))
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

/** Printed width of a string (one column per code point after fitting). */
export function width(s: string): number {
  let n = 0;
  for (const _ of s) n++;
  return n;
}

/** Splits text into lines of at most `cols` columns, at spaces where possible. */
export function wrap(s: string, cols: number): string[] {
  if (cols < 1) return [s];
  const words = s.split(" ");
  const lines: string[] = [];
  let cur = "";
  for (let w of words) {
    while (width(w) > cols) {
      // a word longer than the line: fill the current line, then hard-break
      const room = cur ? cols - width(cur) - 1 : cols;
      if (room > 0) {
        const cps = [...w];
        lines.push((cur ? cur + " " : "") + cps.slice(0, room).join(""));
        w = cps.slice(room).join("");
      } else {
        lines.push(cur);
      }
      cur = "";
    }
    if (!cur) cur = w;
    else if (width(cur) + 1 + width(w) <= cols) cur += " " + w;
    else {
      lines.push(cur);
      cur = w;
    }
  }
  lines.push(cur);
  return lines;
}

/** Pads a line to `cols` for an alignment. */
export function align(s: string, cols: number, how: "left" | "center" | "right"): string {
  const gap = Math.max(0, cols - width(s));
  if (how === "right") return " ".repeat(gap) + s;
  if (how === "center") return " ".repeat(Math.floor(gap / 2)) + s;
  return s;
}
