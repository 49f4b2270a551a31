/**
 * Raw TCP printers (port 9100), with real-time status by `DLE EOT n` between jobs.
 * @module
 */
import { AgentError } from "../errors.ts";
import {
  type PrintDocument,
  type Printer,
  type PrinterStatusReport,
  withTimeout,
  writeAll,
} from "./printer.ts";

/** Decodes the answers to `DLE EOT 1`, `DLE EOT 2` and `DLE EOT 4` (ESC/POS real-time status). */
export function decodeRealtimeStatus(s1: number, s2: number, s4: number): PrinterStatusReport {
  // Each answer has bit 4 set and bit 7 clear; anything else is not an ESC/POS status byte.
  const valid = (b: number) => (b & 0x90) === 0x10;
  if (![s1, s2, s4].every(valid)) {
    return { status: "UNKNOWN", detail: "the printer answered, but not with ESC/POS status" };
  }
  if (s2 & 0x04) return { status: "COVER_OPEN", detail: "cover open" };
  if ((s4 & 0x60) === 0x60 || s2 & 0x20) return { status: "PAPER_OUT", detail: "paper end" };
  if (s2 & 0x40) return { status: "ERROR", detail: "printer error (cutter or mechanism)" };
  if (s1 & 0x08) return { status: "OFFLINE", detail: "printer is offline" };
  const near = (s4 & 0x0c) === 0x0c ? " (paper near end)" : "";
  return { status: "OK", detail: "ready" + near };
}

/** Options of {@link TcpPrinter}. */
export interface TcpPrinterOptions {
  /** The printer's host. */
  host: string;
  /** The printer's TCP port (9100). */
  port: number;
  /** Milliseconds for connect and for the whole write. */
  timeoutMs: number;
}

/** A raw port-9100 network printer. */
export class TcpPrinter implements Printer {
  readonly description: string;
  #o: TcpPrinterOptions;
  /** Creates a TcpPrinter. */
  constructor(o: TcpPrinterOptions) {
    this.#o = o;
    this.description = `tcp ${o.host}:${o.port}`;
  }

  async #connect(): Promise<Deno.TcpConn> {
    const { host, port, timeoutMs } = this.#o;
    try {
      const conn = await withTimeout(
        Deno.connect({ hostname: host, port }),
        timeoutMs,
        () =>
          new AgentError("PRINTER_TIMEOUT", `no answer from ${host}:${port} in ${timeoutMs} ms`),
      );
      conn.setNoDelay(true);
      return conn;
    } catch (e) {
      if (e instanceof AgentError) throw e;
      throw new AgentError("PRINTER_OFFLINE", `cannot connect to ${host}:${port}: ${e}`, {
        cause: e,
      });
    }
  }

  async print(data: Uint8Array, _doc: PrintDocument): Promise<void> {
    const conn = await this.#connect();
    try {
      await withTimeout(
        writeAll(conn, data),
        this.#o.timeoutMs,
        () =>
          new AgentError(
            "PRINTER_TIMEOUT",
            `printer ${this.description} did not take ${data.length} bytes in ${this.#o.timeoutMs} ms`,
          ),
      );
    } catch (e) {
      if (e instanceof AgentError) throw e;
      throw new AgentError("PRINTER_OFFLINE", `write to ${this.description} failed: ${e}`, {
        cause: e,
      });
    } finally {
      try {
        conn.close();
      } catch { /* already closed by the peer */ }
    }
  }

  async status(): Promise<PrinterStatusReport> {
    let conn: Deno.TcpConn;
    try {
      conn = await this.#connect();
    } catch (e) {
      return { status: "OFFLINE", detail: (e as Error).message };
    }
    try {
      const ask = async (n: number) => {
        await conn.write(new Uint8Array([0x10, 0x04, n]));
        const buf = new Uint8Array(1);
        const got = await withTimeout(
          conn.read(buf),
          Math.min(this.#o.timeoutMs, 1500),
          () => new Error("no status answer"),
        );
        if (got !== 1) throw new Error("connection closed");
        return buf[0];
      };
      const s1 = await ask(1);
      const s2 = await ask(2);
      const s4 = await ask(4);
      return decodeRealtimeStatus(s1, s2, s4);
    } catch (e) {
      return {
        status: "UNKNOWN",
        detail: `connected, but no real-time status (${(e as Error).message})`,
      };
    } finally {
      try {
        conn.close();
      } catch { /* closed */ }
    }
  }
}
