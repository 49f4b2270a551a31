/**
 * `file` printers (a device such as `/dev/usb/lp0`, `\\.\COM3`, `LPT1`, or a plain file) and the
 * `virtual` printer (each job's bytes and a readable preview as files in a folder).
 * @module
 */
import { join } from "node:path";
import { AgentError } from "../errors.ts";
import { paperSvg, previewSvg } from "../render/preview_svg.ts";
import { readPaper } from "../render/paper.ts";
import { type PrintDocument, type Printer, type PrinterStatusReport, writeAll } from "./printer.ts";

function openError(path: string, e: unknown): AgentError {
  if (e instanceof Deno.errors.NotFound) {
    return new AgentError("PRINTER_NOT_FOUND", `no device or folder at ${path}`, { cause: e });
  }
  if (e instanceof Deno.errors.PermissionDenied) {
    return new AgentError("PRINTER_ACCESS_DENIED", `no permission to write ${path}`, { cause: e });
  }
  return new AgentError("PRINTER_OFFLINE", `cannot write ${path}: ${e}`, { cause: e });
}

/** A device or file: opened, written, closed per job. */
export class FilePrinter implements Printer {
  readonly description: string;
  #path: string;
  /** Creates a FilePrinter. */
  constructor(path: string) {
    this.#path = path;
    this.description = `file ${path}`;
  }
  async print(data: Uint8Array, _doc: PrintDocument): Promise<void> {
    let f: Deno.FsFile;
    try {
      f = await Deno.open(this.#path, { write: true, append: true, create: true });
    } catch (e) {
      throw openError(this.#path, e);
    }
    try {
      await writeAll(f, data);
      await f.syncData().catch(() => {}); // devices may not support fsync
    } catch (e) {
      throw new AgentError("PRINTER_OFFLINE", `write to ${this.#path} failed: ${e}`, { cause: e });
    } finally {
      f.close();
    }
  }
  async status(): Promise<PrinterStatusReport> {
    try {
      const f = await Deno.open(this.#path, { write: true, append: true, create: true });
      f.close();
      return { status: "OK", detail: "the file can be written" };
    } catch (e) {
      const err = openError(this.#path, e);
      return { status: "OFFLINE", detail: err.message };
    }
  }
}

/**
 * The paper picture of printed bytes. The bytes are already written: a picture that cannot be
 * drawn must not turn a printed job into a failed one (a retry would print it again), so it
 * falls back to the text preview.
 */
function picture(data: Uint8Array, doc: PrintDocument): string {
  try {
    if (doc.paper) return paperSvg(readPaper(data, doc.paper));
  } catch { /* the text preview below */ }
  return previewSvg(doc.preview ?? "");
}

/** The demo's printer: `<folder>/<seq>-job-<id>.bin` plus the preview as `.txt` and `.svg`. */
export class VirtualPrinter implements Printer {
  readonly description: string;
  /** Where the files go. */
  readonly folder: string;
  #seq = 0;
  /** Creates a VirtualPrinter. */
  constructor(folder: string) {
    this.folder = folder;
    this.description = `virtual ${folder}`;
  }
  async print(data: Uint8Array, doc: PrintDocument): Promise<void> {
    try {
      await Deno.mkdir(this.folder, { recursive: true });
      const stamp = new Date().toISOString().replace(/[-:]/g, "").replace(/\..*/, "");
      const safeId = doc.jobId.replace(/[^A-Za-z0-9_-]/g, "_");
      const base = join(
        this.folder,
        `${stamp}-${String(++this.#seq).padStart(4, "0")}-job-${safeId}`,
      );
      await Deno.writeFile(base + ".bin", data);
      if (doc.preview !== undefined) {
        await Deno.writeTextFile(base + ".txt", `# ${doc.title}\n${doc.preview}\n`);
        await Deno.writeTextFile(base + ".svg", picture(data, doc));
      }
    } catch (e) {
      throw openError(this.folder, e);
    }
  }
  async status(): Promise<PrinterStatusReport> {
    try {
      await Deno.mkdir(this.folder, { recursive: true });
      return { status: "OK", detail: "the folder can be written" };
    } catch (e) {
      return { status: "OFFLINE", detail: openError(this.folder, e).message };
    }
  }
}
