/**
 * Every script prints: text no code page holds is drawn as dots (HarfBuzz-shaped, bidi-ordered,
 * thresholded), in the layout's column grid; text a code page holds stays text, byte for byte.
 * Each rule over its class: every character of the scripts' blocks, every line width, every
 * profile and paper; goldens (tests/golden/scripts.json, `UPDATE_GOLDEN=1` rewrites) hold the
 * bytes. tests/proof/scripts_ocr_test.ts reads the drawn lines back with OCR.
 */
import { assert, assertEquals } from "./helpers/assert.ts";
import { readEscPos } from "./helpers/escpos_reader.ts";
import { pinnedRenderer, receiptJob, rendererOptions } from "./helpers/receipts.ts";
import { withTmpDir } from "./helpers/env.ts";
import { charCols, fitText, width, wrap } from "../src/render/text.ts";
import { FontSet, sharedFonts } from "../src/render/fonts.ts";
import { drawLine } from "../src/render/raster_text.ts";
import { readPaper } from "../src/render/paper.ts";
import { Renderer } from "../src/render/render.ts";
import { builtinProfiles } from "../src/render/profile.ts";
import { scriptsCheck } from "../src/site/selftest.ts";
import { join } from "node:path";

const fonts = sharedFonts([]);
const drawable = (cp: number) => fonts.fontFor(cp) !== null;
const CP437 = builtinProfiles().find((p) => p.id === "generic")!.charset;

/** A line of each script, with what makes it hard. */
export const SCRIPT_LINES: Record<string, string> = {
  thai: "ก๋วยเตี๋ยวน้ำใส ข้าวผัดกุ้ง", // stacked vowel + tone marks, SARA AM
  khmer: "បាយឆាសាច់មាន់ ស្រាបៀរ", // coeng subscripts, vowels before their consonant
  arabic: "شاي بالنعناع ١٢", // joined, right to left, Arabic digits
  hebrew: "סלט ירקות 12", // right to left, Latin digits keep their order
  vietnamese: "Phở bò tái đặc biệt", // ơ đ and stacked tone marks
  chinese: "宫保鸡丁 米饭", // wide, no spaces between words
  mixed: "Nasi 宫保鸡丁 goreng", // Latin and CJK on one line
};

Deno.test("every letter, mark and digit of Thai, Khmer, Arabic and Hebrew that the carried fonts have is kept to be drawn; the rest is ? as before", () => {
  const blocks: [string, number, number, string][] = [
    ["Thai", 0x0e00, 0x0e7f, "\u0e01"],
    ["Khmer", 0x1780, 0x17ff, "\u1780"],
    ["Arabic", 0x0600, 0x06ff, "\u0628"],
    ["Hebrew", 0x0590, 0x05ff, "\u05d1"],
  ];
  for (const [name, from, to, base] of blocks) {
    let kept = 0;
    for (let cp = from; cp <= to; cp++) {
      const ch = String.fromCodePoint(cp);
      if (!/\p{L}|\p{M}|\p{N}/u.test(ch)) continue;
      const mark = /\p{M}/u.test(ch);
      const input = mark ? base + ch : ch; // a mark is drawn on its letter
      const f = fitText(input, CP437, drawable);
      const without = fitText(input, CP437);
      if (fonts.fontFor(cp)) {
        assertEquals(f.text, input, `${name} U+${cp.toString(16)} kept`);
        assertEquals(f.drawn, [...input].length, `${name} U+${cp.toString(16)} counted as drawn`);
        assertEquals(f.replaced, 0);
        kept++;
      } else {
        assertEquals(f.text, without.text, `${name} U+${cp.toString(16)} as before`);
      }
      // without a way to draw (no raster images), exactly what was printed before
      assert(!without.drawn, `${name} U+${cp.toString(16)}: nothing drawn without a drawer`);
    }
    assert(kept > 40, `${name}: ${kept} characters drawn`);
  }
});

