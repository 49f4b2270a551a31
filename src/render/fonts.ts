/**
 * The fonts a line is drawn with where the printer's code pages lack its characters: Noto Sans
 * Mono (Latin with every mark, Vietnamese, Greek, Cyrillic), Noto Sans Thai, Khmer, Arabic and
 * Hebrew carried in `fonts/` (SIL OFL 1.1), and for Chinese, Japanese and Korean a font the terminal
 * already has (Windows: Microsoft YaHei, SimSun, …; elsewhere Droid Sans Fallback, Noto CJK,
 * WenQuanYi), or files named in `render.fonts`. Nothing is read until a character needs it.
 * @module
 */
import { ShapingFont } from "./shaper.ts";

/** A font of the catalogue: where it is, which face, and what it is for. */
export interface FontSource {
  /** A short name (log lines, the selftest). */
  name: string;
  /** The file. */
  path: string | URL;
  /** Face index in a collection (`.ttc`). */
  index?: number;
  /** Em size, in dots of a size-1 line (CJK fills its two columns; the rest one). */
  em: number;
  /** One of the system's fonts: not being there is normal, not a problem. */
  system?: true;
  /** Carried by the agent: `path` is a file name in its fonts folder. */
  carried?: true;
}

/**
 * The carried fonts' folder: `fonts/` beside the bundle (`dist/fonts`, inside agent.exe), or at
 * the top of the sources when run from them. Looked for on first need.
 */
function fontDir(): URL {
  return fontDirFound ??= [
    new URL("./fonts/", import.meta.url),
    new URL("../../fonts/", import.meta.url),
  ].find((d) => {
    try {
      return Deno.statSync(new URL("harfbuzz.wasm", d)).isFile;
    } catch {
      return false;
    }
  }) ?? new URL("./fonts/", import.meta.url);
}
let fontDirFound: URL | null = null;

/** The fonts carried inside the agent, in the order they are asked. */
export const EMBEDDED: readonly FontSource[] = [
  { name: "Noto Sans Mono", path: "NotoSansMono-Regular.ttf", carried: true, em: 20 },
  { name: "Noto Sans Thai", path: "NotoSansThai-Regular.ttf", carried: true, em: 21 },
  { name: "Noto Sans Khmer", path: "NotoSansKhmer-Regular.ttf", carried: true, em: 19 },
  { name: "Noto Sans Arabic", path: "NotoSansArabic-Regular.ttf", carried: true, em: 20 },
  { name: "Noto Sans Hebrew", path: "NotoSansHebrew-Regular.ttf", carried: true, em: 20 },
];

/** Fonts for Chinese, Japanese and Korean a terminal may have, best first. */
export function systemCjkFonts(): FontSource[] {
  const win = Deno.build.os === "windows";
  const dir = win ? `${Deno.env.get("SystemRoot") ?? "C:\\Windows"}\\Fonts\\` : "";
  const files = win
    ? [
      "msyh.ttc",
      "msyh.ttf",
      "simsun.ttc",
      "msjh.ttc",
      "YuGothM.ttc",
      "msgothic.ttc",
      "malgun.ttf",
    ]
    : [
      "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
      "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf",
      "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
      "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
      "/System/Library/Fonts/PingFang.ttc",
    ];
  return files.map((f) => ({
    name: f.split(/[\\/]/).at(-1)!,
    path: dir + f,
    em: 22,
    system: true as const,
  }));
}

/** Scripts that have a font of their own above (the rest is asked of every font in order). */
function embeddedFor(cp: number): number {
  if (cp >= 0x0e00 && cp <= 0x0e7f) return 1; // Thai
  if ((cp >= 0x1780 && cp <= 0x17ff) || (cp >= 0x19e0 && cp <= 0x19ff)) return 2; // Khmer
  if (
    (cp >= 0x0600 && cp <= 0x06ff) || (cp >= 0x0750 && cp <= 0x077f) ||
    (cp >= 0x08a0 && cp <= 0x08ff) || (cp >= 0xfb50 && cp <= 0xfdff) ||
    (cp >= 0xfe70 && cp <= 0xfeff)
  ) return 3; // Arabic, Persian, Urdu
  if ((cp >= 0x0590 && cp <= 0x05ff) || (cp >= 0xfb1d && cp <= 0xfb4f)) return 4; // Hebrew
  return 0;
}

/** A loaded font and what it was loaded from. */
export interface LoadedFont {
  /** Where it came from. */
  source: FontSource;
  /** HarfBuzz's face. */
  font: ShapingFont;
}

/**
 * The fonts of one agent: the embedded ones, then `extra` (from `render.fonts`), then the system's
 * CJK fonts that exist. Each is read on first need; a file that cannot be read is skipped (and
 * named by {@link FontSet.problems}).
 */
export class FontSet {
  readonly #sources: FontSource[];
  readonly #loaded: (LoadedFont | null | undefined)[];
  readonly #pick = new Map<number, LoadedFont | null>();
  /** Files that could not be read or opened, and why. */
  readonly problems: string[] = [];

  /** `extra`: files from `render.fonts`; `system`: the PC's CJK fonts (tests pass none). */
  constructor(extra: readonly string[] = [], system: FontSource[] = systemCjkFonts()) {
    this.#sources = [
      ...EMBEDDED,
      ...extra.map((p) => ({ name: p.split(/[\\/]/).at(-1)!, path: p, em: 22 })),
      ...system,
    ];
    this.#loaded = new Array(this.#sources.length);
  }

  #font(i: number): LoadedFont | null {
    let f = this.#loaded[i];
    if (f === undefined) {
      const source = this.#sources[i];
      f = null;
      try {
        const bytes = Deno.readFileSync(
          source.carried ? new URL(String(source.path), fontDir()) : source.path,
        );
        f = { source, font: new ShapingFont(hbWasm, bytes, source.index ?? 0) };
      } catch (e) {
        // a system font that is not there is the normal case: only named fonts are problems
        if (!(e instanceof Deno.errors.NotFound) || !source.system) {
          this.problems.push(`${source.path}: ${(e as Error).message}`);
        }
      }
      this.#loaded[i] = f;
    }
    return f;
  }

  /** The font that draws `cp` (its script's own first, then each in order), or null. */
  fontFor(cp: number): LoadedFont | null {
    let f = this.#pick.get(cp);
    if (f !== undefined) return f;
    f = null;
    const own = embeddedFor(cp);
    const order = [own, ...this.#sources.keys()].filter((i, k, a) => a.indexOf(i) === k);
    for (const i of order) {
      const font = this.#font(i);
      if (font?.font.covers(cp)) {
        f = font;
        break;
      }
    }
    this.#pick.set(cp, f);
    return f;
  }

  /** How many font files have been read so far (none until a character needs one). */
  get loaded(): number {
    return this.#loaded.filter((f) => f).length;
  }

  /** The CJK font this terminal draws with (the first that covers 中), or null. */
  cjkFont(): string | null {
    const f = this.fontFor(0x4e2d);
    return f ? String(f.source.path) : null;
  }
}

/** harfbuzz.wasm's bytes, from the fonts folder. */
function hbWasm(): Uint8Array {
  return Deno.readFileSync(new URL("harfbuzz.wasm", fontDir()));
}

const shared = new Map<string, FontSet>();

/** One font set per list of extra files, shared by every printer (fonts are read once). */
export function sharedFonts(extra: readonly string[]): FontSet {
  const key = JSON.stringify(extra);
  let f = shared.get(key);
  if (!f) shared.set(key, f = new FontSet(extra));
  return f;
}
