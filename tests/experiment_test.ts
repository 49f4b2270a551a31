/**
 * Receipt experiments (issue #27, 2): the job names an arm, the agent prints that variant's
 * template (or the base, said), a reprint prints its original's arm, the COMPLETED report carries
 * the figures only the agent has, and a variant that touches a fiscal field is refused at load.
 */
import { join } from "node:path";
import { assert, assertEquals, assertMatch } from "./helpers/assert.ts";
import { LogCapture, stationsConfig, waitFor, withServer, withTmpDir } from "./helpers/env.ts";
import { PrinterSim } from "./helpers/printer_sim.ts";
import { readEscPos } from "./helpers/escpos_reader.ts";
import { receiptJob, TYPICAL_RECEIPT } from "./helpers/receipts.ts";
import { Renderer } from "../src/render/render.ts";
import { pinnedOptions } from "../src/samples.ts";
import { paperLengthMm } from "../src/render/paper.ts";
import { localApiUrl, startAgent } from "../src/run.ts";

const BASE = await Deno.readTextFile(new URL("../templates/receipt.liquid", import.meta.url));
/** The coupon arm: the base receipt with one line more above the cut. */
const COUPON = BASE.replace(
  "{% cut %}",
  "{% align center %}KUPON 10% KUNJUNGAN BERIKUTNYA\n{% cut %}",
);

async function templates(dir: string, files: Record<string, string>): Promise<string> {
  const folder = join(dir, "templates");
  await Deno.mkdir(folder, { recursive: true });
  for (const [name, text] of Object.entries(files)) {
    await Deno.writeTextFile(join(folder, name), text);
  }
  return folder;
}

const renderer = (folder: string) =>
  Renderer.create({ ...pinnedOptions("epson", 48, "t"), templatesPath: folder });
const lines = (r: Renderer, bytes: Uint8Array) =>
  readEscPos(bytes, r.profile.escT).lines.map((l) => l.trim());

Deno.test("the job's arm picks receipt.<variant>.liquid; an arm with no template prints the base, said", async () => {
  await using dir = await withTmpDir();
  const r = await renderer(await templates(dir.path, { "receipt.b.liquid": COUPON }));
  const b = await r.render({ ...receiptJob("receipt"), experiment: { id: "dec", variant: "b" } });
  assert(lines(r, b.bytes).includes("KUPON 10% KUNJUNGAN BERIKUTNYA"));
  assertEquals(
    { ...b.template!, hash: b.template!.hash.length },
    { name: "receipt.b", hash: 16, experiment: "dec", variant: "b", fallback: false },
  );
  const base = await r.render(receiptJob("receipt"));
  assert(!lines(r, base.bytes).includes("KUPON 10% KUNJUNGAN BERIKUTNYA"));
  assertEquals(base.template?.name, "receipt");
  assert(base.template!.hash !== b.template!.hash, "each source its own hash");
  for (
    const [experiment, variant] of [
      [{ id: "dec", variant: "c" }, "c"],
      [{ id: "dec", variant: "../../etc" }, null],
      [{ id: "dec" }, null],
      ["not an object", null],
    ] as const
  ) {
    const out = await r.render({ ...receiptJob("receipt"), experiment });
    assertEquals(out.template?.name, "receipt", JSON.stringify(experiment));
    assertEquals(out.template?.variant, variant);
    assertEquals(out.template?.fallback, true, `${JSON.stringify(experiment)}: said`);
  }
  // a kitchen ticket is never varied, whatever the job says
  const k = await r.render({ ...receiptJob("kitchen"), experiment: { id: "dec", variant: "b" } });
  assertEquals([k.template?.name, k.template?.variant], ["kitchen", null]);
});

