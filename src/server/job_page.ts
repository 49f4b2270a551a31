/**
 * Reads a job list answer item by item, as it streams in, so one bad job fails alone: a job with
 * a bare `NaN` (Python's `json.dumps` writes them), a job larger than `limits.job_bytes`, or a job
 * that is not JSON at all becomes an {@link UnreadableJob} with what could be read of its id and
 * uuid, and every other job on the page is read as usual. Memory is bounded by the jobs kept, not
 * by the answer's size.
 *
 * The page is a JSON list of jobs, or a Django REST framework page `{"results": [...], "next": …}`.
 * @module
 */
import { concatBytes } from "../bytes.ts";

/** A list item that could not be read as a job; validation reports it by its id. */
export class UnreadableJob {
  /** The job's id, if it could be read. */
  readonly id: number | string | null;
  /** The job's uuid, if it could be read. */
  readonly uuid: string | null;
  /** The stable error code. */
  readonly code: "BAD_PAYLOAD" | "JOB_TOO_LARGE";
  /** What is wrong with it, naming the field. */
  readonly reason: string;
  /** Creates a UnreadableJob. */
  constructor(
    id: number | string | null,
    uuid: string | null,
    code: "BAD_PAYLOAD" | "JOB_TOO_LARGE",
    reason: string,
  ) {
    this.id = id;
    this.uuid = uuid;
    this.code = code;
    this.reason = reason;
  }
}

/** A page as read: its items (parsed, or unreadable) and the link to the next page. */
export interface ReadPage {
  /** The page's job items, unvalidated. */
  items: unknown[];
  /** The next page's URL, if any. */
  next: string | null;
  /** Bytes of the answer. */
  bytes: number;
}

/** The answer is not a job list at all (say what it was). */
export class NotAJobPage extends Error {
  /** The answer's first bytes, to show what it was. */
  readonly head: string;
  /** The answer is not JSON at all (HTML, text). */
  readonly notJson: boolean;
  /** Creates a NotAJobPage. */
  constructor(message: string, head: string, notJson: boolean) {
    super(message);
    this.name = "NotAJobPage";
    this.head = head;
    this.notJson = notJson;
  }
}

const QUOTE = 0x22, BACKSLASH = 0x5c, COMMA = 0x2c, COLON = 0x3a;
const OPEN_A = 0x5b, CLOSE_A = 0x5d, OPEN_O = 0x7b, CLOSE_O = 0x7d;
/** Bytes of an over-size job kept to find its id and uuid. */
const HEAD_BYTES = 4096;
/** Bytes kept of a page's other values (`next`, `count`). */
const META_BYTES = 8192;

function isSpace(b: number) {
  return b === 0x20 || b === 0x0a || b === 0x0d || b === 0x09;
}

/**
 * Reads a job list answer from `body`: each job at most `jobBytes` of JSON, the answer at most
 * `maxBytes` of kept jobs (beyond it, reading stops and the jobs read so far are returned). The
 * bytes of a job over `jobBytes` are skipped, not kept, and count only against a second
 * `maxBytes`: an over-size job the server goes on listing (its FAILED refused) must not hide the
 * jobs behind it for ever, as it did when its bytes alone filled the answer's budget.
 */
export async function readJobPage(
  body: ReadableStream<Uint8Array> | null,
  o: { jobBytes: number; maxBytes: number },
): Promise<ReadPage> {
  const s = new PageScanner(o.jobBytes);
  let total = 0;
  if (body) {
    read: for await (const chunk of body) {
      for (let at = 0; at < chunk.length;) {
        // never past the budget of kept bytes, nor past twice it in all
        const room = Math.min(o.maxBytes - (total - s.skipped), 2 * o.maxBytes - total);
        if (room <= 0) {
          s.cut = true;
          break read; // leaving the loop cancels the stream
        }
        const n = Math.min(chunk.length - at, room);
        s.push(chunk.subarray(at, at + n));
        total += n;
        at += n;
      }
    }
  }
  return s.finish(total);
}

/** Reads a whole answer held in memory (tests, the reference tools). */
export function readJobPageText(text: string, jobBytes: number): ReadPage {
  const s = new PageScanner(jobBytes);
  const bytes = new TextEncoder().encode(text);
  s.push(bytes);
  return s.finish(bytes.length);
}

