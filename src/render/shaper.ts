/**
 * HarfBuzz (the WebAssembly build npm's `harfbuzzjs` 1.6.4 ships, `fonts/harfbuzz.wasm`) called
 * directly: fonts, shaping (Thai marks stacked, Khmer clusters, Arabic joined, Vietnamese marks
 * placed) and glyph outlines. No JavaScript wrapper: the package's own one loads the WASM at
 * import, beside itself, which neither the bundle nor `deno compile` can give it. Loaded on the
 * first line that needs drawing, never at start.
 * @module
 */

/** HarfBuzz's exports this module calls. */
interface Hb {
  memory: WebAssembly.Memory;
  __indirect_function_table: WebAssembly.Table;
  __wasm_call_ctors(): void;
  malloc(n: number): number;
  free(p: number): void;
  hb_blob_create(p: number, n: number, mode: number, user: number, destroy: number): number;
  hb_face_create(blob: number, index: number): number;
  hb_face_get_upem(face: number): number;
  hb_font_create(face: number): number;
  hb_font_get_nominal_glyph(font: number, cp: number, out: number): number;
  hb_font_get_h_extents(font: number, out: number): number;
  hb_font_draw_glyph(font: number, glyph: number, funcs: number, data: number): void;
  hb_buffer_create(): number;
  hb_buffer_clear_contents(b: number): void;
  hb_buffer_add_codepoints(b: number, p: number, n: number, at: number, len: number): void;
  hb_buffer_set_direction(b: number, dir: number): void;
  hb_buffer_guess_segment_properties(b: number): void;
  hb_buffer_get_length(b: number): number;
  hb_buffer_get_glyph_infos(b: number, len: number): number;
  hb_buffer_get_glyph_positions(b: number, len: number): number;
  hb_shape(font: number, b: number, features: number, n: number): void;
  hb_draw_funcs_create(): number;
  hb_draw_funcs_set_move_to_func(f: number, fn: number, user: number, destroy: number): void;
  hb_draw_funcs_set_line_to_func(f: number, fn: number, user: number, destroy: number): void;
  hb_draw_funcs_set_quadratic_to_func(f: number, fn: number, user: number, destroy: number): void;
  hb_draw_funcs_set_cubic_to_func(f: number, fn: number, user: number, destroy: number): void;
  hb_draw_funcs_set_close_path_func(f: number, fn: number, user: number, destroy: number): void;
}

/** One shaped glyph, in font units; advances left to right whatever the direction. */
export interface ShapedGlyph {
  /** Glyph id in the font. */
  glyph: number;
  /** Index of the first code point of the cluster it belongs to. */
  cluster: number;
  /** Horizontal advance. */
  dx: number;
  /** Offsets from the pen position. */
  ox: number;
  /** Vertical offset (up). */
  oy: number;
}

/**
 * A glyph's outline in font units (y up), as closed polygons: curves are flattened to lines fine
 * enough for the size asked (`tolerance`, in font units).
 */
export type Outline = number[][];

let hb: Hb | null = null;
let drawFuncs = 0;
/** The outline being drawn: the callbacks below write into it. */
let drawing: { polys: number[][]; cur: number[]; x: number; y: number; tol: number } | null = null;

/**
 * A WebAssembly function that calls `fn`: HarfBuzz takes callbacks as entries of its function
 * table, which holds only WebAssembly functions. A one-function module importing `fn` with the
 * signature `params` (i32 `i`, f32 `f`), returning nothing, exports it back.
 */
type TableEntry = (...a: number[]) => void;

function wasmFunction(fn: (...a: number[]) => void, params: string): TableEntry {
  const types = [...params].map((p) => (p === "f" ? 0x7d : 0x7f));
  const typeSec = [1, 0x60, types.length, ...types, 0];
  const importSec = [1, 1, 0x65, 1, 0x66, 0, 0]; // "e"."f": function of type 0
  const exportSec = [1, 1, 0x66, 0, 0]; // "f": function 0
  const bytes = new Uint8Array([
    ...[0x00, 0x61, 0x73, 0x6d, 1, 0, 0, 0],
    ...[1, typeSec.length, ...typeSec],
    ...[2, importSec.length, ...importSec],
    ...[7, exportSec.length, ...exportSec],
  ]);
  const inst = new WebAssembly.Instance(new WebAssembly.Module(bytes), { e: { f: fn } });
  return inst.exports.f as TableEntry;
}

