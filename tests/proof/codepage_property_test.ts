/**
 * The rule "text is never a printer command", for the whole class: every BMP code point, through
 * every code page a profile can select (all the encoder knows) and through every built-in profile,
 * at the table, at layout and at the bytes. CP437 and its descendants keep glyphs at 0x01–0x1F and
 * 0x7F; none of them may ever be written for text.
 */
import { assert, assertEquals } from "../helpers/assert.ts";
import { readEscPos } from "../helpers/escpos_reader.ts";
import CodepageEncoder from "@point-of-sale/codepage-encoder";
import { isControlByte, knownCodepages, printableBytes } from "../../src/render/codepage.ts";
import { encodeBlocks } from "../../src/render/escpos.ts";
import { layout } from "../../src/render/layout.ts";
import { buildProfile, builtinProfiles, type Profile } from "../../src/render/profile.ts";
import { fitText } from "../../src/render/text.ts";
import generic from "../../profiles/generic.json" with { type: "json" };

/** Every BMP code point but the surrogates, as one string. */
const BMP = (() => {
  let s = "";
  for (let c = 0; c <= 0xffff; c++) if (c < 0xd800 || c > 0xdfff) s += String.fromCharCode(c);
  return s;
})();

/** The bytes of `bytes` that are not part of a command the reader knows, with their commands. */
function textCommands(bytes: Uint8Array, mapping: Record<number, string>): string[] {
  // the reader throws on any control byte that is not a command it knows
  return readEscPos(bytes, mapping).commands;
}

Deno.test("no code page maps any character to a control byte", () => {
  const pages = knownCodepages();
  assert(pages.length >= 70, `the encoder knows ${pages.length} code pages`);
  for (const cp of pages) {
    for (const byte of printableBytes(cp).values()) {
      assert(!isControlByte(byte), `${cp}: a character is written as 0x${byte.toString(16)}`);
    }
    // and the library itself, for every BMP code point (its fallback is "?")
    const out = CodepageEncoder.encode(BMP, cp as never);
    const bad = out.findIndex(isControlByte);
    assertEquals(bad, -1, `${cp}: U+${BMP.charCodeAt(bad).toString(16)} encodes as a control`);
  }
});

Deno.test("a glyph a code page has at a printable position is written there", () => {
  assertEquals(printableBytes("cp858").get(0xa7), 0xf5); // § (0x15 is NAK)
  assertEquals(printableBytes("cp858").get(0xb6), 0xf4); // ¶ (0x14 is DC4)
  assertEquals(printableBytes("windows1252").get(0x2022), 0x95); // • (0x07 is BEL in CP437)
  assertEquals(printableBytes("cp437").has(0x2022), false);
});

/** Lays out and encodes every BMP code point for a profile, 40 per line. */
function renderAll(profile: Profile): { bytes: Uint8Array; fitted: string; replaced: number } {
  const lines: string[] = [];
  for (let i = 0; i < BMP.length; i += 40) lines.push(BMP.slice(i, i + 40));
  const l = layout(lines.join("\n"), "0".repeat(32), 48, profile.charset);
  const e = encodeBlocks(l.blocks, profile, 48);
  const fitted = l.blocks.map((b) => b.kind === "text" ? b.text : "").join("");
  return { bytes: e.bytes, fitted, replaced: l.replaced + e.replaced };
}

Deno.test("every BMP code point through every code page: text bytes hold no command", async (t) => {
  for (const cp of knownCodepages()) {
    await t.step(cp, () => {
      const profile = buildProfile(
        {
          ...generic,
          id: "p",
          capabilities: {
            ...generic.capabilities,
            codepages: { value: { [cp]: 0 }, source: "(test) one code page at ESC t 0" },
          },
        },
        `(test) ${cp}`,
      );
      const { bytes, replaced } = renderAll(profile);
      const commands = new Set(textCommands(bytes, { 0: cp }));
      for (const c of commands) {
        assert(/^(init|cancel-kanji|font:0|codepage:0)$/.test(c), `${cp}: command ${c} from text`);
      }
      assert(replaced > 0, "what cannot be printed is counted");
    });
  }
});

Deno.test("every BMP code point through every built-in profile: fitted, counted, no command", async (t) => {
  for (const profile of builtinProfiles()) {
    await t.step(profile.id, () => {
      const { bytes, fitted } = renderAll(profile);
      for (const ch of fitted) {
        const c = ch.codePointAt(0)!;
        assert(
          (c >= 0x20 && c < 0x7f) || profile.codepageOf.has(c),
          `U+${c.toString(16)} passed layout but ${profile.id} cannot print it`,
        );
      }
      const commands = textCommands(bytes, profile.escT);
      for (const c of commands) {
        assert(/^(init|cancel-kanji|font:0|codepage:\d+)$/.test(c), `${profile.id}: ${c}`);
      }
    });
  }
});

Deno.test("glyphs that live only at control bytes are transliterated and counted", () => {
  const cp437 = builtinProfiles().find((p) => p.id === "generic")!.charset;
  const f = fitText("• Kopi → 2 ♥ ▲ ‼", cp437);
  assertEquals(f.text, "* Kopi > 2 <3 ^ !!");
  assertEquals(f.transliterated, 5);
  const g = fitText("☎♣", cp437);
  assertEquals(g.text, "??");
  assertEquals(g.replaced, 2);
});
