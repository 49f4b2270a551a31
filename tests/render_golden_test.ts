/**
 * Golden tests: for each profile × paper width × template the exact bytes are compared with the
 * files in tests/golden/, and decoded back with the project's own ESC/POS reader to the lines of
 * the preview. `UPDATE_GOLDEN=1 deno task test` rewrites the files (review the diff!).
 */
import { assert, assertEquals, assertMatch } from "./helpers/assert.ts";
import { readEscPos } from "./helpers/escpos_reader.ts";
import { pinnedRenderer, receiptJob } from "./helpers/receipts.ts";
import { scanPaper } from "./helpers/scan.ts";
import { readPaper } from "../src/render/paper.ts";
import { needsDrawing } from "../src/render/escpos.ts";
import type { Renderer } from "../src/render/render.ts";

/** The paper picture of a job's bytes on a renderer's printer. */
function paper0(bytes: Uint8Array, r: Renderer) {
  return readPaper(bytes, r.paper);
}

const PROFILES = ["hrpt", "epson", "xprinter", "generic"];
const WIDTHS = [32, 42, 48];
const TEMPLATES = ["receipt", "reprint", "kitchen", "test"];
const UPDATE = Deno.env.get("UPDATE_GOLDEN") === "1";
const dir = new URL("./golden/", import.meta.url);

/** The decoded text lines, with big-text lines spaced as the preview shows them. */
function normalise(lines: string[]): string[] {
  return lines.map((l) => l.trimEnd());
}

