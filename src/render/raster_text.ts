/**
 * A line of text the printer's code pages cannot hold, drawn as dots: shaped by HarfBuzz, put in
 * visual order by the Unicode bidirectional algorithm (`bidi-js`, UAX #9), each run of text at
 * the very columns the layout gave it, filled from the glyph outlines and thresholded (never
 * dithered: thermal paper wants crisp edges). The line is as tall as a text line of its size
 * (24 dots a size, plus the 6 dots of line spacing), so drawn and printed lines keep one pitch.
 * @module
 */
import bidiFactory, { type Bidi } from "bidi-js";
import type { Bitmap } from "./codes.ts";
import type { FontSet, LoadedFont } from "./fonts.ts";
import { charCols, width } from "./text.ts";

// the package's types describe its ES module; Deno loads its CommonJS build, same function;
// made on the first line drawn (its tables are built then), never at start
let bidiMade: Bidi | null = null;
const bidiAlgorithm = () => bidiMade ??= (bidiFactory as unknown as () => Bidi)();

/** Dots a column of font A is wide at size 1. */
const COL = 12;
/** Share of a dot a glyph must cover to be printed dark (a little under half: thin strokes stay). */
const THRESHOLD = 0.42;
/** Sub-rows sampled per dot row. */
const SUB = 4;

/** How a line is drawn: the same fields a text block has. */
export interface LineStyle {
  /** 1 or 2 (double width and height). */
  size: 1 | 2;
  /** Emboldened by one dot a size. */
  bold: boolean;
  /** A rule under the text. */
  underline: boolean;
  /** White on black across the line. */
  invert: boolean;
  /** Centred on the paper (the text is not padded). */
  center?: boolean;
  /** Columns of the line at this size: a run that reaches the last one keeps to the right edge. */
  cols: number;
}

/** A run of text at its columns: split where the layout left two or more spaces. */
interface Run {
  text: string;
  col: number;
  cols: number;
}

function runsOf(text: string): Run[] {
  const runs: Run[] = [];
  let col = 0, prev = 0;
  let cur: Run | null = null;
  let spaces = 0;
  for (const ch of text) {
    const cp = ch.codePointAt(0)!;
    const w = charCols(cp, prev);
    prev = cp;
    if (ch === " ") {
      spaces++;
      col += 1;
      continue;
    }
    if (cur && spaces === 1) {
      cur.text += " ";
      cur.cols += 1;
    } else if (!cur || spaces > 1) {
      cur = { text: "", col, cols: 0 };
      runs.push(cur);
    }
    spaces = 0;
    cur.text += ch;
    cur.cols += w;
    col += w;
  }
  return runs;
}

/** Glyphs of a run in visual order, positioned in dots from the run's left edge. */
interface Placed {
  font: LoadedFont;
  glyph: number;
  x: number;
  y: number;
  scale: number;
}

/** Shapes a run: bidi levels, then one HarfBuzz call per piece of one font and one direction. */
function shapeRun(text: string, fonts: FontSet, size: number): { glyphs: Placed[]; width: number } {
  const bidi = bidiAlgorithm();
  const levels = bidi.getEmbeddingLevels(text, "ltr");
  const order = bidi.getReorderedIndices(text, levels, 0, text.length - 1);
  // code units → code points (a surrogate pair is one character, at its first unit)
  const pieces: { font: LoadedFont | null; rtl: boolean; units: number[] }[] = [];
  let last: LoadedFont | null = null;
  for (const i of order) {
    const c = text.charCodeAt(i);
    if (c >= 0xdc00 && c <= 0xdfff && i > 0) continue; // low surrogate: with its high one
    const cp = text.codePointAt(i)!;
    const rtl = (levels.levels[i] & 1) === 1;
    // a mark stays with the font of its letter, where that font has it
    let font = fonts.fontFor(cp);
    if (/\p{M}/u.test(String.fromCodePoint(cp)) && last?.font.covers(cp)) font = last;
    last = font;
    const p = pieces.at(-1);
    if (p && p.font === font && p.rtl === rtl) p.units.push(i);
    else pieces.push({ font, rtl, units: [i] });
  }
  const glyphs: Placed[] = [];
  let pen = 0;
  for (const p of pieces) {
    if (!p.font) continue; // layout only keeps characters some font draws
    const f = p.font;
    const scale = (f.source.em * size) / f.font.upem;
    // HarfBuzz takes the logical order; visual order of a right-to-left piece is its reverse
    const logical = p.rtl ? [...p.units].reverse() : p.units;
    const cps = logical.map((i) => text.codePointAt(i)!);
    for (const g of f.font.shape(cps, p.rtl)) {
      glyphs.push({ font: f, glyph: g.glyph, x: pen + g.ox * scale, y: g.oy * scale, scale });
      pen += g.dx * scale;
    }
  }
  return { glyphs, width: pen };
}

/**
 * Draws one line of laid-out text (`text`, in the layout's columns of this size) on a bitmap
 * `paperDots` wide and one text line tall.
 */
