/**
 * Raw TCP printers (port 9100), with real-time status by `DLE EOT n` between jobs.
 * @module
 */
import { AgentError } from "../errors.ts";
import {
  type PrintDocument,
  type Printer,
  type PrinterStatusReport,
  refuseIfDown,
  type StatusOptions,
  withTimeout,
  writeAll,
} from "./printer.ts";
import { RealtimeStatusAsker, type StatusLink } from "./realtime_status.ts";

export { decodeRealtimeStatus } from "./realtime_status.ts";

/**
 * A {@link StatusLink} over a connection: bytes read ahead are kept for the next question; a
 * read that is still pending when its time runs out is picked up by the next one.
 */
export function streamLink(
  conn: { write(p: Uint8Array): Promise<number>; read(p: Uint8Array): Promise<number | null> },
  until?: AbortSignal,
): StatusLink {
  // with `until`, a read waits for it instead of a timer of its own
  const ended = until && new Promise<"timeout">((r) => {
    if (until.aborted) r("timeout");
    else until.addEventListener("abort", () => r("timeout"), { once: true });
  });
  const queue: number[] = [];
  let pending: Promise<number | null> | null = null;
  let closed = false;
  const buf = new Uint8Array(64);
  return {
    async write(bytes) {
      // a status question, not a job: not the job writer (and not its fault points)
      for (let off = 0; off < bytes.length;) {
        const n = await conn.write(bytes.subarray(off));
        if (n <= 0) throw new Error(`write returned ${n}`);
        off += n;
      }
    },
    async readByte(timeoutMs) {
      if (queue.length) return queue.shift()!;
      if (closed) return null;
      if (!pending) {
        pending = conn.read(buf);
        pending.catch(() => {}); // closed under a read still waiting: nothing to report
      }
      let t: ReturnType<typeof setTimeout> | undefined;
      const n = await Promise.race([
        pending,
        ended ?? new Promise<"timeout">((r) => t = setTimeout(() => r("timeout"), timeoutMs)),
      ]).finally(() => clearTimeout(t));
      if (n === "timeout") return null; // the read stays pending for the next question
      pending = null;
      if (n === null || n === 0) {
        closed = n === null;
        return null;
      }
      queue.push(...buf.subarray(0, n));
      return queue.shift()!;
    },
  };
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
  readonly answersStatus = true;
  /**
   * Whether the printer answered its last status questions (then each job asks first); null
   * until it has been asked once (the first job asks).
   */
  #answers: boolean | null = null;
  /** Learns whether the printer answers all four questions (then asks them in one write). */
  #asker = new RealtimeStatusAsker();
  #o: TcpPrinterOptions;
  /** Creates a TcpPrinter. */
  constructor(o: TcpPrinterOptions) {
    this.#o = o;
    this.description = `tcp ${o.host}:${o.port}`;
  }

  async #connect(until?: AbortSignal): Promise<Deno.TcpConn> {
    const { host, port, timeoutMs } = this.#o;
    try {
      const conn = until
        ? await Deno.connect({ hostname: host, port, signal: until })
        : await withTimeout(
          Deno.connect({ hostname: host, port }),
          timeoutMs,
          () =>
            new AgentError("PRINTER_TIMEOUT", `no answer from ${host}:${port} in ${timeoutMs} ms`),
        );
      conn.setNoDelay(true);
      return conn;
    } catch (e) {
      if (e instanceof AgentError) throw e;
      if (until?.aborted) {
        throw new AgentError(
          "PRINTER_TIMEOUT",
          `no answer from ${host}:${port} before the next status question`,
          { cause: e },
        );
      }
      throw new AgentError("PRINTER_OFFLINE", `cannot connect to ${host}:${port}: ${e}`, {
        cause: e,
      });
    }
  }

  async print(data: Uint8Array, _doc: PrintDocument): Promise<void> {
    const conn = await this.#connect();
    try {
      // a printer that answers status is asked first, on the same connection: one out of paper
      // or with its cover open gets nothing (the retry or the backup takes the job)
      if (this.#answers !== false) {
        const before = await this.#asker.ask(streamLink(conn), { timeoutMs: 500 });
        this.#answers = before.status !== "UNKNOWN";
        refuseIfDown(before, this.description);
      }
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

  async status(o: StatusOptions = {}): Promise<PrinterStatusReport> {
    let conn: Deno.TcpConn;
    try {
      conn = await this.#connect(o.until);
    } catch (e) {
      return { status: "OFFLINE", detail: (e as Error).message };
    }
    try {
      const r = await this.#asker.ask(streamLink(conn, o.until), {
        timeoutMs: Math.min(this.#o.timeoutMs, 1500),
        oneWrite: !!o.until, // the idle probe: an answer held back a while costs nothing
      });
      this.#answers = r.status !== "UNKNOWN";
      return r;
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
