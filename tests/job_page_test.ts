/**
 * Reading a job list as it streams: an over-size job fails alone wherever it stands in the page,
 * whatever its size against `limits.list_bytes`, and never hides the jobs behind it (found by the
 * store simulator, seeds 5036 and 8480: a job larger than the answer's budget, listed first for
 * ever because the server refused its FAILED, left every later job PENDING).
 */
import { assert, assertEquals } from "./helpers/assert.ts";
import { readJobPage, UnreadableJob } from "../src/server/job_page.ts";

const JOB_BYTES = 4096;
const MAX_BYTES = 16 * 1024;

function stream(text: string, chunk: number): ReadableStream<Uint8Array> {
  const bytes = new TextEncoder().encode(text);
  let at = 0;
  return new ReadableStream({
    pull(c) {
      if (at >= bytes.length) return c.close();
      c.enqueue(bytes.slice(at, at + chunk));
      at += chunk;
    },
  });
}

const good = (id: number) => ({ id, uuid: `u-${id}`, job_type: "receipt", receipt_data: {} });
const huge = (id: number, size: number) => ({
  id,
  uuid: `u-${id}`,
  job_type: "receipt",
  receipt_data: { notes: "x".repeat(size) },
});

Deno.test("an over-size job at any place in a page, of any size up to the answer's budget and past it, fails alone; the others are read", async () => {
  for (
    const size of [
      JOB_BYTES + 1,
      2 * JOB_BYTES,
      MAX_BYTES - 100,
      MAX_BYTES + 100,
      3 * MAX_BYTES / 2,
    ]
  ) {
    for (let at = 0; at < 5; at++) {
      for (const chunk of [100, 4096, 1 << 20]) {
        const page = [1, 2, 3, 4, 5].map((id) => id === at + 1 ? huge(id, size) : good(id));
        for (const shape of ["list", "drf"] as const) {
          const text = JSON.stringify(
            shape === "list" ? page : { count: 5, next: null, results: page },
          );
          const read = await readJobPage(stream(text, chunk), {
            jobBytes: JOB_BYTES,
            maxBytes: MAX_BYTES,
          });
          const what = `${shape}, a ${size}-byte job at ${at}, ${chunk}-byte chunks`;
          assertEquals(read.items.length, 5, what);
          read.items.forEach((item, i) => {
            if (i === at) {
              assert(
                item instanceof UnreadableJob,
                `${what}: the huge one fails alone: ${JSON.stringify(item).slice(0, 80)}`,
              );
            } else assertEquals(item, good(i + 1), what);
          });
        }
      }
    }
  }
});

Deno.test("reading stops at the answer's budget of kept jobs, and at twice it in all: over-size bytes are bounded too", async () => {
  // good jobs alone past the budget: cut where the budget ends, the jobs read so far kept
  const many = JSON.stringify(Array.from({ length: 600 }, (_, i) => good(i + 1)));
  const a = await readJobPage(stream(many, 1000), { jobBytes: JOB_BYTES, maxBytes: MAX_BYTES });
  assert(a.items.length > 0 && a.items.length < 600, `${a.items.length} jobs read`);
  assert(a.bytes <= MAX_BYTES, `${a.bytes} bytes read`);
  // a job far past twice the budget: reading stops there, bounded, it fails alone
  const page = JSON.stringify([good(1), huge(2, 10 * MAX_BYTES), good(3)]);
  const b = await readJobPage(stream(page, 1000), { jobBytes: JOB_BYTES, maxBytes: MAX_BYTES });
  assert(b.bytes <= 2 * MAX_BYTES, `${b.bytes} bytes read`);
  assertEquals(b.items[0], good(1));
  assertEquals(b.items.length, 2, "the huge job is reported; the reading stopped inside it");
});
