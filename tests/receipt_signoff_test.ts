/**
 * Receipts a store signs off (issue #27, 3), each rule over its whole class: every profile, 58 and
 * 80 mm, every length of a double-size line and of a barcode, paid and unpaid bills, both label
 * languages; read back from the bytes with the project's ESC/POS readers.
 */
import { assert, assertEquals, assertMatch } from "./helpers/assert.ts";
import { readEscPos } from "./helpers/escpos_reader.ts";
import { pinnedRenderer, receiptJob, TYPICAL_RECEIPT } from "./helpers/receipts.ts";
import { scanPaper } from "./helpers/scan.ts";
import { readPaper } from "../src/render/paper.ts";
import { Renderer } from "../src/render/render.ts";
import { pinnedOptions } from "../src/samples.ts";
import { qrModules, qrSegments } from "../src/render/codes.ts";
import { DOTS_PER_COLUMN } from "../src/render/escpos.ts";

const PROFILES = ["epson", "hrpt", "xprinter", "generic"];
const WIDTHS = [32, 48];

Deno.test("a centred double-size line is centred by the printer at every length, on every profile and width", async () => {
  for (const p of PROFILES) {
    for (const w of WIDTHS) {
      const r = await pinnedRenderer(p, w);
      for (let n = 1; n <= w / 2; n++) {
        const name = "ABCDEFGHIJKLMNOPQRSTUVWXYZ".repeat(2).slice(0, n);
        const out = await r.render(receiptJob("receipt", { store_name: name, total: 1 }));
        const row = readPaper(out.bytes, r.paper).rows.find((x) =>
          x.kind === "text" && x.runs.map((u) => u.text).join("").trim() === name
        );
        assert(row?.kind === "text", `${p} ${w}: ${name} is on the paper`);
        const text = row.runs.map((u) => u.text).join("");
        // ESC a 1 and no padding: the printer puts as many dots left of it as right
        assertEquals([row.align, text], [1, name], `${p} ${w} length ${n}`);
        assert(row.runs.every((u) => u.w === 2 && u.h === 2), "double size");
        const dots = w * DOTS_PER_COLUMN;
        const left = (dots - n * 2 * DOTS_PER_COLUMN) / 2;
        assertEquals(left * 2 + n * 2 * DOTS_PER_COLUMN, dots);
        // the preview centres it the same way, letter-spaced
        const line = out.preview.split("\n").find((l) => l.includes([...name].join(" ")))!;
        const spaced = [...name].join(" ");
        assertEquals(line.trimEnd(), " ".repeat(Math.floor((w - spaced.length) / 2)) + spaced);
      }
    }
  }
});

Deno.test("an item's discount keeps its indent and a wrapped item name goes on under the name, at 58 and 80 mm", async () => {
  for (const p of PROFILES) {
    for (const w of WIDTHS) {
      const r = await pinnedRenderer(p, w);
      const long = "Nasi goreng kampung spesial dengan telur mata sapi dan kerupuk udang";
      const out = await r.render(receiptJob("receipt", {
        ...TYPICAL_RECEIPT,
        items: [{ name: long, qty: 12, price: 1000, discount: 500 }],
      }));
      const lines = readEscPos(out.bytes, r.profile.escT).lines;
      const first = lines.findIndex((l) => l.startsWith("12 x Nasi"));
      assert(first >= 0, lines.join("\n"));
      let i = first + 1;
      for (; lines[i].startsWith("     ") && !lines[i].includes("Diskon"); i++) {
        assert(/^ {5}\S/.test(lines[i]), `continued under the name: ${JSON.stringify(lines[i])}`);
      }
      assert(i > first + 1, `${p} ${w}: the name wrapped`);
      assertMatch(lines[i], /^ {2}Diskon +-Rp 500$/);
      // and nothing of the name is lost
      const name = [lines[first].slice(5).replace(/ +Rp .*$/, ""), ...lines.slice(first + 1, i)]
        .map((l) => l.trim()).join(" ");
      assertEquals(name, long);
    }
  }
});

