/**
 * Builds the configured printer transport.
 * @module
 */
import type { Config } from "../config.ts";
import { FilePrinter, VirtualPrinter } from "./file.ts";
import type { Printer } from "./printer.ts";
import { TcpPrinter } from "./tcp.ts";

/** The printer for `config.printer`. */
export async function createPrinter(c: Config): Promise<Printer> {
  const p = c.printer;
  switch (p.transport) {
    case "tcp":
      return new TcpPrinter({ host: p.host, port: p.port, timeoutMs: p.timeout * 1000 });
    case "file":
      return new FilePrinter(p.path);
    case "virtual":
      return new VirtualPrinter(p.path);
    case "winspool": {
      const { WinspoolPrinter } = await import("./winspool.ts");
      return new WinspoolPrinter({
        name: p.name,
        watchSeconds: p.spool_watch_seconds,
        timeoutMs: p.timeout * 1000,
      });
    }
  }
}
