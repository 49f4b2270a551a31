/**
 * Rendering under hostile input, template and profile errors, previews.
 */
import { readPaper } from "../src/render/paper.ts";
import { assert, assertEquals, assertMatch, assertRejects } from "./helpers/assert.ts";
import { withTmpDir } from "./helpers/env.ts";
import { readEscPos } from "./helpers/escpos_reader.ts";
import {
  pinnedRenderer,
  receiptJob,
  rendererOptions,
  TYPICAL_RECEIPT,
} from "./helpers/receipts.ts";
import { Renderer, type RendererOptions } from "../src/render/render.ts";
import { fitText, fitToCharset, stripControls, wrap } from "../src/render/text.ts";
import { join } from "node:path";
import CodepageEncoder from "@point-of-sale/codepage-encoder";
import { isControlByte, knownCodepages } from "../src/render/codepage.ts";

const NASTY =
  "\x1b\x70\x00\x19\xfa\x1d\x56\x00\x10\x04\x01\x10\x14\x01\x00\x05\x1b@\x1d!\x11\x00\x0c\x7f\x9b";

/** The commands of a rendered job, with text decoded; throws on any unknown byte. */
async function commandsOf(r: Renderer, data: Record<string, unknown>) {
  const out = await r.render(receiptJob("receipt", data));
  return { out, doc: readEscPos(out.bytes) };
}

Deno.test("control bytes in every text field never become printer commands", async () => {
  const r = await pinnedRenderer("epson", 48);
  const clean = await commandsOf(r, TYPICAL_RECEIPT);
  const hostile = structuredClone(TYPICAL_RECEIPT) as Record<string, unknown> & {
    items: Record<string, unknown>[];
  };
  for (
    const k of [
      "store_name",
      "store_address",
      "store_phone",
      "bill_number",
      "queue_number",
      "table",
      "cashier",
      "note",
    ]
  ) {
    hostile[k] = `${NASTY}${hostile[k]}${NASTY}`;
  }
  hostile.items = hostile.items.map((i) => ({
    ...i,
    name: `${NASTY}${i.name}`,
    notes: NASTY,
    modifiers: [NASTY],
  }));
  hostile.footer_lines = [NASTY, `x${NASTY}`];
  hostile.payments = [{ method: NASTY, amount: 1 }];
  const bad = await commandsOf(r, hostile);
  assertEquals(bad.doc.commands.filter((c) => c === "pulse" || c === "cut" || c === "init"), [
    "init",
    "cut",
  ]);
  const structural = (cmds: string[]) => new Set(cmds.filter((c) => !c.startsWith("codepage")));
  assertEquals(
    structural(bad.doc.commands),
    structural(clean.doc.commands),
    "no command the template did not ask for",
  );
  assert(!bad.out.bytes.includes(0x10), "no DLE byte anywhere");
  assert(!bad.out.bytes.includes(0x00) || bad.doc.commands.length > 0);
  for (const l of bad.doc.lines) {
    const controls = [...l].filter((c) => c.charCodeAt(0) < 0x20 || c.charCodeAt(0) === 0x7f);
    assertEquals(controls, [], `control char in ${JSON.stringify(l)}`);
  }
});

Deno.test("a QR or barcode value cannot carry commands either", async () => {
  const r = await pinnedRenderer("epson", 48);
  const { doc } = await commandsOf(r, {
    ...TYPICAL_RECEIPT,
    qr: `abc${NASTY}def`,
    barcode: "INV\x1b\x70001",
  });
  assertMatch(doc.codes[0].value, /^abcp.V@!def$/);
  assertEquals(doc.codes[1].value, "INVp001");
  assert(!doc.commands.includes("pulse"));
});

Deno.test("5,000 items print as a correct, complete receipt", async () => {
  const r = await pinnedRenderer("hrpt", 48);
  const items = Array.from(
    { length: 5000 },
    (_, i) => ({ name: `Item ${i}`, qty: 1, price: 1000 }),
  );
  const { out, doc } = await commandsOf(r, { store_name: "Big", items, total: 5_000_000 });
  assertEquals(doc.lines.filter((l) => /^1 x Item \d+ +Rp 1\.000$/.test(l)).length, 5000);
  assertMatch(doc.lines.join("\n"), /TOTAL +Rp 5\.000\.000/);
  assert(out.bytes.length < 400_000);
});

