/**
 * The shipped bundle (`dist/agent.js`, what agent.exe holds): pure ASCII, so V8 keeps its source
 * at one byte a character, and the same agent as the source: the same printer bytes for receipts
 * in every script the profiles meet, through a real reference server and a TCP printer.
 */
import { join } from "node:path";
import { assert, assertEquals } from "./helpers/assert.ts";
import { withServer, withTmpDir } from "./helpers/env.ts";
import { PrinterSim } from "./helpers/printer_sim.ts";
import { TYPICAL_RECEIPT } from "./helpers/receipts.ts";
import { asciiOnly, bundle } from "../build.ts";
import { V8_FLAGS } from "../src/version.ts";

const ROOT = new URL("..", import.meta.url).pathname.replace(/\/$/, "");

/** Names in many scripts and forms: composed and decomposed Latin, Cyrillic, Greek, CJK, emoji. */
const NAMES = [
  "Crème brûlée",
  "Cre\u0300me bru\u0302le\u0301e",
  "Straße Spezial",
  "Борщ украинский",
  "Μουσακάς",
  "宫保鸡丁",
  "Phở bò đặc biệt",
  "Kopi 7\ufe0f\u20e3 ☕",
  "شاي بالنعناع",
];

Deno.test("asciiOnly() escapes what esbuild leaves in regular expressions, with the same meaning", async () => {
  const src = `export const r = /[àé]+/gu; export const s = "— ü"; export const t = \`ẞ\${1}\`;` +
    `export const e = /😀/u;`;
  const out = await asciiOnly(src);
  assert(!/[\u0080-\uffff]/.test(out), `non-ASCII left: ${out}`);
  const m = await import(`data:text/javascript,${encodeURIComponent(out)}`);
  assertEquals("xàéày".match(m.r), ["àéà"]);
  assertEquals(m.s, "— ü");
  assertEquals(m.t, "ẞ1");
  assert(m.e.test("a😀b"));
});

Deno.test("the shipped bundle is ASCII and prints the same bytes as the source, in every script", async () => {
  assert(await bundle(ROOT), "bundle failed");
  for (const f of ["agent.js", "winspool_worker.js"]) {
    const text = await Deno.readTextFile(join(ROOT, "dist", f));
    const at = text.search(/[\u0080-\uffff]/);
    assertEquals(at, -1, `dist/${f} has a character beyond ASCII at ${at}`);
  }
  await using tmp = await withTmpDir();
  await using srv = withServer();
  const sims = { shipped: PrinterSim.start(), source: PrinterSim.start() };
  const agents: Deno.ChildProcess[] = [];
  try {
    for (const [who, sim] of Object.entries(sims)) {
      const terminal = `POS-${who.toUpperCase()}`;
      const cfg = join(tmp.path, `${who}.json`);
      await Deno.writeTextFile(
        cfg,
        JSON.stringify({
          terminal_identity: { terminal_id: terminal },
          server: { base_url: srv.url, poll_interval: 0.2, long_poll_wait: 2 },
          printer: { transport: "tcp", port: sim.port, brand: "EPSON", paper_width: 48 },
          logging: { level: "WARNING", log_file: `${who}.log` },
          state: { path: `state-${who}` },
          local_api: { enabled: false },
        }),
      );
      for (const [i, name] of NAMES.entries()) {
        await srv.createJob({
          terminal_id: terminal,
          job_type: "receipt",
          receipt_data: {
            ...TYPICAL_RECEIPT,
            bill_number: `B-${i}`,
            items: [{ name, qty: 1, price: 1000 }],
          },
        });
      }
      const main = who === "shipped"
        ? join(ROOT, "dist", "agent.js")
        : join(ROOT, "src", "main.ts");
      agents.push(
        new Deno.Command(Deno.execPath(), {
          args: ["run", "-A", `--v8-flags=${V8_FLAGS}`, main, "--config", cfg],
          stdout: "null",
          stderr: "null",
        }).spawn(),
      );
    }
    const until = Date.now() + 30_000;
    while (Object.values(sims).some((s) => s.jobs.length < NAMES.length) && Date.now() < until) {
      await new Promise((r) => setTimeout(r, 100));
    }
    assertEquals(sims.shipped.jobs.length, NAMES.length, "the shipped bundle printed them all");
    assertEquals(sims.source.jobs.length, NAMES.length, "the source printed them all");
    const hex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
    const bytes = (s: PrinterSim) => s.jobs.map((j) => hex(j.bytes)).sort();
    assertEquals(bytes(sims.shipped), bytes(sims.source));
  } finally {
    for (const a of agents) {
      try {
        a.kill("SIGTERM");
      } catch { /* gone */ }
      await a.status;
    }
    for (const s of Object.values(sims)) s.close();
  }
});

/**
 * The runtime modules the shipped bundle loads at start. Each `node:` module Deno sets up costs
 * resident memory whether or not it is used (imported alone into a bare runtime: node:fs +6 MB,
 * node:crypto, node:module and node:stream +3.5-4.5 MB each, sharing much between them;
 * docs/benchmarks.md), so none of a library's Node-only paths may be imported at the top: LiquidJS
 * comes as its browser build (no Node file loader: node:fs, node:stream, HMAC). And the bundle
 * carries none of zod's 40 translated error catalogues (`import * as z`, not the `z` namespace).
 */
Deno.test("the shipped bundle imports only the runtime modules the agent's start needs, and no zod locales", async () => {
  assert(await bundle(ROOT), "bundle failed");
  const text = await Deno.readTextFile(join(ROOT, "dist", "agent.js"));
  const loaded = new Set([...text.matchAll(/\bfrom\s*"(node:[a-z_/]+)"/g)].map((m) => m[1]));
  // node:module is fflate's `createRequire` shim: its module is set up only with a logo, but a
  // one-file bundle hoists the import (~0.7 MB, measured); the others are the agent's own
  const allowed = [
    "node:crypto",
    "node:module",
    "node:path",
    "node:sqlite",
    "node:url",
    "node:util",
  ];
  assertEquals(
    [...loaded].filter((m) => !allowed.includes(m)),
    [],
    "top-level imports beyond those",
  );
  assert(loaded.has("node:sqlite"), "the journal's SQLite is found (the pattern reads the bundle)");
  // a sentence from zod's English catalogue (kept) and one from its German one (must not be)
  assert(text.includes("Too big: expected"), "zod's English messages are in the bundle");
  assertEquals(
    text.includes("Zu klein: erwartet"),
    false,
    "zod's German catalogue is in the bundle",
  );
  assert(text.length < 850_000, `the bundle is ${text.length} characters (zod's locales: 1.07 MB)`);
});
