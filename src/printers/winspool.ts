/**
 * The `winspool` transport: the Windows spooler, RAW datatype (XPS_PASS for v4 drivers), one
 * job = OpenPrinter → StartDoc → StartPage → WritePrinter (all bytes) → EndPage → EndDoc →
 * ClosePrinter, on a Worker thread. After EndDoc the job is followed in the queue for a bounded
 * time: a job that does not leave the queue is an error (the seed's "struk tidak keluar"), not
 * COMPLETED.
 * @module
 */
import { AgentError, type ErrorCode } from "../errors.ts";
import { JOB_STATUS, PRINTER_ATTRIBUTE_WORK_OFFLINE, PRINTER_STATUS } from "../../ffi/winspool.ts";
import type { PrintDocument, Printer, PrinterStatusReport } from "./printer.ts";
import type { WorkerError } from "./winspool_worker.ts";
import { combineStatus, findForPort, isUsbPort, type UsbPrinter } from "./usbprint.ts";
import { RealtimeStatusAsker } from "./realtime_status.ts";
import { statusError } from "./printer.ts";

/** One printer as the spooler lists it. */
export interface SpoolerPrinter {
  /** The queue's name. */
  name: string;
  /** The port it prints to (USB001, IP_…). */
  port: string;
  /** The Windows driver's name. */
  driver: string;
  /** The queue's default data type (RAW for ESC/POS). */
  datatype: string;
  /** PRINTER_ATTRIBUTE_* flags. */
  attributes: number;
  /** PRINTER_STATUS_* flags. */
  status: number;
  /** Jobs in the queue. */
  jobs: number;
}

/** Maps spooler status bits and attributes to the agent's printer status. */
export function spoolerStatus(
  status: number,
  attributes: number,
  confirmed: boolean,
): PrinterStatusReport {
  const S = PRINTER_STATUS;
  if (attributes & PRINTER_ATTRIBUTE_WORK_OFFLINE) {
    return { status: "OFFLINE", detail: "set to 'Use printer offline'" };
  }
  if (status & (S.OFFLINE | S.NOT_AVAILABLE | S.SERVER_UNKNOWN)) {
    return { status: "OFFLINE", detail: "spooler: offline" };
  }
  if (status & S.PAPER_OUT) return { status: "PAPER_OUT", detail: "spooler: paper out" };
  if (status & S.DOOR_OPEN) return { status: "COVER_OPEN", detail: "spooler: door open" };
  if (status & S.PAUSED) return { status: "ERROR", detail: "the print queue is paused" };
  if (status & (S.ERROR | S.PAPER_JAM | S.USER_INTERVENTION | S.PAPER_PROBLEM | S.OUT_OF_MEMORY)) {
    return { status: "ERROR", detail: `spooler: error (status 0x${status.toString(16)})` };
  }
  // "Ready" from the spooler only means nothing is despooling; it cannot see the printer.
  return confirmed
    ? { status: "OK", detail: "spooler ready; the last job left the queue" }
    : { status: "UNKNOWN", detail: "spooler ready, but no job has confirmed the printer yet" };
}

/** Decides what a job's queue status means: done, still moving, or stuck (with why). */
export function jobVerdict(
  found: boolean,
  status: number,
): { state: "done" | "moving" | "stuck"; why?: string } {
  const J = JOB_STATUS;
  if (!found || status & (J.PRINTED | J.COMPLETE | J.DELETED)) return { state: "done" };
  const bad: [number, string][] = [
    [J.PAUSED, "paused"],
    [J.ERROR, "error"],
    [J.OFFLINE, "printer offline"],
    [J.PAPEROUT, "paper out"],
    [J.BLOCKED_DEVQ, "blocked"],
    [J.USER_INTERVENTION, "needs attention"],
  ];
  const why = bad.filter(([b]) => status & b).map(([, w]) => w);
  return why.length ? { state: "stuck", why: why.join(", ") } : { state: "moving" };
}

