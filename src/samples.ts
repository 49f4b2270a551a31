/**
 * `deno task samples`: the pictures and the capability table in docs/printing.md, made from the
 * code itself — a sample receipt through each built-in profile at 80 mm, read back from its bytes
 * and drawn (docs/samples/<profile>.svg), every profile's capabilities with their sources, and
 * docs/profile.schema.json (the `$schema` profile files name).
 * `--check` only compares (a test runs it), so the docs cannot drift from the profiles.
 * @module
 */
import { join } from "node:path";
import { SAMPLE_JOBS } from "./demo.ts";
import { builtinProfiles, type Profile, ProfileSchema } from "./render/profile.ts";
import * as z from "zod";
import { Renderer, type RendererOptions } from "./render/render.ts";
import { readPaper } from "./render/paper.ts";
import { paperSvg } from "./render/preview_svg.ts";
import type { Job } from "./core/job.ts";

const ROOT = new URL("../", import.meta.url).pathname;
const DOC = "docs/printing.md";
const BEGIN = "<!-- capabilities:begin (deno task samples) -->";
const END = "<!-- capabilities:end -->";
const SCRIPTS_BEGIN = "<!-- scripts:begin (deno task samples) -->";
const SCRIPTS_END = "<!-- scripts:end -->";

/** The sample receipt: the demo's first job, with a barcode. */
function sampleJob(): Job {
  const j = SAMPLE_JOBS[0];
  return {
    id: 1,
    uuid: "5a3c2d1e-0000-4000-8000-000000000001",
    job_type: j.job_type,
    priority: 0,
    created_at: "2026-01-23T09:07:28Z",
    // the euro sign shows what a profile's code pages hold: cp858 has it, cp437 does not
    receipt_data: {
      ...j.receipt_data,
      barcode: "INV-2026-0001",
      footer_lines: [...j.receipt_data.footer_lines ?? [], "Kurs: 1 € = Rp17.250"],
    },
  } as Job;
}

/**
 * Renderer options with everything pinned (clock, version, store locale and time zone): the same
 * job renders to the same bytes on any machine, for the docs' pictures and the golden tests.
 */
export function pinnedOptions(brand: string, paperWidth: number, version: string): RendererOptions {
  return {
    brand,
    paperWidth,
    profilesPath: null,
    templatesPath: null,
    locale: "id-ID",
    currency: "IDR",
    timeZone: "Asia/Jakarta",
    now: () => Date.parse("2026-01-23T09:07:28Z"),
    agent: { version, terminal_id: "POS-001", printer_role: "cashier", location_id: 1 },
  };
}

/** One profile's sample picture. */
async function sampleSvg(p: Profile): Promise<string> {
  const r = await Renderer.create(pinnedOptions(p.id, 80, "sample"));
  const out = await r.render(sampleJob());
  return paperSvg(readPaper(out.bytes, r.paper));
}

/** A markdown table with its columns padded (as `deno fmt` leaves it). */
function table(rows: string[][]): string {
  const w = rows[0].map((_, c) => Math.max(3, ...rows.map((r) => [...r[c]].length)));
  const line = (r: string[]) =>
    `| ${r.map((x, c) => x + " ".repeat(w[c] - [...x].length)).join(" | ")} |`;
  return [line(rows[0]), line(w.map((n) => "-".repeat(n))), ...rows.slice(1).map(line)].join("\n");
}

