/**
 * A printer behind the {@link Printer} interface whose outcome each test scripts.
 */
import { AgentError, type ErrorCode } from "../../src/errors.ts";
import type { PrintDocument, Printer, PrinterStatusReport } from "../../src/printers/printer.ts";

/** Scripted printer: `failures` codes are thrown by the next print calls, in order. */
export class FakePrinter implements Printer {
  readonly description = "fake";
  failures: ErrorCode[] = [];
  statuses: PrinterStatusReport["status"][] = [];
  printed: { data: Uint8Array; doc: PrintDocument }[] = [];
  calls: string[] = [];
  print(data: Uint8Array, doc: PrintDocument): Promise<void> {
    this.calls.push("print");
    const f = this.failures.shift();
    if (f) return Promise.reject(new AgentError(f, `scripted ${f}`));
    this.printed.push({ data, doc });
    return Promise.resolve();
  }
  status(): Promise<PrinterStatusReport> {
    this.calls.push("status");
    const s = this.statuses.shift() ?? "OK";
    return Promise.resolve({ status: s, detail: `scripted ${s}` });
  }
}
