/**
 * Job → paper: picks the template for the job type, renders it with the store's locale, lays it
 * out for the printer profile and encodes ESC/POS. Either the whole job renders or it fails with
 * a clear reason — nothing is ever half-printed.
 * @module
 */
import { AgentError } from "../errors.ts";
import { checkRaw } from "./raw_policy.ts";
import { DEFAULT_LIMITS } from "../config.ts";
import { decodeRawBase64, type Job } from "../core/job.ts";
import {
  barcodePlan,
  DOTS_PER_COLUMN,
  type DrawText,
  encodeBlocks,
  needsDrawing,
} from "./escpos.ts";
import { type FontSet, sharedFonts } from "./fonts.ts";
import { drawLine } from "./raster_text.ts";
import { DOTS_PER_MM, paperLengthMm, type PaperOptions } from "./paper.ts";
import { type Block, layout, previewText } from "./layout.ts";
import { columnsFor, findProfile, loadProfiles, type Profile } from "./profile.ts";
import { parseReceiptData } from "./receipt_data.ts";
import { TemplateEngine } from "./template.ts";
import {
  align,
  type Drawable,
  type Fitted,
  fitText as fitTo,
  headColumns,
  width,
  wrap,
} from "./text.ts";
import { concatBytes } from "../bytes.ts";
import { type LabelKey, labelsFor } from "./labels.ts";
import { dotsFor, loadLogo, type Logo } from "./logo.ts";

/** A rendered job. */
export interface Rendered {
  /** The bytes the printer gets. */
  bytes: Uint8Array;
  /** Plain text, column-exact (big text shown letter-spaced). */
  preview: string;
  /** Characters written as near letters (é → e) to fit the code pages. */
  transliterated: number;
  /** Characters printed as "?" (no code page has them). */
  replaced: number;
  /** Text lines drawn as dots: characters no code page holds, a font does (Thai, Chinese…). */
  drawnLines?: number;
  /** What could not be printed as asked (a barcode too wide for the paper…): logged as warnings. */
  notes: string[];
  /** The template it was rendered with (absent for raw jobs and drawer kicks). */
  template?: TemplateUsed;
  /** The paper it takes, in millimetres at 203 dpi (counted as it is encoded; raw: read back). */
  paperMm: number;
}

/** Which template printed a job, and for which experiment arm (docs/protocol.md). */
export interface TemplateUsed {
  /** The template's name (`receipt`, or a variant's `receipt.<variant>`). */
  name: string;
  /** A short hash of its source. */
  hash: string;
  /** The experiment's id, when the job named one. */
  experiment: string | null;
  /** The variant asked for (the job's, or for a reprint the original's), or null. */
  variant: string | null;
  /** A variant was asked for and no template of it exists (or it was refused): the base printed. */
  fallback: boolean;
}

/** Job types whose template a receipt experiment may vary (a kitchen ticket never is). */
const VARIED_TYPES = new Set(["receipt", "reprint"]);

/** What an experiment variant's name may be: it names a file beside the templates. */
const VARIANT_NAME = /^[A-Za-z0-9_-]{1,32}$/;

/** The experiment a job names, read leniently: a malformed one is said, never fatal. */
export function experimentOf(job: Pick<Job, "experiment">): {
  id: string | null;
  variant: string | null;
  problem: string | null;
} {
  const e = job.experiment as { id?: unknown; variant?: unknown } | null | undefined;
  if (e == null) return { id: null, variant: null, problem: null };
  const id = typeof e.id === "string" || typeof e.id === "number"
    ? String(e.id).slice(0, 64)
    : null;
  const v = typeof e.variant === "string" || typeof e.variant === "number" ? String(e.variant) : "";
  if (!VARIANT_NAME.test(v)) {
    return { id, variant: null, problem: `experiment.variant must be 1-32 letters, digits, - _` };
  }
  return { id, variant: v, problem: null };
}

