/**
 * The paper picture: read from the printer's own bytes (src/render/paper.ts) and drawn as SVG.
 * Style, size, inverse and alignment land where the bytes put them; QR codes and barcodes are real
 * symbols that ZXing reads back — for data of every length a receipt can carry, at both paper
 * widths, native or raster. One golden SVG per template pins the picture
 * (`UPDATE_GOLDEN=1` rewrites them).
 */
import { assert, assertEquals, assertMatch, assertThrows } from "./helpers/assert.ts";
import {
  pinnedRenderer,
  receiptJob,
  rendererOptions,
  TYPICAL_RECEIPT,
} from "./helpers/receipts.ts";
import { scanBitmap, scanPaper } from "./helpers/scan.ts";
import { readPaper, type Row } from "../src/render/paper.ts";
import { paperSvg } from "../src/render/preview_svg.ts";
import { code128Bitmap, code128Modules, qrBitmap, qrModules } from "../src/render/codes.ts";
import { Renderer } from "../src/render/render.ts";
import { withTmpDir } from "./helpers/env.ts";
import { readEscPos } from "./helpers/escpos_reader.ts";
import { join } from "node:path";

const UPDATE = Deno.env.get("UPDATE_GOLDEN") === "1";
const dir = new URL("./golden/svg/", import.meta.url);

Deno.test("one golden SVG per template: the paper read from the bytes", async (t) => {
  const r = await pinnedRenderer("epson", 48);
  for (const tpl of ["receipt", "reprint", "kitchen", "test"]) {
    await t.step(tpl, async () => {
      const out = await r.render(receiptJob(tpl));
      const svg = paperSvg(readPaper(out.bytes, r.paper));
      const file = new URL(`${tpl}.svg`, dir);
      if (UPDATE) {
        await Deno.mkdir(dir, { recursive: true });
        await Deno.writeTextFile(file, svg);
      }
      assertEquals(svg, await Deno.readTextFile(file), `${file.pathname} differs`);
      assert(!svg.includes("the rest is not shown"), "every byte was understood");
    });
  }
});

/** The text rows of a paper, each as its words. */
function textRows(rows: Row[]) {
  return rows.filter((r) => r.kind === "text").map((r) => ({
    align: r.align,
    text: r.runs.map((x) => x.text).join(""),
    runs: r.runs,
  }));
}

Deno.test("the picture keeps bold, double size, inverse, underline and alignment", async () => {
  const r = await pinnedRenderer("epson", 48);
  const out = await r.render(receiptJob("reprint"));
  const rows = textRows(readPaper(out.bytes, r.paper).rows);
  // the reprint bar: bold, double width and height, white on black
  const bar = rows.find((x) => x.text.includes("CETAK"))!.runs.find((x) =>
    x.text.includes("CETAK")
  )!;
  assertEquals([bar.bold, bar.invert, bar.w, bar.h], [true, true, 2, 2]);
  const total = rows.find((x) => x.text.startsWith("TOTAL"))!.runs[0];
  assertEquals([total.bold, total.w], [true, 1]);
  const svg = paperSvg(readPaper(out.bytes, r.paper));
  assertMatch(
    svg,
    /<rect x="\d+" y="\d+" width="\d+" height="48"\/><text [^>]*font-size="40"[^>]*font-weight="bold" fill="#fff">CETAK<\/text>/,
  );
  assertMatch(svg, /font-weight="bold">TOTAL<\/text>/);
  // the QR is centred: as far from the left edge as from the right
  const qr = readPaper(out.bytes, r.paper).rows.find((x) => x.kind === "image" && x.what === "qr");
  assert(qr?.kind === "image" && qr.align === 1);
  const m = svg.match(/<path data-qr="[^"]*" d="M(\d+) /)!;
  const left = Number(m[1]) - 16;
  // the first dark module sits 4 quiet modules in: the symbol's box starts 4 × 6 dots before it
  const boxLeft = left - 24;
  assertEquals(boxLeft * 2 + qr.bitmap.width, 576);
  // underline: the test page's "Underline" line
  const test = await r.render(receiptJob("test"));
  const u = textRows(readPaper(test.bytes, r.paper).rows).find((x) => x.text === "Underline");
  assertEquals(u?.runs[0].underline, true);
});

