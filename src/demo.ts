/**
 * `deno task demo`: the reference job server, an agent with three stations — the cashier and the
 * kitchen on `virtual` printers, the bar on a network printer that is switched off (so its ticket
 * fails over to the kitchen, with a BACKUP banner) — and a few sample jobs. Previews appear in
 * `demo-out/printer/<station>/`. Runs until Ctrl+C (or, with `--exit-after-jobs`, until the
 * samples are printed).
 * @module
 */
import { parseArgs } from "node:util";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseConfig } from "./config.ts";
import { startServer } from "./reference_server/main.ts";
import { runUntilStopped } from "./main.ts";

/** Sample jobs a POS would create. */
export const SAMPLE_JOBS = [
  {
    job_type: "receipt",
    receipt_data: {
      store_name: "Warung Kopi Nusantara",
      store_address: "Jl. Merdeka No. 17, Bandung",
      queue_number: "A001",
      bill_number: "INV-2026-0001",
      cashier: "Siti",
      items: [
        { name: "Kopi susu gula aren", qty: 2, price: 22000 },
        {
          name: "Nasi goreng kampung spesial dengan telur mata sapi",
          qty: 1,
          price: 35000,
          notes: "tidak pedas",
        },
        { name: "Pisang goreng", qty: 1, price: 15000 },
      ],
      subtotal: 94000,
      taxes: [{ label: "PB1 10%", amount: 9400 }],
      total: 103400,
      payments: [{ method: "Tunai", amount: 110000 }],
      change: 6600,
      qr:
        "00020101021126570011ID.DANA.WWW011893600915302259148102090225914810303UMI5204549953033605802ID",
      footer_lines: ["Wi-Fi: kopi-nusantara"],
    },
  },
  {
    job_type: "kitchen",
    receipt_data: {
      queue_number: "A001",
      table: "7",
      order_type: "Dine in",
      items: [
        {
          name: "Nasi goreng kampung",
          qty: 1,
          notes: "tidak pedas",
          modifiers: ["telur mata sapi"],
        },
        { name: "Pisang goreng", qty: 1 },
      ],
    },
  },
  {
    job_type: "kitchen",
    printer_role: "bar",
    receipt_data: {
      queue_number: "A001",
      table: "7",
      items: [{ name: "Es teh manis", qty: 2 }, { name: "Kopi susu gula aren", qty: 2 }],
    },
  },
  {
    job_type: "reprint",
    reprint_of: 1,
    receipt_data: {
      store_name: "Warung Kopi Nusantara",
      bill_number: "INV-2026-0001",
      total: 103400,
    },
  },
];

