/**
 * A print job as the server sends it, validated before anything else happens to it.
 * @module
 */
import * as z from "zod";
import { AgentError } from "../errors.ts";
import { DEFAULT_LIMITS, type Limits } from "../config.ts";
import { NOT_A_NUMBER, UnreadableJob } from "../server/job_page.ts";

/** @internal The job body of the contract (docs/protocol.md). Unknown fields are allowed and ignored. */
export const JobSchema = z.object({
  id: z.union([z.number().int(), z.string().min(1).max(64)]),
  uuid: z.string().min(1).max(64).regex(/^[A-Za-z0-9_.:-]+$/, "letters, digits, - _ . :"),
  // `RECEIPT` and `receipt` are one type
  job_type: z.string().min(1).max(32).transform((t) => t.toLowerCase()),
  priority: z.number().int().default(0),
  created_at: z.string().nullish(),
  printer_role: z.string().nullish(),
  terminal_id: z.string().nullish(),
  receipt_data: z.record(z.string(), z.unknown()).nullish(),
  raw_base64: z.string().nullish(),
  reprint_of: z.union([z.number(), z.string()]).nullish(),
  /** A receipt experiment's arm: `{id, variant}` (read by the renderer; a bad one prints the base). */
  experiment: z.unknown().optional(),
});

/** A validated job. */
export type Job = ReturnType<typeof JobSchema.parse>;

/** What could be read of an item that failed validation, so a FAILED report can still go out. */
export interface InvalidJob {
  /** The job's id, if it could be read. */
  id: number | string | null;
  /** The job's uuid, if it could be read. */
  uuid: string | null;
  /** The stable error code. */
  code: "BAD_PAYLOAD" | "JOB_TOO_LARGE";
  /** What is wrong with it, naming the field. */
  reason: string;
}

/** The size limits a job is checked against (config `limits`). */
export type JobLimits = Pick<Limits, "job_bytes" | "text_chars" | "items">;

/**
 * The first limit a job item is over, named with the field and the config key, or null.
 * Linear in the item's size: checked before anything else looks at the job.
 */
export function overLimit(raw: unknown, limits: JobLimits): string | null {
  const items = (raw as { receipt_data?: { items?: unknown } })?.receipt_data?.items;
  if (Array.isArray(items) && items.length > limits.items) {
    return `receipt_data.items has ${items.length} items; at most ${limits.items} (limits.items)`;
  }
  // every string at any depth; raw_base64 is bytes, bounded by job_bytes
  const stack: [unknown, string][] = [[raw, ""]];
  while (stack.length) {
    const [v, path] = stack.pop()!;
    if (typeof v === "string") {
      if (v.startsWith(NOT_A_NUMBER)) continue; // not text: validateJob names it
      if (v.length > limits.text_chars && path !== "raw_base64") {
        return `${path} is ${v.length} characters; at most ${limits.text_chars} (limits.text_chars)`;
      }
    } else if (Array.isArray(v)) {
      v.forEach((x, i) => stack.push([x, `${path}[${i}]`]));
    } else if (v && typeof v === "object") {
      for (const [k, x] of Object.entries(v)) stack.push([x, path ? `${path}.${k}` : k]);
    }
  }
  // the most specific reason first (a field, the items); then the whole job
  const size = new TextEncoder().encode(JSON.stringify(raw) ?? "").length;
  if (size > limits.job_bytes) {
    return `the job is ${size} bytes of JSON; at most ${limits.job_bytes} (limits.job_bytes)`;
  }
  return null;
}

/** Validates one list item; returns the job or what is known of a bad one. */
export function validateJob(
  raw: unknown,
  limits: JobLimits = DEFAULT_LIMITS,
): { job: Job } | { invalid: InvalidJob } {
  if (raw instanceof UnreadableJob) {
    return { invalid: { id: raw.id, uuid: raw.uuid, code: raw.code, reason: raw.reason } };
  }
  const o = (raw && typeof raw === "object" ? raw : {}) as Record<string, unknown>;
  const uuid = typeof o.uuid === "string" && o.uuid.length <= 64 ? o.uuid : null;
  if (typeof o.id === "string" && !fitsUrlPath(o.id)) {
    // its report would go to another URL (a path drops "." and ".." segments): never printed
    const reason = `id ${JSON.stringify(o.id)} cannot be put in the status URL unchanged ` +
      `(a URL path drops "." and ".." segments)`;
    return { invalid: { id: null, uuid, code: "BAD_PAYLOAD", reason } };
  }
  const id = typeof o.id === "number" || typeof o.id === "string" ? o.id : null;
  const over = overLimit(raw, limits);
  if (over) return { invalid: { id, uuid, code: "JOB_TOO_LARGE", reason: over } };
  const nan = notANumber(raw);
  if (nan) {
    const reason = `${nan.path} is ${nan.word}, which JSON does not allow (Python's json.dumps ` +
      `writes it for a float that is not a number); the job is not printed`;
    return { invalid: { id, uuid, code: "BAD_PAYLOAD", reason } };
  }
  const r = JobSchema.safeParse(raw);
  if (r.success) {
    const j = r.data;
    if (!j.receipt_data && !j.raw_base64 && !["test", "drawer"].includes(j.job_type)) {
      return {
        invalid: {
          id: j.id,
          uuid: j.uuid,
          code: "BAD_PAYLOAD",
          reason: "neither receipt_data nor raw_base64 is present",
        },
      };
    }
    return { job: j };
  }
  const reason = r.error.issues
    .map((i) => `${i.path.join(".") || "(job)"}: ${i.message}`)
    .join("; ");
  return { invalid: { id, uuid, code: "BAD_PAYLOAD", reason } };
}

/** Whether a job id, percent-encoded, stays one unchanged segment of a URL path. */
export function fitsUrlPath(id: string): boolean {
  const enc = encodeURIComponent(id);
  return enc !== "." && enc !== "..";
}

/** The first field that held a bare NaN or Infinity in the server's JSON, if any. */
function notANumber(raw: unknown): { path: string; word: string } | null {
  const stack: [unknown, string][] = [[raw, ""]];
  while (stack.length) {
    const [v, path] = stack.pop()!;
    if (typeof v === "string" && v.startsWith(NOT_A_NUMBER)) {
      return { path: path || "(job)", word: v.slice(NOT_A_NUMBER.length) };
    } else if (Array.isArray(v)) {
      v.forEach((x, i) => stack.push([x, `${path}[${i}]`]));
    } else if (v && typeof v === "object") {
      for (const [k, x] of Object.entries(v)) stack.push([x, path ? `${path}.${k}` : k]);
    }
  }
  return null;
}

/** Decodes `raw_base64`; an invalid string is a permanent INVALID_BASE64 error. */
export function decodeRawBase64(s: string): Uint8Array {
  const clean = s.replace(/\s+/g, "");
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(clean) || clean.length % 4 !== 0) {
    throw new AgentError(
      "INVALID_BASE64",
      `raw_base64 is not valid base64 (${clean.length} chars)`,
    );
  }
  const bin = atob(clean);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  if (out.length === 0) throw new AgentError("INVALID_BASE64", "raw_base64 is empty");
  return out;
}

/** The label used in log lines: `[JOB 39]`. */
export function jobLabel(j: { id: number | string | null; uuid?: string | null }): string {
  return `[JOB ${j.id ?? j.uuid ?? "?"}]`;
}
