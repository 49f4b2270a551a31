/**
 * `file` printers (a device such as `/dev/usb/lp0`, `\\.\COM3`, `LPT1`, or a plain file) and the
 * `virtual` printer (each job's bytes and a readable preview as files in a folder).
 * @module
 */
import { join } from "node:path";
import { AgentError } from "../errors.ts";
import { paperSvg, previewSvg } from "../render/preview_svg.ts";
import { readPaper } from "../render/paper.ts";
import {
  type PrintDocument,
  type Printer,
  type PrinterStatusReport,
  refuseIfDown,
  writeAll,
} from "./printer.ts";
import { type DeviceKind, deviceKind, type DeviceOpener, openDevice } from "./device.ts";
import { RealtimeStatusAsker } from "./realtime_status.ts";

/** Silent status conversations in a row after which a device is not asked again (this run). */
const SILENT_GIVE_UP = 2;

function openError(path: string, e: unknown): AgentError {
  if (e instanceof Deno.errors.NotFound) {
    return new AgentError("PRINTER_NOT_FOUND", `no device or folder at ${path}`, { cause: e });
  }
  if (e instanceof Deno.errors.PermissionDenied) {
    return new AgentError("PRINTER_ACCESS_DENIED", `no permission to write ${path}`, { cause: e });
  }
  return new AgentError("PRINTER_OFFLINE", `cannot write ${path}: ${e}`, { cause: e });
}

/** Options of {@link FilePrinter}. */
export interface FilePrinterOptions {
  /** How long a write or a status answer may take, ms. */
  timeoutMs?: number;
  /** Opens two-way devices (tests give a fake). */
  open?: DeviceOpener;
  /** What the path is (by default read from it). */
  kind?: DeviceKind;
}

/**
 * A device or file: opened, written, closed per job. A serial port or a USB printer's device
 * path is two-way: the printer is asked `DLE EOT` before the job (a printer out of paper gets
 * nothing) and between jobs for the heartbeat.
 */
export class FilePrinter implements Printer {
  readonly description: string;
  #path: string;
  #kind: DeviceKind;
  #timeoutMs: number;
  #open: DeviceOpener;
  #silent = 0;
  #asker = new RealtimeStatusAsker();
  /** One conversation with a two-way device at a time: a status question never cuts into a job. */
  #lock: Promise<unknown> = Promise.resolve();
  /** Creates a FilePrinter. */
  constructor(path: string, o: FilePrinterOptions = {}) {
    this.#path = path;
    this.#kind = o.kind ?? deviceKind(path);
    this.#timeoutMs = o.timeoutMs ?? 10_000;
    this.#open = o.open ?? openDevice;
    this.description = `file ${path}`;
  }

  get #twoWay(): boolean {
    return this.#kind === "serial" || this.#kind === "usb";
  }

  /** A two-way device that has not stopped answering. */
  get answersStatus(): boolean {
    return this.#twoWay && this.#silent < SILENT_GIVE_UP;
  }

  #alone<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#lock.then(fn, fn);
    this.#lock = run.catch(() => {});
    return run;
  }

  async print(data: Uint8Array, _doc: PrintDocument): Promise<void> {
    if (this.#twoWay) return await this.#alone(() => this.#printDevice(data));
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

  async #ask(link: import("./device.ts").DeviceLink): Promise<PrinterStatusReport> {
    if (!this.answersStatus) {
      return {
        status: "UNKNOWN",
        detail: `${this.#path} did not answer status requests; not asked again until restart`,
        source: "dle-eot",
      };
    }
    const r = await this.#asker.ask(link, {
      timeoutMs: Math.min(this.#timeoutMs, 1000),
      throwaway: true,
      oneWrite: true, // a device link has no acknowledgements to wait for
    });
    if (r.status === "UNKNOWN") this.#silent++;
    else this.#silent = 0;
    return { ...r, source: "dle-eot" };
  }

  async #printDevice(data: Uint8Array): Promise<void> {
    const link = await this.#open(this.#path, this.#timeoutMs);
    try {
      refuseIfDown(await this.#ask(link), this.#path);
      // once sent, the job is the printer's: a roll that ends during it is finished from the
      // printer's buffer when paper is loaded, so a retry would print it twice (not asked after)
      const took = await link.send(data, this.#timeoutMs);
      if (took < data.length) {
        throw new AgentError(
          "PRINTER_TIMEOUT",
          `${this.#path} took ${took} of ${data.length} bytes in ${this.#timeoutMs} ms`,
        );
      }
    } catch (e) {
      if (e instanceof AgentError) throw e;
      throw new AgentError("PRINTER_OFFLINE", `write to ${this.#path} failed: ${e}`, { cause: e });
    } finally {
      await link.close();
    }
  }

  status(): Promise<PrinterStatusReport> {
    return this.#twoWay ? this.#alone(() => this.#status()) : this.#status();
  }

  async #status(): Promise<PrinterStatusReport> {
    if (this.#kind === "lpt") {
      return {
        status: "UNKNOWN",
        detail: `${this.#path} is a parallel port: it cannot tell the printer's state`,
        source: "file",
      };
    }
    if (this.#twoWay) {
      let link;
      try {
        link = await this.#open(this.#path, this.#timeoutMs);
      } catch (e) {
        const err = e instanceof AgentError ? e : openError(this.#path, e);
        return { status: "OFFLINE", detail: err.message, code: err.code, source: "file" };
      }
      try {
        return await this.#ask(link);
      } catch (e) {
        return { status: "UNKNOWN", detail: `${this.#path}: ${(e as Error).message}` };
      } finally {
        await link.close();
      }
    }
    try {
      const f = await Deno.open(this.#path, { write: true, append: true, create: true });
      f.close();
      return { status: "OK", detail: "the file can be written", source: "file" };
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