Deno.test("a 10,000-character name wraps inside the paper width", async () => {
  const r = await pinnedRenderer("generic", 32);
  const name = "Nasi".repeat(2500);
  const { doc } = await commandsOf(r, {
    items: [{ name, qty: 1, price: 5 }, { name: "word ".repeat(2000), qty: 1, price: 1 }],
    total: 6,
  });
  for (const l of doc.lines) assert(l.length <= 32, `too wide: ${l.length}`);
  const joined = doc.lines.join("");
  assertEquals(joined.split("N").length - 1, 2500, "nothing dropped");
});

Deno.test("a receipt that would be metres long fails with RENDER_ERROR instead", async () => {
  const r = await pinnedRenderer("generic", 32);
  const items = Array.from({ length: 5000 }, () => ({ name: "x".repeat(200), qty: 1, price: 1 }));
  const e = await r.render(receiptJob("receipt", { items })).then(() => null, (e) => e);
  assertEquals(e?.code, "RENDER_ERROR");
  assertMatch(e.message, /longer than 20000 lines/);
});

Deno.test("emoji are replaced visibly and counted; right-to-left text is drawn, its bidi overrides removed", async () => {
  const r = await pinnedRenderer("generic", 48);
  const out = await r.render(
    receiptJob("receipt", { store_name: "Kopi ☕🍰", note: "שלום \u202Eevil\u202C", total: 1 }),
  );
  assertEquals(out.replaced, 2, `replaced ${out.replaced}`);
  const text = readEscPos(out.bytes).lines.join("\n");
  assertMatch(text, /Kopi \?\?/);
  // the Hebrew line is a picture (no code page has Hebrew); the override cannot reorder it
  assertEquals(out.drawnLines, 1);
  assert(!/evil/.test(text), "the note is drawn, not text");
  assertMatch(out.preview, /שלום evil/);
  assert(!/[\u202a-\u202e]/.test(out.preview));
  // where nothing is drawn (no raster images), it is ? as before
  const plain = fitText("שלום \u202Eevil\u202C", r.profile.charset);
  assertEquals(plain.text, "???? evil");
});

Deno.test("accents are kept where the code page has them and transliterated where not", () => {
  const cp437 = new Set([..."éüñ"].map((c) => c.codePointAt(0)!));
  const f = fitToCharset("Crème brûlée ñ “q” —", cp437);
  assertEquals(f.text, 'Creme brulée ñ "q" -');
  assertEquals(f.transliterated, 5);
  assertEquals(f.replaced, 0);
  assertEquals(stripControls("a\tb\nc\x00d\u200Be"), "a b cde");
});

Deno.test("nulls: an optional field may be null, a required one is a BAD_PAYLOAD naming the field", async () => {
  const r = await pinnedRenderer("epson", 42);
  const ok = await r.render(
    receiptJob("receipt", {
      store_name: null,
      cashier: null,
      total: null,
      items: [{ name: "Tea", qty: 1, price: null }],
    }),
  );
  assertMatch(ok.preview, /1 x Tea/);
  const e = await r.render(receiptJob("receipt", { items: [{ name: "ok" }, { name: null }] })).then(
    () => null,
    (e) => e,
  );
  assertEquals(e?.code, "BAD_PAYLOAD");
  assertMatch(e.message, /receipt_data\.items\.1\.name/);
  const e2 = await r.render(receiptJob("receipt", { total: "50000" })).then(() => null, (e) => e);
  assertMatch(e2.message, /receipt_data\.total/);
});

Deno.test("money and dates follow the store's locale", async () => {
  const r = await pinnedRenderer("epson", 48);
  const out = await r.render(
    receiptJob("receipt", { total: 50000, created_at: "2026-01-23T09:07:28Z" }),
  );
  assertMatch(out.preview, /TOTAL +Rp 50\.000/);
  assertMatch(out.preview, /23 Jan 2026, 16\.07/);
});