for (const profile of PROFILES) {
  for (const width of WIDTHS) {
    Deno.test(`golden: ${profile} at ${width} columns`, async (t) => {
      const r = await pinnedRenderer(profile, width);
      for (const tpl of TEMPLATES) {
        await t.step(tpl, async () => {
          const out = await r.render(receiptJob(tpl));
          const base = new URL(`${profile}-${width}-${tpl}`, dir);
          if (UPDATE) {
            await Deno.mkdir(dir, { recursive: true });
            await Deno.writeFile(new URL(base.href + ".bin"), out.bytes);
            await Deno.writeTextFile(new URL(base.href + ".txt"), out.preview + "\n");
          }
          const goldenBytes = await Deno.readFile(new URL(base.href + ".bin"));
          const goldenText = await Deno.readTextFile(new URL(base.href + ".txt"));
          assertEquals(out.preview + "\n", goldenText, `${base.pathname}.txt differs`);
          assertEquals(out.bytes, goldenBytes, `${base.pathname}.bin differs`);
          // decode the bytes back: the text lines are the preview's text lines
          const doc = readEscPos(out.bytes, r.profile.escT);
          // only what the profile declares reaches the printer
          const caps = r.profile.capabilities;
          const has = (c: string) => doc.commands.includes(c);
          if (!caps.qr_native.value) assert(!has("qr"), "no GS ( k without capabilities.qr_native");
          if (!caps.inverse.value) assert(!has("invert:1"), "no GS B without capabilities.inverse");
          if (!caps.cancel_kanji.value) assert(!has("cancel-kanji"), "no FS . undeclared");
          if (!caps.raster_image.value) assert(!has("image"), "no GS v 0 undeclared");
          if (!caps.barcodes.value.includes("code128")) assert(!has("barcode"), "no GS k");
          for (const c of doc.commands.filter((c) => c.startsWith("codepage:"))) {
            assert(r.profile.escT[Number(c.slice(9))], `${c} is in capabilities.codepages`);
          }
          const previewText = out.preview.split("\n").filter((l) =>
            !/^\s*\[(QR|BARCODE|DRAWER)|-CUT-/.test(l)
          );
          const decoded = normalise(doc.lines).filter((l, i, a) =>
            !(l === "" && i === a.length - 1)
          );
          // big text is letter-spaced in the preview: compare it that way; a line the printer
          // centres (ESC a 1) has no padding in the bytes, so lines compare without their lead
          // (the .bin golden and the SVG goldens pin where each line sits)
          // a line holding characters beyond the code pages is drawn (a picture, not text):
          // one GS v 0 each, checked apart; the other lines compare as text
          const drawn = previewText.filter((l) => needsDrawing(l, r.profile));
          const images = paper0(out.bytes, r).rows.filter((x) =>
            x.kind === "image" && x.what === "image" && x.bitmap.height % 30 === 0
          );
          assertEquals(
            images.reduce((n, x) => n + (x.kind === "image" ? x.bitmap.height / 30 : 0), 0),
            drawn.length,
            "one drawn line of 30 dots per preview line beyond the code pages",
          );
          const want = previewText.filter((l) => l !== "" && !needsDrawing(l, r.profile)).map((
            l,
          ) => l.trimStart());
          const got = decoded.filter((l) => l !== "").map((l) => l.trimStart()).map((l, i) =>
            l === want[i] ? l : [...l].join(" ")
          );
          assertEquals(got, want, "decoded bytes say what the preview says");
          // and the picture's reader (src/render/paper.ts) reads the same lines, nothing skipped
          const paper = readPaper(out.bytes, r.paper);
          assertEquals(paper.rows.filter((x) => x.kind === "note"), [], "every byte understood");
          const pictured = paper.rows.flatMap((x) =>
            x.kind === "text" && !x.hri ? [x.runs.map((u) => u.text).join("").trim()] : []
          ).filter((l) => l !== "");
          assertEquals(
            pictured.map((l, i) => l === want[i] ? l : [...l].join(" ")),
            want,
            "the picture says what the preview says",
          );
          for (const line of decoded) {
            assert([...line].length <= width, `line wider than ${width}: ${line}`);
          }
          assert(doc.commands.includes("cut"), "ends with a cut");
          assertEquals(doc.commands[0], "init");
          if (profile === "hrpt") {
            assert(
              !doc.commands.some((c) => c.startsWith("print-mode")),
              "HRPT never gets ESC ! (condensed)",
            );
            assert(doc.commands.includes("font:0"), "HRPT uses font A");
          }
          if (tpl === "receipt") {
            assertMatch(decoded.join("\n"), /TOTAL +Rp 148\.748/);
            // an item's discount keeps the template's indent: it never passes for a receipt line
            assertMatch(decoded.join("\n"), /\n {2}Diskon +-Rp 1\.500\n/);
            // paid in full (100.000 + 50.000 >= 148.748): no "scan to pay" above the QR
            assert(
              !/Scan untuk bayar/.test(decoded.join("\n")),
              "a paid bill is not offered to pay",
            );
            // the QR and the barcode scan, native or raster, read by ZXing from the paper
            assertEquals(scanPaper(out.bytes, r.paper), [
              { kind: "qr", text: String(receiptJob("receipt").receipt_data!.qr) },
              { kind: "barcode", text: "INV-2026-0001" },
            ]);
          }
          if (tpl === "reprint") {
            // the banner in the store's language, above and below; the bill it copies under it
            assertEquals(
              decoded.filter((l) => l.includes("CETAK ULANG") || l.trim() === "SALINAN").length,
              2,
            );
            assert(decoded.some((l) => l.trim() === "dari nota INV-2026-0001"), "the bill named");
            assert(!doc.commands.includes("pulse"), "a copy never opens the drawer");
          }
          if (tpl === "kitchen") {
            assert(!/Rp/.test(decoded.join("\n")), "no prices on a kitchen ticket");
          }
          if (tpl === "test") {
            assertMatch(decoded.join("\n"), new RegExp(`Columns +${width}`));
            // the drawn "Scripts:" line is a picture too, and no code: the codes are what scans
            assertEquals(
              scanPaper(out.bytes, r.paper).filter((c) => c !== null).map((c) => c.kind),
              ["qr", "barcode"],
            );
          }
        });
      }
    });
  }
}
