/**
 * Byte helpers shared by the HTTP client, the local API and the encoder.
 * @module
 */

/** The parts joined into one array. */
export function concatBytes(parts: Uint8Array[]): Uint8Array<ArrayBuffer> {
  const all = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    all.set(p, at);
    at += p.length;
  }
  return all;
}

/**
 * Reads a body stream to its end, or stops (and cancels it) as soon as it is over `max` bytes:
 * then `null`. A sender never makes us hold more than `max`.
 */
export async function readAtMost(
  body: ReadableStream<Uint8Array>,
  max: number,
): Promise<Uint8Array<ArrayBuffer> | null> {
  const parts: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of body) {
    size += chunk.length;
    if (size > max) return null; // leaving the loop cancels the stream
    parts.push(chunk);
  }
  return concatBytes(parts);
}