Deno.test("store templates override built-ins; errors name the template file and line", async () => {
  await using dir = await withTmpDir();
  const opts = (templatesPath: string) => rendererOptions({ templatesPath });
  await Deno.writeTextFile(
    join(dir.path, "receipt.liquid"),
    "{% align center %}MY SHOP {{ receipt.store_name | upcase }}\n{% cut %}",
  );
  const r = await Renderer.create(opts(dir.path));
  assertMatch(
    (await r.render(receiptJob("receipt", { store_name: "kopi" }))).preview,
    /MY SHOP KOPI/,
  );
  await Deno.writeTextFile(join(dir.path, "kitchen.liquid"), "line one\n{{ receipt.nope }}\n");
  const r2 = await Renderer.create(opts(dir.path));
  const e = await r2.render(receiptJob("kitchen", {})).then(() => null, (e) => e);
  assertEquals(e?.code, "TEMPLATE_ERROR");
  assertMatch(e.message, /kitchen\.liquid: undefined variable: receipt\.nope, line:2/);
  await Deno.writeTextFile(join(dir.path, "test.liquid"), "{{ 1 | nofilter }}");
  await assertRejects(
    () => Renderer.create(opts(dir.path)),
    /test\.liquid: undefined filter: nofilter/,
  );
});

Deno.test("a forged layout marker through the raw filter is ignored", async () => {
  await using dir = await withTmpDir();
  await Deno.writeTextFile(join(dir.path, "receipt.liquid"), "{{ receipt.note | raw }}\n");
  const r = await Renderer.create(rendererOptions({ templatesPath: dir.path }));
  const forged = `\x1e${"0".repeat(32)}{"op":"pulse"}\x1f hi`;
  const out = await r.render(receiptJob("receipt", { note: forged }));
  const doc = readEscPos(out.bytes);
  assert(!doc.commands.includes("pulse"));
});

Deno.test("profiles: a new brand is a file; an unknown key or bad value names the file and key", async () => {
  await using dir = await withTmpDir();
  const base = JSON.parse(
    await Deno.readTextFile(new URL("../profiles/generic.json", import.meta.url)),
  );
  const caps = base.capabilities;
  await Deno.writeTextFile(
    join(dir.path, "acme.json"),
    JSON.stringify({
      ...base,
      id: "acme",
      brands: ["ACME"],
      cut: "full",
      capabilities: { ...caps, cut: { value: ["full"], source: "ACME TP-1 manual, GS V 0" } },
    }),
  );
  const opts = rendererOptions({ paperWidth: 80, profilesPath: dir.path });
  const r = await Renderer.create({ ...opts, brand: "acme" });
  assertEquals(r.profile.id, "acme");
  assertEquals(r.columns, 48);
  const bad = async (profile: Record<string, unknown>, want: RegExp) => {
    await Deno.writeTextFile(join(dir.path, "bad.json"), JSON.stringify({ ...base, ...profile }));
    await assertRejects(() => Renderer.create({ ...opts, brand: "acme" }), want);
  };
  await bad({ id: "bad", cutter: "yes" }, /bad\.json: unknown key cutter/);
  await bad(
    {
      id: "bad",
      capabilities: { ...caps, codepages: { value: { cp9999: 0 }, source: "x".repeat(12) } },
    },
    /bad\.json: capabilities\.codepages\.value\.cp9999: a code page name/,
  );
  await bad(
    { id: "bad", encoder_model: "epson-tm-9000" },
    /bad\.json: encoder_model: a printer model known to receipt-printer-encoder/,
  );
  // every capability names where it comes from
  await bad(
    { id: "bad", capabilities: { ...caps, inverse: { value: true, source: "" } } },
    /bad\.json: capabilities\.inverse\.source: name the manual/,
  );
  await bad(
    { id: "bad", capabilities: { ...caps, inverse: { value: true } } },
    /bad\.json: capabilities\.inverse\.source/,
  );
  // what is sent must be declared
  await bad(
    { id: "bad", cut: "full" },
    /bad\.json: cut: "full" is not a cut capabilities\.cut declares/,
  );
  await bad(
    {
      id: "bad",
      capabilities: { ...caps, drawer_pulse: { value: false, source: "no drawer port" } },
    },
    /bad\.json: drawer: a drawer pulse needs capabilities\.drawer_pulse/,
  );
  // the 0.1 format next to capabilities: which one is meant?
  await bad(
    { id: "bad", supports: { qr: true, barcode: true, image: false } },
    /bad\.json: supports \(the 0\.1 format\) next to capabilities/,
  );
});