/** What the renderer needs to know. */
export interface RendererOptions {
  /** The printer brand (a profile id). */
  brand: string;
  /** Columns of the paper (32, 42 or 48). */
  paperWidth: number;
  /** Folder of extra profile files (null: built-in only). */
  profilesPath: string | null;
  /** Folder of the store's templates (null: built-in). */
  templatesPath: string | null;
  /** BCP 47 locale for numbers and dates. */
  locale: string;
  /** ISO 4217 currency code. */
  currency: string;
  /** IANA time zone for dates on paper (null: this PC's). */
  timeZone: string | null;
  /** Label language (`render.language`; null: from the locale) and the store's own labels. */
  language?: string | null;
  /** Words on paper the store overrides. */
  labels?: Partial<Record<LabelKey, string>>;
  /** Bytes one job may send to the printer (config `limits.rendered_bytes`); default 1 MiB. */
  maxBytes?: number;
  /** Printed lines one job may have (default 20,000: metres of paper). */
  maxLines?: number;
  /** The clock for `now` in templates (tests pin it). */
  now?: () => number;
  /** Lasting commands a raw job may send (config `jobs.raw_allow`; default none). */
  rawAllow?: readonly string[];
  /** Font files beside the built-in ones for drawing scripts no code page has (`render.fonts`). */
  fonts?: readonly string[];
  /** Shown on test pages and available to templates as `agent`. */
  agent: {
    version: string;
    terminal_id: string;
    printer_role: string;
    location_id: unknown;
    /** The station's name (a kitchen ticket prints it); "" for the seed's single printer. */
    station?: string;
  };
}

/** Renders jobs for one printer. */
export class Renderer {
  /** The printer profile in use. */
  readonly profile: Profile;
  /** Characters per line. */
  readonly columns: number;
  #engine: TemplateEngine;
  #o: RendererOptions;
  #logo: Logo | null;
  /** The words around the store's data (templates, and the agent's own banners). */
  #labels: Record<LabelKey, string>;

  private constructor(
    profile: Profile,
    engine: TemplateEngine,
    o: RendererOptions,
    logo: Logo | null,
  ) {
    this.profile = profile;
    this.columns = columnsFor(profile, o.paperWidth);
    this.#engine = engine;
    this.#o = o;
    this.#logo = logo;
    this.#labels = labelsFor(o.language ?? null, o.locale, o.labels);
    // scripts no code page has are drawn where the printer takes raster images; fonts are read
    // only when a character needs one
    this.#fonts = profile.capabilities.raster_image.value ? sharedFonts(o.fonts ?? []) : null;
    const fonts = this.#fonts;
    this.#drawable = fonts ? (cp) => fonts.fontFor(cp) !== null : undefined;
  }

  #fonts: FontSet | null;
  #drawable: Drawable | undefined;

  /** Fonts this printer's lines are drawn with (null: the profile has no raster images). */
  get fonts(): FontSet | null {
    return this.#fonts;
  }

  /** Server or store text fitted to this printer: code pages, else drawn, else `?`. */
  #fit(s: string): Fitted {
    return fitTo(s, this.profile.charset, this.#drawable);
  }

