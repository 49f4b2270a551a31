/**
 * `agent printers`: the printers this Windows account can see, with driver, port and status —
 * the first thing support runs.
 * @module
 */
import { listSpoolerPrinters, spoolerStatus } from "../printers/winspool.ts";
import { loadConfig } from "../config.ts";
import { PRINTER_ATTRIBUTE_NETWORK } from "../../ffi/winspool.ts";

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