Deno.test("wrap breaks at spaces and hard-breaks long words", () => {
  assertEquals(wrap("aaa bbb ccc", 7), ["aaa bbb", "ccc"]);
  assertEquals(wrap("abcdefghij", 4), ["abcd", "efgh", "ij"]);
});

Deno.test("raw jobs pass bytes through; drawer jobs are a pulse only", async () => {
  const r = await pinnedRenderer("epson", 48);
  const raw = await r.render(receiptJob("raw", null, { raw_base64: btoa("\x1b@hi\n\x1dV\x00") }));
  assertEquals(new TextDecoder().decode(raw.bytes), "\x1b@hi\n\x1dV\x00");
  // the server's own bytes, read back: the picture shows what they print
  const paper = readPaper(raw.bytes, r.paper);
  assertEquals(paper.rows.map((x) => x.kind), ["text", "cut"]);
  assertMatch(raw.preview, /8 bytes; the picture/);
  const kick = await r.render(receiptJob("drawer", null));
  assertEquals(readEscPos(kick.bytes).commands.filter((c) => c === "pulse"), ["pulse"]);
});

Deno.test("a logo.png beside the templates prints as a raster image, scaled to the paper", async () => {
  const { encode } = await import("fast-png");
  await using dir = await withTmpDir();
  const w = 1000, h = 50; // wider than the paper: scaled down
  const data = new Uint8Array(w * h * 4);
  for (let i = 0; i < w * h; i++) {
    const black = ((i % w) >> 4) % 2 === 0;
    data.set(black ? [0, 0, 0, 255] : [255, 255, 255, 0], i * 4);
  }
  await Deno.writeFile(
    join(dir.path, "logo.png"),
    encode({ width: w, height: h, data, channels: 4, depth: 8 }),
  );
  const opts = (brand: string) =>
    rendererOptions({ brand, paperWidth: 80, templatesPath: dir.path });
  const r = await Renderer.create(opts("EPSON"));
  const out = await r.render(receiptJob("receipt", { store_name: "Logo Store", total: 1 }));
  const doc = readEscPos(out.bytes);
  assert(doc.commands.includes("image"), `no image in ${doc.commands.join(" ")}`);
  const gs = out.bytes.findIndex((b, i) =>
    b === 0x1d && out.bytes[i + 1] === 0x76 && out.bytes[i + 2] === 0x30
  );
  const widthBytes = out.bytes[gs + 4] + out.bytes[gs + 5] * 256;
  assert(widthBytes * 8 <= 576, `image ${widthBytes * 8} dots wide fits 576`);
  assertMatch(out.preview, /\[LOGO\]/);
  // Generic prints the logo as a raster image too (GS v 0 is in its clone-safe subset)
  const g = await Renderer.create(opts("GENERIC"));
  const generic = await g.render(receiptJob("receipt", { store_name: "Logo Store", total: 1 }));
  assert(readEscPos(generic.bytes).commands.includes("image"), "Generic prints the logo");
  // a profile that declares no raster images prints none
  await using profiles = await withTmpDir();
  const base = JSON.parse(
    await Deno.readTextFile(new URL("../profiles/generic.json", import.meta.url)),
  );
  base.capabilities.raster_image = { value: false, source: "(test) a printer without images" };
  await Deno.writeTextFile(
    join(profiles.path, "noimg.json"),
    JSON.stringify({ ...base, id: "noimg", brands: ["NOIMG"] }),
  );
  const n = await Renderer.create({ ...opts("NOIMG"), profilesPath: profiles.path });
  const plain = await n.render(receiptJob("receipt", { store_name: "Logo Store", total: 1 }));
  assertEquals(readEscPos(plain.bytes).commands.includes("image"), false);
  await Deno.writeFile(join(dir.path, "logo.png"), new TextEncoder().encode("not a png"));
  await assertRejects(() => Renderer.create(opts("EPSON")), /logo\.png is not a PNG/);
});