function addFunction(h: Hb, fn: (...a: number[]) => void, params: string): number {
  const table = h.__indirect_function_table;
  const at = table.grow(1);
  table.set(at, wasmFunction(fn, params));
  return at;
}

/** Adds line segments approximating a curve from the current point through control points. */
function curve(ctrl: number[]) {
  const d = drawing!;
  const pts = [d.x, d.y, ...ctrl];
  const k = pts.length / 2 - 1; // degree 2 or 3
  // segments enough that the chord's error stays under the tolerance
  let len = 0;
  for (let i = 0; i < k; i++) {
    len += Math.hypot(pts[2 * i + 2] - pts[2 * i], pts[2 * i + 3] - pts[2 * i + 1]);
  }
  const n = Math.max(1, Math.min(64, Math.ceil(Math.sqrt(len / d.tol))));
  for (let s = 1; s <= n; s++) {
    const t = s / n, u = 1 - t;
    let x: number, y: number;
    if (k === 2) {
      x = u * u * pts[0] + 2 * u * t * pts[2] + t * t * pts[4];
      y = u * u * pts[1] + 2 * u * t * pts[3] + t * t * pts[5];
    } else {
      const a = u * u * u, b = 3 * u * u * t, c = 3 * u * t * t, e = t * t * t;
      x = a * pts[0] + b * pts[2] + c * pts[4] + e * pts[6];
      y = a * pts[1] + b * pts[3] + c * pts[5] + e * pts[7];
    }
    d.cur.push(x, y);
  }
  d.x = ctrl[ctrl.length - 2];
  d.y = ctrl[ctrl.length - 1];
}

function load(wasm: Uint8Array): Hb {
  const loaded: { memory?: WebAssembly.Memory } = {};
  const imports = {
    _abort_js: () => {
      throw new Error("HarfBuzz aborted");
    },
    _emscripten_runtime_keepalive_clear: () => {},
    _setitimer_js: () => 0,
    emscripten_resize_heap: (want: number) => {
      const mem = loaded.memory!;
      const have = mem.buffer.byteLength;
      if (want > 2 ** 31) return 0;
      const size = Math.max(want, Math.ceil(have * 1.25));
      try {
        mem.grow(Math.ceil((size - have) / 65536));
        return 1;
      } catch {
        return 0;
      }
    },
    proc_exit: (code: number) => {
      throw new Error(`HarfBuzz exited (${code})`);
    },
  };
  const inst = new WebAssembly.Instance(new WebAssembly.Module(wasm as BufferSource), {
    env: imports,
    wasi_snapshot_preview1: imports,
  });
  const h = inst.exports as unknown as Hb;
  loaded.memory = h.memory;
  h.__wasm_call_ctors();
  drawFuncs = h.hb_draw_funcs_create();
  const moveTo = (_f: number, _d: number, _s: number, x: number, y: number) => {
    const d = drawing!;
    if (d.cur.length >= 6) d.polys.push(d.cur);
    d.cur = [x, y];
    d.x = x;
    d.y = y;
  };
  const lineTo = (_f: number, _d: number, _s: number, x: number, y: number) => {
    const d = drawing!;
    d.cur.push(x, y);
    d.x = x;
    d.y = y;
  };
  const quadTo = (_f: number, _d: number, _s: number, ...c: number[]) => curve(c.slice(0, 4));
  const cubicTo = (_f: number, _d: number, _s: number, ...c: number[]) => curve(c.slice(0, 6));
  const close = () => {
    const d = drawing!;
    if (d.cur.length >= 6) d.polys.push(d.cur);
    d.cur = [];
  };
  h.hb_draw_funcs_set_move_to_func(drawFuncs, addFunction(h, moveTo, "iiiffi"), 0, 0);
  h.hb_draw_funcs_set_line_to_func(drawFuncs, addFunction(h, lineTo, "iiiffi"), 0, 0);
  h.hb_draw_funcs_set_quadratic_to_func(drawFuncs, addFunction(h, quadTo, "iiiffffi"), 0, 0);
  h.hb_draw_funcs_set_cubic_to_func(drawFuncs, addFunction(h, cubicTo, "iiiffffffi"), 0, 0);
  h.hb_draw_funcs_set_close_path_func(drawFuncs, addFunction(h, close, "iiii"), 0, 0);
  return h;
}