/** The capability table and the sources, as the docs show them. */
function capabilityDoc(profiles: Profile[]): string {
  const yes = (b: boolean) => (b ? "yes" : "no");
  const row = (name: string, f: (p: Profile) => string) => [name, ...profiles.map(f)];
  const c = (p: Profile) => p.capabilities;
  const rows = [
    ["", ...profiles.map((p) => `\`${p.id}\``)],
    row(
      "QR (`GS ( k`)",
      (p) => c(p).qr_native.value ? "native" : c(p).raster_image.value ? "raster image" : "text",
    ),
    row("barcodes (`GS k`)", (p) => c(p).barcodes.value.join(", ") || "raster image"),
    row("raster images (`GS v 0`)", (p) => yes(c(p).raster_image.value)),
    row("inverse (`GS B`)", (p) => c(p).inverse.value ? "yes" : "no: bold"),
    row("Kanji off (`FS .`)", (p) => yes(c(p).cancel_kanji.value)),
    row(
      "code pages (`ESC t`)",
      (p) => Object.entries(c(p).codepages.value).map(([k, v]) => `${k}=${v}`).join(", "),
    ),
    row("cuts (`GS V`)", (p) => `${c(p).cut.value.join(", ")}; sends ${p.cut}`),
    row("drawer pulse (`ESC p`)", (p) => yes(c(p).drawer_pulse.value)),
  ];
  const sources = profiles.map((p) =>
    [
      `**\`${p.id}\`** (${p.name}):`,
      "",
      ...Object.entries(p.capabilities).map(([k, v]) => `- \`${k}\`: ${v.source}`),
    ].join("\n")
  );
  const pictures = profiles.map((p) => `- \`${p.id}\`: ![${p.id} sample](samples/${p.id}.svg)`);
  return [
    table(rows),
    "",
    "Sources, per capability:",
    "",
    sources.join("\n\n"),
    "",
    "The sample receipt through each profile at 80 mm, drawn from the bytes it sends:",
    "",
    pictures.join("\n"),
  ].join("\n");
}

/**
 * A receipt and a kitchen ticket per script no code page holds, as a store there writes them:
 * the pictures of docs/printing.md's "Every script", drawn from the bytes they send.
 */
export const SCRIPT_SAMPLES: Record<
  string,
  { title: string; store: string; items: [string, number][]; thanks: string; pay: string }
> = {
  thai: {
    title: "Thai (stacked vowels and tones)",
    store: "ร้านก๋วยเตี๋ยวเรือ",
    items: [["ก๋วยเตี๋ยวน้ำใส", 2], ["ข้าวผัดกุ้ง", 1], ["Es teh", 1]],
    thanks: "ขอบคุณที่ใช้บริการ",
    pay: "เงินสด",
  },
  khmer: {
    title: "Khmer (subscripts, no spaces)",
    store: "ហាងបាយឆា",
    items: [["បាយឆាសាច់មាន់", 1], ["កាហ្វេទឹកដោះគោ", 2], ["Es teh", 1]],
    thanks: "អរគុណ",
    pay: "សាច់ប្រាក់",
  },
  arabic: {
    title: "Arabic (joined, right to left)",
    store: "مطعم الحلال",
    items: [["شاي بالنعناع", 2], ["كبسة دجاج", 1], ["Es teh", 1]],
    thanks: "شكرا لزيارتكم",
    pay: "نقدا",
  },
  hebrew: {
    title: "Hebrew (right to left)",
    store: "מסעדת השוק",
    items: [["סלט ירקות", 2], ["שקשוקה", 1], ["Es teh", 1]],
    thanks: "תודה רבה",
    pay: "מזומן",
  },
  vietnamese: {
    title: "Vietnamese (tones stacked on their vowels)",
    store: "Quán Phở Hà Nội",
    items: [["Phở bò tái đặc biệt", 2], ["Cà phê sữa đá", 1], ["Es teh", 1]],
    thanks: "Cảm ơn quý khách",
    pay: "Tiền mặt",
  },
  chinese: {
    title: "Chinese (wide, from the PC's font)",
    store: "金龙海鲜酒家",
    items: [["宫保鸡丁", 1], ["扬州炒饭 大份", 2], ["Es teh manis", 1]],
    thanks: "谢谢光临",
    pay: "现金",
  },
  mixed: {
    title: "Latin and Chinese on one line",
    store: "Warung Kopi 金龙",
    items: [["Nasi goreng 扬州炒饭", 1], ["Kopi susu", 2]],
    thanks: "Terima kasih 谢谢",
    pay: "Tunai",
  },
};

