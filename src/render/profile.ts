/**
 * Printer profiles as data: brand and model quirks in `profiles/*.json`. The built-in files are
 * embedded in the binary; a `profiles` folder beside the config adds or overrides them without
 * a rebuild. A profile with an unknown key or a bad value is rejected with the file and key named.
 * @module
 */
import * as z from "zod";
import { join } from "node:path";
import CodepageEncoder from "@point-of-sale/codepage-encoder";
import { printableBytes } from "./codepage.ts";
import ReceiptPrinterEncoder from "@point-of-sale/receipt-printer-encoder";
import hrpt from "../../profiles/hrpt.json" with { type: "json" };
import epson from "../../profiles/epson.json" with { type: "json" };
import xprinter from "../../profiles/xprinter.json" with { type: "json" };
import generic from "../../profiles/generic.json" with { type: "json" };

/** The printer models the encoder knows (a profile's `encoder_model` must be one of them). */
const ENCODER_MODELS: string[] =
  (ReceiptPrinterEncoder as unknown as { printerModels: { id: string }[] })
    .printerModels.map((m) => m.id);

const Codepage = z.string().refine((c) => CodepageEncoder.supports(c), {
  message: "a code page name known to the encoder (e.g. cp437, cp858, windows1252)",
});

/** Barcode symbologies a profile can declare (the encoder library's names). */
export const SYMBOLOGIES = [
  "upca",
  "upce",
  "ean13",
  "ean8",
  "code39",
  "itf",
  "codabar",
  "code93",
  "code128",
] as const;

/** One capability: what the printer does, and where that is written (a manual, a command set). */
const cap = <T extends z.ZodType>(value: T) =>
  z.object({
    value,
    source: z.string().trim().min(10, "name the manual or command reference this comes from"),
  }).strict();

/** What a printer model can do, each with its source. Whatever is not declared is not sent. */
const Capabilities = z.object({
  /** `GS ( k`: the printer draws QR codes itself; else the QR goes as a raster image. */
  qr_native: cap(z.boolean()),
  /** `GS k` symbologies; a barcode the printer lacks goes as a raster image. */
  barcodes: cap(z.array(z.enum(SYMBOLOGIES))),
  /** `GS v 0`: raster images (logo; QR and barcodes where not native). */
  raster_image: cap(z.boolean()),
  /** `GS B`: white on black. Without it, inverted lines print bold. */
  inverse: cap(z.boolean()),
  /** `FS .`: leave Kanji/Chinese mode at start. Without it, only `ESC @`. */
  cancel_kanji: cap(z.boolean()),
  /** Code pages and their `ESC t` numbers, in the order the agent prefers them. */
  codepages: cap(
    z.record(Codepage, z.number().int().min(0).max(255))
      .refine((m) => Object.keys(m).length > 0, { message: "at least one code page" })
      .refine((m) => new Set(Object.values(m)).size === Object.keys(m).length, {
        message: "each code page has its own ESC t number",
      }),
  ),
  /** `GS V` cuts the cutter makes. */
  cut: cap(z.array(z.enum(["full", "partial"]))),
  /** `ESC p`: a cash drawer port. */
  drawer_pulse: cap(z.boolean()),
}).strict();

/** @internal The schema of a profile file. */
export const ProfileSchema = z.object({
  $schema: z.string().optional(),
  id: z.string().regex(/^[a-z0-9_-]+$/),
  name: z.string(),
  brands: z.array(z.string().min(1)).min(1),
  encoder_model: z.string().refine((m) => ENCODER_MODELS.includes(m), {
    message:
      "a printer model known to receipt-printer-encoder (e.g. epson-tm-t88vi, xprinter-xp-n160ii)",
  }).nullable(),
  columns: z.object({
    "58": z.number().int().min(16).max(80),
    "80": z.number().int().min(24).max(96),
  })
    .strict(),
  fonts: z.array(z.enum(["A", "B", "C"])).min(1),
  small_font: z.boolean(),
  /** The cut the agent sends: one the cutter makes (`capabilities.cut`), or none. */
  cut: z.enum(["full", "partial", "none"]),
  feed_before_cut: z.number().int().min(0).max(20),
  /** Drawer pulse timing; needs `capabilities.drawer_pulse`. */
  drawer: z.object({
    pin: z.union([z.literal(0), z.literal(1)]),
    on_ms: z.number().int().min(0).max(510),
    off_ms: z.number().int().min(0).max(510),
  }).strict().nullable(),
  image_mode: z.enum(["raster", "column"]),
  notes: z.string().optional(),
  capabilities: Capabilities,
}).strict().superRefine((p, ctx) => {
  if (p.cut !== "none" && !p.capabilities.cut.value.includes(p.cut)) {
    ctx.addIssue({
      code: "custom",
      path: ["cut"],
      message: `"${p.cut}" is not a cut capabilities.cut declares (${
        p.capabilities.cut.value.join(", ") || "none"
      })`,
    });
  }
  if (p.drawer && !p.capabilities.drawer_pulse.value) {
    ctx.addIssue({
      code: "custom",
      path: ["drawer"],
      message: "a drawer pulse needs capabilities.drawer_pulse (else set drawer to null)",
    });
  }
});