export function drawLine(
  text: string,
  style: LineStyle,
  paperDots: number,
  fonts: FontSet,
): Bitmap {
  const s = style.size;
  const height = 24 * s + 6;
  const baseline = 22 * s;
  const cover = new Float32Array(paperDots * height);
  const colDots = COL * s;
  const runs = runsOf(text);
  const lineCols = runs.length ? runs.at(-1)!.col + runs.at(-1)!.cols : 0;
  const offset = style.center ? Math.max(0, Math.floor((paperDots - lineCols * colDots) / 2)) : 0;
  const spans: [number, number][] = [];
  for (const run of runs) {
    const { glyphs, width } = shapeRun(run.text, fonts, s);
    const room = run.cols * colDots;
    // wider than its columns: narrowed to fit them; narrower: a run that ends the line keeps to
    // the right edge (prices, totals), any other to its left
    const sx = width > room ? room / width : 1;
    const endsLine = !style.center && run.col + run.cols >= style.cols;
    const left = offset + run.col * colDots + (endsLine && width < room ? room - width : 0);
    spans.push([left, left + Math.min(width, room)]);
    for (const g of glyphs) {
      fill(
        cover,
        paperDots,
        height,
        g.font.font.outline(g.glyph),
        (x) => left + (g.x + x * g.scale) * sx,
        (y) => baseline - (g.y + y * g.scale),
      );
    }
  }
  const dark = new Uint8Array(paperDots * height);
  for (let i = 0; i < dark.length; i++) dark[i] = cover[i] >= THRESHOLD ? 1 : 0;
  if (style.bold) {
    for (let y = 0; y < height; y++) {
      const row = y * paperDots;
      for (let x = paperDots - 1; x >= s; x--) {
        for (let k = 1; k <= s; k++) if (dark[row + x - k]) dark[row + x] = 1;
      }
    }
  }
  if (style.underline) {
    for (const [a, b] of spans) {
      for (let y = baseline + 2 * s; y < baseline + 3 * s && y < height; y++) {
        for (let x = Math.floor(a); x < Math.ceil(b) && x < paperDots; x++) {
          dark[y * paperDots + x] = 1;
        }
      }
    }
  }
  if (style.invert) {
    const end = Math.min(paperDots, offset + width(text) * colDots);
    for (let y = 0; y < height - 6 * s + 3; y++) {
      for (let x = offset; x < end; x++) dark[y * paperDots + x] ^= 1;
    }
  }
  return { width: paperDots, height, dark };
}

/**
 * Adds the coverage of one outline (nonzero winding) to `cover`: each dot row sampled at `SUB`
 * sub-rows, each span's exact horizontal overlap with every dot it crosses.
 */
function fill(
  cover: Float32Array,
  w: number,
  h: number,
  polys: number[][],
  tx: (x: number) => number,
  ty: (y: number) => number,
) {
  const edges: number[] = []; // x0 y0 x1 y1 dir
  let minY = Infinity, maxY = -Infinity;
  for (const p of polys) {
    const n = p.length / 2;
    for (let i = 0; i < n; i++) {
      const j = (i + 1) % n;
      const x0 = tx(p[2 * i]), y0 = ty(p[2 * i + 1]);
      const x1 = tx(p[2 * j]), y1 = ty(p[2 * j + 1]);
      if (y0 === y1) continue;
      edges.push(x0, y0, x1, y1);
      minY = Math.min(minY, y0, y1);
      maxY = Math.max(maxY, y0, y1);
    }
  }
  if (!edges.length) return;
  const top = Math.max(0, Math.floor(minY)), bottom = Math.min(h, Math.ceil(maxY));
  const xs: number[] = [];
  for (let row = top; row < bottom; row++) {
    for (let k = 0; k < SUB; k++) {
      const sy = row + (k + 0.5) / SUB;
      xs.length = 0;
      for (let e = 0; e < edges.length; e += 4) {
        const y0 = edges[e + 1], y1 = edges[e + 3];
        if ((sy < y0) === (sy < y1)) continue;
        const x = edges[e] + ((sy - y0) / (y1 - y0)) * (edges[e + 2] - edges[e]);
        xs.push(x, y1 > y0 ? 1 : -1);
      }
      if (!xs.length) continue;
      const idx = [...Array(xs.length / 2).keys()].sort((a, b) => xs[2 * a] - xs[2 * b]);
      let wind = 0, from = 0;
      for (const q of idx) {
        const x = xs[2 * q];
        if (wind === 0) from = x;
        wind += xs[2 * q + 1];
        if (wind === 0) span(cover, row * w, w, from, x, 1 / SUB);
      }
    }
  }
}

/** Adds `weight` × the overlap of [a, b) with each dot of one row. */
function span(cover: Float32Array, row: number, w: number, a: number, b: number, weight: number) {
  a = Math.max(0, a);
  b = Math.min(w, b);
  if (b <= a) return;
  const ia = Math.floor(a), ib = Math.floor(b);
  if (ia === ib) {
    cover[row + ia] += (b - a) * weight;
    return;
  }
  cover[row + ia] += (ia + 1 - a) * weight;
  for (let x = ia + 1; x < ib; x++) cover[row + x] += weight;
  if (ib < w) cover[row + ib] += (b - ib) * weight;
}
