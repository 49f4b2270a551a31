/**
 * `agent init`: writes a starter `print_agent_config.json` from flags and what the PC can tell
 * (the Windows default printer and its driver, the computer name), refuses to overwrite one
 * without `--force`, then runs the selftest so the technician sees at once what is still missing.
 * @module
 */
import { parseConfig } from "../config.ts";
import { dirname } from "node:path";

/** What `agent init` was told on its command line. */
export interface InitFlags {
  /** The terminal's id. */
  terminalId?: string;
  /** The job server's base URL. */
  server?: string;
  /** The job server's token. */
  token?: string;
  /** The printer to write (a spooler queue name). */
  printer?: string;
  /** The printer brand. */
  brand?: string;
  /** Paper columns. */
  paper?: string;
  /** How the printer is reached. */
  transport?: string;
  /** The printer's host. */
  host?: string;
  /** The printer's TCP port. */
  port?: string;
  /** Overwrite an existing file. */
  force: boolean;
  /** Write `--token` into the file (default: left to `PRINT_AGENT_TOKEN`). */
  tokenInFile?: boolean;
}

/** A printer the spooler knows, as far as init needs it. */
export interface FoundPrinter {
  /** The queue name. */
  name: string;
  /** The driver's name. */
  driver: string;
}

/** The brand (profile) a Windows driver name suggests. */
export function brandFromDriver(driver: string): string {
  const d = driver.toUpperCase();
  if (/EPSON|\bTM-/.test(d)) return "EPSON";
  if (/XPRINTER|\bXP-/.test(d)) return "XPRINTER";
  if (/HPRT|HRPT|TP80/.test(d)) return "HRPT";
  return "GENERIC";
}

/** The paper width a driver name says (58 or 80 mm), or null. */
export function paperFromDriver(driver: string): 58 | 80 | null {
  const m = driver.match(/(?:^|\D)(58|80)(?:\s*mm|\D|$)/i);
  return m ? Number(m[1]) as 58 | 80 : null;
}

/** This PC's name: the terminal id a store most often uses. */
function computerName(): string {
  const n = Deno.env.get("COMPUTERNAME") ?? Deno.hostname();
  return n.replace(/[^A-Za-z0-9_.-]/g, "-").slice(0, 64) || "POS-001";
}

/** The Windows default printer and its driver, or null (not Windows, or none). */
async function defaultPrinter(): Promise<FoundPrinter | null> {
  if (Deno.build.os !== "windows") return null;
  try {
    const { listSpoolerPrinters } = await import("../printers/winspool.ts");
    const r = await listSpoolerPrinters();
    const p = r.printers.find((p) => p.name === r.default) ?? null;
    return p ? { name: p.name, driver: p.driver } : null;
  } catch {
    return null;
  }
}

/**
 * The starter configuration: flags first, then what was found, then the defaults. Returns the
 * file's content and a line per decision, for the technician to read.
 */
export function starterConfig(
  f: InitFlags,
  found: FoundPrinter | null,
): { file: Record<string, unknown>; notes: string[] } {
  const notes: string[] = [];
  const terminal = f.terminalId ?? computerName();
  notes.push(`terminal id: ${terminal}${f.terminalId ? "" : " (this computer's name)"}`);
  // never a virtual printer unless asked for: it "prints" into a folder and reports COMPLETED
  const transport = f.transport ?? (f.host ? "tcp" : "winspool");
  const printer: Record<string, unknown> = { transport };
  if (transport === "winspool") {
    printer.name = f.printer ?? found?.name ?? "";
    notes.push(
      printer.name
        ? `printer: "${printer.name}"${f.printer ? "" : " (the Windows default printer)"}`
        : 'printer: NONE found or given. Name one: --printer "<queue name>" (the names: ' +
          "`agent printers`), or --host <address> for a network printer; then run " +
          "`agent --selftest`",
    );
  }
  if (transport === "tcp") {
    printer.host = f.host ?? "192.168.1.100";
    printer.port = Number(f.port ?? 9100);
    notes.push(`printer: network ${printer.host}:${printer.port}`);
  }
  if (transport === "virtual") {
    printer.path = "printer-out";
    notes.push(
      "printer: virtual, as asked: receipts become pictures in printer-out\\ and are reported " +
        "COMPLETED to the POS; for trying things out only",
    );
  }
  const driver = f.printer ? "" : found?.driver ?? "";
  printer.brand = f.brand ?? (driver ? brandFromDriver(driver) : "GENERIC");
  notes.push(
    `brand: ${printer.brand}${
      f.brand ? "" : driver ? ` (guessed from the driver "${driver}")` : ""
    }`,
  );
  const paper = f.paper ? Number(f.paper) : paperFromDriver(driver) ?? 80;
  printer.paper_width = paper;
  notes.push(
    `paper: ${paper}${f.paper ? "" : paperFromDriver(driver) ? " (the driver says)" : ""}`,
  );
  if (f.server !== undefined && !/^https?:\/\/[^/\s]/i.test(f.server)) {
    throw new Error(
      `--server "${f.server}" is not a web address: write it with http:// or https:// ` +
        `(e.g. https://${f.server.replace(/^\/+/, "")})`,
    );
  }
  const server: Record<string, unknown> = {
    base_url: f.server ?? "http://127.0.0.1:8765/api",
  };
  if (f.token && f.tokenInFile) {
    server.token = f.token;
    notes.push(
      "server token: written into this file (--token-in-file); anyone who can read the file " +
        "can use it",
    );
  } else if (f.token) {
    notes.push(
      "server token: NOT written into the file; the agent reads it from the environment " +
        "variable PRINT_AGENT_TOKEN (server.token_env); for the service, see docs/operations.md " +
        "(Rotating the tokens); or run init again with --token-in-file to keep it in the file",
    );
  }
  if (!f.server) notes.push("server: the default address; set server.base_url (--server URL)");
  return {
    file: {
      terminal_identity: { terminal_id: terminal, printer_role: "cashier" },
      server,
      printer,
    },
    notes,
  };
}

/**
 * Writes the starter file to `path` (never over an existing one without `force`). Returns the
 * exit code and what to print.
 */
export async function initConfig(
  path: string,
  f: InitFlags,
): Promise<{ code: number; lines: string[] }> {
  const exists = await Deno.stat(path).then(() => true, () => false);
  if (exists && !f.force) {
    return {
      code: 2,
      lines: [
        `agent init: ${path} already exists; not overwritten (use --force to replace it, or ` +
        `--config PATH for another file)`,
      ],
    };
  }
  const { file, notes } = starterConfig(f, await defaultPrinter());
  parseConfig(file, dirname(path), path); // what is written must load (throws if not)
  await Deno.mkdir(dirname(path), { recursive: true });
  await Deno.writeTextFile(path, JSON.stringify(file, null, 2) + "\n");
  return { code: 0, lines: [`Wrote ${path}:`, ...notes.map((n) => `  ${n}`)] };
}
