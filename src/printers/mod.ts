/**
 * Builds the configured printer transport.
 * @module
 */
import type { StationConfig } from "../config.ts";
import type { Printer } from "./printer.ts";
import { TcpPrinter } from "./tcp.ts";

/** The printer for a station (or the seed's `printer`: it has the same keys). */
export async function createPrinter(
  p: Omit<StationConfig, "id" | "roles" | "backup" | "failover_after" | "failover_receipts">,
): Promise<Printer> {
  switch (p.transport) {
    case "tcp":
      return new TcpPrinter({ host: p.host, port: p.port, timeoutMs: p.timeout * 1000 });
    // the file transports draw pictures (the paper reader): loaded only where they are used
    case "file":
      return new (await import("./file.ts")).FilePrinter(p.path, { timeoutMs: p.timeout * 1000 });
    case "virtual":
      return new (await import("./file.ts")).VirtualPrinter(p.path);
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
