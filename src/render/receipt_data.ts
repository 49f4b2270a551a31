/**
 * The shape of `receipt_data` the built-in templates read. Fields a template prints as text may
 * be strings or numbers; money is a number; anything else is kept for custom templates.
 * A wrong type is a BAD_PAYLOAD with the field named, never a half-printed receipt.
 * @module
 */
import * as z from "zod";

const text = z.union([z.string(), z.number()]).transform(String);
const optText = text.nullish().transform((v) => v ?? "");
const money = z.number().finite();
const optMoney = money.nullish().transform((v) => v ?? null);

const Line = z.looseObject({
  name: text,
  qty: z.number().finite().default(1),
  price: optMoney,
  total: optMoney,
  discount: optMoney,
  notes: optText,
  modifiers: z.array(text).nullish().transform((v) => v ?? []),
  /** On a kitchen ticket: an addition (`new`) or a cancellation (`void`) of an earlier order. */
  status: z.enum(["new", "void"]).nullish().transform((v) => v ?? ""),
});

const Amount = z.looseObject({ label: text, amount: money });
const Payment = z.looseObject({ method: text, amount: money });

/** @internal `receipt_data` as the built-in templates see it. */
export const ReceiptDataSchema = z.looseObject({
  store_name: optText,
  store_address: optText,
  store_phone: optText,
  header_lines: z.array(text).nullish().transform((v) => v ?? []),
  footer_lines: z.array(text).nullish().transform((v) => v ?? []),
  queue_number: optText,
  bill_number: optText,
  table: optText,
  cashier: optText,
  customer: optText,
  order_type: optText,
  note: optText,
  created_at: optText,
  items: z.array(Line).max(10_000).default([]),
  subtotal: optMoney,
  discounts: z.array(Amount).default([]),
  taxes: z.array(Amount).default([]),
  service_charge: optMoney,
  total: optMoney,
  payments: z.array(Payment).default([]),
  change: optMoney,
  qr: optText,
  /** The store's own words above the QR code; by default "scan to pay" only while unpaid. */
  qr_caption: optText,
  /** Whether the bill is paid; when not sent, payments adding up to the total say so. */
  paid: z.boolean().nullish(),
  barcode: optText,
  open_drawer: z.boolean().default(false),
}).transform((d) => ({
  ...d,
  // in cents, so 0.1 + 0.2 pays 0.30
  paid: d.paid ??
    (d.total != null && d.payments.length > 0 &&
      Math.round(d.payments.reduce((sum, p) => sum + p.amount, 0) * 100) >=
        Math.round(d.total * 100)),
}));

/** Validated receipt data. */
export type ReceiptData = ReturnType<typeof ReceiptDataSchema.parse>;

/** Validates `receipt_data`; the error message names each bad field. */
export function parseReceiptData(
  raw: unknown,
): { ok: true; data: ReceiptData } | { ok: false; reason: string } {
  const r = ReceiptDataSchema.safeParse(raw ?? {});
  if (r.success) return { ok: true, data: r.data };
  const reason = r.error.issues.slice(0, 5).map((i) => {
    const path = ["receipt_data", ...i.path].join(".");
    return `${path}: ${i.message}`;
  }).join("; ");
  return { ok: false, reason };
}
