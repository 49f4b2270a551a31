/**
 * The agent's counters and gauges in the Prometheus text format (`/metrics`).
 * @module
 */
import type { AgentSnapshot } from "../server/protocol.ts";
import { PRINTER_STATUSES } from "../printers/printer.ts";
import type { Counters } from "../core/ledger.ts";

/** What `/metrics` reads of the agent. */
export interface MetricsView {
  /** Counters since start. */
  readonly counters: Readonly<Counters>;
  /** Recent print durations, ms. */
  readonly durations: readonly number[];
  /** Paper printed since start, mm, by `template\0variant`. */
  readonly paperMm: ReadonlyMap<string, number>;
  /** Whether the job server answered the last request. */
  readonly serverReachable: boolean;
  /** The agent at this moment. */
  snapshot(): AgentSnapshot;
  /** The event loop's worst lag (ms) since start and in the last minute. */
  loopLag(): { max_ms: number };
}

/** Prometheus text format for the agent's counters. */
export function metricsText(agent: MetricsView): string {
  const out: string[] = [];
  const metric = (name: string, type: string, help: string, samples: [string, number][]) => {
    out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    for (const [labels, v] of samples) out.push(`${name}${labels} ${v}`);
  };
  const c = agent.counters;
  metric("print_agent_jobs_total", "counter", "Jobs by final outcome since start.", [
    ['{outcome="printed"}', c.printed],
    ['{outcome="failed"}', c.failed],
  ]);
  metric("print_agent_duplicates_total", "counter", "Jobs delivered again and not printed again.", [
    ["", c.duplicates],
  ]);
  metric("print_agent_retries_total", "counter", "Print retries.", [["", c.retries]]);
  // template names and variants are the store's file names: quoted as Prometheus escapes them
  const q = (s: string) => JSON.stringify(s);
  metric(
    "print_agent_paper_mm_total",
    "counter",
    "Paper printed since start, in millimetres, by template and experiment variant.",
    [...agent.paperMm].map(([k, mm]) => {
      const [template, variant] = k.split("\u0000");
      return [`{template=${q(template)},variant=${q(variant)}}`, mm];
    }),
  );
  const buckets = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
  const d = agent.durations.map((ms) => ms / 1000);
  out.push(
    "# HELP print_agent_print_duration_seconds Time to hand a job to the printer (recent jobs).",
    "# TYPE print_agent_print_duration_seconds histogram",
  );
  for (const b of buckets) {
    out.push(
      `print_agent_print_duration_seconds_bucket{le="${b}"} ${d.filter((x) => x <= b).length}`,
    );
  }
  out.push(`print_agent_print_duration_seconds_bucket{le="+Inf"} ${d.length}`);
  out.push(`print_agent_print_duration_seconds_sum ${d.reduce((a, b) => a + b, 0)}`);
  out.push(`print_agent_print_duration_seconds_count ${d.length}`);
  const snap = agent.snapshot();
  metric("print_agent_outbox_depth", "gauge", "Status reports waiting for the server.", [[
    "",
    snap.outbox_depth,
  ]]);
  metric(
    "print_agent_oldest_report_age_seconds",
    "gauge",
    "Age of the oldest status report the server has not accepted yet (0: none waiting).",
    [["", snap.oldest_report_age_seconds]],
  );
  metric(
    "print_agent_reports_refused",
    "gauge",
    "Jobs whose status report the server refused for good in the last 24 h (400 and the like).",
    [["", snap.reports_refused]],
  );
  metric("print_agent_queue_depth", "gauge", "Jobs waiting to print.", [["", snap.queue_depth]]);
  metric(
    "print_agent_event_loop_max_lag_seconds",
    "gauge",
    "Longest time the event loop was held up since start.",
    [["", agent.loopLag().max_ms / 1000]],
  );
  metric("print_agent_server_reachable", "gauge", "1 when the job server answers.", [[
    "",
    agent.serverReachable ? 1 : 0,
  ]]);
  const stations = snap.printers;
  const label = (st: { id: string }) => `printer="${promLabel(st.id)}"`;
  metric(
    "print_agent_printer_status",
    "gauge",
    "1 for each printer's current status.",
    stations.flatMap((st) =>
      PRINTER_STATUSES.map((s) =>
        [`{${label(st)},status="${s}"}`, st.status === s ? 1 : 0] as [string, number]
      )
    ),
  );
  metric(
    "print_agent_consecutive_errors",
    "gauge",
    "Failed jobs in a row, per printer.",
    stations.map((st) => [`{${label(st)}}`, st.consecutive_errors]),
  );
  metric(
    "print_agent_printer_queue_depth",
    "gauge",
    "Jobs waiting for each printer.",
    stations.map((st) => [`{${label(st)}}`, st.queue_depth]),
  );
  metric(
    "print_agent_printer_failover_active",
    "gauge",
    "1 while a printer's jobs go to its backup.",
    stations.map((st) => [`{${label(st)}}`, st.failover_active ? 1 : 0]),
  );
  metric("print_agent_uptime_seconds", "gauge", "Seconds since start.", [[
    "",
    snap.uptime_seconds,
  ]]);
  return out.join("\n") + "\n";
}

/** A Prometheus label value: backslash, quote and newline escaped. */
function promLabel(v: string): string {
  return v.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
}
