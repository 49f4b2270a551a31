/**
 * Intake: what happens to one job item from the server's list or the local API before it is
 * queued. Another terminal's or another role's work is left alone; an invalid job is failed
 * through the ledger under its own id; a uuid already known is never printed again; the rest
 * goes to its station's queue.
 * @module
 */
import type { Clock } from "./clock.ts";
import type { Config } from "../config.ts";
import type { ErrorCode } from "../errors.ts";
import { type Job, jobLabel, validateJob } from "./job.ts";
import type { JournalEntry } from "../store/journal.ts";
import { log, LogOnce } from "../log.ts";
import { faultPoint } from "./fault.ts";
import type { Ledger } from "./ledger.ts";
import type { Station } from "./station.ts";
import { isNaive, parseServerTime } from "../server/server_time.ts";
import type { Bell } from "./bell.ts";

/** What {@link Intake.accept} did with one job from the server or the local API. */
export type AcceptResult =
  | { outcome: "queued" | "resumed"; uuid: string }
  | { outcome: "duplicate"; uuid: string; state: string }
  | {
    outcome: "rejected";
    uuid: string | null;
    code: ErrorCode;
    reason: string;
    /** Whether this call decided it (false: known before, or not reportable at all). */
    fresh: boolean;
  }
  | { outcome: "ignored" | "deferred"; uuid: string; reason: string };

/**
 * Whether a listed page runs newest first: every item dated (`created_at`), never rising, and
 * falling at least once. Anything else (undated items, mixed order) is taken as listed.
 */
export function listedNewestFirst(items: unknown[], naiveZone: string): boolean {
  if (items.length < 2) return false;
  const at = items.map((x) => {
    const c = (x as { created_at?: unknown } | null)?.created_at;
    return typeof c === "string" ? parseServerTime(c, naiveZone) : NaN;
  });
  if (at.some((t) => isNaN(t))) return false;
  let down = false;
  for (let i = 1; i < at.length; i++) {
    if (at[i] > at[i - 1]) return false;
    if (at[i] < at[i - 1]) down = true;
  }
  return down;
}

/** Longest stretch of job intake before the event loop gets a turn (ms). */
const INTAKE_SLICE_MS = 20;

/** Orders whose station is remembered for their follow-ups (balanced roles). */
const ORDERS_KEPT = 5_000;

/** What ties a job to an order: its bill number, else its order number, else its queue number. */
function orderKey(job: Pick<Job, "receipt_data">): string | null {
  const d = job.receipt_data as Record<string, unknown> | null | undefined;
  for (const k of ["bill_number", "order_number", "order_id", "queue_number"]) {
    const v = d?.[k];
    if ((typeof v === "string" && v !== "") || typeof v === "number") return `${k}:${v}`;
  }
  return null;
}

/**
 * The station with the least work per weight (healthy ones first, then config order); `open`
 * counts each station's orders of the last minutes, whose follow-ups will come to it: among
 * stations equally loaded, the one with fewer open orders.
 */
function leastLoaded(group: Station[], open: (s: Station) => number = () => 0): Station {
  const pool = group.some((s) => s.healthy) ? group.filter((s) => s.healthy) : group;
  const score = (s: Station) => s.load + FOLLOW_UP_SHARE * open(s) / s.config.weight;
  return pool.reduce((best, s) => score(s) < score(best) ? s : best);
}

/** How much of a queued ticket an open order is worth: the follow-ups it may still bring. */
const FOLLOW_UP_SHARE = 0.3;
/** How long an order counts as open (its follow-ups still expected). */
const ORDER_OPEN_MS = 600_000;

/** A balanced role's order: its station, when it last had a ticket, whether it stays there. */
interface Order {
  station: Station;
  at: number;
  /** One of its tickets started there (or was sent there by name): none of them moves. */
  started: boolean;
  /** It names an order (follow-ups may come), not just a job. */
  order: boolean;
}

/** A balanced order's map key: its role and order, or the uuid of a job naming no order. */
function orderSlot(
  job: Pick<Job, "printer_role" | "job_type" | "receipt_data"> & { uuid?: string },
): string {
  const order = orderKey(job);
  return `${job.printer_role || job.job_type}\u0000${order ?? `uuid:${job.uuid}`}`;
}