Deno.test("a receipt of several encoder pieces decodes to its preview, bold and size intact across the joins", async () => {
  const r = await pinnedRenderer("epson", 48);
  const items = Array.from(
    { length: 1200 },
    (_, i) => ({ name: `Item ${i}`, qty: 1, price: 1000 }),
  );
  const out = await r.render(receiptJob("kitchen", { items }));
  const doc = readEscPos(out.bytes);
  const lines = doc.lines.map((l) => l.trimEnd()).filter((l) => l !== "");
  const preview = out.preview.split("\n").filter((l) => l.trim() !== "" && !/-CUT-/.test(l))
    .map((l) => l.trimEnd());
  assertEquals(lines.length, preview.length);
  assertEquals(doc.commands.filter((c) => c === "init").length, 1, "one ESC @, at the start");
  // every kitchen item line is big and bold: each piece starts from the default style again
  const big = doc.commands.filter((c) => c === "size:11").length;
  assert(big >= 1200, `${big} size changes for 1,200 big item lines`);
});

Deno.test("receipts a store signs off: every receipt_data field prints, one thank-you, no double rule, centred banner, underline, no feed after the cut", async (t) => {
  const r = await pinnedRenderer("epson", 48);
  const decoded = async (job: ReturnType<typeof receiptJob>) => {
    const out = await r.render(job);
    return { out, doc: readEscPos(out.bytes), text: readEscPos(out.bytes).lines.join("\n") };
  };
  await t.step("every field of docs/protocol.md's receipt_data appears", async () => {
    const { doc, text } = await decoded(receiptJob("receipt", {
      store_name: "F-STORE",
      header_lines: ["F-HEADER"],
      table: "F-TABLE",
      customer: "F-CUSTOMER",
      order_type: "Bungkus",
      bill_number: "F-BILL",
      items: [{ name: "F-ITEM", qty: 1, price: 1000, notes: "F-NOTE", modifiers: ["F-MOD"] }],
      discounts: [{ label: "F-DISC", amount: 100 }],
      taxes: [{ label: "F-TAX", amount: 90 }],
      service_charge: 50,
      total: 1040,
      payments: [{ method: "F-PAY", amount: 2000 }],
      change: 960,
      note: "F-RNOTE",
      footer_lines: ["F-FOOTER"],
      qr: "F-QR",
      barcode: "F-BARCODE",
    }));
    for (
      const want of [
        "F-STORE",
        "F-HEADER",
        "F-TABLE",
        "F-CUSTOMER",
        "Bungkus",
        "F-BILL",
        "F-ITEM",
        "F-NOTE",
        "F-MOD",
        "F-DISC",
        "F-TAX",
        "Biaya layanan", // service charge, in the store's language (id-ID)
        "F-PAY",
        "Kembali", // change
        "F-RNOTE",
        "F-FOOTER",
      ]
    ) assertMatch(text, new RegExp(want), want);
    assertEquals(doc.codes.map((c) => c.value), ["F-QR", "F-BARCODE"]);
  });
  await t.step("the store's footer replaces the built-in thank-you, not doubles it", async () => {
    const own = await decoded(receiptJob("receipt", { total: 1, footer_lines: ["Sampai jumpa"] }));
    assert(!/Terima kasih/.test(own.text));
    const none = await decoded(receiptJob("receipt", { total: 1 }));
    assertEquals(none.text.match(/Terima kasih/g)?.length, 1);
  });
  await t.step("a receipt without items has no two rules in a row", async () => {
    const { doc } = await decoded(receiptJob("receipt", { total: 1 }));
    const rules = doc.lines.map((l) => /^-{10,}$/.test(l.trim()));
    assert(!rules.some((x, i) => x && rules[i + 1]), doc.lines.join("\n"));
  });
  await t.step("the REPRINT bar is centred: as much inverted padding left as right", async () => {
    const { out } = await decoded(receiptJob("reprint"));
    const text = new TextDecoder("latin1").decode(out.bytes);
    // deno-lint-ignore no-control-regex
    const bar = text.match(/\x1dB\x01\x1d!\x11(?:\x1bt[\s\S])?( *)CETAK ULANG( *)\x1b/);
    assert(bar, "the inverted banner");
    assert(Math.abs(bar[1].length - bar[2].length) <= 1, `${bar[1].length} vs ${bar[2].length}`);
  });
  await t.step("{% underline %} sends ESC -", async () => {
    const { doc, text } = await decoded(receiptJob("test", null));
    assert(doc.commands.includes("underline:1"), doc.commands.join(" "));
    assertMatch(text, /^Underline/m);
  });
  await t.step(
    "paper is fed before the cut, never after it (the next receipt starts at once)",
    async () => {
      for (const data of [{ total: 1 }, { total: 1, open_drawer: true }]) {
        const { out, doc } = await decoded(receiptJob("receipt", data));
        const b = out.bytes;
        const cut = b.findLastIndex((x, i) => x === 0x1d && b[i + 1] === 0x56);
        assert(cut > 0);
        assert(b[cut + 3] !== 0x0a, "no line feed after the cut");
        assertEquals(doc.commands.filter((c) => c === "pulse").length, data.open_drawer ? 1 : 0);
      }
    },
  );
});