Deno.test("Latin stays text where it was text: the code pages' letters, transliterations and punctuation are unchanged; Vietnamese letters are drawn", () => {
  // every Latin letter with marks: a letter the code page holds, or one whose bare letter it
  // holds, prints as before (an all-Latin receipt is byte-identical); Vietnamese's own are drawn
  const vi = /^[\u0110\u0111\u01a0\u01a1\u01af\u01b0\u1ea0-\u1ef9]$/u;
  for (const [a, b] of [[0xc0, 0x24f], [0x1e00, 0x1eff]]) {
    for (let cp = a; cp <= b; cp++) {
      const ch = String.fromCodePoint(cp);
      if (!/\p{L}/u.test(ch)) continue;
      const f = fitText(ch, CP437, drawable), before = fitText(ch, CP437);
      if (vi.test(ch)) {
        assertEquals(f.text, ch, `U+${cp.toString(16)} drawn`);
      } else if (before.replaced === 0) {
        assertEquals(f, before, `U+${cp.toString(16)} as before`);
      }
    }
  }
  for (const s of ["“Kopi” – 2×", "Crème brûlée", "Straße", "7\ufe0f\u20e3 x 2", "€ 5", "…"]) {
    assertEquals(fitText(s, CP437, drawable), fitText(s, CP437), s);
  }
});

Deno.test("column widths: a mark takes none, a Khmer subscript none, Chinese two, the rest one", () => {
  assertEquals(width("กุ้ง"), 2); // ก ุ ้ ง
  assertEquals(width("ស្រា"), 2); // ស ្ រ ា: រ under its letter, ា after
  assertEquals(width("宫保"), 4);
  assertEquals(width("Phở"), 3);
  assertEquals(width("abc"), 3);
  for (let cp = 0x4e00; cp <= 0x9fff; cp += 97) assertEquals(charCols(cp, 0), 2);
  for (let cp = 0x20; cp < 0x300; cp++) assertEquals(charCols(cp, 0), 1);
});

Deno.test("wrapping breaks Thai, Khmer and Chinese between words, never inside a letter with its marks, at every width", () => {
  const texts = [
    "ก๋วยเตี๋ยวเรือน้ำตกเส้นเล็กใส่ผักบุ้งเยอะๆไม่ใส่ถั่วงอก",
    "បាយឆាសាច់មាន់ស្រាបៀរកាហ្វេទឹកដោះគោ",
    "宫保鸡丁米饭鱼香肉丝麻婆豆腐",
    "Nasi 宫保鸡丁 goreng ข้าวผัด Phở bò",
  ];
  for (const t of texts) {
    for (let cols = 1; cols <= 48; cols++) {
      const lines = wrap(t, cols);
      for (const l of lines) {
        const w = width(l);
        // a line may exceed only when one character alone is wider than the line (CJK at 1)
        // letters with their marks, a Khmer subscript with the letter above it
        const clusters = [...new Intl.Segmenter(undefined, { granularity: "grapheme" }).segment(l)]
          .filter((_, i, a) => i === 0 || !a[i - 1].segment.endsWith("\u17d2"));
        assert(w <= cols || clusters.length === 1, `${cols}: "${l}" is ${w}`);
        assert(!l.endsWith("\u17d2"), `${cols}: "${l}" ends in a coeng`);
        assert(!/^\p{M}/u.test(l), `${cols}: "${l}" starts with a mark`);
      }
      assertEquals(lines.join("").replace(/ /g, ""), t.replace(/ /g, ""), `${cols}: text kept`);
    }
  }
  // at a width where a Thai word fits, lines end at words (the segmenter's), not mid-word
  const words = new Intl.Segmenter("th", { granularity: "word" });
  const thai = texts[0];
  const bounds = new Set([...words.segment(thai)].map((s) => s.index));
  bounds.add(thai.length);
  let at = 0;
  for (const l of wrap(thai, 16)) {
    at += l.length;
    assert(bounds.has(at), `a break at ${at} is a word boundary`);
  }
});

