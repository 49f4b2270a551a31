/**
 * `deno task bench:render`: rendering a typical receipt (~45 printed lines, 5 items, QR and
 * barcode) from job to ESC/POS bytes, per profile.
 */
import { pinnedRenderer, receiptJob, TYPICAL_RECEIPT } from "../helpers/receipts.ts";

const job = receiptJob("receipt", TYPICAL_RECEIPT);
const big = receiptJob("receipt", {
  ...TYPICAL_RECEIPT,
  items: Array.from({ length: 500 }, (_, i) => ({ name: `Item number ${i}`, qty: 1, price: 1000 })),
});
for (const brand of ["hrpt", "epson"]) {
  const r = await pinnedRenderer(brand, 48);
  Deno.bench(`render typical receipt (${brand}, 48 columns)`, {
    group: "render",
    baseline: brand === "hrpt",
  }, async () => {
    await r.render(job);
  });
}
const r = await pinnedRenderer("epson", 48);
Deno.bench("render 500-item receipt (epson, 48 columns)", async () => {
  await r.render(big);
});
