/**
 * The preview as an image: what the paper says, in a monospace font, as SVG (for the virtual
 * printer, the local API and support tickets).
 * @module
 */

/** Escapes text for HTML and XML. */
export const escapeXml = (s: string): string =>
  s.replace(
    /[&<>"']/g,
    (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!,
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
