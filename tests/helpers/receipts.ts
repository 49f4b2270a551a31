/** Receipt data and a pinned renderer shared by the rendering tests and benches. */
import { pinnedOptions } from "../../src/samples.ts";
import { Renderer, type RendererOptions } from "../../src/render/render.ts";
import type { Job } from "../../src/core/job.ts";

/** A typical cashier receipt (about 30 printed lines). */
export const TYPICAL_RECEIPT = {
  store_name: "Warung Kopi Nusantara",
  store_address: "Jl. Merdeka No. 17, Bandung",
  store_phone: "022-555-0147",
  queue_number: "A001",
  bill_number: "INV-2026-0001",
  table: "7",
  cashier: "Siti",
  created_at: "2026-01-23T09:07:28Z",
  items: [
    { name: "Kopi susu gula aren", qty: 2, price: 22000 },
    {
      name: "Nasi goreng kampung spesial dengan telur mata sapi",
      qty: 1,
      price: 35000,
      notes: "tidak pedas",
      modifiers: ["extra kerupuk"],
    },
    { name: "Pisang goreng keju", qty: 1, price: 15000, discount: 1500 },
    { name: "Es teh manis", qty: 3, total: 15000 },
    { name: "Crème brûlée", qty: 1, price: 28000 },
  ],
  // the item discount is in the subtotal: 44000 + 35000 + (15000 - 1500) + 15000 + 28000
  subtotal: 135500,
  discounts: [{ label: "Member 5%", amount: 6775 }],
  service_charge: 6500,
  // 10% of 135500 - 6775 + 6500
  taxes: [{ label: "PB1 10%", amount: 13523 }],
  total: 148748,
  payments: [{ method: "QRIS", amount: 100000 }, { method: "Tunai", amount: 50000 }],
  change: 1252,
  qr:
    "00020101021126570011ID.DANA.WWW011893600915302259148102090225914810303UMI5204549953033605802ID",
  barcode: "INV-2026-0001",
  footer_lines: ["Wi-Fi: kopi-nusantara", "IG @kopinusantara"],
  note: "Terima kasih sudah mampir!",
};

/** Renderer options for tests: EPSON, 48 columns, id-ID, UTC, built-in profiles and templates. */
export function rendererOptions(over: Partial<RendererOptions> = {}): RendererOptions {
  return {
    brand: "EPSON",
    paperWidth: 48,
    profilesPath: null,
    templatesPath: null,
    locale: "id-ID",
    currency: "IDR",
    timeZone: "UTC",
    agent: { version: "t", terminal_id: "P", printer_role: "c", location_id: null },
    ...over,
  };
}

/** A renderer with a pinned clock, version and time zone, so output is byte-stable. */
export function pinnedRenderer(brand: string, paperWidth: number): Promise<Renderer> {
  return Renderer.create(pinnedOptions(brand, paperWidth, "0.0.0-test"));
}

/** A job around receipt data. */
export function receiptJob(
  job_type: string,
  receipt_data: Record<string, unknown> | null = TYPICAL_RECEIPT,
  over: Partial<Job> = {},
): Job {
  return {
    id: 39,
    uuid: "8c1e1a52-2a0e-4c43-9a37-6b1f1d2c9e01",
    job_type,
    priority: 0,
    created_at: "2026-01-23T09:07:28Z",
    receipt_data,
    reprint_of: job_type === "reprint" ? 38 : null,
    ...over,
  };
}