Deno.test("money for the neighbours: IDR, MYR, THB, PHP, VND, SGD print right on every code page", async () => {
  const cases: [string, string, RegExp][] = [
    ["id-ID", "IDR", /TOTAL +Rp 1\.235$/m],
    ["ms-MY", "MYR", /TOTAL +RM 1,234\.50$/m],
    ["th-TH", "THB", /TOTAL +THB1,234\.50$/m],
    ["en-PH", "PHP", /TOTAL +PHP1,234\.50$/m],
    ["vi-VN", "VND", /TOTAL +1\.235 VND$/m],
    ["en-SG", "SGD", /TOTAL +\$1,234\.50$/m],
  ];
  for (const brand of ["EPSON", "GENERIC"]) {
    for (const [locale, currency, want] of cases) {
      const r = await Renderer.create(rendererOptions({ brand, locale, currency }));
      const out = await r.render(receiptJob("receipt", { total: 1234.5 }));
      assertMatch(readEscPos(out.bytes).lines.join("\n"), want, `${brand} ${locale}`);
    }
  }
});

Deno.test("labels: one table per language, from the locale by default, pairs where asked, the store's own words over them", async () => {
  const text = async (over: Partial<RendererOptions>) => {
    const r = await Renderer.create(rendererOptions(over));
    const out = await r.render(receiptJob("receipt", { ...TYPICAL_RECEIPT, footer_lines: [] }));
    return readEscPos(out.bytes).lines.join("\n");
  };
  const id = await text({ locale: "id-ID" });
  for (const w of ["Antrian", "Kasir", "Meja", "Diskon", "Kembali", "Terima kasih"]) {
    assertMatch(id, new RegExp(w), w);
  }
  assert(!/Cashier|Change|Thank you/.test(id), "no English on an Indonesian receipt");
  const en = await text({ locale: "en-SG", currency: "SGD" });
  for (const w of ["Queue", "Cashier", "Change", "Thank you"]) assertMatch(en, new RegExp(w), w);
  assert(!/Kasir|Kembali/.test(en));
  const pair = await text({ language: "id/en" });
  assertMatch(pair, /Antrian \/ Queue/);
  assertMatch(pair, /Kasir \/ Cashier/);
  const own = await text({ labels: { thanks: "Sampai jumpa lagi", cashier: "Pramuniaga" } });
  assertMatch(own, /Sampai jumpa lagi/);
  assertMatch(own, /Pramuniaga +Siti/);
});

Deno.test("kitchen tickets: station name on top, order type and time large, new items marked, voids inverted", async () => {
  const r = await Renderer.create(
    rendererOptions({
      agent: {
        version: "t",
        terminal_id: "P",
        printer_role: "kitchen",
        location_id: null,
        station: "Bar",
      },
    }),
  );
  const out = await r.render(receiptJob("kitchen", {
    table: "9",
    order_type: "Bungkus",
    created_at: "2026-01-23T09:07:28Z",
    items: [
      { name: "Es teh", qty: 2, status: "new" },
      { name: "Kopi", qty: 1, status: "void" },
      { name: "Roti", qty: 1, modifiers: ["keju"], notes: "hangat" },
    ],
  }));
  const doc = readEscPos(out.bytes);
  // big text is letter-spaced in the preview: it says what is large
  const lines = out.preview.split("\n").map((l) => l.trim());
  assertEquals(
    lines[0],
    "BAR",
    'the station names the ticket (not "DAPUR - BAR": dapur is kitchen)',
  );
  assert(lines.some((l) => /^B u n g k u s$/.test(l)), "order type big");
  assert(lines.some((l) => /^\d \d \. \d \d$/.test(l)), "time big");
  assert(lines.some((l) => /^B A R U {3}2 {3}E s {3}t e h$/.test(l)), "a new item marked");
  // a cancelled item is as big as the others (letter-spaced in the preview: double size)
  const voided = lines.findIndex((l) => /^B A T A L : {3}1 {3}K o p i$/.test(l));
  assert(voided >= 0, lines.join("\n"));
  assertMatch(lines.join("\n"), /\+ keju\n\*\* hangat \*\*/);
  // the void line is printed inverted (GS B 1 … GS B 0 around it)
  const inv = doc.commands.indexOf("invert:1");
  assert(inv >= 0 && doc.commands.indexOf("invert:0", inv) > inv, doc.commands.join(" "));
  await assertRejects(
    () => r.render(receiptJob("kitchen", { items: [{ name: "x", qty: 1, status: "maybe" }] })),
    /items\.0\.status/,
  );
});

