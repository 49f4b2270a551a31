/**
 * Hostile goldens: every text field of a receipt — store, items, notes, modifiers, payments,
 * footer, `reprint_of`, QR — carries every glyph that CP437 and its descendants keep at a control
 * byte, plus raw C0 controls. For each profile at 32 and 48 columns the bytes are pinned in
 * tests/golden/hostile-*, decoded back with the project's ESC/POS reader (which throws on any
 * control byte that is not a command it knows), and the command sequence must be exactly the one
 * the same receipt with plain letters produces: the only commands are the template's.
 * `UPDATE_GOLDEN=1 deno task test` rewrites the files (review the diff!).
 */
import { assert, assertEquals, assertRejects } from "./helpers/assert.ts";
import { scanPaper } from "./helpers/scan.ts";
import { readEscPos } from "./helpers/escpos_reader.ts";
import { pinnedRenderer, receiptJob, TYPICAL_RECEIPT } from "./helpers/receipts.ts";
import type { Job } from "../src/core/job.ts";
import { fitText } from "../src/render/text.ts";

/** Every glyph CP437 has at 0x01–0x1F and 0x7F: each is a command byte if written as-is. */
export const CONTROL_GLYPHS = "☺☻♥♦♣♠•◘○◙♂♀♪♫☼►◄↕‼¶§▬↨↑↓→←∟↔▲▼⌂";
const RAW = "\x1bp\x00\x19\xfa\x1dV\x00\x10\x04\x01\x1b@\x1d!\x11\x1b!\x01\x07";
const HOSTILE = `${CONTROL_GLYPHS}${RAW}`;

const PROFILES = ["hrpt", "epson", "xprinter", "generic"];
const UPDATE = Deno.env.get("UPDATE_GOLDEN") === "1";
const dir = new URL("./golden/", import.meta.url);

/** The typical receipt with `s` in every text field. */
function receiptWith(s: string): Record<string, unknown> {
  const r = structuredClone(TYPICAL_RECEIPT) as Record<string, unknown> & {
    items: Record<string, unknown>[];
  };
  for (const k of ["store_name", "store_address", "store_phone", "queue_number", "table"]) {
    r[k] = `${s}${r[k]}`;
  }
  r.cashier = s;
  r.note = `${s} ${r.note}`;
  r.items = r.items.map((i) => ({
    ...i,
    name: `${s} ${i.name}`,
    notes: s,
    modifiers: [s, `+ ${s}`],
  }));
  r.discounts = [{ label: s, amount: 6850 }];
  r.taxes = [{ label: s, amount: 13665 }];
  r.payments = [{ method: s, amount: 100000 }, { method: `Tunai ${s}`, amount: 60000 }];
  r.header_lines = [s];
  r.footer_lines = [s, `IG ${s}`];
  r.qr = `https://pay.example/${s}`;
  return r;
}

function jobWith(tpl: string, s: string): Job {
  return receiptJob(tpl, receiptWith(s), tpl === "reprint" ? { reprint_of: `38 ${s}` } : {});
}

/** ESC t numbers → code page names, for the reader. */
const READER_PAGES = { 0: "cp437", 19: "cp858", 16: "windows1252" };

for (const profile of PROFILES) {
  for (const width of [32, 48]) {
    Deno.test(`hostile golden: ${profile} at ${width} columns`, async (t) => {
      const r = await pinnedRenderer(profile, width);
      for (const tpl of ["receipt", "reprint", "kitchen"]) {
        await t.step(tpl, async () => {
          const bad = await r.render(jobWith(tpl, HOSTILE));
          // the same receipt with the text the profile prints instead, typed in as plain text
          const plain = await r.render(jobWith(tpl, fitText(HOSTILE, r.profile.charset).text));
          const base = new URL(`hostile-${profile}-${width}-${tpl}`, dir);
          if (UPDATE) {
            await Deno.writeFile(new URL(base.href + ".bin"), bad.bytes);
            await Deno.writeTextFile(new URL(base.href + ".txt"), bad.preview + "\n");
          }
          assertEquals(bad.bytes, await Deno.readFile(new URL(base.href + ".bin")));
          assertEquals(bad.preview + "\n", await Deno.readTextFile(new URL(base.href + ".txt")));
          const doc = readEscPos(bad.bytes, READER_PAGES); // throws on a stray control byte
          // an image goes in bands: a longer (raster) QR has more of them, the same command
          const structure = (cmds: string[]) =>
            cmds.filter((c, i) =>
              !c.startsWith("codepage:") && !(c === "image" && cmds[i - 1] === "image")
            );
          assertEquals(
            structure(doc.commands),
            structure(readEscPos(plain.bytes, READER_PAGES).commands),
            "only the template's commands",
          );
          for (const c of doc.commands.filter((c) => c.startsWith("codepage:"))) {
            assert(["codepage:0", "codepage:19", "codepage:16"].includes(c), c);
          }
          // what could not be printed as itself is counted, never silent
          assert(bad.transliterated + bad.replaced > 0);
          for (const line of doc.lines) {
            for (const ch of line) {
              const c = ch.codePointAt(0)!;
              assert(c >= 0x20 && c !== 0x7f, `control in ${JSON.stringify(line)}`);
            }
            assert([...line].length <= width, `line wider than ${width}: ${line}`);
          }
          if (tpl !== "kitchen") {
            // the QR, native or raster, carries the cleaned text: a phone reads no control
            const qr = scanPaper(bad.bytes, r.paper).find((c) => c?.kind === "qr");
            assert(qr?.text.startsWith("https://pay.example/"), `QR scans: ${qr?.text}`);
            assert(![...qr!.text].some((c) => c.codePointAt(0)! < 0x20), "no control in the QR");
          }
          if (tpl === "reprint") {
            const ref = doc.lines.find((l) => l.includes("dari nota"));
            assert(ref, "the reprint banner names the original bill");
          }
        });
      }
    });
  }
}

Deno.test("a barcode value with such glyphs is refused with the field named, not printed", async () => {
  const r = await pinnedRenderer("epson", 48);
  await assertRejects(
    () => r.render(receiptJob("receipt", { ...TYPICAL_RECEIPT, barcode: `INV§${RAW}` })),
    /barcode value must be/,
  );
});
