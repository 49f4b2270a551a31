/**
 * Latin text that need not break (issue #26): composed before it is fitted, marks a printer cannot
 * put on a letter dropped (the letter prints, counted), letters with strokes transliterated,
 * selectors and keycaps never a `?`. Each rule over its whole class, on every built-in profile.
 */
import { assert, assertEquals } from "./helpers/assert.ts";
import { fitText } from "../src/render/text.ts";
import { builtinProfiles } from "../src/render/profile.ts";

const PROFILES = builtinProfiles();

Deno.test("decomposed text prints as its composed form: every Latin letter with marks, U+00C0-U+024F and U+1E00-U+1EFF", () => {
  for (const p of PROFILES) {
    for (let c = 0xc0; c <= 0x1eff; c++) {
      if (c > 0x24f && c < 0x1e00) continue;
      const ch = String.fromCodePoint(c);
      const nfd = ch.normalize("NFD");
      if (nfd === ch) continue;
      assertEquals(fitText(nfd, p.charset), fitText(ch, p.charset), `${p.id} U+${c.toString(16)}`);
    }
  }
});

Deno.test("a combining mark never becomes a '?': every mark U+0300-U+036F on every ASCII letter", () => {
  const letters = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
  for (const p of PROFILES) {
    for (const l of letters) {
      for (let m = 0x300; m <= 0x36f; m++) {
        const f = fitText(l + String.fromCodePoint(m), p.charset);
        assertEquals(f.replaced, 0, `${p.id} ${l}+U+${m.toString(16)}: ${f.text}`);
        assert(f.text.length >= 1 && !f.text.includes("?"), `${p.id}: ${f.text}`);
      }
    }
  }
});

Deno.test("selectors and keycaps: the character alone, never a '?'", () => {
  for (const p of PROFILES) {
    for (const k of "0123456789#*") {
      assertEquals(fitText(`${k}\ufe0f\u20e3`, p.charset).text, k, `${p.id} keycap ${k}`);
    }
    for (const sel of [0xfe00, 0xfe0e, 0xfe0f, 0xe0100, 0xe01ef]) {
      const f = fitText(`A${String.fromCodePoint(sel)}B`, p.charset);
      assertEquals([f.text, f.replaced], ["AB", 0], `${p.id} U+${sel.toString(16)}`);
    }
    // a skin tone after an emoji the printer lacks: one '?' for the emoji, not two
    assertEquals(fitText("\u{1f44d}\u{1f3fd}", p.charset).text, "?");
  }
});

Deno.test("letters no decomposition takes apart are transliterated: Vietnamese đ, and the others", () => {
  const cases: [string, string][] = [
    ["Phở bò đặc biệt", "Pho bo dac biet"],
    ["Đà Nẵng", "Da Nang"],
    ["ħ Ħ ı ŧ Ŧ ĸ ſ", "h H i t T k s"],
  ];
  for (const p of PROFILES) {
    for (const [input, ascii] of cases) {
      const f = fitText(input, p.charset);
      assertEquals(f.replaced, 0, `${p.id} ${input}: ${f.text}`);
      // each character is either itself (the profile prints it) or the ASCII letter
      const got = [...f.text], want = [...ascii];
      assertEquals(got.length, want.length, `${p.id}: ${f.text}`);
      got.forEach((c, i) =>
        assert(c === want[i] || c.normalize("NFD")[0] === want[i], `${p.id}: ${f.text}`)
      );
    }
  }
});

Deno.test("each transliterated character is counted once, in a line of one cell and in a row", async () => {
  const { pinnedRenderer, receiptJob } = await import("./helpers/receipts.ts");
  for (const brand of ["epson", "generic"]) {
    const r = await pinnedRenderer(brand, 48);
    const note = await r.render(receiptJob("receipt", { note: "a → b", total: 1 }));
    assertEquals(note.transliterated, 1, `${brand}: a note (one cell)`);
    const item = await r.render(receiptJob("receipt", {
      items: [{ name: "x → y", qty: 1, price: 1 }],
      total: 1,
    }));
    assertEquals(item.transliterated, 1, `${brand}: an item row`);
  }
});