/** A spooler call that did not return in time, and how far it got. */
export class SpoolerTimeout extends Error {
  /** Creates a SpoolerTimeout. */
  constructor(
    readonly op: string,
    readonly steps: { step: string; detail?: unknown }[],
    ms: number,
  ) {
    super(
      `spooler call ${op} did not return in ${ms} ms (last step: ${steps.at(-1)?.step ?? "none"})`,
    );
    this.name = "SpoolerTimeout";
  }
  /** The spooler job id, if StartDocPrinter returned one before the hang. */
  get jobId(): number | null {
    const s = this.steps.find((s) => s.step === "started");
    return s ? Number(s.detail) : null;
  }
}

/**
 * Talks to the Windows Worker (winspool_worker.ts): the spooler's calls, and the device calls
 * of serial and USB printers (device.ts).
 */
export class SpoolerThread {
  #w: Worker | null = null;
  #seq = 0;
  #pending = new Map<number, {
    res: (v: unknown) => void;
    rej: (e: unknown) => void;
    steps: { step: string; detail?: unknown }[];
  }>();

  #worker(): Worker {
    if (this.#w) return this.#w;
    // beside this module: the .ts source under `deno run`, the bundle's .js in agent.exe
    const own = import.meta.url.endsWith(".ts") ? "./winspool_worker.ts" : "./winspool_worker.js";
    const w = new Worker(new URL(own, import.meta.url), { type: "module" });
    w.onmessage = (
      ev: MessageEvent<
        {
          id: number;
          ok?: boolean;
          result?: unknown;
          error?: WorkerError;
          progress?: string;
          detail?: unknown;
        }
      >,
    ) => {
      const p = this.#pending.get(ev.data.id);
      if (!p) return;
      if (ev.data.progress) {
        p.steps.push({ step: ev.data.progress, detail: ev.data.detail });
        return;
      }
      this.#pending.delete(ev.data.id);
      if (ev.data.ok) p.res(ev.data.result);
      else {
        const e = ev.data.error!;
        p.rej(new AgentError(e.code as ErrorCode, e.message, { win32: e.win32 }));
      }
    };
    w.onerror = (ev) => {
      ev.preventDefault();
      this.#fail(new AgentError("SPOOLER_UNAVAILABLE", `winspool worker failed: ${ev.message}`));
    };
    this.#w = w;
    return w;
  }

  #fail(e: Error) {
    for (const p of this.#pending.values()) p.rej(e);
    this.#pending.clear();
    this.#w?.terminate();
    this.#w = null;
  }

  /** Runs `op` on the thread; a call that hangs past `timeoutMs` rejects with {@link SpoolerTimeout}. */
  call<T>(op: string, args: unknown, timeoutMs: number): Promise<T> {
    const id = ++this.#seq;
    const w = this.#worker();
    return new Promise<T>((res, rej) => {
      const steps: { step: string; detail?: unknown }[] = [];
      const t = setTimeout(() => {
        // A Win32 call that never returns: drop the thread (the OS reclaims its handles).
        const p = this.#pending.get(id);
        this.#pending.delete(id);
        this.#fail(new AgentError("PRINTER_TIMEOUT", "spooler thread restarted after a hung call"));
        p?.rej(new SpoolerTimeout(op, steps, timeoutMs));
      }, timeoutMs);
      this.#pending.set(id, {
        steps,
        res: (v) => {
          clearTimeout(t);
          res(v as T);
        },
        rej: (e) => {
          clearTimeout(t);
          rej(e);
        },
      });
      w.postMessage({ id, op, args });
    });
  }

  /** Ends the thread. */
  close() {
    this.#w?.terminate();
    this.#w = null;
  }
}

/** Options of {@link WinspoolPrinter}. */
export interface WinspoolOptions {
  /** The queue's name. */
  name: string;
  /** Seconds to follow a job in the queue after EndDoc (0: do not follow). */
  watchSeconds: number;
  /** How long one operation may take, ms. */
  timeoutMs: number;
  /** Interval between queue checks, ms. */
  pollMs?: number;
  /**
   * Asks the printer behind the queue's port itself (default: the `usbprint` device found for a
   * `USB00x` port; null where there is none). Tests give their own.
   */
  usbProbe?: (port: string) => Promise<PrinterStatusReport | null>;
  /** The spooler's calls (default: the Windows Worker); tests give a fake, on any platform. */
  spooler?: SpoolerCalls;
}