Deno.test("'scan to pay' stands above the QR only while the bill is unpaid; the store can set the words", async (t) => {
  const r = await pinnedRenderer("epson", 48);
  const caption = async (data: Record<string, unknown>) => {
    const out = await r.render(receiptJob("receipt", { ...TYPICAL_RECEIPT, ...data }));
    const lines = readEscPos(out.bytes, r.profile.escT).lines.map((l) => l.trim());
    const at = lines.findIndex((l) => l === "Terima kasih sudah mampir!");
    return lines[at + 1];
  };
  await t.step("paid in full: no caption", async () => {
    assert((await caption({})) !== "Scan untuk bayar (QRIS)");
  });
  await t.step("payments short of the total: scan to pay", async () => {
    assertEquals(
      await caption({ payments: [{ method: "QRIS", amount: 100 }] }),
      "Scan untuk bayar (QRIS)",
    );
    assertEquals(await caption({ payments: [] }), "Scan untuk bayar (QRIS)");
  });
  await t.step("cents add up: 0.1 + 0.2 pays 0.30", async () => {
    const paid = {
      total: 0.3,
      payments: [{ method: "A", amount: 0.1 }, { method: "B", amount: 0.2 }],
    };
    assert((await caption(paid)) !== "Scan untuk bayar (QRIS)");
  });
  await t.step("the server's paid: false wins over the sums, and so does paid: true", async () => {
    assertEquals(await caption({ paid: false }), "Scan untuk bayar (QRIS)");
    assert((await caption({ paid: true, payments: [] })) !== "Scan untuk bayar (QRIS)");
  });
  await t.step("qr_caption is the store's own words (data: no command passes)", async () => {
    assertEquals(await caption({ qr_caption: "Struk digital" }), "Struk digital");
    const out = await r.render(
      receiptJob("receipt", { ...TYPICAL_RECEIPT, qr_caption: "x\x1bd\x05y" }),
    );
    assert(!new TextDecoder("latin1").decode(out.bytes).includes("\x1bd\x05"), "ESC d never sent");
  });
  await t.step("render.labels qr_paid captions a paid bill's code", async () => {
    const en = await Renderer.create({
      ...pinnedOptions("epson", 48, "t"),
      labels: { qr_paid: "Your e-receipt" },
    });
    const out = await en.render(receiptJob("receipt"));
    assert(readEscPos(out.bytes, en.profile.escT).lines.some((l) => l.trim() === "Your e-receipt"));
  });
});