  /**
   * What draws lines no code page holds (null: none does). Synchronous all through (fonts are
   * read on first need): a job's render takes no turn of the event loop more for them.
   */
  #drawer(blocks: Block[]): DrawText | null {
    const fonts = this.#fonts;
    if (
      !fonts ||
      !blocks.some((b) => b.kind === "text" && needsDrawing(b.text, this.profile))
    ) return null;
    const dots = this.columns * DOTS_PER_COLUMN;
    return (text, style) => drawLine(text, style, dots, fonts);
  }

  /** How to read this printer's bytes back into a picture (its `ESC t` table, its dots). */
  get paper(): PaperOptions {
    return { escT: this.profile.escT, width: this.columns * DOTS_PER_COLUMN };
  }

  /** Loads profiles and templates; throws a clear error if either is broken. */
  static async create(o: RendererOptions): Promise<Renderer> {
    const profiles = await loadProfiles(o.profilesPath);
    const profile = findProfile(profiles, o.brand);
    const engine = await TemplateEngine.create({
      folder: o.templatesPath,
      locale: o.locale,
      currency: o.currency,
      timeZone: o.timeZone,
      now: o.now,
    });
    const logo = profile.capabilities.raster_image.value
      ? await loadLogo(o.templatesPath, dotsFor(columnsFor(profile, o.paperWidth)))
      : null;
    const r = new Renderer(profile, engine, o, logo);
    for (const name of engine.names) {
      if (!name.includes(".")) continue;
      try {
        await r.#checkVariant(name);
      } catch (e) {
        // a bad arm is never printed (its jobs get the base), but the agent still prints
        if (!(e instanceof AgentError) || e.code !== "TEMPLATE_ERROR") throw e;
        r.#refused.set(name, e.message);
      }
    }
    return r;
  }

  #refused = new Map<string, string>();

  /** Variant templates refused at load (never printed), with why: the agent logs them at start. */
  get refusedVariants(): ReadonlyMap<string, string> {
    return this.#refused;
  }

  /**
   * A receipt experiment's variant may change anything but what the receipt is worth: each fiscal
   * field (totals, taxes, payments, the bill number), changed alone in a probe receipt, must change
   * the same lines, with the same text, in the variant as in its base. Kitchen tickets are never
   * varied. Checked at load, so a store learns at start, not from a customer.
   */
  async #checkVariant(name: string): Promise<void> {
    const [base, variant] = [name.slice(0, name.indexOf(".")), name.slice(name.indexOf(".") + 1)];
    const fail = (why: string) => {
      throw new AgentError("TEMPLATE_ERROR", `template ${this.#engine.origin[name]}: ${why}`);
    };
    if (!VARIED_TYPES.has(base)) {
      fail(
        `only receipts are varied by experiments (receipt.<variant>.liquid); a ${base} ` +
          `template has no variants`,
      );
    }
    if (!VARIANT_NAME.test(variant)) fail(`a variant's name is 1-32 letters, digits, - _`);
    const probe = {
      bill_number: "PROBE-0001",
      items: [{ name: "Probe", qty: 1, price: 111111 }],
      subtotal: 111111,
      discounts: [{ label: "Disc", amount: 2222 }],
      service_charge: 3333,
      taxes: [{ label: "Tax", amount: 4444 }],
      total: 116666,
      payments: [{ method: "Cash", amount: 100000 }, { method: "Card", amount: 20000 }],
      change: 3334,
    };
    const fiscal: [string, (d: typeof probe) => void][] = [
      ["bill_number", (d) => d.bill_number = "PROBE-0002"],
      ["subtotal", (d) => d.subtotal = 111112],
      ["discounts", (d) => d.discounts[0].amount = 2223],
      ["service_charge", (d) => d.service_charge = 3334],
      ["taxes", (d) => d.taxes[0].amount = 4445],
      ["total", (d) => d.total = 116667],
      ["payments", (d) => d.payments[1].amount = 20001],
      ["change", (d) => d.change = 3335],
    ];
    const lines = async (tpl: string, data: typeof probe) => {
      const job = {
        id: 0,
        uuid: "variant-check",
        job_type: base,
        priority: 0,
        receipt_data: data,
        experiment: tpl === name ? { id: "check", variant } : undefined,
      } as Job;
      return (await this.#render(job, undefined, undefined, tpl === name ? variant : null))
        .preview.split("\n").map((l) => l.trim());
    };
    const changed = async (tpl: string, change: (d: typeof probe) => void) => {
      const d = structuredClone(probe);
      change(d);
      const [a, b] = [await lines(tpl, probe), await lines(tpl, d)];
      return b.filter((l, i) => l !== a[i] || !a.includes(l));
    };
    for (const [field, change] of fiscal) {
      const want = await changed(base, change), got = await changed(name, change);
      if (JSON.stringify(want) !== JSON.stringify(got)) {
        fail(
          `it prints receipt_data.${field} otherwise than ${base}.liquid does ` +
            `(${JSON.stringify(got)} where ${base} prints ${JSON.stringify(want)}): totals, ` +
            `taxes, payments and the bill number are never varied`,
        );
      }
    }
  }

  /**
   * Renders one job. Throws {@link AgentError} (permanent codes) when it cannot. With
   * `backupFrom`, the job is printed here for another station whose printer failed: a
   * `BACKUP FROM <station>` banner goes on top, so the kitchen knows where it belongs.
   */
  async render(
    job: Job,
    o: {
      backupFrom?: string;
      drawer?: { open: boolean; why: string };
      /** A reprint's variant: the one its original printed with (from the journal). */
      variant?: string | null;
    } = {},
  ): Promise<Rendered> {
    // on a backup printer the ticket still names the station it belongs to
    const r = await this.#render(job, o.backupFrom, o.drawer, o.variant);
    if (!o.backupFrom) return r;
    const from = this.#fit(o.backupFrom);
    const banner = this.#backupBanner(from.text);
    if (!r.blocks) {
      // a raw job: the banner's own bytes go before the server's
      const b = this.#finish(banner, 0, 0, this.#drawer(banner));
      return {
        ...r,
        bytes: concatBytes([b.bytes, r.bytes]),
        preview: `${b.preview}\n${r.preview}`,
        notes: [...b.notes, ...r.notes],
        paperMm: b.paperMm + r.paperMm,
      };
    }
    const all = [...banner, ...r.blocks];
    return {
      ...this.#finish(
        all,
        r.transliterated + from.transliterated,
        r.replaced + from.replaced,
        this.#drawer(all),
      ),
      template: r.template,
    };
  }

  /** Blocks printed on top of a job that a backup printer prints for another station. */
  #backupBanner(from: string): Block[] {
    const text = (t: string, size: 1 | 2, invert: boolean): Block => ({ // no inverse: clones lack it
      kind: "text",
      text: align(t, Math.floor(this.columns / size), "center"),
      bold: true,
      underline: false,
      invert,
      size,
    });
    const label = (k: LabelKey) => this.#fit(this.#labels[k]).text;
    const lines = wrap(`${label("backup_from")} ${from.toUpperCase()}`.trim(), this.columns)
      .map((l) => text(l, 1, false));
    const big = Math.floor(this.columns / 2);
    return [text(headColumns(label("backup"), big), 2, false), ...lines, {
      kind: "text",
      text: "-".repeat(this.columns),
      bold: false,
      underline: false,
      invert: false,
      size: 1,
    }];
  }

  async #render(
    job: Job,
    station?: string,
    drawer?: { open: boolean; why: string },
    reprintVariant?: string | null,
  ): Promise<Rendered & { blocks: Block[] | null }> {
    if (job.job_type === "raw") {
      if (!job.raw_base64) throw new AgentError("BAD_PAYLOAD", "raw job without raw_base64");
      // read before it prints: nothing lasting without jobs.raw_allow, kicks by the drawer rules
      const checked = checkRaw(decodeRawBase64(job.raw_base64), this.paper, {
        allow: this.#o.rawAllow ?? [],
        drawer: drawer?.open ?? true,
        why: drawer?.why,
      });
      const bytes = checked.bytes;
      return {
        bytes,
        preview:
          `[raw ESC/POS job from the server: ${bytes.length} bytes; the picture (.svg) shows them read back]`,
        transliterated: 0,
        replaced: 0,
        notes: checked.notes,
        blocks: null,
        paperMm: paperLengthMm(bytes, this.paper),
      };
    }
    if (job.job_type === "drawer") {
      if (!this.profile.drawer) {
        throw new AgentError("RENDER_ERROR", `profile ${this.profile.id} has no cash drawer`);
      }
      return this.#finish([{ kind: "pulse" }], 0, 0);
    }
    if (job.raw_base64 && !job.receipt_data) {
      throw new AgentError(
        "BAD_PAYLOAD",
        `a ${job.job_type} job needs receipt_data, got raw_base64`,
      );
    }
    const base = job.job_type === "reprint" && !this.#engine.has("reprint")
      ? "receipt"
      : job.job_type;
    if (!this.#engine.has(base)) {
      throw new AgentError("UNSUPPORTED_JOB_TYPE", `no template for job_type "${job.job_type}"`);
    }
    // an experiment's arm: receipt.<variant>.liquid (a reprint: its original's arm, always)
    const exp = experimentOf(job);
    const variant = VARIED_TYPES.has(job.job_type)
      ? (job.job_type === "reprint" && reprintVariant !== undefined ? reprintVariant : exp.variant)
      : null;
    const varied = variant === null
      ? null
      : [`${base}.${variant}`, `receipt.${variant}`].find((n) =>
        this.#engine.has(n) && !this.#refused.has(n)
      ) ?? null;
    const name = varied ?? base;
    const template: TemplateUsed = {
      name,
      hash: this.#engine.hash(name),
      experiment: exp.id,
      variant,
      fallback: (variant !== null && varied === null) || exp.problem !== null,
    };
    const data = parseReceiptData(job.receipt_data ?? {});
    if (!data.ok) throw new AgentError("BAD_PAYLOAD", data.reason);
    const marked = await this.#engine.render(name, this.#context(job, data.data, station));
    const l = layout(
      marked,
      this.#engine.nonce,
      this.columns,
      this.profile.charset,
      this.#o.maxLines,
      this.#drawable,
    );
    let blocks = l.blocks;
    let { transliterated, replaced } = l;
    if (job.job_type === "reprint") {
      // the bill number is what a cashier knows (not the server's job id); server text like any
      // other: cleaned, fitted and counted
      const bill = data.data.bill_number;
      const ref = bill === ""
        ? null
        : this.#fit(`${this.#labels.reprint_of} ${bill}`.trim().slice(0, 60));
      transliterated += ref?.transliterated ?? 0;
      replaced += ref?.replaced ?? 0;
      blocks = this.#withBanner(blocks, ref?.text ?? null);
    }
    return {
      ...this.#finish(blocks, transliterated, replaced, this.#drawer(blocks)),
      template,
    };
  }

  #finish(
    blocks: Block[],
    transliterated: number,
    replaced: number,
    draw: DrawText | null = null,
  ): Rendered & { blocks: Block[] } {
    const encoded = encodeBlocks(blocks, this.profile, this.columns, this.#logo, draw);
    const max = this.#o.maxBytes ?? DEFAULT_LIMITS.rendered_bytes;
    if (encoded.bytes.length > max) {
      throw new AgentError(
        "JOB_TOO_LARGE",
        `the receipt renders to ${encoded.bytes.length} bytes; at most ${max} ` +
          `(limits.rendered_bytes)`,
      );
    }
    return {
      bytes: encoded.bytes,
      preview: previewText(
        this.#logo ? blocks : blocks.filter((b) => b.kind !== "logo"),
        this.columns,
        (v) => barcodePlan(v, this.profile, this.columns).as === "text",
      ),
      transliterated,
      replaced: replaced + encoded.replaced,
      ...(encoded.drawn ? { drawnLines: encoded.drawn } : {}),
      notes: encoded.notes,
      blocks,
      paperMm: Math.round(encoded.paperDots / DOTS_PER_MM),
    };
  }

  /** A reprint is marked above and below by the agent itself, whatever the template does. */
  #withBanner(blocks: Block[], ref: string | null): Block[] {
    const half = Math.floor(this.columns / 2);
    const center = (s: string, cols: number) => {
      const pad = Math.max(0, cols - width(s));
      return " ".repeat(pad >> 1) + s + " ".repeat(pad - (pad >> 1));
    };
    const label = (k: LabelKey) => this.#fit(this.#labels[k]).text;
    const words = width(label("reprint")) <= half ? label("reprint") : label("copy");
    const banner: Block = {
      kind: "text",
      text: center(headColumns(words, half), half),
      bold: true,
      underline: false,
      invert: true,
      size: 2,
    };
    const refLine: Block[] = ref == null ? [] : wrap(ref, this.columns).map((l) => ({
      kind: "text",
      text: center(l, this.columns),
      bold: false,
      underline: false,
      invert: false,
      size: 1,
    }));
    const cutAt = blocks.findLastIndex((b) => b.kind === "cut");
    // a copy never opens the cash drawer
    const body = (cutAt >= 0 ? blocks.slice(0, cutAt) : blocks).filter((b) => b.kind !== "pulse");
    const tail = (cutAt >= 0 ? blocks.slice(cutAt) : []).filter((b) => b.kind !== "pulse");
    return [banner, ...refLine, ...body, banner, ...tail];
  }

  #context(job: Job, receipt: unknown, station?: string): Record<string, unknown> {
    const p = this.profile;
    const sample = "àáâäçèéêëìíîïñòóôöùúûü ÀÉÑÖÜ ß €";
    return {
      receipt,
      label: this.#labels,
      job: {
        id: job.id,
        uuid: job.uuid,
        type: job.job_type,
        reprint_of: job.reprint_of ?? null,
        created_at: job.created_at ?? new Date((this.#o.now ?? Date.now)()).toISOString(),
        is_reprint: job.job_type === "reprint",
      },
      agent: { station: "", ...this.#o.agent, ...(station ? { station } : {}) },
      printer: {
        profile: `${p.id} (${p.name})`,
        paper_width: this.#o.paperWidth,
        columns: this.columns,
        codepages: p.codepages.join(", "),
        // what the profile declares, so a technician can check it on the unit itself
        qr_mode: p.capabilities.qr_native.value
          ? "native (GS ( k)"
          : p.capabilities.raster_image.value
          ? "raster image (GS v 0)"
          : "text only",
        inverse: p.capabilities.inverse.value ? "white on black (GS B)" : "bold (no GS B)",
        sample_text: sample,
        // drawn where the profile takes raster images (the fonts the agent carries): the test
        // page shows on the unit itself that a script beyond its code pages prints
        script_sample: this.#fonts ? "ภาษาไทย ខ្មែរ العربية Tiếng Việt" : "",
        ruler: "1234567890".repeat(Math.ceil(this.columns / 10)).slice(0, this.columns),
        qr_text: `print-agent ${this.#o.agent.version} ${this.#o.agent.terminal_id}`,
      },
    };
  }
}
