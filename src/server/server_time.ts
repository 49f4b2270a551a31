/**
 * The job server's clock, as the agent can know it: the offset read from each answer's `Date`
 * header, and the server's `created_at` values read in the server's time zone. Ages of jobs
 * (expiry, the cash drawer's freshness, "created before the journal was replaced") are judged in
 * the server's time, so a server clock 10 minutes ahead neither reprints nor expires anything.
 * @module
 */

/** While no answer has told the server's time, jobs this close to a journal reset may predate it. */
export const UNKNOWN_OFFSET_MARGIN_MS = 15 * 60_000;

/** How `created_at` values without a zone are read: `local`, `UTC`, or an offset like `+07:00`. */
export type NaiveTimeZone = string;

/** Whether `s` is a `+hh:mm` / `-hh:mm` offset or one of the names {@link parseServerTime} knows. */
export function isNaiveTimeZone(s: string): boolean {
  return s === "local" || s === "UTC" || /^[+-]\d{2}:\d{2}$/.test(s);
}

/** Whether an ISO date-time (`T` separator) says its zone (`Z` or an offset after the time). */
function hasZone(iso: string): boolean {
  const time = iso.indexOf("T");
  return time >= 0 && /(?:[zZ]|[+-]\d{2}(?::?\d{2})?)$/.test(iso.slice(time));
}

/** A date-time string in ISO 8601 shape (date, optional time): what `created_at` must be. */
const ISO_SHAPE =
  /^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:[zZ]|[+-]\d{2}(?::?\d{2})?)?)?$/;

/**
 * A server time string in ms since the epoch, or NaN when it cannot be read (anything but an ISO
 * 8601 date-time: `"yesterday"` is NaN, never "now"). A value without a zone is read in `zone`.
 */
export function parseServerTime(s: string, zone: NaiveTimeZone = "local"): number {
  const t = s.trim();
  if (!ISO_SHAPE.test(t)) return NaN;
  let iso = t.replace(" ", "T");
  if (hasZone(iso)) return Date.parse(iso);
  if (!iso.includes("T")) iso += "T00:00:00";
  if (zone === "local") return Date.parse(iso);
  return Date.parse(iso + (zone === "UTC" ? "Z" : zone));
}

/** Whether `s` carries no zone (so {@link parseServerTime} read it in the naive zone). */
export function isNaive(s: string): boolean {
  return !hasZone(s.trim().replace(" ", "T"));
}

/** Samples of the server's clock older than this no longer narrow the offset (clocks drift). */
const SAMPLE_LIFE_MS = 10 * 60_000;
/** Samples kept at most (the newest): enough to narrow the bounds, cheap to intersect. */
const MAX_SAMPLES = 32;

/**
 * The server's clock relative to this terminal's, from the answers' `Date` headers. Each answer
 * bounds the offset (server minus terminal): the header was written after the request left and
 * before the answer arrived, and it drops the milliseconds. The bounds of recent answers are
 * intersected, so after a few polls the offset is known to within the network's round trip.
 */
export class ServerClock {
  #samples: { at: number; lo: number; hi: number }[] = [];
  #lo = -Infinity;
  #hi = Infinity;

  /** Reads an answer's `Date` header, for a request sent at `sentAt` and answered at `receivedAt`. */
  observe(date: string | null | undefined, sentAt: number, receivedAt: number): void {
    if (!date) return;
    const t = Date.parse(date);
    if (!Number.isFinite(t)) return;
    this.#samples.push({ at: receivedAt, lo: t - receivedAt, hi: t + 1000 - sentAt });
    while (
      this.#samples.length > MAX_SAMPLES || receivedAt - this.#samples[0].at > SAMPLE_LIFE_MS
    ) this.#samples.shift();
    let lo = -Infinity, hi = Infinity;
    for (const x of this.#samples) {
      lo = Math.max(lo, x.lo);
      hi = Math.min(hi, x.hi);
    }
    if (lo > hi) {
      // the server's clock was set: start again from this answer
      const last = this.#samples[this.#samples.length - 1];
      this.#samples = [last];
      [lo, hi] = [last.lo, last.hi];
    }
    [this.#lo, this.#hi] = [lo, hi];
  }

  /** Whether any answer has told the server's time. */
  get known(): boolean {
    return this.#samples.length > 0;
  }

  /** Server minus terminal in ms, best estimate (0 while unknown). */
  get offsetMs(): number {
    return this.known ? Math.round((this.#lo + this.#hi) / 2) : 0;
  }

  /** How far the true offset may be from {@link offsetMs}, in ms (Infinity while unknown). */
  get uncertaintyMs(): number {
    return this.known ? Math.ceil((this.#hi - this.#lo) / 2) : Infinity;
  }

  /**
   * The latest the server's clock can have read at local time `local` (a journal reset, a start):
   * a job created after it surely came later.
   */
  latestAt(local: number): number {
    return local + (this.known ? this.#hi : UNKNOWN_OFFSET_MARGIN_MS);
  }

  /** The latest the server's clock can read now: a job created after it is dated in the future. */
  latestNow(localNow: number): number {
    return this.latestAt(localNow);
  }

  /** The server's clock now, best estimate. */
  now(localNow: number): number {
    return localNow + this.offsetMs;
  }
}