Deno.test("shaping: Arabic joins and runs right to left, Thai marks stack without advancing, Khmer subscripts, Vietnamese composed", () => {
  const font = (cp: number) => fonts.fontFor(cp)!.font;
  // Arabic: each letter of شاي joined differs from the letter alone; glyphs come right to left
  const ar = [0x0634, 0x0627, 0x064a];
  const joined = font(0x0634).shape(ar, true);
  const clusters = joined.map((g) => g.cluster);
  assertEquals(clusters[0], 2, "the last letter is drawn leftmost");
  assertEquals(clusters.at(-1), 0, "the first letter rightmost");
  assert(clusters.every((c, i) => i === 0 || c <= clusters[i - 1]), "right to left throughout");
  // each letter's spacing glyph (its body; the dots are marks) joined vs alone
  const body = (gs: { glyph: number; dx: number; cluster: number }[], k: number) =>
    gs.find((g) => g.cluster === k && g.dx > 0)!.glyph;
  for (const [k, c] of ar.entries()) {
    const alone = body(font(0x0634).shape([c], true), 0);
    if (k !== 2) assert(body(joined, k) !== alone, `U+${c.toString(16)} takes a joined form`);
  }
  // Thai: ก + ๋ (tone) : the tone has no advance and sits above
  const th = font(0x0e01).shape([0x0e01, 0x0e4b], false);
  assertEquals(th.length, 2);
  assertEquals(th[1].dx, 0, "a tone mark does not advance");
  // Khmer: ស ្ ត — the subscript goes under its letter without advancing the pen; and ស ្ រ
  // becomes the ro that wraps its letter from the left (a glyph before it)
  const km = font(0x179f).shape([0x179f, 0x17d2, 0x178f], false);
  assertEquals(km.filter((g) => g.dx > 0).length, 1, "one advancing glyph for ស្ត");
  assert(km.some((g) => g.dx === 0 && g.oy < 0), "the subscript sits below");
  const ro = font(0x179f).shape([0x179f, 0x17d2, 0x179a], false);
  assertEquals(ro.length, 2);
  assert(ro[0].glyph !== km[0].glyph, "the ro comes first, before its letter");
  // Vietnamese: ễ is one glyph
  assertEquals(font(0x1ec5).shape([0x1ec5], false).length, 1);
});

Deno.test("a drawn line keeps its columns: each run inside the dots of its columns, one text line tall, styles honoured", () => {
  const f = new FontSet();
  for (const size of [1, 2] as const) {
    const cols = 48 / size;
    const name = "1 x ข้าวผัดกุ้ง";
    const text = name + " ".repeat(cols - 9 - width(name)) + "Rp 45.000";
    const b = drawLine(text, { size, bold: false, underline: false, invert: false, cols }, 576, f);
    assertEquals(b.height, 24 * size + 6);
    assertEquals(b.width, 576);
    const colDots = 12 * size;
    const dark = (x0: number, x1: number) => {
      let n = 0;
      for (let y = 0; y < b.height; y++) for (let x = x0; x < x1; x++) n += b.dark[y * 576 + x];
      return n;
    };
    const nameEnd = width("1 x ข้าวผัดกุ้ง") * colDots;
    const priceStart = (cols - 9) * colDots;
    assert(dark(0, nameEnd) > 0, "the name is drawn");
    assertEquals(dark(nameEnd + colDots, priceStart - 1), 0, "nothing between name and price");
    assert(dark(priceStart, cols * colDots) > 0, "the price is drawn in its columns");
    // bold adds dots; invert darkens the line; underline draws under the text
    const bold = drawLine(
      text,
      { size, bold: true, underline: false, invert: false, cols },
      576,
      f,
    );
    assert(bold.dark.reduce((a, x) => a + x, 0) > b.dark.reduce((a, x) => a + x, 0));
    const inv = drawLine(text, { size, bold: false, underline: false, invert: true, cols }, 576, f);
    assert(inv.dark.reduce((a, x) => a + x, 0) > b.dark.length / 2);
    const ul = drawLine(text, { size, bold: false, underline: true, invert: false, cols }, 576, f);
    assert(ul.dark.reduce((a, x) => a + x, 0) > b.dark.reduce((a, x) => a + x, 0));
  }
});

/** The receipt each golden prints: one line of the script among Latin ones. */
function scriptJob(script: string) {
  return receiptJob("receipt", {
    bill_number: "INV-7",
    items: [
      { name: "Kopi susu", qty: 1, price: 22000 },
      { name: SCRIPT_LINES[script], qty: 2, price: 45000 },
    ],
    subtotal: 112000,
    total: 112000,
  });
}

const PROFILES = builtinProfiles().filter((p) => p.capabilities.raster_image.value).map((p) =>
  p.id
);
const UPDATE = Deno.env.get("UPDATE_GOLDEN") === "1";
const GOLDEN = new URL("./golden/scripts.json", import.meta.url);

