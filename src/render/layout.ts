/**
 * Layout: the marked text a template produced → printable blocks of exact width, plus the plain
 * text preview (what the paper will say, column for column).
 * @module
 */
import { AgentError } from "../errors.ts";
import type { Op } from "./template.ts";
import { align, charCols, type Drawable, fitText, stripControls, width, wrap } from "./text.ts";

/** One printable block. Text blocks hold one physical line each. */
export type Block =
  | {
    kind: "text";
    text: string;
    bold: boolean;
    underline: boolean;
    invert: boolean;
    size: 1 | 2;
    /**
     * Centred by the printer (`ESC a 1`), `text` unpadded: a double-size line whose free columns
     * are odd would sit one column off centre if padded with double-width spaces.
     */
    center?: true;
  }
  | { kind: "qr"; value: string }
  | { kind: "barcode"; value: string }
  | { kind: "feed"; lines: number }
  | { kind: "cut" }
  | { kind: "pulse" }
  | { kind: "logo" };

/** Layout result. */
export interface Layout {
  /** The laid-out blocks. */
  blocks: Block[];
  /** Characters transliterated / replaced with `?` to fit the printer's code pages. */
  transliterated: number;
  /** Characters printed as "?" (no code page has them). */
  replaced: number;
}

/** Limits that turn a runaway payload into a clear RENDER_ERROR instead of metres of paper. */
export const LIMITS = { maxLines: 20_000, maxQr: 700, maxBarcode: 48 };

interface Style {
  align: "left" | "center" | "right";
  bold: boolean;
  underline: boolean;
  invert: boolean;
  size: 1 | 2;
}

/** Splits marked text into segments: strings and ops (only markers carrying `nonce` count). */
function* segments(line: string, nonce: string): Generator<string | Op> {
  // deno-lint-ignore no-control-regex
  const re = /\x1e([0-9a-f]{32})(\{[^\x1e\x1f]*\})\x1f/g;
  let last = 0;
  for (const m of line.matchAll(re)) {
    if (m[1] !== nonce) continue;
    if (m.index! > last) yield line.slice(last, m.index);
    yield JSON.parse(m[2]) as Op;
    last = m.index! + m[0].length;
  }
  if (last < line.length) yield line.slice(last);
}

/**
 * QR data: carried as UTF-8 inside the symbol (escpos.ts), so any character but a control (C0,
 * DEL, C1) or a lone surrogate stays itself; those become "?" and are counted.
 */
function qrData(v: string): { text: string; replaced: number } {
  let replaced = 0;
  const text = stripControls(v).replace(/\p{Cc}|\p{Cs}/gu, () => {
    replaced++;
    return "?";
  });
  return { text, replaced };
}

/**
 * Lays out marked template output for a printer of `columns` columns whose code pages can print
 * `charset`; characters beyond them that `drawable` says a font draws are kept (the line goes as
 * dots), the rest transliterated or `?`.
 */
