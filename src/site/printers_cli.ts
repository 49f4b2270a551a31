/**
 * `agent printers`: the printers this Windows account can see, with driver, port and status —
 * the first thing support runs.
 * @module
 */
import { listSpoolerPrinters, spoolerStatus } from "../printers/winspool.ts";
import { loadConfig } from "../config.ts";
import { PRINTER_ATTRIBUTE_NETWORK } from "../../ffi/winspool.ts";
import type { StationConfig } from "../config.ts";
import { createPrinter } from "../printers/mod.ts";
import { deviceKind } from "../printers/device.ts";

/** A configured station and whether this account sees its Windows printer. */
interface StationView {
  id: string;
  roles: string[];
  transport: string;
  name: string;
  backup: string | null;
  /** For a winspool station: whether the spooler lists it; null where that cannot be told. */
  visible: boolean | null;
}

/** The configuration's stations, if it loads (the list is useful without it too). */
async function stationsOf(configPath: string | null): Promise<StationView[]> {
  if (!configPath) return [];
  try {
    const c = await loadConfig(configPath);
    return c.stations.map((st) => ({
      id: st.id,
      roles: st.roles,
      transport: st.transport,
      name: st.transport === "winspool" ? st.name : `${st.host}:${st.port}`,
      backup: st.backup,
      visible: null,
    }));
  } catch {
    return [];
  }
}

/** Prints the list; returns the exit code. */
export async function printersCommand(
  json: boolean,
  configPath: string | null = null,
): Promise<number> {
  const stations = await stationsOf(configPath);
  // --json answers JSON on every path, errors included, for the scripts that read it
  const fail = (code: number, error: string, text: string) => {
    if (json) console.log(JSON.stringify({ error, printers: [], stations }, null, 2));
    else console.error(text);
    return code;
  };
  if (Deno.build.os !== "windows") {
    const why = `this is not Windows (${Deno.build.os}): use printer.transport tcp or file`;
    return fail(2, why, `agent printers: lists Windows printers; ${why}`);
  }
  let r;
  try {
    r = await listSpoolerPrinters();
  } catch (e) {
    const why = `cannot list printers: ${(e as Error).message}`;
    return fail(1, why, `agent printers: ${why}`);
  }
  const rows = r.printers.map((p) => ({
    name: p.name,
    default: p.name === r.default,
    driver: p.driver,
    port: p.port,
    datatype: p.datatype,
    kind: p.attributes & PRINTER_ATTRIBUTE_NETWORK ? "network" : "local",
    status: spoolerStatus(p.status, p.attributes, true).status,
    jobs_in_queue: p.jobs,
  }));
  for (const st of stations) {
    if (st.transport !== "winspool") continue;
    st.visible = rows.some((p) => p.name.toLowerCase() === st.name.toLowerCase());
  }
  if (json) {
    console.log(
      JSON.stringify(
        { account: Deno.env.get("USERNAME") ?? null, printers: rows, stations },
        null,
        2,
      ),
    );
    return 0;
  }
  console.log(
    `Printers visible to ${Deno.env.get("USERNAME") ?? "this account"} (${rows.length}):`,
  );
  for (const p of rows) {
    console.log(
      `${
        p.default ? "*" : " "
      } ${p.name}\n    driver: ${p.driver} | port: ${p.port} | ${p.kind} | ` +
        `status: ${p.status} | jobs in queue: ${p.jobs_in_queue}`,
    );
  }
  if (rows.length === 0) {
    console.log("  (none) — install the printer for this account, or run as the user who has it");
  }
  if (stations.length) {
    console.log(`\nThis agent's printers (stations) in ${configPath}:`);
    for (const st of stations) {
      const seen = st.visible === null ? "" : st.visible ? " — visible" : " — NOT visible here";
      console.log(
        `  ${st.id} [${st.roles.join(", ")}]: ${st.transport} "${st.name}"${seen}` +
          (st.backup ? ` (backup: ${st.backup})` : ""),
      );
    }
  }
  console.log(
    "A service running as LocalSystem does not see printers installed for one user only.",
  );
  return 0;
}

/** Which status channel a station's printer has, for a person. */
export function statusChannel(st: StationConfig): string {
  switch (st.transport) {
    case "tcp":
      return `DLE EOT over TCP ${st.host}:${st.port}`;
    case "winspool":
      return "the Windows spooler's flags; on a USB00x port also DLE EOT to the printer itself (usbprint) while its queue is empty";
    case "virtual":
      return "none: a folder (writable or not)";
    case "file": {
      const kind = deviceKind(st.path);
      if (kind === "serial") return `DLE EOT on the serial port ${st.path}`;
      if (kind === "usb") return `DLE EOT on the USB device ${st.path}`;
      if (kind === "lpt") return `none: ${st.path} is a parallel port`;
      return `none: ${st.path} is a file (writable or not)`;
    }
  }
}

/**
 * `agent printers --status`: asks each configured printer now and says through what: the first
 * thing to run on site when a printer shows UNKNOWN.
 */
export async function printersStatusCommand(
  json: boolean,
  configPath: string | null,
): Promise<number> {
  let stations: StationConfig[];
  try {
    stations = (await loadConfig(configPath ?? "print_agent_config.json")).stations;
  } catch (e) {
    const why = `the configuration does not load: ${(e as Error).message}`;
    if (json) console.log(JSON.stringify({ error: why, printers: [] }, null, 2));
    else console.error(`agent printers --status: ${why}`);
    return 1;
  }
  const rows = [];
  for (const st of stations) {
    const printer = await createPrinter(st);
    try {
      const s = await printer.status();
      rows.push({
        id: st.id,
        roles: st.roles,
        transport: st.transport,
        channel: statusChannel(st),
        answers_status: !!printer.answersStatus,
        status: s.status,
        detail: s.detail,
      });
    } finally {
      await printer.close?.();
    }
  }
  if (json) {
    console.log(JSON.stringify({ printers: rows }, null, 2));
  } else {
    for (const r of rows) {
      console.log(
        `${r.id} [${
          r.roles.join(", ")
        }]: ${r.status} — ${r.detail}\n    status channel: ${r.channel}`,
      );
    }
  }
  return rows.some((r) => r.status !== "OK" && r.status !== "PAPER_NEAR_END") ? 1 : 0;
}