Deno.test("banners speak the store's language: reprint with its bill number, backup, kitchen header", async (t) => {
  for (const language of ["id", "en", "id/en"] as const) {
    await t.step(language, async () => {
      for (const w of WIDTHS) {
        const r = await Renderer.create({ ...pinnedOptions("epson", w, "t"), language });
        const words = {
          id: ["CETAK ULANG", "SALINAN", "dari nota", "CADANGAN", "DARI", "DAPUR"],
          en: ["REPRINT / COPY", "COPY", "of bill", "BACKUP", "FROM", "KITCHEN"],
          "id/en": [
            "CETAK ULANG / REPRINT / COPY",
            "SALINAN / COPY",
            "dari nota / of bill",
            "CADANGAN / BACKUP",
            "DARI / FROM",
            "DAPUR / KITCHEN",
          ],
        }[language];
        const lines = async (job: Parameters<Renderer["render"]>[0], o = {}) =>
          readEscPos((await r.render(job, o)).bytes, r.profile.escT).lines.map((l) => l.trim());
        const copy = await lines(receiptJob("reprint"));
        const banner = words[0].length <= w / 2 ? words[0] : words[1];
        assertEquals(copy.filter((l) => l === banner).length, 2, `${w}: ${copy.join("\n")}`);
        assertMatch(
          copy.join(" "),
          new RegExp(`${words[2].replace("/", "\\/")} INV-2026-0001`),
          "the bill a cashier knows, not job 38",
        );
        assert(!copy.some((l) => l.includes("38")), "no internal job id");
        const backup = await lines(receiptJob("kitchen"), { backupFrom: "bar" });
        assertEquals(backup[0], words[3].slice(0, w / 2).trim());
        assertEquals(backup[1], `${words[4]} BAR`);
        // the kitchen's own ticket says kitchen once; another station's says its name alone
        const own = await lines(receiptJob("kitchen"));
        assertEquals(own[0], words[5]);
      }
    });
  }
  const bar = await Renderer.create({
    ...pinnedOptions("epson", 48, "t"),
    agent: { version: "t", terminal_id: "P", printer_role: "bar", location_id: 1, station: "bar" },
  });
  const ticket = await bar.render(receiptJob("kitchen"));
  assertEquals(readEscPos(ticket.bytes, bar.profile.escT).lines[0].trim(), "BAR");
  // a cancelled item is as big as the others
  const voided = await bar.render(receiptJob("kitchen", {
    items: [{ name: "Kopi", qty: 1, status: "void" }, { name: "Teh", qty: 1 }],
  }));
  const rows = readPaper(voided.bytes, bar.paper).rows.flatMap((x) => x.kind === "text" ? [x] : []);
  const batal = rows.find((x) => x.runs.some((u) => u.text.includes("BATAL")))!;
  const teh = rows.find((x) => x.runs.some((u) => u.text.includes("Teh")))!;
  assertEquals(batal.runs.find((u) => u.text.includes("BATAL"))!.w, 2);
  assertEquals(teh.runs.find((u) => u.text.includes("Teh"))!.w, 2);
});

Deno.test("the preview says what the paper prints for a barcode of every length, on every profile and width", async () => {
  for (const p of PROFILES) {
    for (const w of WIDTHS) {
      const r = await pinnedRenderer(p, w);
      for (let n = 1; n <= 48; n += n < 20 ? 1 : 4) {
        const value = "AB12cd34".repeat(6).slice(0, n);
        const out = await r.render(receiptJob("receipt", { barcode: value, total: 1 }));
        const cmds = readEscPos(out.bytes, r.profile.escT).commands;
        const bars = cmds.includes("barcode") ||
          scanPaper(out.bytes, r.paper).some((c) => c?.kind === "barcode");
        const preview = out.preview.split("\n").map((l) => l.trim());
        assertEquals(
          preview.includes(`[BARCODE ${value}]`),
          bars,
          `${p} ${w} ${n}: preview ${bars ? "must" : "must not"} show bars`,
        );
        if (!bars) assert(preview.includes(value), `${p} ${w} ${n}: the value as it prints`);
      }
    }
  }
});

Deno.test("QR text goes in the fewest bits: a 700-character QRIS payload is version 15, not 21, and scans", async () => {
  const qris =
    "00020101021126570011ID.DANA.WWW011893600915302259148102090225914810303UMI5204549953033605802ID"
      .repeat(8).slice(0, 700);
  const version = (m: boolean[][]) => (m.length - 17) / 4;
  assert(version(qrModules(qris)) <= 16, `version ${version(qrModules(qris))}`);
  assertEquals(version(qrModules(new TextEncoder().encode(qris))), 21, "bytes as they are");
  assert(qrSegments(qris).every((s) => s.mode !== "Byte"));
  // the whole class: text of every kind splits into segments that carry it exactly
  for (
    const s of ["", "0", "A", "a", "é", "😀", "12345", "HELLO WORLD", "Hello, 12345678901234 wörld"]
  ) {
    assertEquals(qrSegments(s).map((x) => x.text).join(""), s);
  }
  // on the paper of a raster profile, the payload reads back (ZXing) with bigger dots than bytes
  const r = await pinnedRenderer("generic", 32);
  const out = await r.render(receiptJob("receipt", { qr: qris, total: 1 }));
  assertEquals(scanPaper(out.bytes, r.paper).find((c) => c?.kind === "qr")?.text, qris);
});