Deno.test("a variant that prints a fiscal field otherwise, and any kitchen variant, is refused at load, naming the file and field; its jobs print the base", async (t) => {
  const cases: [string, string, RegExp][] = [
    [
      "no total",
      BASE.replace(/\{% bold on %\}\{\{ label.total \}\}.*\n/, ""),
      /receipt_data\.total/,
    ],
    ["total relabelled", BASE.replace("{{ label.total }}", "JUMLAH"), /receipt_data\.total/],
    [
      "taxes dropped",
      BASE.replace(/\{%- for t in receipt.taxes %\}[\s\S]*?\{%- endfor %\}/, ""),
      /receipt_data\.taxes/,
    ],
    [
      "bill number hidden",
      BASE.replace(/\{%- if receipt.bill_number != "" %\}\n.*\n\{%- endif %\}/, ""),
      /receipt_data\.bill_number/,
    ],
    [
      "payments rounded",
      BASE.replace(
        "{{ p.amount | money }}",
        "{{ p.amount | divided_by: 1000 | round | times: 1000 | money }}",
      ),
      /receipt_data\.payments/,
    ],
  ];
  for (const [what, text, field] of cases) {
    await t.step(what, async () => {
      assert(text !== BASE, "the case changes the template");
      await using dir = await withTmpDir();
      const folder = await templates(dir.path, { "receipt.x.liquid": text });
      const r = await renderer(folder);
      assertMatch(
        r.refusedVariants.get("receipt.x") ?? "(not refused)",
        new RegExp(`receipt\\.x\\.liquid: it prints ${field.source}.*never varied`),
      );
      // its jobs print the base, said: the fiscal fields as the base prints them
      const out = await r.render({
        ...receiptJob("receipt"),
        experiment: { id: "e", variant: "x" },
      });
      assertEquals([out.template?.name, out.template?.fallback], ["receipt", true]);
      assertEquals(out.bytes, (await r.render(receiptJob("receipt"))).bytes);
    });
  }
  await t.step("a kitchen variant", async () => {
    await using dir = await withTmpDir();
    const folder = await templates(dir.path, { "kitchen.b.liquid": "{{ receipt.table }}" });
    const r = await renderer(folder);
    assertMatch(
      r.refusedVariants.get("kitchen.b") ?? "",
      /kitchen\.b\.liquid: only receipts are varied/,
    );
  });
  await t.step("a coupon line, a footer, a layout change are fine", async () => {
    await using dir = await withTmpDir();
    const bigger = COUPON.replace("{{ label.thanks }}", "Sampai jumpa lagi!");
    const r = await renderer(
      await templates(dir.path, { "receipt.b.liquid": COUPON, "receipt.c.liquid": bigger }),
    );
    assertEquals(r.refusedVariants.size, 0);
  });
  await t.step("the selftest FAILs a refused variant with its code and what to do", async () => {
    await using dir = await withTmpDir();
    const folder = await templates(dir.path, {
      "receipt.x.liquid": BASE.replace("{{ label.total }}", "JUMLAH"),
    });
    const c = stationsConfig(dir.path, [{
      id: "cashier",
      roles: ["cashier"],
      transport: "virtual",
      path: "out",
    }], {
      render: { templates_path: folder },
    });
    const { runChecks } = await import("../src/site/selftest.ts");
    const checks = await runChecks({
      config: c,
      configError: null,
      configPath: "(test)",
      json: true,
      print: false,
    });
    const check = checks.find((k) => k.code === "TEMPLATE_VARIANT_REFUSED");
    assert(check, JSON.stringify(checks.map((k) => k.code)));
    assertEquals(check.result, "FAIL");
    assertMatch(check.detail, /receipt\.x\.liquid/);
  });
});

Deno.test("paper_mm, counted as the receipt is encoded, is what the bytes read back say, and grows with every line", async () => {
  for (const brand of ["epson", "hrpt", "xprinter", "generic"]) {
    for (const width of [32, 48]) {
      const r = await Renderer.create(pinnedOptions(brand, width, "t"));
      for (const tpl of ["receipt", "reprint", "kitchen", "test"]) {
        const out = await r.render(receiptJob(tpl));
        const read = paperLengthMm(out.bytes, r.paper);
        assert(
          Math.abs(out.paperMm - read) <= 2,
          `${brand} ${width} ${tpl}: counted ${out.paperMm} mm, read back ${read} mm`,
        );
      }
    }
  }
  const r = await Renderer.create(pinnedOptions("epson", 48, "t"));
  let last = 0;
  for (const n of [1, 2, 5, 10, 40]) {
    const items = Array.from({ length: n }, (_, i) => ({ name: `Item ${i}`, qty: 1, price: 1000 }));
    const out = await r.render(receiptJob("receipt", { ...TYPICAL_RECEIPT, items }));
    const mm = out.paperMm;
    assert(mm > last, `${n} items: ${mm} mm after ${last}`);
    last = mm;
  }
  // a typical 80 mm receipt is tens of centimetres, not metres
  assert(last > 100 && last < 1000, `${last} mm`);
});

