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
import { barcodePlan, DOTS_PER_COLUMN, encodeBlocks } from "./escpos.ts";
import type { PaperOptions } from "./paper.ts";
import { type Block, layout, previewText } from "./layout.ts";
import { columnsFor, findProfile, loadProfiles, type Profile } from "./profile.ts";
import { parseReceiptData } from "./receipt_data.ts";
import { TemplateEngine } from "./template.ts";
import { align, fitText, wrap } from "./text.ts";
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
  /** What could not be printed as asked (a barcode too wide for the paper…): logged as warnings. */
  notes: string[];
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
    return new Renderer(profile, engine, o, logo);
  }

  /**
   * Renders one job. Throws {@link AgentError} (permanent codes) when it cannot. With
   * `backupFrom`, the job is printed here for another station whose printer failed: a
   * `BACKUP FROM <station>` banner goes on top, so the kitchen knows where it belongs.
   */
  async render(
    job: Job,
    o: { backupFrom?: string; drawer?: { open: boolean; why: string } } = {},
  ): Promise<Rendered> {
    // on a backup printer the ticket still names the station it belongs to
    const r = await this.#render(job, o.backupFrom, o.drawer);
    if (!o.backupFrom) return r;
    const from = fitText(o.backupFrom, this.profile.charset);
    const banner = this.#backupBanner(from.text);
    if (!r.blocks) {
      // a raw job: the banner's own bytes go before the server's
      const b = this.#finish(banner, 0, 0);
      return {
        ...r,
        bytes: concatBytes([b.bytes, r.bytes]),
        preview: `${b.preview}\n${r.preview}`,
        notes: [...b.notes, ...r.notes],
      };
    }
    return this.#finish(
      [...banner, ...r.blocks],
      r.transliterated + from.transliterated,
      r.replaced + from.replaced,
    );
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
    const label = (k: LabelKey) => fitText(this.#labels[k], this.profile.charset).text;
    const lines = wrap(`${label("backup_from")} ${from.toUpperCase()}`.trim(), this.columns)
      .map((l) => text(l, 1, false));
    const big = Math.floor(this.columns / 2);
    return [text(label("backup").slice(0, big), 2, false), ...lines, {
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
    const name = job.job_type === "reprint" && !this.#engine.has("reprint")
      ? "receipt"
      : job.job_type;
    if (!this.#engine.has(name)) {
      throw new AgentError("UNSUPPORTED_JOB_TYPE", `no template for job_type "${job.job_type}"`);
    }
    const data = parseReceiptData(job.receipt_data ?? {});
    if (!data.ok) throw new AgentError("BAD_PAYLOAD", data.reason);
    const marked = await this.#engine.render(name, this.#context(job, data.data, station));
    const l = layout(
      marked,
      this.#engine.nonce,
      this.columns,
      this.profile.charset,
      this.#o.maxLines,
    );
    let blocks = l.blocks;
    let { transliterated, replaced } = l;
    if (job.job_type === "reprint") {
      // the bill number is what a cashier knows (not the server's job id); server text like any
      // other: cleaned, fitted and counted
      const bill = data.data.bill_number;
      const ref = bill === ""
        ? null
        : fitText(`${this.#labels.reprint_of} ${bill}`.trim().slice(0, 60), this.profile.charset);
      transliterated += ref?.transliterated ?? 0;
      replaced += ref?.replaced ?? 0;
      blocks = this.#withBanner(blocks, ref?.text ?? null);
    }
    return this.#finish(blocks, transliterated, replaced);
  }

  #finish(
    blocks: Block[],
    transliterated: number,
    replaced: number,
  ): Rendered & { blocks: Block[] } {
    const encoded = encodeBlocks(blocks, this.profile, this.columns, this.#logo);
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
      notes: encoded.notes,
      blocks,
    };
  }

  /** A reprint is marked above and below by the agent itself, whatever the template does. */
  #withBanner(blocks: Block[], ref: string | null): Block[] {
    const half = Math.floor(this.columns / 2);
    const center = (s: string, cols: number) => {
      const pad = Math.max(0, cols - s.length);
      return " ".repeat(pad >> 1) + s + " ".repeat(pad - (pad >> 1));
    };
    const label = (k: LabelKey) => fitText(this.#labels[k], this.profile.charset).text;
    const words = label("reprint").length <= half ? label("reprint") : label("copy");
    const banner: Block = {
      kind: "text",
      text: center(words.slice(0, half), half),
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
        ruler: "1234567890".repeat(Math.ceil(this.columns / 10)).slice(0, this.columns),
        qr_text: `print-agent ${this.#o.agent.version} ${this.#o.agent.terminal_id}`,
      },
    };
  }
}
