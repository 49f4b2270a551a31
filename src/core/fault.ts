/**
 * Fault injection for the reliability suite (tests/faults_test.ts): with
 * `PRINT_AGENT_FAULT=<point>:<n>` set, the process kills itself (SIGKILL, no clean-up) the n-th
 * time it reaches `<point>`. Unset — as in production — every call is a cheap no-op.
 * @module
 */

/** The points where the suite kills the agent, in lifecycle order. */
export const FAULT_POINTS = [
  "after_fetch", // the job is RECEIVED in the journal, nothing else done
  "after_printing_commit", // PRINTING is on disk, no byte sent yet
  "after_failover_chosen", // PRINTING on the backup's printer is on disk, no byte sent yet
  "mid_write", // half of the job's bytes are at the printer
  "after_close", // the printer has every byte and the connection is closed; PRINTED not yet written
  "before_ack", // a status report is about to be sent
  "after_ack", // the server accepted a report; the outbox does not know yet
] as const;

/** One of {@link FAULT_POINTS}. */
export type FaultPoint = typeof FAULT_POINTS[number];

let armed: { point: string; n: number } | null | undefined;

function config() {
  if (armed !== undefined) return armed;
  let v: string | undefined;
  try {
    v = Deno.env.get("PRINT_AGENT_FAULT");
  } catch {
    v = undefined; // no env permission: never armed
  }
  const m = v?.match(/^([a-z_]+):(\d+)$/);
  armed = m ? { point: m[1], n: Number(m[2]) } : null;
  return armed;
}

/** Whether `point` is the armed one (lets a caller split work to make the fault meaningful). */
export function faultArmed(point: FaultPoint): boolean {
  return config()?.point === point;
}

/** Kills the process here if this is the n-th arrival at the armed point. */
export function faultPoint(point: FaultPoint): void {
  const c = config();
  if (!c || c.point !== point) return;
  if (--c.n <= 0) Deno.kill(Deno.pid, "SIGKILL");
}