/** What the printer needs of the Windows Worker. */
export interface SpoolerCalls {
  /** Runs `op` on the thread. */
  call<T>(op: string, args: unknown, timeoutMs: number): Promise<T>;
  /** Ends the thread. */
  close(): void;
}

/** A printer installed in Windows, printed to through the spooler. */
export class WinspoolPrinter implements Printer {
  readonly description: string;
  #o: WinspoolOptions;
  #t: SpoolerCalls;
  /** A second thread for status checks, so a heartbeat never waits behind (or kills) a print. */
  #st: SpoolerCalls;
  #confirmed = false;
  /** The USB printer behind the queue's port: undefined until looked for, null when none. */
  #usb: UsbPrinter | null | undefined = undefined;
  #usbLookedAt = 0;
  #asker = new RealtimeStatusAsker();
  /** The queue's port, from the last look at the queue. */
  #port = "";
  /** Creates a WinspoolPrinter. */
  constructor(o: WinspoolOptions) {
    if (Deno.build.os !== "windows" && !o.spooler) {
      throw new AgentError(
        "PRINTER_NOT_FOUND",
        `printer.transport "winspool" needs Windows (this is ${Deno.build.os}); use "tcp", "file" or "virtual"`,
      );
    }
    if (!o.name) {
      throw new AgentError(
        "PRINTER_NOT_FOUND",
        "printer.name is empty: set the Windows printer name",
      );
    }
    this.#o = o;
    this.#t = o.spooler ?? new SpoolerThread();
    this.#st = o.spooler ?? new SpoolerThread();
    this.description = `winspool "${o.name}"`;
  }