Deno.test("a printer without inverse prints the bar bold instead; the picture says the same", async () => {
  const r = await pinnedRenderer("generic", 48);
  const out = await r.render(receiptJob("reprint"));
  const bar = textRows(readPaper(out.bytes, r.paper).rows).find((x) =>
    x.text.includes("CETAK ULANG")
  )!;
  assertEquals(bar.runs.some((x) => x.invert), false);
  assert(bar.runs.every((x) => x.bold));
});

// ZXing in tests is set to find QR and CODE128 only: a length class that fails shows here
const LENGTHS = [1, 2, 7, 25, 60, 120, 250, 500, 700]; // 700: the QR limit (layout)
const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789 $%*+-./:=?&#éÑ€";

Deno.test("QR codes of every length a receipt carries read back, native or raster, 58 and 80 mm", async (t) => {
  let seed = 7;
  const rnd = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  for (const brand of ["epson", "generic"]) {
    for (const width of [32, 48]) {
      const r = await pinnedRenderer(brand, width);
      await t.step(`${brand} ${width}`, async () => {
        for (const n of LENGTHS) {
          const data = Array.from(
            { length: n },
            () => ALPHABET[Math.floor(rnd() * ALPHABET.length)],
          )
            .join("");
          const out = await r.render(receiptJob("receipt", { ...TYPICAL_RECEIPT, qr: data }));
          const qr = scanPaper(out.bytes, r.paper)[0];
          assertEquals(qr, { kind: "qr", text: data }, `${brand} ${width}: ${n} characters`);
          const img = readPaper(out.bytes, r.paper).rows.find((x) => x.kind === "image");
          assert(img?.kind === "image" && img.bitmap.width <= width * 12, "fits the paper");
        }
      });
    }
  }
});

Deno.test("raster codes: every printable ASCII character in a barcode, QR down to 1-dot modules", () => {
  for (let c = 0x20; c < 0x7f; c += 8) {
    const data = Array.from({ length: 8 }, (_, k) => String.fromCharCode(Math.min(0x7e, c + k)))
      .join("");
    assertEquals(scanBitmap(code128Bitmap(code128Modules(data), 2, 60, 576)), {
      kind: "barcode",
      text: data,
    });
  }
  // digits only: CODE128 set C packs them; 30 digits still scan at 58 mm
  const digits = "012345678901234567890123456789";
  assertEquals(scanBitmap(code128Bitmap(code128Modules(digits), 3, 60, 384))?.text, digits);
  // a QR too large for 6-dot modules on 58 mm paper is drawn with smaller modules and still reads
  const big = "X".repeat(600);
  const b = qrBitmap(qrModules(big), 6, 384);
  assert(b.width <= 384);
  assertEquals(scanBitmap(b)?.text, big);
});

Deno.test("a profile without native barcodes prints CODE128 as a raster image that scans", async () => {
  await using profiles = await withTmpDir();
  const base = JSON.parse(
    await Deno.readTextFile(new URL("../profiles/generic.json", import.meta.url)),
  );
  base.capabilities.barcodes = { value: [], source: "(test) a printer without GS k" };
  await Deno.writeTextFile(
    join(profiles.path, "nobar.json"),
    JSON.stringify({ ...base, id: "nobar", brands: ["NOBAR"] }),
  );
  const r = await Renderer.create(
    rendererOptions({ brand: "NOBAR", paperWidth: 58, profilesPath: profiles.path }),
  );
  const out = await r.render(receiptJob("receipt"));
  assert(!readEscPos(out.bytes).commands.includes("barcode"), "no GS k sent");
  const codes = scanPaper(out.bytes, r.paper);
  assertEquals(codes.map((c) => c?.text), [String(TYPICAL_RECEIPT.qr), "INV-2026-0001"]);
  // with the human-readable line below it, plain and centred, as a printer's HRI would be
  const rows = textRows(readPaper(out.bytes, r.paper).rows);
  const hri = rows.find((x) => x.text.trim() === "INV-2026-0001")!;
  assert(hri.runs.every((x) => !x.bold), "plain text");
  const lead = hri.text.length - hri.text.trimStart().length;
  assert(hri.align === 1 || Math.abs(2 * lead + 13 - 32) <= 1, `centred: ${JSON.stringify(hri)}`);
});

