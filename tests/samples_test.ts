/**
 * The docs a technician reads about profiles are made from the profiles: the sample pictures, the
 * capability table with its sources and the profile schema must be what `deno task samples` makes
 * now. A profile changed without the docs fails here.
 */
import { assert, assertEquals } from "./helpers/assert.ts";
import { samples } from "../src/samples.ts";
import { builtinProfiles } from "../src/render/profile.ts";
import { scanLuminance } from "./helpers/scan.ts";

const root = new URL("../", import.meta.url);

Deno.test("docs/printing.md, docs/samples/ and docs/profile.schema.json are current", async () => {
  const files = await samples();
  for (const p of builtinProfiles()) assert(files.has(`docs/samples/${p.id}.svg`), p.id);
  for (const [path, content] of files) {
    const now = await Deno.readTextFile(new URL(path, root)).catch(() => "(missing)");
    assertEquals(now, content, `${path} is out of date: run deno task samples`);
  }
  const doc = files.get("docs/printing.md")!;
  for (const p of builtinProfiles()) {
    for (const [k, v] of Object.entries(p.capabilities)) {
      assert(doc.replace(/\s+/g, " ").includes(`\`${k}\`: ${v.source}`.replace(/\s+/g, " ")));
    }
  }
});

Deno.test("every profile file validates against the published schema's required keys", async () => {
  const schema = JSON.parse(await Deno.readTextFile(new URL("docs/profile.schema.json", root)));
  for (const p of builtinProfiles()) {
    const raw = JSON.parse(await Deno.readTextFile(new URL(`profiles/${p.id}.json`, root)));
    for (const k of schema.required as string[]) assert(k in raw, `${p.id} lacks ${k}`);
    const caps = schema.properties.capabilities;
    for (const k of caps.required as string[]) {
      assert(raw.capabilities[k]?.source, `${p.id}: capabilities.${k} names its source`);
    }
  }
});

Deno.test("the sample pictures carry QR codes that scan (the picture is the paper)", async () => {
  // the SVG's QR path, drawn back to dots: the same rectangles a browser fills
  for (const p of builtinProfiles()) {
    const svg = await Deno.readTextFile(new URL(`docs/samples/${p.id}.svg`, root));
    const m = svg.match(/<path data-qr="([^"]*)" d="([^"]+)"\/>/) ??
      svg.match(/<path d="([^"]+)"\/>/);
    assert(m, `${p.id}: a QR in the picture`);
    const d = m.length === 3 ? m[2] : m[1];
    const rects = [...d.matchAll(/M(\d+) (\d+)h(\d+)v(\d+)h-\d+z/g)].map((x) =>
      x.slice(1).map(Number)
    );
    const x0 = Math.min(...rects.map((r) => r[0])) - 30,
      y0 = Math.min(...rects.map((r) => r[1])) - 30;
    const w = Math.max(...rects.map((r) => r[0] + r[2])) - x0 + 30;
    const h = Math.max(...rects.map((r) => r[1] + r[3])) - y0 + 30;
    const lum = new Uint8ClampedArray(w * h).fill(255);
    for (const [x, y, rw, rh] of rects) {
      for (let yy = y; yy < y + rh; yy++) {
        lum.fill(0, (yy - y0) * w + x - x0, (yy - y0) * w + x - x0 + rw);
      }
    }
    const got = scanLuminance(lum, w, h);
    assertEquals(got?.kind, "qr", p.id);
    assert(got!.text.startsWith("000201"), `${p.id}: the QRIS payload`);
  }
});
