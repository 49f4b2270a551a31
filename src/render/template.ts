/**
 * Store-editable templates (LiquidJS, Jinja-like, sandboxed). Every `{{ output }}` passes
 * through {@link toSafeText}, so data can never carry a control byte. Layout commands (align,
 * size, columns, QR, cut, drawer) are tags that emit markers carrying a per-engine secret, so no
 * text — not even through the `raw` filter — can forge one.
 * @module
 */
import { createHash } from "node:crypto";
// LiquidJS's browser build: the same engine without its Node file loader, whose node:fs,
// node:stream and node:crypto imports cost ~15 MB of resident memory at start (templates here are
// always given as text; docs/benchmarks.md)
// @ts-types="liquidjs"
import { type Context, Liquid, type TagToken } from "liquidjs/dist/liquid.browser.mjs";
import { join } from "node:path";
import { AgentError } from "../errors.ts";
import { toSafeText } from "./text.ts";
import receiptT from "../../templates/receipt.liquid" with { type: "text" };
import reprintT from "../../templates/reprint.liquid" with { type: "text" };
import kitchenT from "../../templates/kitchen.liquid" with { type: "text" };
import testT from "../../templates/test.liquid" with { type: "text" };

/** The built-in templates, embedded in the binary. */
export const BUILTIN_TEMPLATES: Record<string, string> = {
  receipt: receiptT,
  reprint: reprintT,
  kitchen: kitchenT,
  test: testT,
};

/** A layout command emitted by a tag. */
export type Op =
  | { op: "align"; v: "left" | "center" | "right" }
  | { op: "bold" | "underline" | "invert"; v: boolean }
  | { op: "size"; v: 1 | 2 }
  | { op: "col" }
  | { op: "rule"; v: string }
  | { op: "qr"; v: string }
  | { op: "barcode"; v: string }
  | { op: "feed"; v: number }
  | { op: "cut" }
  | { op: "pulse" }
  | { op: "logo" };

/** Options of {@link TemplateEngine}. */
export interface TemplateOptions {
  /** Folder with store templates (`receipt.liquid`, ...); missing files fall back to built-ins. */
  folder: string | null;
  /** BCP 47 locale for numbers and dates. */
  locale: string;
  /** ISO 4217 currency code. */
  currency: string;
  /** IANA time zone for dates on paper (null: this PC's). */
  timeZone: string | null;
  /** The time `"now" | datetime` prints (tests pin it). */
  now?: () => number;
}

const ON = new Set(["on", "true", "yes", "1"]);

/** Renders templates to marked text: plain lines plus {@link Op} markers. */
export class TemplateEngine {
  /** Secret that marks genuine op markers in the output. */
  readonly nonce: string = crypto.randomUUID().replaceAll("-", "");
  #liquid: Liquid;
  #sources: Record<string, string>;
  /** Where each template came from, for error messages. */
  readonly origin: Record<string, string>;