Deno.test("through the reference server: the arm prints, COMPLETED carries the figures, a reprint keeps its original's arm, /metrics sums paper", async () => {
  await using dir = await withTmpDir();
  await using server = withServer();
  using sim = PrinterSim.start();
  const folder = await templates(dir.path, { "receipt.b.liquid": COUPON });
  const c = stationsConfig(dir.path, [{
    id: "cashier",
    roles: ["cashier"],
    transport: "tcp",
    host: "127.0.0.1",
    port: sim.port,
    brand: "EPSON",
    paper_width: 48,
  }], {
    server: { base_url: server.url },
    render: { templates_path: folder },
    local_api: { enabled: true, port: 0, token: "t" },
  });
  await using agent = await startAgent(c, { keepLogging: true });
  const original = await server.createJob({
    job_type: "receipt",
    receipt_data: { ...TYPICAL_RECEIPT, bill_number: "EXP-1" },
    experiment: { id: "coupon-dec", variant: "b" },
  });
  const control = await server.createJob({
    job_type: "receipt",
    receipt_data: { ...TYPICAL_RECEIPT, bill_number: "EXP-2" },
    experiment: { id: "coupon-dec", variant: "control" },
  });
  const done = async (id: unknown) => {
    await waitFor(async () => (await server.getJob(id)).status === "COMPLETED", `${id} COMPLETED`);
    return (await server.reports(id)).find((r) => r.status === "COMPLETED")!.body;
  };
  const a = await done(original.id), z = await done(control.id);
  assertEquals([a.experiment, a.variant, a.template, a.variant_fallback], [
    "coupon-dec",
    "b",
    "receipt.b",
    false,
  ]);
  assertEquals([z.variant, z.template, z.variant_fallback], ["control", "receipt", true]);
  assertMatch(String(a.template_hash), /^[0-9a-f]{16}$/);
  assert(Number(a.paper_mm) > Number(z.paper_mm), "the coupon line takes paper");
  assert(Number(a.print_ms) >= 0);
  // the reprint names no experiment: it prints the original's arm, from the journal
  const copy = await server.createJob({
    job_type: "reprint",
    reprint_of: original.id,
    receipt_data: { ...TYPICAL_RECEIPT, bill_number: "EXP-1" },
  });
  const r = await done(copy.id);
  assertEquals([r.variant, r.template], ["b", "receipt.b"]);
  const printed = sim.jobs.map((j) => readEscPos(j.bytes).lines.join("\n"));
  assertEquals(printed.filter((p) => p.includes("KUPON 10%")).length, 2, "original and its copy");
  const metrics = await (await fetch(`${localApiUrl(agent)}metrics`)).text();
  assertMatch(metrics, /print_agent_paper_mm_total\{template="receipt\.b",variant="b"\} \d+/);
  assertMatch(metrics, /print_agent_paper_mm_total\{template="receipt",variant="control"\} \d+/);
});

Deno.test("a refused variant is said once at start, whatever the number of printers, and the agent runs", async () => {
  await using dir = await withTmpDir();
  await using server = withServer();
  const logs = new LogCapture();
  await logs.install();
  const folder = await templates(dir.path, {
    "receipt.x.liquid": BASE.replace("{{ label.total }}", "JUMLAH"),
  });
  const c = stationsConfig(dir.path, [
    { id: "cashier", roles: ["cashier"], transport: "virtual", path: "a" },
    { id: "kitchen", roles: ["kitchen"], transport: "virtual", path: "b" },
  ], { server: { base_url: server.url }, render: { templates_path: folder } });
  await using _agent = await startAgent(c, { keepLogging: true });
  const said = logs.lines.filter((l) => l.code === "TEMPLATE_ERROR");
  assertEquals(said.length, 1, JSON.stringify(said));
  assertMatch(said[0].msg, /Refused, never printed .*receipt\.x\.liquid/);
});