if (import.meta.main) {
  const usage = `deno task demo [options]: the reference server, an agent with three stations
(cashier and kitchen on virtual printers, the bar on a switched-off network printer that fails
over to the kitchen) and sample jobs; the pictures land in demo-out/.

  --port N            the reference job server's port (default 8765)
  --api-port N        the agent's status page and local API (default 8787)
  --out DIR           where the printers' pictures go (default demo-out/, emptied first)
  --exit-after-jobs   stop once the sample jobs are done (for scripts and tests)
  -h, --help          this text`;
  let values;
  try {
    ({ values } = parseArgs({
      args: Deno.args,
      options: {
        port: { type: "string", default: "8765" },
        "api-port": { type: "string", default: "8787" },
        out: { type: "string" },
        "exit-after-jobs": { type: "boolean", default: false },
        help: { type: "boolean", short: "h", default: false },
      },
    }));
  } catch (e) {
    console.error(`demo: ${(e as Error).message}\n\n${usage}`);
    Deno.exit(2);
  }
  if (values.help) {
    console.log(usage);
    Deno.exit(0);
  }
  for (const [flag, v] of [["--port", values.port], ["--api-port", values["api-port"]]]) {
    const port = Number(v);
    if (!Number.isInteger(port) || port < 0 || port > 65535) {
      console.error(`demo: ${flag} "${v}" is not a port number`);
      Deno.exit(2);
    }
    try {
      Deno.listen({ hostname: "127.0.0.1", port }).close(); // taken? say so before touching anything
    } catch (e) {
      console.error(
        `demo: port ${port} (${flag}) is in use (${(e as Error).name}): stop what runs there, ` +
          `or pick another with ${flag} N`,
      );
      Deno.exit(2);
    }
  }
  const root = dirname(dirname(fileURLToPath(import.meta.url)));
  const out = values.out ?? join(root, "demo-out");
  // every run starts clean: the reference server's ids start at 1 again
  await Deno.remove(out, { recursive: true }).catch(() => {});
  await Deno.mkdir(out, { recursive: true });
  const off = Deno.listen({ hostname: "127.0.0.1", port: 0 }); // a port nobody listens on
  const offPort = (off.addr as Deno.NetAddr).port;
  off.close();
  const server = startServer({ port: Number(values.port), db: ":memory:" });
  // The embedded defaults, pointed at the reference server and the virtual printer.
  const config = parseConfig(
    {
      terminal_identity: { terminal_id: "POS-001", printer_role: "cashier", location_id: 1 },
      server: { base_url: server.url, heartbeat_interval: 30 },
      printers: [
        {
          id: "cashier",
          roles: ["cashier"],
          brand: "HRPT",
          paper_width: 80,
          transport: "virtual",
          path: "printer/cashier",
        },
        {
          id: "kitchen",
          roles: ["kitchen"],
          brand: "EPSON",
          paper_width: 80,
          transport: "virtual",
          path: "printer/kitchen",
        },
        {
          id: "bar",
          name: "Bar",
          roles: ["bar"],
          brand: "XPRINTER",
          paper_width: 58,
          transport: "tcp",
          port: offPort,
          timeout: 2,
          backup: "kitchen",
        },
      ],
      error_handling: { max_retry: 3, backoff_seconds: [2, 5, 10] },
      logging: { level: "INFO", log_file: "print_agent.log" },
      local_api: { enabled: true, port: Number(values["api-port"]), token: "demo" },
    },
    out,
    "(demo: embedded defaults)",
  );
  const ac = new AbortController();
  const running = runUntilStopped(config, ac.signal, undefined, { demo: true });
  const created = [];
  for (const j of SAMPLE_JOBS) {
    const r = await fetch(`${server.url}/print-jobs/`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ terminal_id: "POS-001", ...j }),
    });
    created.push(await r.json());
  }
  console.log(`\nDemo: ${created.length} jobs created on ${server.url}/print-jobs/`);
  console.log(
    `Demo: previews (.txt and .svg) and printer bytes (.bin) appear in ${
      join(out, "printer")
    }/<station>/`,
  );
  console.log(
    "Demo: the bar printer is switched off: its ticket prints on the kitchen printer after one " +
      "failed try, under a CADANGAN / DARI BAR (backup from bar) banner (a few seconds)",
  );
  console.log(
    `Demo: create more with:\n  curl -X POST ${server.url}/print-jobs/ -H 'content-type: application/json' \\
    -d '{"terminal_id":"POS-001","job_type":"receipt","receipt_data":{"store_name":"Test Store","queue_number":"A002","bill_number":"INV-002","total":50000}}'`,
  );
  console.log(
    `Demo: status page http://127.0.0.1:${values["api-port"]}/ (token for its buttons: demo)`,
  );
  console.log("Demo: press Ctrl+C to stop.\n");
  if (values["exit-after-jobs"]) {
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline) {
      const states = await Promise.all(
        created.map((j) => fetch(`${server.url}/print-jobs/${j.id}/`).then((r) => r.json())),
      );
      if (states.every((s) => s.status === "COMPLETED")) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    ac.abort();
  }
  const code = await running;
  await server.shutdown();
  Deno.exit(code);
}