/** Takes jobs in: see the module comment. */
export class Intake {
  readonly #config: Config;
  readonly #stations: Station[];
  readonly #ledger: Ledger;
  readonly #clock: Clock;
  /** Rung when a job is queued: the stations' print loops wait on it. */
  readonly #work: Bell;
  #naiveLogged = false;
  #roleList: string | null = null;
  /** Jobs listed that no station here serves, by role, since the last line saying so. */
  #leftAlone = new Map<string, number>();
  #leftAloneLog: LogOnce;
  /** Listed jobs that cannot be reported (no id): each logged once an hour. */
  #unreportable: LogOnce;
  #newestFirstLog: LogOnce;
  /**
   * Balanced roles: the station each recent order went to (oldest first), and whether it stays
   * there (one of its tickets was taken into hand there, or sent there by name).
   */
  #orders = new Map<string, Order>();

  /** Creates a Intake. */
  constructor(config: Config, stations: Station[], ledger: Ledger, clock: Clock, work: Bell) {
    this.#config = config;
    this.#stations = stations;
    this.#ledger = ledger;
    this.#clock = clock;
    this.#work = work;
    this.#unreportable = new LogOnce(clock, 3_600_000);
    this.#leftAloneLog = new LogOnce(clock, 3_600_000);
    this.#newestFirstLog = new LogOnce(clock, 3_600_000);
  }

  /**
   * The station a job is for: by `printer_role`, else by `job_type`, else the first; or null.
   * Where stations balance the role, an order's follow-ups and reprints go where the order went
   * while that station is healthy; a new order to the healthy station with the least work.
   */
  route(
    job: Pick<Job, "printer_role" | "job_type" | "receipt_data"> & { uuid?: string },
  ): Station | null {
    const group = this.stationsFor(job);
    if (group.length < 2) return group[0] ?? null;
    const order = orderKey(job) !== null;
    // a job naming no order is its own: remembered by uuid, so only it may move while it waits
    const key = order || job.uuid ? orderSlot(job) : null;
    const known = key === null ? undefined : this.#orders.get(key);
    const before = known?.station;
    if (order && before?.healthy && group.includes(before)) {
      this.#remember(key!, before, known!.started, true); // still open: its follow-ups come
      return before;
    }
    const now = this.#clock.now();
    const open = (s: Station) => {
      let n = 0;
      for (const o of this.#orders.values()) {
        if (o.station === s && o.order && now - o.at < ORDER_OPEN_MS) n++;
      }
      return n;
    };
    const pick = leastLoaded(group, open);
    // an order moved off a failing printer after it started there stays started: not moved again
    if (key !== null) this.#remember(key, pick, known?.started ?? false, order);
    return pick;
  }

