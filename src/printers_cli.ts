/**
 * `agent printers`: the printers this Windows account can see, with driver, port and status —
 * the first thing support runs.
 * @module
 */
import { listSpoolerPrinters, spoolerStatus } from "./printers/winspool.ts";
import { PRINTER_ATTRIBUTE_NETWORK } from "../ffi/winspool.ts";

/** Prints the list; returns the exit code. */
export async function printersCommand(json: boolean): Promise<number> {
  // --json answers JSON on every path, errors included, for the scripts that read it
  const fail = (code: number, error: string, text: string) => {
    if (json) console.log(JSON.stringify({ error, printers: [] }, null, 2));
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
  if (json) {
    console.log(
      JSON.stringify({ account: Deno.env.get("USERNAME") ?? null, printers: rows }, null, 2),
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
  console.log(
    "A service running as LocalSystem does not see printers installed for one user only.",
  );
  return 0;
}
