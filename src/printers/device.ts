/**
 * Two-way printer devices for the `file` transport: a serial port (`COM3`, `\\.\COM3`,
 * `/dev/ttyUSB0`) or a USB printer's device path (`\\?\usb#vid_…`, `/dev/usb/lp0`). The agent
 * writes the job and reads the printer's `DLE EOT` answers on the same handle. On Windows the
 * calls run on the Windows Worker with overlapped I/O, so a read or a write held by a printer
 * out of paper times out and is cancelled; elsewhere a plain file handle is used.
 * @module
 */
import { AgentError, type ErrorCode } from "../errors.ts";
import type { StatusLink } from "./realtime_status.ts";
import { writeAll } from "./printer.ts";

/** What a `file` printer's path is. */
export type DeviceKind = "serial" | "usb" | "lpt" | "plain";

/** What kind of thing `path` names, on `os` (the agent's own by default). */
export function deviceKind(path: string, os: string = Deno.build.os): DeviceKind {
  if (os === "windows") {
    const bare = path.replace(/^\\\\[.?]\\/, "");
    if (/^COM\d+$/i.test(bare)) return "serial";
    if (/^usb#/i.test(bare) || /^USB\d+$/i.test(bare)) return "usb";
    if (/^(LPT\d+|PRN)$/i.test(bare)) return "lpt";
    return "plain";
  }
  if (/^\/dev\/(tty(S|USB|ACM)\d+|pts\/\d+)$/.test(path)) return "serial";
  if (/^\/dev\/usb\/lp\d+$/.test(path)) return "usb";
  if (/^\/dev\/lp\d+$/.test(path)) return "lpt";
  return "plain";
}

/** The Windows name CreateFileW needs for a device (`COM10` only opens as `\\.\COM10`). */
export function win32DevicePath(path: string): string {
  return /^\\\\[.?]\\/.test(path) ? path : `\\\\.\\${path}`;
}

/** An open device: the status conversation, and the job's bytes. */
export interface DeviceLink extends StatusLink {
  /** Writes `data`; returns how many bytes the device took before `timeoutMs` ran out. */
  send(data: Uint8Array, timeoutMs: number): Promise<number>;
  /** Closes the handle. */
  close(): Promise<void>;
}

/** Opens `path` for a conversation and a job. Throws {@link AgentError}. */
export type DeviceOpener = (path: string, timeoutMs: number) => Promise<DeviceLink>;

let thread: import("./winspool.ts").SpoolerThread | null = null;

/** Windows: CreateFileW (overlapped) on the Windows Worker. */
async function openWin32(path: string, timeoutMs: number): Promise<DeviceLink> {
  const { SpoolerThread } = await import("./winspool.ts");
  thread ??= new SpoolerThread();
  const t = thread;
  const call = <T>(op: string, args: unknown, ms: number) => t.call<T>(op, args, ms + 5000);
  const { id } = await call<{ id: number }>(
    "devOpen",
    { path: win32DevicePath(path), readMs: 500, writeMs: timeoutMs },
    timeoutMs,
  );
  const queue: number[] = [];
  return {
    async write(bytes) {
      const { written } = await call<{ written: number }>(
        "devWrite",
        { id, data: bytes, timeoutMs },
        timeoutMs,
      );
      if (written < bytes.length) {
        throw new AgentError("PRINTER_TIMEOUT", `${path} took ${written} of ${bytes.length} bytes`);
      }
    },
    async readByte(ms) {
      // one byte a read: a read of more may wait for them all where the port's "return what is
      // there" timeouts are not honoured (seen under Wine)
      if (!queue.length) {
        const { bytes } = await call<{ bytes: number[] }>(
          "devRead",
          { id, max: 1, timeoutMs: ms },
          ms,
        );
        queue.push(...bytes);
      }
      return queue.length ? queue.shift()! : null;
    },
    async send(data, ms) {
      return (await call<{ written: number }>("devWrite", { id, data, timeoutMs: ms }, ms)).written;
    },
    async close() {
      await call("devClose", { id }, 1000).catch(() => {});
    },
  };
}

const rawTty = new Set<string>();

/** Elsewhere: the device file itself (a tty is set raw once, so bytes pass unchanged). */
async function openPosix(path: string, _timeoutMs: number): Promise<DeviceLink> {
  if (deviceKind(path) === "serial" && !rawTty.has(path)) {
    rawTty.add(path);
    await new Deno.Command("stty", { args: ["-F", path, "raw", "-echo"], stderr: "null" })
      .output().catch(() => {});
  }
  // two handles: a read still waiting on one (a question that went unanswered) would hold back
  // every write on the same handle
  let r: Deno.FsFile, w: Deno.FsFile;
  try {
    w = await Deno.open(path, { write: true });
    r = await Deno.open(path, { read: true }).catch((e) => {
      w.close();
      throw e;
    });
  } catch (e) {
    const code: ErrorCode = e instanceof Deno.errors.NotFound
      ? "PRINTER_NOT_FOUND"
      : e instanceof Deno.errors.PermissionDenied
      ? "PRINTER_ACCESS_DENIED"
      : "PRINTER_OFFLINE";
    throw new AgentError(code, `cannot open ${path}: ${e}`, { cause: e });
  }
  const { streamLink } = await import("./tcp.ts");
  const link = streamLink({ read: (p) => r.read(p), write: (p) => w.write(p) });
  return {
    ...link,
    async send(data, ms) {
      let t: ReturnType<typeof setTimeout> | undefined;
      const done = await Promise.race([
        writeAll(w, data).then(() => true),
        new Promise<false>((res) => t = setTimeout(() => res(false), ms)),
      ]).finally(() => clearTimeout(t));
      return done ? data.length : 0;
    },
    close() {
      for (const f of [r, w]) {
        try {
          f.close();
        } catch { /* closed */ }
      }
      return Promise.resolve();
    },
  };
}

/** Opens a device the way this platform does. */
export function openDevice(path: string, timeoutMs: number): Promise<DeviceLink> {
  return Deno.build.os === "windows" ? openWin32(path, timeoutMs) : openPosix(path, timeoutMs);
}