/** The byte-level scanner behind {@link readJobPage}. */
class PageScanner {
  #jobBytes: number;
  #depth = 0;
  #inStr = false;
  #esc = false;
  /** "list" (top-level array) or "page" (top-level object); null before the first byte. */
  #top: "list" | "page" | null = null;
  #itemDepth = -1;
  /** The current item's bytes (capped), its size, and whether it is a container. */
  #item: Uint8Array[] | null = null;
  #itemSize = 0;
  #itemScalar = false;
  // object mode: the key being read at depth 1, and the value of a non-results key
  #key: Uint8Array[] | null = null;
  #lastKey = "";
  #expectKey = false;
  #meta: Uint8Array[] | null = null;
  #metaSize = 0;
  #metaKey = "";
  readonly items: unknown[] = [];
  readonly others = new Map<string, string>();
  #sawResults = false;
  #first: number | null = null;
  #head = "";
  cut = false;
  /** Bytes of over-size jobs passed over, not kept. */
  skipped = 0;

  constructor(jobBytes: number) {
    this.#jobBytes = jobBytes;
  }

  push(chunk: Uint8Array): void {
    if (this.#head.length < 80) {
      this.#head += new TextDecoder().decode(chunk.subarray(0, 80 - this.#head.length));
    }
    let itemFrom = this.#item ? 0 : -1;
    let keyFrom = this.#key ? 0 : -1;
    let metaFrom = this.#meta ? 0 : -1;
    for (let i = 0; i < chunk.length; i++) {
      const b = chunk[i];
      if (this.#first === null) {
        if (isSpace(b)) continue;
        this.#first = b;
        if (b === OPEN_A) {
          this.#top = "list";
          this.#itemDepth = 1;
        } else if (b === OPEN_O) {
          this.#top = "page";
          this.#expectKey = true;
        } else return; // not a list: finish() says what it was
        this.#depth = 1;
        continue;
      }
      if (this.#inStr) {
        if (this.#esc) this.#esc = false;
        else if (b === BACKSLASH) this.#esc = true;
        else if (b === QUOTE) {
          this.#inStr = false;
          if (this.#key && keyFrom >= 0) {
            this.#key.push(chunk.subarray(keyFrom, i));
            this.#lastKey = new TextDecoder().decode(concat(this.#key));
            this.#key = null;
            keyFrom = -1;
          }
          if (this.#item && this.#itemScalar && this.#depth === this.#itemDepth) {
            // a string item ends with its quote
            this.#addItem(chunk, itemFrom, i + 1);
            itemFrom = -1;
          }
        }
        continue;
      }
      // an item starts: the first byte of a value in the items array
      if (
        !this.#item && this.#depth === this.#itemDepth && !isSpace(b) && b !== COMMA &&
        b !== CLOSE_A
      ) {
        this.#item = [];
        this.#itemSize = 0;
        this.#itemScalar = b !== OPEN_A && b !== OPEN_O;
        itemFrom = i;
      }
      // a page's key or a value other than results
      if (this.#top === "page" && this.#depth === 1 && !this.#item) {
        if (this.#expectKey && b === QUOTE) {
          this.#key = [];
          keyFrom = i + 1;
          this.#inStr = true;
          this.#expectKey = false;
          continue;
        }
        if (b === COLON) continue;
        if (b === COMMA) {
          if (this.#meta) {
            this.#endMeta(chunk, metaFrom, i);
            metaFrom = -1;
          }
          this.#expectKey = true;
          continue;
        }
        if (b === CLOSE_O) {
          if (this.#meta) {
            this.#endMeta(chunk, metaFrom, i);
            metaFrom = -1;
          }
          this.#depth = 0;
          continue;
        }
        if (!isSpace(b) && !this.#meta) {
          if (this.#lastKey === "results" && b === OPEN_A) {
            this.#sawResults = true;
            this.#itemDepth = 2;
            this.#depth = 2;
            continue;
          }
          this.#meta = [];
          this.#metaSize = 0;
          this.#metaKey = this.#lastKey;
          metaFrom = i;
        }
      }
      if (b === QUOTE) {
        this.#inStr = true;
        continue;
      }
      if (b === OPEN_A || b === OPEN_O) this.#depth++;
      else if (b === CLOSE_A || b === CLOSE_O) {
        if (this.#item && this.#itemScalar && this.#depth === this.#itemDepth) {
          this.#addItem(chunk, itemFrom, i); // a number, true, false or null before the ]
          itemFrom = -1;
        }
        this.#depth--;
        if (this.#item && !this.#itemScalar && this.#depth === this.#itemDepth) {
          this.#addItem(chunk, itemFrom, i + 1);
          itemFrom = -1;
        }
        if (this.#top === "page" && this.#depth === 1 && this.#itemDepth === 2) {
          this.#itemDepth = -1; // the results array ended
        }
      } else if (
        b === COMMA && this.#item && this.#itemScalar && this.#depth === this.#itemDepth
      ) {
        this.#addItem(chunk, itemFrom, i);
        itemFrom = -1;
      }
    }
    if (this.#item && itemFrom >= 0) this.#keep(chunk.subarray(itemFrom));
    if (this.#key && keyFrom >= 0) this.#key.push(chunk.subarray(keyFrom));
    if (this.#meta && metaFrom >= 0) this.#keepMeta(chunk.subarray(metaFrom));
  }

  #keep(part: Uint8Array) {
    const room = Math.max(0, this.#jobBytes + 1 - this.#itemSize);
    if (room > 0) this.#item!.push(part.subarray(0, room).slice());
    this.#itemSize += part.length;
    this.skipped += Math.max(0, part.length - room);
  }

  #keepMeta(part: Uint8Array) {
    const room = Math.max(0, META_BYTES - this.#metaSize);
    if (room > 0) this.#meta!.push(part.subarray(0, room).slice());
    this.#metaSize += part.length;
  }

  #endMeta(chunk: Uint8Array, from: number, to: number) {
    if (from >= 0) this.#keepMeta(chunk.subarray(from, to));
    this.others.set(this.#metaKey, new TextDecoder().decode(concat(this.#meta!)).trim());
    this.#meta = null;
  }

  #addItem(chunk: Uint8Array, from: number, to: number) {
    if (from >= 0) this.#keep(chunk.subarray(from, to));
    const bytes = concat(this.#item!);
    const size = this.#itemSize;
    this.#item = null;
    this.items.push(parseItem(bytes, size, this.#jobBytes));
  }

  finish(total: number): ReadPage {
    if (this.#top === null) {
      const notJson = this.#first !== null && !/[\d"tfn-]/.test(String.fromCharCode(this.#first));
      throw new NotAJobPage(
        `expected a JSON list or {"results": [...]}, got ${
          this.#first === null ? "an empty answer" : "something else"
        }`,
        this.#head,
        notJson,
      );
    }
    if (this.#top === "page" && !this.#sawResults) {
      throw new NotAJobPage(
        `expected a JSON list or {"results": [...]}, got an object without results`,
        this.#head,
        false,
      );
    }
    if (this.#item && this.cut && this.#itemSize > this.#jobBytes) {
      // cut off inside a job already too large: it fails alone, like any over-size job
      this.items.push(tooLarge(concat(this.#item), `over ${this.#itemSize}`, this.#jobBytes));
    } else if (this.#item && this.cut && this.items.length === 0) {
      throw new NotAJobPage(
        `answer larger than ${total} bytes (limits.list_bytes) before the first job ends`,
        this.#head,
        false,
      );
    } else if (this.#item && this.#itemSize > 0 && !this.cut) {
      throw new NotAJobPage(
        `the job list ends in the middle of a job (${total} bytes)`,
        this.#head,
        false,
      );
    }
    if (this.#depth > 0 && !this.cut && this.items.length === 0) {
      throw new NotAJobPage(`the job list is cut off after ${total} bytes`, this.#head, false);
    }
    let next: string | null = null;
    const raw = this.others.get("next");
    if (raw) {
      try {
        const v = JSON.parse(raw);
        if (typeof v === "string" && v) next = v;
      } catch { /* a next that is not a string: no next page */ }
    }
    return { items: this.items, next, bytes: total };
  }
}

function concat(parts: Uint8Array[]): Uint8Array {
  return parts.length === 1 ? parts[0] : concatBytes(parts);
}

/** Marks a bare NaN or Infinity in a job, so validation can name where it was. */
export const NOT_A_NUMBER = "\u0000not-a-number\u0000";

/** One item's bytes to a job, or to an {@link UnreadableJob} naming what was wrong. */
function parseItem(bytes: Uint8Array, size: number, jobBytes: number): unknown {
  if (size > jobBytes) return tooLarge(bytes, `${size}`, jobBytes);
  const text = new TextDecoder().decode(bytes);
  try {
    return JSON.parse(text);
  } catch (e) {
    const lenient = withoutBareNumbers(text);
    if (lenient !== null) {
      try {
        return JSON.parse(lenient); // validation names the field that held NaN / Infinity
      } catch { /* not that either */ }
    }
    const { id, uuid } = headIds(text.slice(0, HEAD_BYTES));
    return new UnreadableJob(
      id,
      uuid,
      "BAD_PAYLOAD",
      `the job is not valid JSON: ${(e as Error).message.slice(0, 120)}`,
    );
  }
}

/** An over-size job: its id and uuid from its first bytes, and the field that made it large. */
function tooLarge(kept: Uint8Array, size: string, jobBytes: number): UnreadableJob {
  const text = new TextDecoder().decode(kept);
  const { id, uuid } = headIds(text.slice(0, HEAD_BYTES));
  const big = largestText(text);
  const most = big && big.length > jobBytes / 2 ? `, most of them in ${big.path}` : "";
  return new UnreadableJob(
    id,
    uuid,
    "JOB_TOO_LARGE",
    `the job is ${size} bytes of JSON${most}; at most ${jobBytes} (limits.job_bytes)`,
  );
}

/**
 * The longest string value in a job's (possibly cut) JSON text and its path
 * (`receipt_data.note`); `open` when the text ends inside it.
 */
function largestText(text: string): { path: string; length: number; open: boolean } | null {
  const frames: { array: boolean; key: string; index: number; expectKey: boolean }[] = [];
  let best: { path: string; length: number; open: boolean } | null = null;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    const top = frames[frames.length - 1];
    if (c === '"') {
      let j = i + 1;
      while (j < text.length && text[j] !== '"') j += text[j] === "\\" ? 2 : 1;
      const length = Math.min(j, text.length) - i - 1;
      if (top && !top.array && top.expectKey) {
        top.key = text.slice(i + 1, Math.min(j, i + 65));
        top.expectKey = false;
      } else if (!best || length > best.length) {
        const path = frames.map((f) => f.array ? `[${f.index}]` : f.key).join(".")
          .replace(/\.\[/g, "[");
        best = { path, length, open: j >= text.length };
      }
      i = j;
    } else if (c === "{" || c === "[") {
      frames.push({ array: c === "[", key: "", index: 0, expectKey: c === "{" });
    } else if (c === "}" || c === "]") {
      frames.pop();
    } else if (c === ",") {
      if (top?.array) top.index++;
      else if (top) top.expectKey = true;
    }
  }
  return best;
}

/**
 * The job's text with each bare `NaN`, `Infinity` or `-Infinity` (outside strings) replaced by a
 * marker string, or null when it holds none.
 */
function withoutBareNumbers(text: string): string | null {
  let out = "";
  let from = 0;
  let inStr = false;
  let found = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (inStr) {
      if (c === "\\") i++;
      else if (c === '"') inStr = false;
      continue;
    }
    if (c === '"') {
      inStr = true;
      continue;
    }
    for (const word of ["-Infinity", "Infinity", "NaN"]) {
      if (text.startsWith(word, i)) {
        out += text.slice(from, i) + JSON.stringify(NOT_A_NUMBER + word);
        i += word.length - 1;
        from = i + 1;
        found = true;
        break;
      }
    }
  }
  return found ? out + text.slice(from) : null;
}

/** The top-level `id` and `uuid` of a job's first bytes, where they can be read. */
function headIds(head: string): { id: number | string | null; uuid: string | null } {
  let id: number | string | null = null;
  let uuid: string | null = null;
  let depth = 0;
  for (let i = 0; i < head.length; i++) {
    const c = head[i];
    if (c === "{" || c === "[") depth++;
    else if (c === "}" || c === "]") depth--;
    else if (c === '"') {
      const m = head.slice(i).match(/^"((?:[^"\\]|\\.)*)"/);
      if (!m) break;
      i += m[0].length - 1;
      if (depth !== 1) continue;
      const after = head.slice(i + 1).match(/^\s*:\s*("(?:[^"\\]|\\.)*"|-?\d+)/);
      if (!after) continue;
      const key = m[1];
      let value: unknown;
      try {
        value = JSON.parse(after[1]);
      } catch {
        continue;
      }
      if (key === "id" && (typeof value === "number" || typeof value === "string")) id = value;
      if (key === "uuid" && typeof value === "string" && value.length <= 64) uuid = value;
      i += after[0].length;
    }
  }
  return { id, uuid };
}
