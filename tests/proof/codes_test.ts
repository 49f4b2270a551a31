/**
 * Every length of every code on every profile and paper (proof suite: a few thousand renders).
 * Barcodes scan back or fall back to text with a note; the CODE128 a printer gets is the one
 * sized (digit runs in code set C) and fits the paper with its quiet zones.
 */
import { assert, assertEquals, assertMatch } from "../helpers/assert.ts";
import { pinnedRenderer, receiptJob, TYPICAL_RECEIPT } from "../helpers/receipts.ts";
import { scanBitmap } from "../helpers/scan.ts";
import { readPaper, type Row } from "../../src/render/paper.ts";
import { code128Encode, code128FromEscpos } from "../../src/render/codes.ts";

function textRows(rows: Row[]) {
  return rows.filter((r) => r.kind === "text").map((r) => ({
    align: r.align,
    text: r.runs.map((x) => x.text).join(""),
    runs: r.runs,
  }));
}

Deno.test("barcodes of every length the layout admits, on every profile and paper: scanned, or text with a note", async (t) => {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ-abcdefghijklmnopqrstuvwxyz./";
  for (const brand of ["hrpt", "epson", "xprinter", "generic"]) {
    for (const width of [32, 42, 48]) {
      await t.step(`${brand} ${width}`, async () => {
        const r = await pinnedRenderer(brand, width);
        for (let n = 1; n <= 48; n++) {
          for (const v of [alphabet.repeat(2).slice(0, n), "1234567890".repeat(5).slice(0, n)]) {
            const out = await r.render(receiptJob("receipt", { ...TYPICAL_RECEIPT, barcode: v }));
            const paper = readPaper(out.bytes, r.paper);
            const where = `${brand} ${width} "${v}"`;
            const notes = paper.rows.filter((x) => x.kind === "note");
            assertEquals(notes, [], `${where}: the printer is never asked for what it skips`);
            const bar = paper.rows.find((x) => x.kind === "image" && x.data === v);
            if (bar?.kind === "image") {
              // as wide as the printer draws it: the bars (quiet zones are blank paper)
              assertEquals(scanBitmap(bar.bitmap)?.text, v, where);
            } else {
              // too wide at 2 dots a bar: the value as text, and the log says why
              // (a value wider than the line wraps onto the next)
              const all = textRows(paper.rows).map((x) => x.text.trim()).join("");
              assert(all.includes(v), where);
              assertMatch(out.notes.join("\n"), /needs \d+ dots at 2 dots per bar/, where);
            }
          }
        }
      });
    }
  }
});

Deno.test("the CODE128 a printer gets is the one sized: digit runs in code set C, the bars of the sent data fit the paper with 10-module quiet zones", async (t) => {
  // the class: every length of digits, letters and mixes, on every profile and paper
  const values = (n: number) => [
    "1234567890".repeat(5).slice(0, n),
    "INV-" + "2026000123456789".repeat(3).slice(0, Math.max(0, n - 4)),
    "AB".repeat(25).slice(0, n),
    ("A1" + "9".repeat(n)).slice(0, n),
  ];
  for (const brand of ["hrpt", "epson", "xprinter", "generic"]) {
    for (const width of [32, 42, 48]) {
      await t.step(`${brand} ${width}`, async () => {
        const r = await pinnedRenderer(brand, width);
        for (let n = 1; n <= 48; n++) {
          for (const v of values(n)) {
            const out = await r.render(receiptJob("receipt", { ...TYPICAL_RECEIPT, barcode: v }));
            const b = out.bytes;
            const k = b.findIndex((x, i) => x === 0x1d && b[i + 1] === 0x6b && b[i + 2] === 73);
            if (k < 0) continue; // printed as raster or text: the picture test covers those
            const gsW = b.findLastIndex((x, i) => i < k && x === 0x1d && b[i + 1] === 0x77);
            const bar = b[gsW + 2]; // GS w n: dots per bar module
            const sent = b.subarray(k + 4, k + 4 + b[k + 3]);
            const symbol = code128FromEscpos(sent);
            assert(symbol, `${brand} ${width} "${v}": the sent data is a CODE128 symbol`);
            assertEquals(symbol.text, v, `${brand} ${width}: the symbol carries the value`);
            assertEquals(symbol.modules, code128Encode(v).modules, "sized from the sent data");
            const dots = (symbol.modules.length + 20) * bar;
            assert(
              dots <= r.paper.width,
              `${brand} ${width} "${v}": ${dots} dots with quiet zones on ${r.paper.width}-dot paper`,
            );
            if (/^\d+$/.test(v) && v.length % 2 === 0) {
              // two digits a symbol, no code set switch
              assertEquals(
                String.fromCharCode(...sent.subarray(0, 2)),
                "{C",
                `"${v}" in code set C`,
              );
              assertEquals(sent.length, 2 + v.length / 2, `"${v}" in code set C only`);
            }
          }
        }
      });
    }
  }
});