  private constructor(
    sources: Record<string, string>,
    origin: Record<string, string>,
    o: TemplateOptions,
  ) {
    this.#sources = sources;
    this.origin = origin;
    const money = new Intl.NumberFormat(o.locale, {
      style: "currency",
      currency: o.currency,
      maximumFractionDigits: o.currency === "IDR" ? 0 : undefined,
    });
    const num = new Intl.NumberFormat(o.locale);
    const now = o.now ?? Date.now;
    const dt = new Intl.DateTimeFormat(o.locale, {
      dateStyle: "medium",
      timeStyle: "short",
      timeZone: o.timeZone ?? undefined,
    });
    const liquid = new Liquid({
      templates: Object.fromEntries(Object.entries(sources).map(([k, v]) => [`${k}.liquid`, v])),
      strictVariables: true,
      strictFilters: true,
      ownPropertyOnly: true,
      outputEscape: toSafeText,
      renderLimit: 5_000,
      parseLimit: 1_000_000,
      memoryLimit: 50_000_000,
      extname: ".liquid",
    });
    liquid.registerFilter("money", (v: unknown) => typeof v === "number" ? money.format(v) : "");
    liquid.registerFilter("number", (v: unknown) => typeof v === "number" ? num.format(v) : "");
    const tm = new Intl.DateTimeFormat(o.locale, {
      timeStyle: "short",
      timeZone: o.timeZone ?? undefined,
    });
    liquid.registerFilter("time", (v: unknown) => {
      const d = v === "now" || v === undefined || v === "" ? new Date(now()) : new Date(String(v));
      return isNaN(d.getTime()) ? toSafeText(v) : tm.format(d);
    });
    liquid.registerFilter("datetime", (v: unknown) => {
      const d = v === "now" || v === undefined || v === "" ? new Date(now()) : new Date(String(v));
      return isNaN(d.getTime()) ? toSafeText(v) : dt.format(d);
    });
    const marker = (op: Op) => `\x1e${this.nonce}${JSON.stringify(op)}\x1f`;
    const staticTag = (name: string, make: (arg: string) => Op) => {
      liquid.registerTag(name, {
        parse(tok: TagToken) {
          this.arg = tok.args.trim();
        },
        render() {
          return marker(make(this.arg));
        },
      });
    };
    staticTag("align", (a) => ({ op: "align", v: a === "center" || a === "right" ? a : "left" }));
    for (const n of ["bold", "underline", "invert"] as const) {
      staticTag(n, (a) => ({ op: n, v: a === "" || ON.has(a) }));
    }
    staticTag("size", (a) => ({ op: "size", v: a === "2" || a === "big" ? 2 : 1 }));
    staticTag("col", () => ({ op: "col" }));
    staticTag("rule", (a) => ({ op: "rule", v: (a.replace(/["']/g, "") || "-").slice(0, 1) }));
    staticTag("feed", (a) => ({ op: "feed", v: Math.min(10, Math.max(1, Number(a) || 1)) }));
    staticTag("cut", () => ({ op: "cut" }));
    staticTag("pulse", () => ({ op: "pulse" }));
    staticTag("logo", () => ({ op: "logo" }));
    for (const n of ["qr", "barcode"] as const) {
      liquid.registerTag(n, {
        parse(tok: TagToken) {
          this.arg = tok.args;
        },
        render(ctx: Context): string {
          // templates render synchronously (render() below)
          const v = this.liquid.evalValueSync(this.arg, ctx);
          return marker({ op: n, v: toSafeText(v) });
        },
      });
    }
    this.#liquid = liquid;
  }

  /** Built-in templates overridden by any `<name>.liquid` in the folder. */
  static async create(o: TemplateOptions): Promise<TemplateEngine> {
    const sources = { ...BUILTIN_TEMPLATES };
    const origin: Record<string, string> = {};
    for (const k of Object.keys(sources)) origin[k] = `(built-in) templates/${k}.liquid`;
    if (o.folder) {
      let entries: Deno.DirEntry[] = [];
      try {
        entries = await Array.fromAsync(Deno.readDir(o.folder));
      } catch (e) {
        if (!(e instanceof Deno.errors.NotFound)) throw e;
      }
      for (const e of entries) {
        if (!e.isFile || !e.name.endsWith(".liquid")) continue;
        const name = e.name.slice(0, -".liquid".length);
        const path = join(o.folder, e.name);
        sources[name] = await Deno.readTextFile(path);
        origin[name] = path;
      }
    }
    const engine = new TemplateEngine(sources, origin, o);
    for (const name of Object.keys(sources)) engine.#parse(name); // fail at start, not mid-shift
    return engine;
  }

  #parsed = new Map<string, ReturnType<Liquid["parse"]>>();

  #parse(name: string) {
    const cached = this.#parsed.get(name);
    if (cached) return cached;
    try {
      const t = this.#liquid.parse(this.#sources[name], name);
      this.#parsed.set(name, t);
      return t;
    } catch (e) {
      throw new AgentError(
        "TEMPLATE_ERROR",
        `template ${this.origin[name]}: ${(e as Error).message}`,
        {
          cause: e,
        },
      );
    }
  }

  /** Whether a template of this name exists. */
  has(name: string): boolean {
    return name in this.#sources;
  }

  /** Every template's name (variants are `<name>.<variant>`). */
  get names(): string[] {
    return Object.keys(this.#sources);
  }

  #hashes = new Map<string, string>();

  /** A short hash of a template's source: which text a receipt was printed with. */
  hash(name: string): string {
    let h = this.#hashes.get(name);
    if (!h) {
      h = createHash("sha256").update(this.#sources[name] ?? "").digest("hex").slice(0, 16);
      this.#hashes.set(name, h);
    }
    return h;
  }

  /**
   * Renders a template to marked text. Errors name the template file and line. Synchronous inside
   * (nothing a template does waits for I/O): a receipt is a few hundred microtasks fewer, and the
   * store simulator's steps stay short.
   */
  // deno-lint-ignore require-await
  async render(name: string, context: Record<string, unknown>): Promise<string> {
    const tpl = this.#parse(name);
    try {
      return this.#liquid.renderSync(tpl, context);
    } catch (e) {
      throw new AgentError(
        "TEMPLATE_ERROR",
        `template ${this.origin[name]}: ${(e as Error).message}`,
        { cause: e },
      );
    }
  }
}