/** Keys of the 0.1 profile format, replaced by `capabilities`. */
const OLD_KEYS = ["supports", "codepages", "codepage_mapping"];

/** The `ESC t` number of `codepage` in one of the encoder's named code page tables. */
function escTIn(mapping: string, codepage: string): number {
  const e = new ReceiptPrinterEncoder({ language: "esc-pos", codepageMapping: mapping } as never);
  const b = e.codepage(codepage as never).text("x").encode() as Uint8Array;
  const at = b.findIndex((x, i) => x === 0x1b && b[i + 1] === 0x74);
  if (at < 0) throw new Error(`no ESC t for ${codepage}`);
  return b[at + 2];
}

/**
 * A profile file in the 0.1 format (`supports`, `codepages`, `codepage_mapping`) read as the
 * current one, sending exactly what 0.1 sent (FS ., inverse, its code pages): a store's own
 * profile keeps printing after an upgrade, and the log asks for the capabilities and sources.
 */
function fromOldFormat(raw: Record<string, unknown>, source: string): Record<string, unknown> {
  const why = `declared in the 0.1 profile file ${source}, which names no source`;
  const cap = (value: unknown) => ({ value, source: why });
  const { supports, codepages, codepage_mapping, ...rest } = raw as {
    supports?: { qr?: unknown; barcode?: unknown; image?: unknown };
    codepages?: unknown;
    codepage_mapping?: unknown;
  } & Record<string, unknown>;
  const names = Array.isArray(codepages) ? codepages.map(String) : [];
  const table: Record<string, number> = {};
  for (const cp of names) {
    try {
      table[cp] = typeof codepage_mapping === "string"
        ? escTIn(codepage_mapping, cp)
        : Number((codepage_mapping as Record<string, unknown> | undefined)?.[cp]);
    } catch (e) {
      throw new ProfileError(
        `Invalid printer profile ${source}: codepage_mapping "${codepage_mapping}" has no ` +
          `${cp} (${(e as Error).message})`,
      );
    }
  }
  return {
    ...rest,
    capabilities: {
      qr_native: cap(supports?.qr === true),
      barcodes: cap(supports?.barcode === true ? ["code128"] : []),
      raster_image: cap(supports?.image === true),
      inverse: cap(true),
      cancel_kanji: cap(true),
      codepages: cap(table),
      cut: cap(raw.cut === "none" ? [] : [raw.cut]),
      drawer_pulse: cap(raw.drawer != null),
    },
  };
}

/** A validated printer profile. */
export type Profile = ReturnType<typeof ProfileSchema.parse> & {
  /** Where it came from: `(built-in)` or a file path. */
  source: string;
  /** Set when the file is in the 0.1 format: what to change (logged at start, a selftest WARN). */
  upgraded: string | null;
  /** The code pages in the order the agent prefers them (`capabilities.codepages`). */
  codepages: string[];
  /** `ESC t` number → code page name (how a reader of the bytes decodes text). */
  escT: Record<number, string>;
  /** Every code point the profile's code pages can print. */
  charset: ReadonlySet<number>;
  /**
   * For each non-ASCII code point the profile can print, the first code page (in profile order)
   * that has it at a printable byte (never 0x00–0x1F or 0x7F).
   */
  codepageOf: ReadonlyMap<number, string>;
};

/** A profile file that is not valid. */
export class ProfileError extends Error {
  /** Creates a ProfileError. */
  constructor(message: string) {
    super(message);
    this.name = "ProfileError";
  }
}