  async print(data: Uint8Array, doc: PrintDocument): Promise<void> {
    let r: { jobId: number; datatype: string };
    try {
      r = await this.#t.call(
        "print",
        { name: this.#o.name, title: doc.title, data },
        this.#o.timeoutMs,
      );
    } catch (e) {
      if (!(e instanceof SpoolerTimeout)) throw e;
      if (e.jobId === null) {
        // nothing was queued: safe to try again
        throw new AgentError(
          "PRINTER_TIMEOUT",
          `the spooler did not open "${this.#o.name}" in time (${e.message})`,
        );
      }
      // A job exists in the queue but the spooler never finished taking it.
      return await this.#stuck(e.jobId, `the spooler did not finish taking the job (${e.message})`);
    }
    if (this.#o.watchSeconds > 0) await this.#watch(r.jobId);
    this.#confirmed = true;
  }

  /** Follows a job until it leaves the queue; a stuck job is cancelled and reported. */
  async #watch(jobId: number): Promise<void> {
    const until = Date.now() + this.#o.watchSeconds * 1000;
    let last = "";
    while (true) {
      const j = await this.#t.call<{ found: boolean; status?: number; statusText?: string }>(
        "job",
        { name: this.#o.name, jobId },
        this.#o.timeoutMs,
      );
      const v = jobVerdict(j.found, j.status ?? 0);
      if (v.state === "done") return;
      last = v.why ?? (j.statusText || `status 0x${(j.status ?? 0).toString(16)}`);
      if (v.state === "stuck" || Date.now() >= until) break;
      await new Promise((r) => setTimeout(r, this.#o.pollMs ?? 250));
    }
    await this.#stuck(jobId, last);
  }

  /** A printer that can be asked itself: a USB printer found behind the queue's port. */
  get answersStatus(): boolean {
    return !!this.#usb || !!this.#o.usbProbe;
  }

  /**
   * The printer behind the queue's port, asked `DLE EOT` itself (only while its queue is empty:
   * the spooler holds the device while it sends a job). Null where there is no such channel or
   * it did not answer this time.
   */
  async #usbStatus(port: string): Promise<PrinterStatusReport | null> {
    if (this.#o.usbProbe) return await this.#o.usbProbe(port);
    if (!isUsbPort(port)) return null;
    const stale = this.#usb === null && Date.now() - this.#usbLookedAt > 60_000;
    if (this.#usb === undefined || stale) {
      this.#usbLookedAt = Date.now();
      try {
        const r = await this.#st.call<{ printers: UsbPrinter[] }>(
          "usbPrinters",
          {},
          this.#o.timeoutMs,
        );
        this.#usb = findForPort(port, r.printers);
      } catch {
        this.#usb = null;
      }
    }
    const usb = this.#usb;
    if (!usb) return null;
    const { openDevice } = await import("./device.ts");
    for (let attempt = 0; attempt < 3; attempt++) {
      let link;
      try {
        link = await openDevice(usb.path, 1500);
      } catch (e) {
        const win32 = (e as AgentError).win32;
        if (win32 === 32 || win32 === 5) { // in use: the spooler is sending something
          await new Promise((r) => setTimeout(r, 100));
          continue;
        }
        this.#usb = undefined; // unplugged or replugged (a new path): look again next time
        return { status: "OFFLINE", detail: `the USB printer is gone (${(e as Error).message})` };
      }
      try {
        // a device link has no acknowledgements to wait for: the four in one write
        return await this.#asker.ask(link, { timeoutMs: 1000, throwaway: true, oneWrite: true });
      } finally {
        await link.close();
      }
    }
    return null;
  }

  /**
   * Removes a stuck job from the queue (best effort) and fails with PRINT_STUCK_IN_QUEUE — or,
   * when the job is out of the queue and the printer says why (paper out, cover open), with that
   * printer code: the retry or the backup takes it, and it cannot come out on refill as well.
   */
  async #stuck(jobId: number, why: string): Promise<never> {
    this.#confirmed = false;
    // Take the job out of the queue so it cannot print by surprise after being reported failed.
    const c = await this.#t.call<{ cancelled: boolean }>(
      "cancel",
      { name: this.#o.name, jobId },
      5000,
    )
      .catch(() => ({ cancelled: false }));
    if (c.cancelled) {
      const device = await this.#usbStatus(this.#port).catch(() => null);
      const code = device ? statusError(device.status) : null;
      if (device && code && device.status !== "OFFLINE") {
        throw new AgentError(
          code,
          `job ${jobId} was held in the Windows queue of "${this.#o.name}" (${why}) and the ` +
            `printer says ${device.status} (${device.detail}); the job was removed from the queue, ` +
            "so it prints once: on the retry when the printer is fixed, or on the backup",
        );
      }
      if (/paper out/.test(why)) {
        throw new AgentError(
          "PRINTER_PAPER_OUT",
          `job ${jobId} was held in the Windows queue of "${this.#o.name}": the spooler reports ` +
            "paper out; the job was removed from the queue, so it prints once: on the retry " +
            "when paper is loaded, or on the backup",
        );
      }
    }
    throw new AgentError(
      "PRINT_STUCK_IN_QUEUE",
      `job ${jobId} did not leave the Windows queue of "${this.#o.name}" within the bound ` +
        `(${why}); receipt not printed${
          c.cancelled
            ? ", job removed from the queue"
            : ", and it could not be removed: check the queue"
        }. ` +
        `Check the printer's power, paper and cable, and the queue in Devices and Printers`,
    );
  }

  async status(): Promise<PrinterStatusReport> {
    try {
      const i = await this.#st.call<SpoolerPrinter>(
        "info",
        { name: this.#o.name },
        this.#o.timeoutMs,
      );
      this.#port = i.port;
      const r = spoolerStatus(i.status, i.attributes, this.#confirmed);
      if (i.jobs > 0) return { ...r, detail: `${r.detail}; ${i.jobs} job(s) in the queue` };
      // the queue is empty: the printer itself may be asked
      const device = await this.#usbStatus(i.port).catch(() => null);
      return combineStatus(r, device, `usbprint ${i.port}`);
    } catch (e) {
      const err = e instanceof AgentError ? e : new AgentError("PRINTER_TIMEOUT", String(e));
      const status = err.code === "PRINTER_NOT_FOUND" ? "OFFLINE" : "UNKNOWN";
      return { status, detail: err.message, code: err.code };
    }
  }

  close(): void {
    this.#t.close();
    this.#st.close();
  }
}

/** Lists the printers this account can see, with the default printer's name. */
export async function listSpoolerPrinters(
  timeoutMs = 10_000,
): Promise<{ printers: SpoolerPrinter[]; default: string | null }> {
  const t = new SpoolerThread();
  try {
    return await t.call("list", {}, timeoutMs);
  } finally {
    t.close();
  }
}
