/**
 * `deno task bench:render`: rendering a typical receipt (~45 printed lines, 5 items, QR and
 * barcode) from job to ESC/POS bytes, per profile (native QR or raster QR), and reading the bytes
 * back into the paper picture (the status page's preview).
 */
import { pinnedRenderer, receiptJob, TYPICAL_RECEIPT } from "../helpers/receipts.ts";

const job = receiptJob("receipt", TYPICAL_RECEIPT);
const big = receiptJob("receipt", {
  ...TYPICAL_RECEIPT,
  items: Array.from({ length: 500 }, (_, i) => ({ name: `Item number ${i}`, qty: 1, price: 1000 })),
});
// epson sends its QR natively (GS ( k); hrpt and generic draw it as a raster image (GS v 0)
for (const brand of ["epson", "hrpt", "generic"]) {
  const r = await pinnedRenderer(brand, 48);
  Deno.bench(`render typical receipt (${brand}, 48 columns)`, {
    group: "render",
    baseline: brand === "epson",
  }, async () => {
    await r.render(job);
  });
}
const r = await pinnedRenderer("epson", 48);
Deno.bench("render 500-item receipt (epson, 48 columns)", async () => {
  await r.render(big);
});

// five item names no code page holds: each drawn as a line of dots (fonts loaded before timing)
const drawn = receiptJob("receipt", {
  ...TYPICAL_RECEIPT,
  items: ["ก๋วยเตี๋ยวน้ำใส", "បាយឆាសាច់មាន់", "شاي بالنعناع", "Phở bò tái đặc biệt", "Kopi susu"]
    .map((name) => ({ name, qty: 1, price: 1000 })),
});
await r.render(drawn);
Deno.bench(
  "render typical receipt with 4 drawn lines: Thai, Khmer, Arabic, Vietnamese (epson)",
  async () => {
    await r.render(drawn);
  },
);

const epson = await pinnedRenderer("epson", 48);
const bytes = (await epson.render(job)).bytes;
Deno.bench("read a typical receipt's bytes back and draw the SVG picture", async () => {
  const { readPaper } = await import("../../src/render/paper.ts");
  const { paperSvg } = await import("../../src/render/preview_svg.ts");
  paperSvg(readPaper(bytes, epson.paper));
});
