/**
 * Logging with LogTape in the seed agent's line shape:
 * `2026-01-23 16:07:28 | INFO     | [JOB 39] Processing: receipt`, to the console and to a file
 * rotated at `logging.max_bytes` (10 MB). Error lines end with their stable code.
 * @module
 */
import {
  configure,
  getConsoleSink,
  getLogger,
  type LogLevel,
  reset,
  type Sink,
} from "@logtape/logtape";
import { getRotatingFileSink } from "@logtape/file";
import { dirname } from "node:path";

const LEVEL_NAMES: Record<LogLevel, string> = {
  trace: "DEBUG",
  debug: "DEBUG",
  info: "INFO",
  warning: "WARNING",
  error: "ERROR",
  fatal: "CRITICAL",
};

function pad2(n: number) {
  return String(n).padStart(2, "0");
}

/** Local time as `YYYY-MM-DD HH:MM:SS`, as the seed wrote it. */
export function formatTimestamp(ms: number): string {
  const d = new Date(ms);
  return `${d.getFullYear()}-${pad2(d.getMonth() + 1)}-${pad2(d.getDate())} ` +
    `${pad2(d.getHours())}:${pad2(d.getMinutes())}:${pad2(d.getSeconds())}`;
}

/**
 * Characters that could make one event look like several, or rewrite the terminal: C0 and C1
 * controls (line feeds, carriage returns, ESC of ANSI/OSC sequences), DEL, the Unicode line and
 * paragraph separators, and the bidirectional overrides that reorder what a reader sees.
 */
// deno-lint-ignore no-control-regex -- control characters are what it finds
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069\ufeff]/g;

const NAMED: Record<string, string> = { "\n": "\\n", "\r": "\\r", "\t": "\\t" };

/**
 * Text for one log line: every character in {@link UNSAFE} written as an escape (`\n`, `\x1b`,
 * `\u2028`), so text from the server (an id, a field name, an error body) can never start a line
 * of its own or send a command to the terminal that shows the log.
 */
export function escapeLogText(s: string): string {
  return s.replace(UNSAFE, (c) => {
    const named = NAMED[c];
    if (named) return named;
    const n = c.charCodeAt(0);
    return n < 0x100
      ? `\\x${n.toString(16).padStart(2, "0")}`
      : `\\u${n.toString(16).padStart(4, "0")}`;
  });
}

/** What a log line is made of (a LogTape record has these). */
export interface LogEvent {
  /** `trace` … `fatal`. */
  readonly level: "trace" | "debug" | "info" | "warning" | "error" | "fatal";
  /** The message parts. */
  readonly message: readonly unknown[];
  /** When, ms since the epoch. */
  readonly timestamp: number;
  /** `msg` (the text) and `code` (a stable error code), when given. */
  readonly properties: Record<string, unknown>;
}

/** Where log events go besides the console and the file (tests read what was logged). */
export type LogSink = (record: LogEvent) => void;

/** Formats one record as a seed-shaped line (with a trailing newline): always exactly one line. */
export function formatLine(r: LogEvent): string {
  const p = r.properties as Record<string, unknown>;
  const msg = typeof p.msg === "string" ? p.msg : r.message.map(String).join("");
  const code = typeof p.code === "string" ? ` (code=${escapeLogText(p.code)})` : "";
  return `${formatTimestamp(r.timestamp)} | ${LEVEL_NAMES[r.level].padEnd(8)} | ${
    escapeLogText(msg)
  }${code}\n`;
}

/** What `log` callers pass besides the message. */
export interface LogProps {
  /** Stable error code, appended to the line. */
  code?: string;
  /** Further properties of the record. */
  [key: string]: unknown;
}

const logger = getLogger(["print-agent"]);

/** The agent's logger. Messages are plain text, never templates: braces in data are safe. */
export const log = {
  debug: (msg: string, props: LogProps = {}) => logger.debug("{msg}", { ...props, msg }),
  info: (msg: string, props: LogProps = {}) => logger.info("{msg}", { ...props, msg }),
  warn: (msg: string, props: LogProps = {}) => logger.warn("{msg}", { ...props, msg }),
  error: (msg: string, props: LogProps = {}) => logger.error("{msg}", { ...props, msg }),
};

/** Options for {@link setupLogging}. */
export interface LoggingOptions {
  /** Least level written. */
  level: "DEBUG" | "INFO" | "WARNING" | "ERROR";
  /** Log file path; null for console only. */
  file: string | null;
  /** Rotate the log file at this size. */
  maxBytes?: number;
  /** Rotated files kept. */
  backups?: number;
  /** Write to the console too (default true). */
  console?: boolean;
  /** Extra sink, for tests that read what was logged. */
  extraSink?: LogSink;
}

/** Configures logging; call again to reconfigure. */
export async function setupLogging(o: LoggingOptions): Promise<void> {
  const sinks: Record<string, Sink> = {};
  if (o.console !== false) {
    sinks.console = getConsoleSink({ formatter: (r) => formatLine(r).trimEnd() });
  }
  if (o.file) {
    await Deno.mkdir(dirname(o.file), { recursive: true });
    sinks.file = getRotatingFileSink(o.file, {
      formatter: formatLine,
      maxSize: o.maxBytes ?? 10 * 1024 * 1024,
      maxFiles: o.backups ?? 5,
      // unbuffered: the lines before a crash or power loss are the ones support needs
      bufferSize: 0,
    });
  }
  if (o.extraSink) sinks.extra = o.extraSink as Sink;
  const lowest = { DEBUG: "debug", INFO: "info", WARNING: "warning", ERROR: "error" } as const;
  await configure({
    reset: true,
    sinks,
    loggers: [
      { category: ["print-agent"], lowestLevel: lowest[o.level], sinks: Object.keys(sinks) },
      { category: ["logtape", "meta"], lowestLevel: "error", sinks: [] },
    ],
  });
}

/** Flushes and closes the sinks (file handles). */
export async function closeLogging(): Promise<void> {
  await reset();
}

/**
 * Logs something at most once per `everyMs` for each key: for what the server repeats on every
 * poll (a job that cannot be reported), so one bad job is one line, not thousands.
 */
export class LogOnce {
  #seen = new Map<string, number>();
  #clock: { now(): number };
  #everyMs: number;
  /** Creates a LogOnce. */
  constructor(clock: { now(): number }, everyMs: number) {
    this.#clock = clock;
    this.#everyMs = everyMs;
  }
  /** Runs `write` unless `key` was written within the interval; returns whether it ran. */
  note(key: string, write: () => void): boolean {
    const now = this.#clock.now();
    const last = this.#seen.get(key);
    if (last !== undefined && now - last < this.#everyMs) return false;
    if (this.#seen.size >= 1000) this.#seen.clear(); // bounded: a flood is logged again, not kept
    this.#seen.set(key, now);
    write();
    return true;
  }
}