/** Validates a profile's data (from a file or built in); errors name `source` and the key. */
export function buildProfile(raw: unknown, source: string): Profile {
  const obj = raw && typeof raw === "object" ? raw : null;
  const old = obj ? OLD_KEYS.filter((k) => k in obj) : [];
  let upgraded: string | null = null;
  if (old.length) {
    if ("capabilities" in (raw as object)) {
      throw new ProfileError(
        `Invalid printer profile ${source}: ${old.join(", ")} (the 0.1 format) next to ` +
          `capabilities: keep capabilities only`,
      );
    }
    raw = fromOldFormat(raw as Record<string, unknown>, source);
    upgraded = `printer profile ${source} is in the 0.1 format (${old.join(", ")}): read as it ` +
      `printed before; replace those keys with capabilities and their sources (docs/printing.md)`;
  }
  const r = ProfileSchema.safeParse(raw);
  if (!r.success) {
    const what = r.error.issues.map((i) =>
      i.code === "unrecognized_keys"
        ? `unknown key ${i.keys.join(", ")}${i.path.length ? ` in ${i.path.join(".")}` : ""}`
        : `${i.path.join(".") || "(top level)"}: ${
          // a bad record key (a code page name): say what the key must be
          i.code === "invalid_key" ? i.issues.map((k) => k.message).join("; ") : i.message}`
    );
    throw new ProfileError(`Invalid printer profile ${source}: ${what.join("; ")}`);
  }
  const codepages = Object.keys(r.data.capabilities.codepages.value);
  const escT = Object.fromEntries(
    Object.entries(r.data.capabilities.codepages.value).map(([name, n]) => [n, name]),
  );
  const codepageOf = new Map<number, string>();
  for (const cp of codepages) {
    // printable positions only: a glyph a code page keeps at a control byte (• at 0x07 in
    // CP437) is not in the charset, so layout transliterates or replaces it, and counts it
    for (const c of printableBytes(cp).keys()) {
      if (c >= 0xa0 && !codepageOf.has(c)) codepageOf.set(c, cp);
    }
  }
  return {
    ...r.data,
    source,
    upgraded,
    codepages,
    escT,
    charset: new Set(codepageOf.keys()),
    codepageOf,
  };
}

/** The built-in profiles (embedded in the binary). */
export function builtinProfiles(): Profile[] {
  return [hrpt, epson, xprinter, generic].map((p) =>
    buildProfile(p, `(built-in) profiles/${p.id}.json`)
  );
}

/** Reads a profile file; errors name the file and key. */
export async function loadProfileFile(path: string): Promise<Profile> {
  let raw: unknown;
  try {
    raw = JSON.parse(await Deno.readTextFile(path));
  } catch (e) {
    throw new ProfileError(`Cannot read printer profile ${path}: ${(e as Error).message}`);
  }
  return buildProfile(raw, path);
}

/** Built-in profiles, then every `*.json` in `folder` (a file with the same id overrides). */
export async function loadProfiles(folder: string | null): Promise<Profile[]> {
  const byId = new Map(builtinProfiles().map((p) => [p.id, p]));
  if (folder) {
    let entries: Deno.DirEntry[] = [];
    try {
      entries = await Array.fromAsync(Deno.readDir(folder));
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
    }
    for (const e of entries.sort((a, b) => a.name.localeCompare(b.name))) {
      if (!e.isFile || !e.name.endsWith(".json")) continue;
      const p = await loadProfileFile(join(folder, e.name));
      byId.set(p.id, p);
    }
  }
  return [...byId.values()];
}

/** Finds the profile for a config `printer.brand` (matches id or any brand, any case). */
export function findProfile(profiles: Profile[], brand: string): Profile {
  const b = brand.trim().toUpperCase();
  const p = profiles.find((p) =>
    p.id.toUpperCase() === b || p.brands.some((x) => x.toUpperCase() === b)
  );
  if (!p) {
    const known = profiles.flatMap((p) => [p.id, ...p.brands]).join(", ");
    throw new ProfileError(`Unknown printer brand "${brand}": known brands are ${known}`);
  }
  return p;
}

/** Columns of text per line for a paper width given in columns (32/42/48) or mm (58/80). */
export function columnsFor(profile: Profile, paperWidth: number): number {
  if (paperWidth === 58) return profile.columns["58"];
  if (paperWidth === 80) return profile.columns["80"];
  return paperWidth;
}