/** HarfBuzz, loaded once from `wasm` (the bytes of harfbuzz.wasm) on first use. */
function harfbuzz(wasm: () => Uint8Array): Hb {
  return hb ??= load(wasm());
}

/** A font face HarfBuzz shapes with: one face of a TTF/OTF, or of a TTC collection. */
export class ShapingFont {
  readonly #h: Hb;
  readonly #font: number;
  readonly #buf: number;
  readonly #outlines = new Map<number, Outline>();
  readonly #covers = new Map<number, boolean>();
  /** Units per em. */
  readonly upem: number;
  /** Ascender and descender (negative) in font units, from the font's own metrics. */
  readonly ascender: number;
  /** Descender (negative, below the baseline), font units. */
  readonly descender: number;

  /**
   * Copies `bytes` into HarfBuzz's memory (kept for the life of the font) and opens face `index`;
   * `wasm` gives harfbuzz.wasm's bytes, read the first time any font is opened.
   */
  constructor(wasm: () => Uint8Array, bytes: Uint8Array, index = 0) {
    const h = this.#h = harfbuzz(wasm);
    const p = h.malloc(bytes.length);
    new Uint8Array(h.memory.buffer, p, bytes.length).set(bytes);
    const blob = h.hb_blob_create(p, bytes.length, 1, /* READONLY */ 0, 0);
    const face = h.hb_face_create(blob, index);
    this.upem = h.hb_face_get_upem(face);
    this.#font = h.hb_font_create(face);
    this.#buf = h.hb_buffer_create();
    const ext = h.malloc(48);
    h.hb_font_get_h_extents(this.#font, ext);
    const v = new Int32Array(h.memory.buffer, ext, 3);
    this.ascender = v[0] || Math.round(this.upem * 0.9);
    this.descender = v[1] || -Math.round(this.upem * 0.25);
    h.free(ext);
  }

  /** Whether the font has a glyph for code point `cp`. */
  covers(cp: number): boolean {
    let r = this.#covers.get(cp);
    if (r === undefined) {
      const h = this.#h;
      const out = h.malloc(4);
      r = h.hb_font_get_nominal_glyph(this.#font, cp, out) !== 0;
      h.free(out);
      this.#covers.set(cp, r);
    }
    return r;
  }

  /**
   * Shapes code points (logical order) in one direction; the glyphs come in visual order, left to
   * right. Script and language are guessed from the text.
   */
  shape(cps: readonly number[], rtl: boolean): ShapedGlyph[] {
    const h = this.#h;
    const p = h.malloc(cps.length * 4 + 4);
    new Uint32Array(h.memory.buffer, p, cps.length).set(cps);
    h.hb_buffer_clear_contents(this.#buf);
    h.hb_buffer_add_codepoints(this.#buf, p, cps.length, 0, cps.length);
    h.free(p);
    h.hb_buffer_set_direction(this.#buf, rtl ? 5 : 4);
    h.hb_buffer_guess_segment_properties(this.#buf);
    h.hb_shape(this.#font, this.#buf, 0, 0);
    const n = h.hb_buffer_get_length(this.#buf);
    const info = new Uint32Array(h.memory.buffer, h.hb_buffer_get_glyph_infos(this.#buf, 0), n * 5);
    const pos = new Int32Array(
      h.memory.buffer,
      h.hb_buffer_get_glyph_positions(this.#buf, 0),
      n * 5,
    );
    const out: ShapedGlyph[] = [];
    for (let i = 0; i < n; i++) {
      out.push({
        glyph: info[i * 5],
        cluster: info[i * 5 + 2],
        dx: pos[i * 5],
        ox: pos[i * 5 + 2],
        oy: pos[i * 5 + 3],
      });
    }
    return out;
  }

  /** A glyph's outline (font units, y up), curves flattened to `upem / 256`; cached. */
  outline(glyph: number): Outline {
    let o = this.#outlines.get(glyph);
    if (!o) {
      drawing = { polys: [], cur: [], x: 0, y: 0, tol: this.upem / 256 };
      this.#h.hb_font_draw_glyph(this.#font, glyph, drawFuncs, 0);
      if (drawing.cur.length >= 6) drawing.polys.push(drawing.cur);
      o = drawing.polys;
      drawing = null;
      this.#outlines.set(glyph, o);
    }
    return o;
  }
}