Deno.test("goldens: each script on every profile with raster images at 58 and 80 mm, byte-identical across runs, read back as text lines and one drawn line", async () => {
  const golden: Record<string, string> = UPDATE ? {} : JSON.parse(await Deno.readTextFile(GOLDEN));
  const got: Record<string, string> = {};
  for (const profile of PROFILES) {
    for (const cols of [32, 48]) {
      const r = await pinnedRenderer(profile, cols);
      for (const script of Object.keys(SCRIPT_LINES)) {
        const key = `${profile}-${cols}-${script}`;
        const out = await r.render(scriptJob(script));
        const again = await r.render(scriptJob(script));
        assertEquals(again.bytes, out.bytes, `${key}: the same bytes twice`);
        const hash = Array.from(
          new Uint8Array(await crypto.subtle.digest("SHA-256", out.bytes as BufferSource)),
          (b) => b.toString(16).padStart(2, "0"),
        ).join("");
        got[key] = `${out.bytes.length}:${hash}`;
        assertEquals(out.replaced, 0, `${key}: nothing printed as ?`);
        // the preview keeps the characters
        assert(
          out.preview.replace(/\s+/g, " ").includes(SCRIPT_LINES[script].split(" ")[0]),
          `${key}: preview`,
        );
        // read back: the script's line (wrapped at 32 columns) is drawn, everything else text
        const paper = readPaper(out.bytes, r.paper);
        const images = paper.rows.filter((x) => x.kind === "image");
        assert(images.length >= 1, `${key}: drawn`);
        for (const im of images) {
          if (im.kind !== "image") continue;
          assertEquals(im.bitmap.width, cols * 12, `${key}: as wide as the paper`);
          if (im.what === "image") assertEquals(im.bitmap.height % 30, 0, `${key}: whole lines`);
        }
        const text = paper.rows.filter((x) => x.kind === "text").map((x) =>
          x.kind === "text" ? x.runs.map((r) => r.text).join("") : ""
        ).join("\n");
        assert(text.includes("Kopi susu"), `${key}: Latin lines stay text`);
        assert(!text.includes("?"), `${key}: no ?`);
        // the other decoder agrees: one image command per drawn line, no unknown bytes
        const doc = readEscPos(out.bytes, r.profile.escT);
        assert(doc.commands.includes("image"), `${key}: GS v 0 seen by the second reader`);
      }
    }
  }
  if (UPDATE) {
    await Deno.writeTextFile(GOLDEN, JSON.stringify(got, null, 2) + "\n");
    Object.assign(golden, got);
  }
  assertEquals(got, golden, "tests/golden/scripts.json");
});

Deno.test("an all-Latin receipt sends no picture and reads no font", async () => {
  // a font set of its own (the extra path makes it one), so what it read is this receipt's
  const r = await Renderer.create(rendererOptions({ fonts: ["/latin-only-test/none.ttf"] }));
  for (const tpl of ["receipt", "kitchen", "reprint"]) {
    const out = await r.render(receiptJob(tpl));
    assert(!readEscPos(out.bytes, r.profile.escT).commands.includes("image"), tpl);
  }
  assertEquals(r.fonts!.loaded, 0, "no font read");
});

Deno.test("a profile without raster images prints what its code pages cannot hold as before (transliterated or ?), and the selftest check says so", async () => {
  await using tmp = await withTmpDir();
  const base = builtinProfiles().find((p) => p.id === "generic")!;
  const file = JSON.parse(
    await Deno.readTextFile(new URL("../profiles/generic.json", import.meta.url)),
  );
  file.id = "noraster";
  file.name = "No raster";
  file.capabilities.raster_image.value = false;
  await Deno.writeTextFile(join(tmp.path, "noraster.json"), JSON.stringify(file));
  const r = await Renderer.create(
    rendererOptions({ brand: "noraster", profilesPath: tmp.path }),
  );
  assertEquals(r.fonts, null);
  const said = scriptsCheck(r, "");
  assertEquals(said.result, "PASS");
  assert(/has no raster images/.test(said.detail) && /\?/.test(said.detail), said.detail);
  // and where it draws, the selftest names each script and its font
  const drawn = scriptsCheck(await Renderer.create(rendererOptions()), "");
  assert(/Thai \(Noto Sans Thai\)/.test(drawn.detail), drawn.detail);
  assert(/Hebrew \(Noto Sans Hebrew\)/.test(drawn.detail), drawn.detail);
  const out = await r.render(scriptJob("thai"));
  assert(!readEscPos(out.bytes, r.profile.escT).commands.includes("image"));
  assert(out.replaced > 0, "Thai is ? without raster images");
  assert(out.preview.includes("?"));
  assert(base.capabilities.raster_image.value);
});

