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
import { z } from "zod";
import { Renderer, type RendererOptions } from "./render/render.ts";
import { readPaper } from "./render/paper.ts";
import { paperSvg } from "./render/preview_svg.ts";
import type { Job } from "./core/job.ts";

const ROOT = new URL("../", import.meta.url).pathname;
const DOC = "docs/printing.md";
const BEGIN = "<!-- capabilities:begin (deno task samples) -->";
const END = "<!-- capabilities:end -->";

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
  const doc = await Deno.readTextFile(join(ROOT, DOC));
  const a = doc.indexOf(BEGIN), b = doc.indexOf(END);
  if (a < 0 || b < a) throw new Error(`${DOC} lacks the ${BEGIN} … ${END} markers`);
  const text = `${doc.slice(0, a + BEGIN.length)}\n\n${capabilityDoc(profiles)}\n\n${doc.slice(b)}`;
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