export function layout(
  marked: string,
  nonce: string,
  columns: number,
  charset: ReadonlySet<number>,
  maxLines: number = LIMITS.maxLines,
  drawable?: Drawable,
): Layout {
  const blocks: Block[] = [];
  const st: Style = { align: "left", bold: false, underline: false, invert: false, size: 1 };
  let transliterated = 0;
  let replaced = 0;
  const fit = (s: string) => {
    const f = fitText(s, charset, drawable);
    transliterated += f.transliterated;
    replaced += f.replaced;
    return f.text;
  };
  const pushText = (text: string, s: Style = st, center = false) => {
    if (blocks.length > maxLines) {
      throw new AgentError(
        "RENDER_ERROR",
        `receipt would be longer than ${maxLines} lines; refusing to print it`,
      );
    }
    blocks.push({
      kind: "text",
      text,
      bold: s.bold,
      underline: s.underline,
      invert: s.invert,
      size: s.size,
      ...(center ? { center: true as const } : {}),
    });
  };

  for (const rawLine of marked.split("\n")) {
    const cells: string[] = [""];
    let hadOp = false;
    let lineStyle: Style | null = null; // the style in force where the line's text starts
    const flushCells = (s: Style) => {
      const cols = Math.floor(columns / s.size);
      // each cell fitted once: fitting counts what it transliterates
      const fitted = cells.map(fit);
      const parts = fitted.map((c) => c.trim());
      // keep a template's indentation (modifiers, notes, an item's discount) on every line
      const indent = s.align === "left"
        ? Math.max(0, Math.min(cols >> 2, fitted[0].search(/\S/)))
        : 0;
      const pad = " ".repeat(indent);
      // an item's name that wraps goes on under the name, after its quantity ("2 x ", "2 "):
      // at column 0 it would pass for a new item
      const qty = s.align === "left"
        ? /^\d+(?:[.,]\d+)? (?:x )?/.exec(parts[0])?.[0].length ?? 0
        : 0;
      const hang = " ".repeat(Math.min(indent + qty, cols >> 2));
      if (parts.length === 1) {
        // double size, centred, not a bar: the printer centres it to the dot
        const byPrinter = s.size === 2 && s.align === "center" && !s.invert;
        for (const [i, l] of wrap(parts[0], cols - pad.length, cols - hang.length).entries()) {
          if (byPrinter) pushText(l, s, true);
          else pushText(align((i ? hang : pad) + l, cols, s.align), s);
        }
        return;
      }
      // a row: the left part wraps, the right part stays right-aligned on the first line
      const right = parts.slice(1).filter(Boolean).join(" ");
      if (width(right) + 1 + Math.min(width(parts[0]), 8) > cols - indent) {
        // the right part is too wide to share a line: left lines, then right-aligned right lines
        const left = wrap(parts[0], cols - indent, cols - hang.length);
        for (const [i, l] of left.entries()) if (l) pushText((i ? hang : pad) + l, s);
        for (const l of wrap(right, cols)) pushText(align(l, cols, "right"), s);
        return;
      }
      const left = wrap(
        parts[0],
        Math.max(1, cols - indent - width(right) - 1),
        Math.max(1, cols - hang.length),
      );
      const gap = Math.max(1, cols - indent - width(left[0]) - width(right));
      pushText(pad + left[0] + " ".repeat(gap) + right, s);
      for (const l of left.slice(1)) pushText(hang + l, s);
    };
    for (const seg of segments(rawLine, nonce)) {
      if (typeof seg === "string") {
        if (seg.trim() && !lineStyle) lineStyle = { ...st };
        cells[cells.length - 1] += seg;
        continue;
      }
      hadOp = true;
      switch (seg.op) {
        case "align":
          st.align = seg.v;
          break;
        case "bold":
        case "underline":
        case "invert":
          st[seg.op] = seg.v;
          break;
        case "size":
          st.size = seg.v;
          break;
        case "col":
          cells.push("");
          break;
        case "rule":
          {
            const r = fit(seg.v);
            pushText(r.repeat(Math.floor(columns / st.size / Math.max(1, width(r)))));
          }
          break;
        case "qr": {
          // QR data is written as ISO 8859-1: controls removed, anything else outside it `?`
          const v = qrData(seg.v);
          replaced += v.replaced;
          if (!v.text) break;
          if (v.text.length > LIMITS.maxQr) {
            throw new AgentError(
              "RENDER_ERROR",
              `QR value is ${v.text.length} characters; at most ${LIMITS.maxQr}`,
            );
          }
          blocks.push({ kind: "qr", value: v.text });
          break;
        }
        case "barcode": {
          const v = seg.v;
          if (!v) break;
          if (!/^[\x20-\x7e]+$/.test(v) || v.length > LIMITS.maxBarcode) {
            throw new AgentError(
              "RENDER_ERROR",
              `barcode value must be 1-${LIMITS.maxBarcode} printable ASCII characters: ${
                JSON.stringify(v.slice(0, 60))
              }`,
            );
          }
          blocks.push({ kind: "barcode", value: v });
          break;
        }
        case "feed":
          blocks.push({ kind: "feed", lines: seg.v });
          break;
        case "cut":
          blocks.push({ kind: "cut" });
          break;
        case "pulse":
          blocks.push({ kind: "pulse" });
          break;
        case "logo":
          blocks.push({ kind: "logo" });
          break;
      }
    }
    const hasText = cells.some((c) => c.trim() !== "");
    if (hasText) flushCells(lineStyle ?? st);
    else if (!hadOp) pushText(""); // an intentionally empty line
  }
  while (
    blocks.length && blocks[blocks.length - 1].kind === "text" &&
    (blocks.at(-1) as { text: string }).text === ""
  ) {
    blocks.pop();
  }
  return { blocks, transliterated, replaced };
}

/** A double-width line in single columns: each character followed by the columns it adds. */
function doubled(s: string): string {
  let out = "", prev = 0;
  for (const ch of s) {
    const cp = ch.codePointAt(0)!;
    out += ch + " ".repeat(charCols(cp, prev));
    prev = cp;
  }
  return out;
}

/**
 * The plain-text preview of blocks (what the paper says). `barcodeAsText` tells which barcodes
 * the printer gets as their value in text (too wide for the paper, or no way to print bars).
 */
export function previewText(
  blocks: Block[],
  columns: number,
  barcodeAsText: (value: string) => boolean = () => false,
): string {
  const out: string[] = [];
  const center = (s: string) => align(s, columns, "center");
  for (const b of blocks) {
    switch (b.kind) {
      case "text": {
        const t = b.size === 2 ? doubled(b.text).trimEnd() : b.text.trimEnd();
        out.push(b.center ? align(t, columns, "center") : t);
        break;
      }
      case "qr":
        out.push(
          center(
            `[QR ${
              b.value.length > columns - 6 ? b.value.slice(0, columns - 9) + "..." : b.value
            }]`,
          ),
        );
        break;
      case "barcode":
        out.push(center(barcodeAsText(b.value) ? b.value : `[BARCODE ${b.value}]`));
        break;
      case "feed":
        for (let i = 0; i < b.lines; i++) out.push("");
        break;
      case "cut":
        out.push(center(" CUT ").replace(/ (?= *CUT)|(?<=CUT *) /g, "-").padEnd(columns, "-"));
        break;
      case "pulse":
        out.push(center("[DRAWER OPEN]"));
        break;
      case "logo":
        out.push(center("[LOGO]"));
        break;
    }
  }
  return out.join("\n");
}