Deno.test("raw bytes the reader does not know: shown as far as understood, then said where", () => {
  const bytes = new Uint8Array([
    ...new TextEncoder().encode("Hello"),
    0x0a,
    0x1b,
    0x7e,
    0x01,
    ...new TextEncoder().encode("hidden"),
  ]);
  const p = readPaper(bytes, { escT: { 0: "cp437" }, width: 576 });
  assertEquals(textRows(p.rows).map((x) => x.text), ["Hello"]);
  assertEquals(p.rows.at(-1), {
    kind: "note",
    text: "unknown command ESC 0x7e at byte 6: the rest is not shown",
  });
  // a command cut short and a stray control byte are said too
  const cut = readPaper(new Uint8Array([0x41, 0x1d, 0x76]), { escT: {}, width: 576 });
  assertMatch(JSON.stringify(cut.rows.at(-1)), /cut short/);
  const stray = readPaper(new Uint8Array([0x41, 0x07, 0x42]), { escT: {}, width: 576 });
  assertMatch(JSON.stringify(stray.rows.at(-1)), /control byte 0x7 at byte 1/);
  assert(paperSvg(stray).includes("the rest is not shown"));
});

Deno.test("text in the picture: every code page byte of every built-in profile, escaped for SVG", async () => {
  for (const brand of ["hrpt", "epson", "xprinter", "generic"]) {
    const r = await pinnedRenderer(brand, 48);
    for (const [n, name] of Object.entries(r.profile.escT)) {
      const body = Array.from({ length: 0x60 }, (_, k) => 0x80 + k + 0x20 * 0).concat(
        Array.from({ length: 0x20 }, (_, k) => 0xe0 + k),
        [0x3c, 0x26, 0x3e, 0x22],
      );
      const bytes = new Uint8Array([0x1b, 0x74, Number(n), ...body, 0x0a]);
      const p = readPaper(bytes, r.paper);
      assertEquals(p.rows.filter((x) => x.kind === "note"), [], `${brand} ${name}`);
      const svg = paperSvg(p);
      // well-formed: text between tags holds no raw markup character
      for (const [, between] of svg.matchAll(/>([^<]*)</g)) {
        assert(!/&(?!(amp|lt|gt|quot|#39);)/.test(between), `${brand} ${name}: ${between}`);
      }
      assert(svg.includes("&lt;&amp;&gt;&quot;"), "markup characters are escaped");
    }
  }
});

Deno.test("a raw job's common commands: tabs, positions, column images, real-time pulse, status requests", () => {
  const t = (s: string) => [...new TextEncoder().encode(s)];
  const bytes = new Uint8Array([
    ...t("A"),
    0x09,
    ...t("B"),
    0x0a,
    0x1b,
    0x24,
    120,
    0, // ESC $ 120 dots = column 10
    ...t("C"),
    0x0a,
    0x10,
    0x04,
    1, // DLE EOT 1: a status request, nothing on paper
    0x1b,
    0x2a,
    33,
    2,
    0,
    0xff,
    0,
    0,
    0,
    0,
    0xff, // ESC * 33: 2 columns, 24 dots tall (column 0 dark on top, column 1 at the bottom)
    0x10,
    0x14,
    1,
    0,
    1, // DLE DC4 1: drawer pulse now
    0x1d,
    0x4c,
    0,
    0,
    0x1b,
    0x20,
    0, // GS L, ESC SP
    ...t("D"),
    0x0a,
  ]);
  const p = readPaper(bytes, { escT: { 0: "cp437" }, width: 576 });
  assertEquals(p.rows.filter((r) => r.kind === "note"), []);
  assertEquals(textRows(p.rows).map((x) => x.text), ["A       B", "          C", "D"]);
  const img = p.rows.find((r) => r.kind === "image");
  assert(img?.kind === "image" && img.bitmap.width === 2 && img.bitmap.height === 24);
  assertEquals([...img.bitmap.dark.slice(0, 2)], [1, 0], "top row: column 0 dark");
  assert(p.rows.some((r) => r.kind === "pulse"));
});

Deno.test("a QR value no QR code can hold: refused with the reason, and a raw job's shows as a note", async () => {
  // through a template, the layout's limit comes first and names itself
  const r = await pinnedRenderer("generic", 48);
  const err = await r.render(receiptJob("receipt", { ...TYPICAL_RECEIPT, qr: "😀".repeat(600) }))
    .then(() => null, (e) => e);
  assertEquals(err?.code, "RENDER_ERROR");
  assertMatch(String(err?.message), /QR value is 1200 characters; at most 700/);
  // 2,400 bytes of UTF-8: over the 2,331 a version-40 M symbol holds
  assertThrows(
    () => qrModules("😀".repeat(600)),
    /2400 bytes \(UTF-8\); a QR code holds at most 2331/,
  );
  // a raw job storing such a QR: the picture says so instead of failing
  const data = new TextEncoder().encode("x".repeat(2400));
  const len = data.length + 3;
  const bytes = new Uint8Array([
    0x1d,
    0x28,
    0x6b,
    3,
    0,
    0x31,
    0x45,
    49, // level M
    0x1d,
    0x28,
    0x6b,
    len & 0xff,
    len >> 8,
    0x31,
    0x50,
    0x30,
    ...data,
    0x1d,
    0x28,
    0x6b,
    3,
    0,
    0x31,
    0x51,
    0x30, // print
    0x41,
    0x0a,
  ]);
  const p = readPaper(bytes, { escT: { 0: "cp437" }, width: 576 });
  assertMatch(JSON.stringify(p.rows), /QR code not printable: .*at most 2331/);
  assertEquals(textRows(p.rows).map((x) => x.text), ["A"], "reading goes on after it");
});

Deno.test("the reader never throws: every prefix of real receipts, and random bytes of every length", async () => {
  const o = { escT: { 0: "cp437", 16: "windows1252", 19: "cp858" }, width: 576 };
  // every prefix of a receipt of each kind (a job cut off mid-command by the server or a cable)
  for (const f of ["epson-48-receipt.bin", "generic-48-receipt.bin", "xprinter-32-reprint.bin"]) {
    const b = await Deno.readFile(new URL(`./golden/${f}`, import.meta.url));
    for (let n = 0; n <= b.length; n += 7) paperSvg(readPaper(b.subarray(0, n), o));
  }
  let seed = 99;
  const rnd = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  for (let k = 0; k < 2000; k++) {
    const n = Math.floor(rnd() ** 2 * 4000);
    // biased toward command bytes, so that commands with odd arguments are tried
    const b = Uint8Array.from(
      { length: n },
      () => rnd() < 0.3 ? [0x1b, 0x1d, 0x1c, 0x10, 0x0a][Math.floor(rnd() * 5)] : rnd() * 256,
    );
    const p = readPaper(b, o);
    assert(typeof paperSvg(p) === "string");
  }
});

Deno.test("a raw job's QR at module size 255 is reported too wide, without drawing it", () => {
  const data = new TextEncoder().encode("hello");
  const len = data.length + 3;
  const bytes = new Uint8Array([
    ...[0x1d, 0x28, 0x6b, 3, 0, 0x31, 0x43, 255], // module size 255 dots
    ...[0x1d, 0x28, 0x6b, len, 0, 0x31, 0x50, 0x30, ...data],
    ...[0x1d, 0x28, 0x6b, 3, 0, 0x31, 0x51, 0x30],
  ]);
  const p = readPaper(bytes, { escT: { 0: "cp437" }, width: 576 });
  assertEquals(p.rows, [{
    kind: "note",
    text: "a QR code 7395 dots wide on 576-dot paper: not printed",
  }]);
});