  /**
   * The stations that may print a job (no side effect): the one serving its role (by
   * `printer_role`, else its `job_type`, else the first station), or every station balancing it.
   */
  stationsFor(job: Pick<Job, "printer_role" | "job_type">): Station[] {
    const role = job.printer_role ||
      (this.#stations.some((s) => s.roles.includes(job.job_type)) ? job.job_type : null);
    const first = role === null
      ? this.#stations[0]
      : this.#stations.find((s) => s.roles.includes(role)) ?? null;
    if (!first) return [];
    if (!first.config.balance || role === null) return [first];
    return [first, ...first.siblings(this.#stations).filter((s) => s.roles.includes(role))];
  }

  /** A balanced station's waiting jobs go to its healthy siblings (it is failing): not a kick. */
  handOff(station: Station): number {
    const siblings = station.siblings(this.#stations).filter((s) => s.healthy);
    if (!siblings.length || station.healthy) return 0;
    const moved = station.queue.takeOut((job) => job.job_type === "drawer");
    for (const { job, at } of moved) {
      const to = this.route(job);
      const target = to && to !== station ? to : leastLoaded(siblings);
      target.queue.push(job, at);
      log.warn(
        `${jobLabel(job)} [BALANCE] Printer ${station.id} is failing: moved to ${target.id}`,
        { code: "PRINTER_HANDED_OFF" },
      );
    }
    if (moved.length) this.#work.ring();
    return moved.length;
  }

  /**
   * Recalls which balanced station took each recent order, from journal rows (newest first, as
   * `HistoryStore.recent` gives them): an order's follow-ups keep to its printer across a restart.
   */
  recall(rows: readonly JournalEntry[]): void {
    for (let i = rows.length - 1; i >= 0; i--) {
      const e = rows[i];
      const station = this.#stations.find((s) => s.id === e.printer);
      if (!station?.config.balance || !e.payload) continue;
      let job: Pick<Job, "printer_role" | "job_type" | "receipt_data">;
      try {
        job = JSON.parse(e.payload);
      } catch {
        continue; // a row whose payload cannot be read: that order is balanced as new
      }
      if (orderKey(job) === null) continue;
      const key = orderSlot(job);
      this.#orders.delete(key);
      const at = e.finished_at ?? e.received_at;
      this.#orders.set(key, { station, at, started: true, order: true });
      if (this.#orders.size > ORDERS_KEPT) this.#orders.delete(this.#orders.keys().next().value!);
    }
  }

  #remember(key: string, station: Station, started: boolean, order: boolean): void {
    this.#orders.delete(key);
    this.#orders.set(key, { station, at: this.#clock.now(), started, order });
    // the oldest orders are forgotten: a day's orders, not a year's
    if (this.#orders.size > ORDERS_KEPT) this.#orders.delete(this.#orders.keys().next().value!);
  }

  /** Queues a job on a station (new, or resumed after a restart). */
  enqueue(job: Job, station: Station): void {
    station.queue.push(job, this.#clock.now());
    this.#work.ring();
    // a balanced station found failing since: its waiting jobs go to its siblings now, not after
    // the retries of the job in hand
    for (const st of this.#stations) if (st.config.balance && !st.healthy) this.handOff(st);
    // a follow-up kept with its order may have tipped the balance: waiting orders even it out
    if (station.config.balance) this.#even(station);
  }

  /**
   * The next job a station prints, taken into hand. A balanced station first evens out its
   * role's queues (an idle printer claims an order waiting behind another's); the order of the
   * job taken is started there, and none of its tickets moves after that.
   */
  take(station: Station, now: number): Job | undefined {
    if (station.config.balance) this.#even(station);
    const job = station.take(now);
    if (job && station.config.balance) {
      const o = this.#orders.get(orderSlot(job));
      if (o) o.started = true;
    }
    return job;
  }

  /**
   * Evens out the queues of the healthy stations balancing a role with `station`: while the most
   * loaded one (per weight, the ticket in hand counted) has a waiting order none of whose tickets
   * has started, and moving all of that order's waiting tickets to the least loaded one leaves
   * both below the most loaded's load now, the order moves (the one leaving the two closest;
   * among equals the oldest, which would have printed next), and its follow-ups go where it went.
   * An order is never split: one that started stays, and so does a cash-drawer kick.
   */
  #even(station: Station): void {
    const group = [station, ...station.siblings(this.#stations)].filter((s) => s.healthy);
    for (let moves = 0; group.length > 1 && moves < 64; moves++) {
      const from = group.reduce((a, s) => s.load > a.load ? s : a);
      const to = group.reduce((a, s) => s.load < a.load ? s : a);
      if (from === to || from.load - to.load <= 1 / to.config.weight) return;
      const tickets = new Map<string, number>();
      for (const job of from.queue.waiting()) {
        const slot = orderSlot(job);
        tickets.set(slot, (tickets.get(slot) ?? 0) + (job.job_type === "drawer" ? Infinity : 1));
      }
      let best: { slot: string; after: number } | null = null;
      for (const [slot, n] of tickets) {
        // only what routing put here and has not started (not a job sent to this station by name)
        const o = this.#orders.get(slot);
        if (!o || o.started || o.station !== from) continue;
        if (!to.roles.some((r) => slot.startsWith(`${r}\u0000`))) continue;
        const after = Math.max(from.load - n / from.config.weight, to.load + n / to.config.weight);
        if (after < from.load && (!best || after < best.after)) best = { slot, after };
      }
      if (!best) return;
      const moved = from.queue.takeOut((job) => orderSlot(job) !== best.slot);
      for (const { job, at } of moved) to.queue.push(job, at);
      this.#remember(best.slot, to, false, this.#orders.get(best.slot)!.order);
      log.info(
        `${jobLabel(moved[0].job)} [BALANCE] ${moved.length} waiting ticket(s) of its order ` +
          `moved from ${from.id} to ${to.id}, which has less to print`,
        { code: "ORDER_MOVED" },
      );
      this.#work.ring();
    }
  }

  /** Takes one job item (unvalidated) from the server or the local API. */
  accept(item: unknown, source = "server", o: { station?: string } = {}): AcceptResult {
    if (!o.station) {
      // another agent's work is left alone before anything else looks at it
      const other = this.#otherWork(item);
      if (other) {
        const uuid = String((item as { uuid?: unknown }).uuid ?? "?");
        if (other.terminal !== undefined) {
          return { outcome: "ignored", uuid, reason: `for terminal ${other.terminal}` };
        }
        this.#leftAlone.set(other.role!, (this.#leftAlone.get(other.role!) ?? 0) + 1);
        const reason = `for printer role ${other.role}, which no printer here serves`;
        return { outcome: "ignored", uuid, reason };
      }
    }
    const v = validateJob(item, this.#config.limits);
    if ("invalid" in v) {
      const { id, uuid, code, reason } = v.invalid;
      if (id === null) {
        // nothing to report it under (a report goes to a job id): logged once an hour, skipped
        this.#unreportable.note(uuid ?? reason, () =>
          log.error(
            `[JOB ${uuid ?? "?"}] The server listed a job without a usable id; it cannot be ` +
              `reported and is skipped (logged once an hour): ${reason}`,
            { code },
          ));
        return { outcome: "rejected", uuid: null, code, reason, fresh: false };
      }
      const key = uuid ?? `id-${id}`;
      const label = jobLabel({ id, uuid });
      const fresh = this.#ledger.invalid(key, String(id), code, reason, label);
      return { outcome: "rejected", uuid: key, code, reason, fresh };
    }
    const job = v.job;
    const me = this.#config.terminal_identity;
    if (job.terminal_id && job.terminal_id !== me.terminal_id) {
      return { outcome: "ignored", uuid: job.uuid, reason: `for terminal ${job.terminal_id}` };
    }
    const station = o.station
      ? this.#stations.find((s) => s.id === o.station) ?? null
      : this.route(job);
    if (!station) {
      const reason = o.station
        ? `no station "${o.station}" here`
        : `for printer role ${job.printer_role}, which no printer here serves`;
      return { outcome: "ignored", uuid: job.uuid, reason };
    }
    if (job.created_at && !this.#naiveLogged && isNaive(job.created_at)) {
      this.#naiveLogged = true;
      const zone = this.#config.server.naive_time_zone;
      log.info(
        `[TIME] The server writes created_at without a time zone (${
          JSON.stringify(job.created_at)
        }); read as ${zone === "local" ? "this PC's local time" : zone} (server.naive_time_zone)`,
      );
    }
    if (source === "server" && station.queue.length >= this.#config.limits.queue) {
      // not taken (no FETCHED): it stays PENDING on the server until this printer has room
      return { outcome: "deferred", uuid: job.uuid, reason: `printer ${station.id} is full` };
    }
    const existing = this.#ledger.receive(job, source);
    if (existing && existing.server_id !== String(job.id) && existing.source === "server") {
      return this.#uuidReused(job, existing);
    }
    if (existing) return this.#known(job, existing, station);
    faultPoint("after_fetch");
    log.info(`${jobLabel(job)} Received: ${job.job_type}`);
    if (!(this.#config.jobs.accepted_types as string[]).includes(job.job_type)) {
      const reason = `job_type "${job.job_type}" is not accepted here (accepted: ${
        this.#config.jobs.accepted_types.join(", ")
      })`;
      log.error(`${jobLabel(job)} [FAILED] ${reason}`, { code: "UNSUPPORTED_JOB_TYPE" });
      this.#ledger.failed(job, station, "UNSUPPORTED_JOB_TYPE", reason);
      return {
        outcome: "rejected",
        uuid: job.uuid,
        code: "UNSUPPORTED_JOB_TYPE",
        reason,
        fresh: true,
      };
    }
    if (o.station) {
      // sent to this station by name: its order stays here with it
      const e = this.#orders.get(orderSlot(job));
      if (e?.station === station) e.started = true;
    }
    this.enqueue(job, station);
    return { outcome: "queued", uuid: job.uuid };
  }

  /**
   * A second job id carrying a uuid another id already has: never printed (the uuid is the
   * promise's key), reported FAILED to its own id, naming the first.
   */
  #uuidReused(job: Job, first: JournalEntry): AcceptResult {
    const reason = `uuid ${job.uuid} already belongs to job ${first.server_id} ` +
      `(${first.state.toLowerCase()}); job ${job.id} is not printed`;
    const fresh = this.#ledger.invalid(
      `${job.uuid}@${job.id}`,
      String(job.id),
      "DUPLICATE_UUID",
      reason,
      jobLabel(job),
    );
    return { outcome: "rejected", uuid: job.uuid, code: "DUPLICATE_UUID", reason, fresh };
  }

  #known(job: Job, e: JournalEntry, station: Station): AcceptResult {
    if (e.state === "PRINTED" || e.state === "FAILED") {
      this.#ledger.again(job, e);
      return { outcome: "duplicate", uuid: job.uuid, state: e.state };
    }
    if (e.state === "RECEIVED" && !this.#inHand(job.uuid)) {
      this.enqueue(JSON.parse(e.payload ?? "null") ?? job, station);
      return { outcome: "resumed", uuid: job.uuid };
    }
    return { outcome: "duplicate", uuid: job.uuid, state: e.state };
  }

  /** Whether a job is waiting or printing at any station. */
  #inHand(uuid: string): boolean {
    return this.#stations.some((s) => s.printing === uuid || s.queue.has(uuid));
  }

  /**
   * Accepts a listed page of jobs while the queues have room; the rest stays PENDING on the
   * server for a later poll. Yields to the event loop every few milliseconds, so a huge list
   * never holds up heartbeats, reports, the local API or a stop. Returns how many were new.
   */
  async page(listed: unknown[], signal: AbortSignal): Promise<number> {
    const items = this.#oldestFirst(listed);
    let fresh = 0;
    let slice = this.#clock.now();
    for (const item of items) {
      if (signal.aborted || this.room() === 0) break;
      const r = this.accept(item);
      if (r.outcome === "queued" || (r.outcome === "rejected" && r.fresh)) fresh++;
      if (this.#clock.now() - slice > INTAKE_SLICE_MS) {
        await new Promise((r) => setTimeout(r, 0));
        slice = this.#clock.now();
      }
    }
    this.#noteLeftAlone();
    return fresh;
  }

  /**
   * The page in creation order: a backend that lists newest first (a model ordered by
   * `-created_at`) would otherwise have a burst printed in reverse. Said once an hour, with the
   * fix, since a long backlog is still handed out newest pages first.
   */
  #oldestFirst(items: unknown[]): unknown[] {
    if (!listedNewestFirst(items, this.#config.server.naive_time_zone)) return items;
    this.#newestFirstLog.note("newest-first", () =>
      log.warn(
        `[POLL] The server lists jobs newest first; the agent prints each page oldest first, but ` +
          `a backlog longer than a page still starts with the newest: order the list by ` +
          `creation (the backend's ordering, or server.query.extra {"ordering": "id"}) ` +
          `(said once an hour)`,
        { code: "SERVER_NEWEST_FIRST" },
      ));
    return [...items].reverse();
  }

  /**
   * Jobs the stations can still take: each station holds at most `limits.queue`, so a printer
   * that is down and piling up jobs never stops the intake for the others.
   */
  room(): number {
    const max = this.#config.limits.queue;
    return this.#stations.reduce((n, s) => n + Math.max(0, max - s.queue.length), 0);
  }

  /**
   * Whether a listed item is one this agent would take (or fail): for this terminal and a role
   * a station serves. Jobs for others do not count against what a poll reads, so however many
   * stand in front, the poll reads on to the jobs that are ours.
   */
  takes(item: unknown): boolean {
    return this.#otherWork(item) === null;
  }

  /** Whose a listed item is, when it is not ours: another terminal's, or a role not served. */
  #otherWork(item: unknown): { terminal?: string; role?: string } | null {
    if (!item || typeof item !== "object" || Array.isArray(item)) return null; // ours to fail
    const o = item as Record<string, unknown>;
    const me = this.#config.terminal_identity.terminal_id;
    if (typeof o.terminal_id === "string" && o.terminal_id && o.terminal_id !== me) {
      return { terminal: o.terminal_id };
    }
    const role = typeof o.printer_role === "string" && o.printer_role ? o.printer_role : null;
    if (role && !this.#stations.some((s) => s.roles.includes(role))) return { role };
    return null;
  }

  /** Logs (once an hour for each set of roles) the jobs listed that no station here serves. */
  #noteLeftAlone(): void {
    if (this.#leftAlone.size === 0) return;
    const roles = [...this.#leftAlone].sort(([a], [b]) => a.localeCompare(b));
    this.#leftAlone.clear();
    const n = roles.reduce((k, [, c]) => k + c, 0);
    this.#ledger.counters.left_alone += n;
    this.#leftAloneLog.note(roles.map(([r]) => r).join(","), () =>
      log.info(
        `[POLL] Leaving alone ${n} listed job(s) for printer role(s) no printer here serves: ${
          roles.map(([r, c]) => `${r} (${c})`).join(", ")
        }; they stay PENDING for another agent (logged once an hour)`,
      ));
  }

  /** Every role of every station, as the list request names them: `cashier,kitchen`. */
  roles(): string {
    return this.#roleList ??= [...new Set(this.#stations.flatMap((s) => s.roles))].join(",");
  }
}