Deno.test("a profile file in the 0.1 format prints as it did, and says what to change", async () => {
  await using dir = await withTmpDir();
  const old = {
    id: "shop",
    name: "The shop's printer",
    brands: ["SHOP"],
    encoder_model: null,
    columns: { "58": 32, "80": 48 },
    fonts: ["A"],
    small_font: false,
    codepages: ["cp437", "cp858"],
    codepage_mapping: "epson",
    cut: "partial",
    feed_before_cut: 4,
    drawer: { pin: 0, on_ms: 100, off_ms: 500 },
    supports: { qr: true, barcode: true, image: false },
    image_mode: "raster",
  };
  await Deno.writeTextFile(join(dir.path, "shop.json"), JSON.stringify(old));
  const r = await Renderer.create(
    rendererOptions({ brand: "SHOP", paperWidth: 80, profilesPath: dir.path }),
  );
  const p = r.profile;
  assertMatch(
    p.upgraded!,
    /shop\.json is in the 0\.1 format \(supports, codepages, codepage_mapping\)/,
  );
  // the ESC t numbers come from the encoder's named table, as 0.1 sent them
  assertEquals(p.capabilities.codepages.value, { cp437: 0, cp858: 19 });
  assertEquals(
    [
      p.capabilities.qr_native.value,
      p.capabilities.inverse.value,
      p.capabilities.cancel_kanji.value,
    ],
    [true, true, true],
  );
  assertEquals(p.capabilities.raster_image.value, false);
  assertMatch(p.capabilities.qr_native.source, /0\.1 profile file .*names no source/);
  const out = await r.render(receiptJob("reprint"));
  const cmds = readEscPos(out.bytes).commands;
  assert(cmds.includes("qr") && cmds.includes("invert:1") && cmds.includes("cancel-kanji"));
  // a file that mixes both formats is refused
  await Deno.writeTextFile(
    join(dir.path, "shop.json"),
    JSON.stringify({ ...old, capabilities: {} }),
  );
  await assertRejects(
    () => Renderer.create(rendererOptions({ brand: "SHOP", profilesPath: dir.path })),
    /shop\.json: supports, codepages, codepage_mapping \(the 0\.1 format\) next to capabilities/,
  );
});

Deno.test("every code page writes every code point as the library's own lookup would, never at a control byte", () => {
  // the library's encode: the first position in the (printable) table holding the code point,
  // else "?"; the agent's replacement reads a map built once: every BMP code point, every code
  // page, and astral ones (read as the library reads a string: one index at a time)
  const all: number[] = [];
  for (let cp = 0; cp <= 0xffff; cp++) if (cp < 0xd800 || cp > 0xdfff) all.push(cp);
  const text = String.fromCodePoint(...all) + "😀𝄞";
  for (const codepage of knownCodepages()) {
    const table = CodepageEncoder.getEncoding(codepage as never).codepoints;
    const got = CodepageEncoder.encode(text, codepage as never);
    assertEquals(got.length, text.length, codepage);
    const lookup = new Map<number, number>();
    table.forEach((c, byte) => {
      if (!lookup.has(c)) lookup.set(c, byte);
    });
    for (let c = 0; c < text.length; c++) {
      const cp = text.codePointAt(c)!;
      const want = lookup.get(cp) ?? 0x3f;
      if (got[c] !== want) {
        throw new Error(`${codepage}: U+${cp.toString(16)} as ${got[c]}, the library: ${want}`);
      }
      if (isControlByte(got[c])) throw new Error(`${codepage}: U+${cp.toString(16)} at ${got[c]}`);
    }
  }
});