/** One script's sample as a job of `type` (receipt or kitchen). */
export function scriptJob(script: string, type: "receipt" | "kitchen"): Job {
  const s = SCRIPT_SAMPLES[script];
  const items = s.items.map(([name, qty], i) => ({ name, qty, price: 15000 * (i + 1) }));
  const total = items.reduce((a, x) => a + x.qty * x.price, 0);
  return {
    id: 2,
    uuid: `5a3c2d1e-0000-4000-8000-00000000000${type === "receipt" ? 2 : 3}`,
    job_type: type,
    priority: 0,
    created_at: "2026-01-23T09:07:28Z",
    receipt_data: {
      store_name: s.store,
      bill_number: "INV-2026-0002",
      queue_number: "A002",
      table: "7",
      items,
      subtotal: total,
      total,
      payments: [{ method: s.pay, amount: total }],
      change: 0,
      footer_lines: [s.thanks],
    },
  } as Job;
}

/** One script's picture: its receipt, then its kitchen ticket, on 80 mm EPSON paper. */
async function scriptSvg(script: string): Promise<string> {
  const r = await Renderer.create(pinnedOptions("epson", 80, "sample"));
  const receipt = await r.render(scriptJob(script, "receipt"));
  const kitchen = await r.render(scriptJob(script, "kitchen"));
  const bytes = new Uint8Array(receipt.bytes.length + kitchen.bytes.length);
  bytes.set(receipt.bytes);
  bytes.set(kitchen.bytes, receipt.bytes.length);
  return paperSvg(readPaper(bytes, r.paper));
}

/** Every file the samples make: path (from the repository root) → content. */
export async function samples(): Promise<Map<string, string>> {
  const profiles = builtinProfiles();
  const files = new Map<string, string>();
  for (const p of profiles) files.set(`docs/samples/${p.id}.svg`, await sampleSvg(p));
  // the schema a profile file names in "$schema": editors check and complete it
  files.set(
    "docs/profile.schema.json",
    JSON.stringify(
      z.toJSONSchema(ProfileSchema, { io: "input", unrepresentable: "any" }),
      null,
      2,
    ) +
      "\n",
  );
  for (const script of Object.keys(SCRIPT_SAMPLES)) {
    files.set(`docs/samples/script-${script}.svg`, await scriptSvg(script));
  }
  let text = await Deno.readTextFile(join(ROOT, DOC));
  const between = (begin: string, end: string, content: string) => {
    const a = text.indexOf(begin), b = text.indexOf(end);
    if (a < 0 || b < a) throw new Error(`${DOC} lacks the ${begin} … ${end} markers`);
    text = `${text.slice(0, a + begin.length)}\n\n${content}\n\n${text.slice(b)}`;
  };
  between(BEGIN, END, capabilityDoc(profiles));
  between(
    SCRIPTS_BEGIN,
    SCRIPTS_END,
    [
      "A receipt and a kitchen ticket per script, drawn from the bytes they send (80 mm, `epson`):",
      "",
      ...Object.entries(SCRIPT_SAMPLES).map(([k, v]) =>
        `- ${v.title}: ![${k} sample](samples/script-${k}.svg)`
      ),
    ].join("\n"),
  );
  files.set(DOC, await formatMarkdown(text));
  return files;
}

/** The markdown as `deno fmt` (the project's settings) leaves it, so `deno fmt --check` agrees. */
async function formatMarkdown(text: string): Promise<string> {
  const tmp = await Deno.makeTempFile({ suffix: ".md" });
  try {
    await Deno.writeTextFile(tmp, text);
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["fmt", "--quiet", "--config", join(ROOT, "deno.json"), tmp],
      stdout: "null",
      stderr: "piped",
    }).output();
    if (!out.success) throw new Error(`deno fmt: ${new TextDecoder().decode(out.stderr)}`);
    return await Deno.readTextFile(tmp);
  } finally {
    await Deno.remove(tmp).catch(() => {});
  }
}

if (import.meta.main) {
  const check = Deno.args.includes("--check");
  const stale: string[] = [];
  for (const [path, content] of await samples()) {
    const full = join(ROOT, path);
    const now = await Deno.readTextFile(full).catch(() => null);
    if (now === content) continue;
    if (check) stale.push(path);
    else {
      await Deno.mkdir(join(full, ".."), { recursive: true });
      await Deno.writeTextFile(full, content);
      console.log(`wrote ${path}`);
    }
  }
  if (stale.length) {
    console.error(`out of date (run deno task samples): ${stale.join(", ")}`);
    Deno.exit(1);
  }
}
