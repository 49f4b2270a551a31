/**
 * The preview as an image (for the virtual printer, the local API, the status page and support
 * tickets): {@link paperSvg} draws the paper read from the printer's own bytes (paper.ts);
 * {@link previewSvg} shows a text preview alone, where no bytes were kept.
 * @module
 */
import type { Bitmap } from "./codes.ts";
import type { Paper } from "./paper.ts";

const XML_ESCAPES: Record<string, string> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&#39;",
};

/**
 * Escapes text for HTML and XML. Characters XML 1.0 does not allow at all (C0 controls but tab,
 * line feed and return; U+FFFE, U+FFFF; lone surrogates) cannot be escaped: a control byte of a
 * job is drawn as its control picture (U+2400 + n: `␁`), the others as U+FFFD, so a picture of
 * any bytes stays a valid document.
 */
export const escapeXml = (s: string): string =>
  s.replace(
    // deno-lint-ignore no-control-regex -- control characters are what it finds
    /[&<>"'\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g,
    (c) => {
      const named = XML_ESCAPES[c];
      if (named) return named;
      const n = c.charCodeAt(0);
      return n < 0x20 ? String.fromCharCode(0x2400 + n) : "\ufffd";
    },
  );

/** The preview as an SVG image (what the paper says, in a monospace font). */
export function previewSvg(text: string): string {
  const lines = text.split("\n");
  const cols = Math.max(32, ...lines.map((l) => [...l].length));
  const w = Math.ceil(cols * 8.4) + 24, lh = 17, h = lines.length * lh + 24;
  const rows = lines.map((l, i) =>
    `<text x="12" y="${24 + i * lh}" xml:space="preserve">${escapeXml(l)}</text>`
  ).join("");
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}" viewBox="0 0 ${w} ${h}">` +
    `<rect width="100%" height="100%" fill="#fff"/><g font-family="DejaVu Sans Mono, Consolas, monospace" font-size="14" fill="#111">${rows}</g></svg>`;
}

/** Dots of paper margin around the picture. */
const MARGIN = 16;
/** A character cell of font A: 12 × 24 dots; a line is 30 dots (ESC 2 default spacing). */
const CELL_W = 12, CELL_H = 24, LINE_GAP = 6;

/**
 * A bitmap as one SVG path: each row's dark runs, with identical rows below merged into one
 * rectangle (a QR module row or a barcode is a handful of rectangles, not thousands of dots).
 */
function bitmapPath(bm: Bitmap, x0: number, y0: number): string {
  const runsOf = (y: number) => {
    const r: number[] = [];
    for (let x = 0; x < bm.width; x++) {
      if (!bm.dark[y * bm.width + x]) continue;
      const start = x;
      while (x < bm.width && bm.dark[y * bm.width + x]) x++;
      r.push(start, x - start);
    }
    return r;
  };
  let d = "";
  for (let y = 0; y < bm.height;) {
    const r = runsOf(y);
    const key = r.join(",");
    let k = 1;
    while (y + k < bm.height && runsOf(y + k).join(",") === key) k++;
    for (let j = 0; j < r.length; j += 2) {
      d += `M${x0 + r[j]} ${y0 + y}h${r[j + 1]}v${k}h${-r[j + 1]}z`;
    }
    y += k;
  }
  return d;
}

/**
 * The paper as an SVG image, 1 px per printer dot: text in its style and place, QR codes and
 * barcodes as the real symbols, the cut and the drawer pulse marked.
 */
export function paperSvg(paper: Paper): string {
  const out: string[] = [];
  let y = MARGIN;
  const left = MARGIN;
  const xFor = (align: number, width: number) =>
    left +
    (align === 1 ? Math.floor((paper.width - width) / 2) : align === 2 ? paper.width - width : 0);
  for (const row of paper.rows) {
    switch (row.kind) {
      case "text": {
        const h = Math.max(1, ...row.runs.map((r) => r.h));
        const width = row.runs.reduce((s, r) => s + [...r.text].length * CELL_W * r.w, 0);
        let x = xFor(row.align, width);
        const base = y + CELL_H * h - 5; // characters stand on the line's bottom
        for (const r of row.runs) {
          const n = [...r.text].length, w = n * CELL_W * r.w, top = base - CELL_H * r.h + 5;
          if (r.invert) {
            out.push(`<rect x="${x}" y="${top}" width="${w}" height="${CELL_H * r.h}"/>`);
          }
          // each word placed at its own column: spaces never depend on the viewer's font
          const chars = [...r.text];
          for (let k = 0; k < n;) {
            if (chars[k] === " ") {
              k++;
              continue;
            }
            let e = k;
            while (e < n && chars[e] !== " ") e++;
            out.push(
              `<text x="${x + k * CELL_W * r.w}" y="${base}" font-size="${20 * r.h}" ` +
                `textLength="${(e - k) * CELL_W * r.w}" lengthAdjust="spacingAndGlyphs"${
                  r.bold ? ' font-weight="bold"' : ""
                }${r.invert ? ' fill="#fff"' : ""}>${escapeXml(chars.slice(k, e).join(""))}</text>`,
            );
            k = e;
          }
          if (r.underline && !r.invert) {
            out.push(`<rect x="${x}" y="${base + 2}" width="${w}" height="${2 * r.h}"/>`);
          }
          x += w;
        }
        y += CELL_H * h + LINE_GAP;
        break;
      }
      case "image": {
        const x = xFor(row.align, row.bitmap.width);
        const label = row.data === undefined ? "" : ` data-${row.what}="${escapeXml(row.data)}"`;
        out.push(`<path${label} d="${bitmapPath(row.bitmap, x, y)}"/>`);
        y += row.bitmap.height;
        break;
      }
      case "feed":
        y += row.dots;
        break;
      case "cut":
        out.push(
          `<line x1="0" x2="${paper.width + 2 * MARGIN}" y1="${y + 8}" y2="${y + 8}" ` +
            `stroke="#888" stroke-dasharray="8 6"/>` +
            `<text x="${paper.width + MARGIN}" y="${y + 4}" font-size="12" fill="#888" ` +
            `text-anchor="end">${row.partial ? "partial cut" : "cut"}</text>`,
        );
        y += 16;
        break;
      case "pulse":
        out.push(
          `<text x="${paper.width + MARGIN}" y="${y + 12}" font-size="12" fill="#888" ` +
            `text-anchor="end">cash drawer opens</text>`,
        );
        y += 16;
        break;
      case "note":
        out.push(
          `<text x="${left}" y="${y + 14}" font-size="12" fill="#b00">${
            escapeXml(row.text)
          }</text>`,
        );
        y += 20;
        break;
    }
  }
  const w = paper.width + 2 * MARGIN, h = y + MARGIN;
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}" viewBox="0 0 ${w} ${h}">` +
    `<rect width="100%" height="100%" fill="#fff"/>` +
    `<g font-family="DejaVu Sans Mono, Consolas, Menlo, monospace" fill="#111">` +
    out.join("") + `</g></svg>`;
}