Deno.test("render.fonts: a named font is asked before the system's, and a missing one is a problem named, not a crash", () => {
  const f = new FontSet(["/nonexistent/font.ttf"], []);
  assertEquals(f.fontFor(0x4e2d), null);
  assert(f.problems.some((p) => p.includes("/nonexistent/font.ttf")), f.problems.join());
  // the carried fonts still draw
  assert(f.fontFor(0x0e01));
  // a real one named is used (Debian's fonts-droid-fallback: .ci/run installs it)
  const droid = "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf";
  const g = new FontSet([droid], []);
  assertEquals(g.fontFor(0x4e2d)?.source.name, "DroidSansFallbackFull.ttf");
  assertEquals(g.problems, []);
});

Deno.test("the carried fonts and HarfBuzz are the files fonts/README.md names (sha256), each with its licence", async () => {
  const dir = new URL("../fonts/", import.meta.url);
  const readme = await Deno.readTextFile(new URL("README.md", dir));
  const rows = [...readme.matchAll(/^\| `([^`]+)` +\| ([\d,]+) +\|.*\| `([0-9a-f]{16})…` \|$/gm)];
  assertEquals(rows.length, 6, "six files named");
  for (const [, file, size, hash] of rows) {
    const bytes = await Deno.readFile(new URL(file, dir));
    assertEquals(bytes.length, Number(size.replace(/,/g, "")), file);
    const h = Array.from(
      new Uint8Array(await crypto.subtle.digest("SHA-256", bytes as BufferSource)),
      (b) => b.toString(16).padStart(2, "0"),
    ).join("");
    assertEquals(h.slice(0, 16), hash, file);
  }
  for (const l of ["OFL.txt", "HARFBUZZ-LICENSE.txt"]) {
    assert((await Deno.readTextFile(new URL(l, dir))).length > 1000, l);
  }
});

Deno.test("everywhere text goes: the store's labels, the reprint and backup banners, the store name, the footer and the test page draw what no code page holds", async () => {
  const r = await Renderer.create(rendererOptions({
    labels: { thanks: "ขอบคุณค่ะ", reprint: "พิมพ์ซ้ำ", backup: "สำรอง", total: "รวม" },
  }));
  const data = {
    store_name: "ร้านอาหาร",
    bill_number: "INV-9",
    items: [{ name: "Kopi", qty: 1, price: 1000 }],
    total: 1000,
    footer_lines: ["شكرا"],
  };
  const receipt = await r.render(receiptJob("receipt", data));
  const thanks = await r.render(receiptJob("receipt", { ...data, footer_lines: [] }));
  const reprint = await r.render(receiptJob("reprint", data));
  const backup = await r.render(receiptJob("kitchen", data), { backupFrom: "บาร์" });
  const test = await r.render(receiptJob("test"));
  for (
    const [what, out, words] of [
      ["receipt", receipt, ["ร้านอาหาร", "รวม", "شكرا"]],
      ["receipt without a footer", thanks, ["ขอบคุณค่ะ"]],
      ["reprint", reprint, ["พิมพ์ซ้ำ"]],
      ["backup", backup, ["สำรอง", "บาร์"]],
      ["test page", test, ["ภาษาไทย", "Tiếng"]],
    ] as const
  ) {
    assertEquals(out.replaced, 0, `${what}: nothing as ?`);
    assert((out.drawnLines ?? 0) > 0, `${what}: lines drawn`);
    const flat = out.preview.replace(/ /g, "");
    for (const w of words) {
      assert(flat.includes(w.replace(/ /g, "")), `${what}: ${w} in the preview`);
    }
  }
  // the reprint banner stays centred in its half of the paper, counted in columns
  const banner = reprint.preview.split("\n")[0];
  assert(banner.trimStart().startsWith("พ"), banner);
});
