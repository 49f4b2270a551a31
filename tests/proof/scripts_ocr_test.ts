/**
 * The drawn lines read back by OCR, as an outside check would: each script's receipt line and
 * kitchen ticket (double size) is rendered to bytes, read back from the bytes into a picture
 * (paper.ts), and given to Tesseract (Debian's tesseract-ocr with its Thai, Khmer, Arabic,
 * Hebrew, Vietnamese and Simplified Chinese data: .ci/run installs them). What it reads must match the
 * text closely — a missing mark, a wrong order or a broken join would not.
 */
import { assert } from "../helpers/assert.ts";
import { pinnedRenderer, receiptJob } from "../helpers/receipts.ts";
import { readPaper } from "../../src/render/paper.ts";
import type { Bitmap } from "../../src/render/codes.ts";
import { encode } from "fast-png";
import { withTmpDir } from "../helpers/env.ts";
import { join } from "node:path";

const CASES: { script: string; lang: string; text: string }[] = [
  { script: "thai", lang: "tha", text: "ข้าวผัดกุ้ง ก๋วยเตี๋ยวน้ำใส" },
  { script: "khmer", lang: "khm", text: "បាយឆាសាច់មាន់" },
  { script: "arabic", lang: "ara", text: "شاي بالنعناع" },
  { script: "hebrew", lang: "heb", text: "סלט ירקות טרי" },
  { script: "vietnamese", lang: "vie", text: "Phở bò tái đặc biệt" },
  { script: "chinese", lang: "chi_sim", text: "宫保鸡丁 米饭" },
];

/** Levenshtein similarity of two strings (1: equal), by code point, spaces ignored. */
function similarity(a: string, b: string): number {
  const x = [...a.replace(/\s/g, "")], y = [...b.replace(/\s/g, "")];
  let prev = Array.from({ length: y.length + 1 }, (_, j) => j);
  for (let i = 1; i <= x.length; i++) {
    const cur = [i];
    for (let j = 1; j <= y.length; j++) {
      cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (x[i - 1] === y[j - 1] ? 0 : 1));
    }
    prev = cur;
  }
  return 1 - prev[y.length] / Math.max(x.length, y.length, 1);
}

/** Tesseract's reading of a bitmap (scaled 2×, with a white margin), one line. */
async function ocr(b: Bitmap, lang: string, dir: string): Promise<string> {
  const S = 2, M = 24, W = b.width * S + 2 * M, H = b.height * S + 2 * M;
  const data = new Uint8Array(W * H).fill(255);
  for (let y = 0; y < b.height * S; y++) {
    for (let x = 0; x < b.width * S; x++) {
      if (b.dark[Math.floor(y / S) * b.width + Math.floor(x / S)]) data[(y + M) * W + x + M] = 0;
    }
  }
  const file = join(dir, `${lang}.png`);
  await Deno.writeFile(file, encode({ width: W, height: H, data, channels: 1 }));
  const r = await new Deno.Command("tesseract", {
    args: [file, "-", "-l", lang, "--psm", "7"],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert(r.success, `tesseract: ${new TextDecoder().decode(r.stderr)}`);
  return new TextDecoder().decode(r.stdout).trim();
}

/** The drawn lines (pictures made of whole 30- or 54-dot lines) of a job, read back from its bytes. */
async function drawnLines(kind: "receipt" | "kitchen", text: string): Promise<Bitmap[]> {
  const r = await pinnedRenderer("epson", 48);
  const job = receiptJob(kind, {
    bill_number: "INV-7",
    queue_number: "A1",
    items: [{ name: text, qty: 1, price: 45000 }],
    subtotal: 45000,
    total: 45000,
  });
  const out = await r.render(job);
  return readPaper(out.bytes, r.paper).rows.flatMap((x) =>
    x.kind === "image" && x.what === "image" ? [x.bitmap] : []
  );
}

/** The part of a bitmap with the text (columns holding dark dots, plus a margin). */
function crop(b: Bitmap, from: number, to: number): Bitmap {
  const w = to - from;
  const dark = new Uint8Array(w * b.height);
  for (let y = 0; y < b.height; y++) {
    dark.set(b.dark.subarray(y * b.width + from, y * b.width + to), y * w);
  }
  return { width: w, height: b.height, dark };
}

for (const c of CASES) {
  Deno.test(`OCR reads back the drawn ${c.script} on a receipt and on a kitchen ticket`, async () => {
    await using tmp = await withTmpDir();
    for (const kind of ["receipt", "kitchen"] as const) {
      const lines = await drawnLines(kind, c.text);
      assert(lines.length >= 1, `${kind}: a drawn line`);
      const line = lines[0];
      // the item's name only: after the quantity ("1 x " / "1 "), before the price column
      const cols = kind === "kitchen" ? 24 : 48, colDots = line.width / cols;
      const from = (kind === "kitchen" ? 2 : 4) * colDots;
      const to = kind === "kitchen" ? line.width : line.width - 10 * colDots;
      const read = await ocr(crop(line, from, to), c.lang, tmp.path);
      const s = similarity(read, c.text);
      assert(
        s >= 0.75,
        `${kind}: read ${JSON.stringify(read)} for ${JSON.stringify(c.text)} (${s.toFixed(2)})`,
      );
    }
  });
}
