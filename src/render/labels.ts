/**
 * The words a receipt prints around the store's data, one table per language. `render.language`
 * picks one (default: Indonesian for an `id-*` locale, else English), `"id/en"` prints pairs
 * ("Antrian / Queue") where a store serves both, and `render.labels` overrides any entry.
 * @module
 */

/** Every label the built-in templates use. */
export const LABEL_KEYS = [
  "queue",
  "bill",
  "table",
  "order",
  "cashier",
  "customer",
  "date",
  "time",
  "discount",
  "subtotal",
  "service",
  "total",
  "change",
  "note",
  "scan_to_pay",
  "qr_paid",
  "thanks",
  "kitchen",
  "new",
  "void",
  "reprint",
  "copy",
  "reprint_of",
  "backup",
  "backup_from",
] as const;

/** One of {@link LABEL_KEYS}. */
export type LabelKey = typeof LABEL_KEYS[number];

/** The languages with a table. */
export const LANGUAGES = ["id", "en"] as const;

const TABLES: Record<typeof LANGUAGES[number], Record<LabelKey, string>> = {
  en: {
    queue: "Queue",
    bill: "Bill",
    table: "Table",
    order: "Order",
    cashier: "Cashier",
    customer: "Customer",
    date: "Date",
    time: "Time",
    discount: "Discount",
    subtotal: "Subtotal",
    service: "Service",
    total: "TOTAL",
    change: "Change",
    note: "Note",
    scan_to_pay: "Scan to pay (QRIS)",
    // a paid bill's QR is not for paying (a customer could pay twice): no caption unless set
    qr_paid: "",
    thanks: "Thank you",
    kitchen: "KITCHEN",
    new: "NEW",
    void: "VOID",
    reprint: "REPRINT / COPY",
    copy: "COPY",
    reprint_of: "of bill",
    backup: "BACKUP",
    backup_from: "FROM",
  },
  // as Indonesian receipts print them (Kasir, Kembali, Diskon, Antrian, Terima kasih …)
  id: {
    queue: "Antrian",
    bill: "No. Nota",
    table: "Meja",
    order: "Pesanan",
    cashier: "Kasir",
    customer: "Pelanggan",
    date: "Tanggal",
    time: "Waktu",
    discount: "Diskon",
    subtotal: "Subtotal",
    service: "Biaya layanan",
    total: "TOTAL",
    change: "Kembali",
    note: "Catatan",
    scan_to_pay: "Scan untuk bayar (QRIS)",
    qr_paid: "",
    thanks: "Terima kasih",
    kitchen: "DAPUR",
    new: "BARU",
    void: "BATAL",
    reprint: "CETAK ULANG",
    copy: "SALINAN",
    reprint_of: "dari nota",
    backup: "CADANGAN",
    backup_from: "DARI",
  },
};

/**
 * The labels for a language (`id`, `en`, or a pair such as `id/en`; `null` follows the locale),
 * with the store's own words over them.
 */
export function labelsFor(
  language: string | null,
  locale: string,
  overrides: Partial<Record<LabelKey, string>> = {},
): Record<LabelKey, string> {
  const lang = language ?? (/^id\b/i.test(locale) ? "id" : "en");
  const [first, second] = lang.split("/") as (keyof typeof TABLES)[];
  const out = {} as Record<LabelKey, string>;
  for (const k of LABEL_KEYS) {
    const a = TABLES[first][k];
    const b = second ? TABLES[second][k] : a;
    out[k] = overrides[k] ?? (a === b ? a : `${a} / ${b}`);
  }
  return out;
}
