/// <reference lib="deno.worker" />
/**
 * Runs the blocking winspool calls on their own thread (a Worker): the main loop never stalls
 * on a stuck printer, and `GetLastError` is read on the thread that made the call.
 * Messages: `{ id, op, args }` → `{ id, ok: true, result }` or `{ id, ok: false, error }`.
 * @module
 */
import {
  commTimeouts,
  decodeUtf16z,
  docInfo1,
  DRIVER_INFO_2,
  DRIVER_INFO_8,
  ERROR_IO_PENDING,
  FILE_FLAG_OVERLAPPED,
  FORMAT_MESSAGE_FROM_SYSTEM,
  FORMAT_MESSAGE_IGNORE_INSERTS,
  GENERIC_READ_WRITE,
  INVALID_HANDLE_VALUE,
  JOB_CONTROL_DELETE,
  JOB_INFO_1,
  OPEN_EXISTING,
  openKernel32,
  openWinspool,
  OVERLAPPED,
  PRINTER_DRIVER_XPS,
  PRINTER_ENUM_CONNECTIONS,
  PRINTER_ENUM_LOCAL,
  PRINTER_INFO_2,
  ptrAt,
  PURGE_RXCLEAR_TXCLEAR,
  readUtf16z,
  u32At,
  utf16z,
  WAIT_TIMEOUT,
} from "../../ffi/winspool.ts";
import { win32ToCode } from "./win32_errors.ts";
import {
  DIGCF_PRESENT_INTERFACES,
  GUID_DEVINTERFACE_USBPRINT,
  IOCTL_USBPRINT_GET_1284_ID,
  KEY_READ,
  openIoctl,
  openRegistry,
  openSetupapi,
  REG_DWORD,
  REG_SZ,
  SP_DEVICE_INTERFACE_DATA,
  SP_DEVICE_INTERFACE_DETAIL_DATA_W,
} from "../../ffi/setupapi.ts";
import { read1284Buffer, usbPortName, type UsbPrinter } from "./usbprint.ts";

/** A failed Win32 call, as sent back to the main thread. */
export interface WorkerError {
  /** The agent error code. */
  code: string;
  /** The Win32 error number. */
  win32: number;
  /** What went wrong. */
  message: string;
}

const ws = openWinspool().symbols;
const k32 = openKernel32().symbols;

/** Devices open on this thread (a serial port, a USB printer's path), by a number. */
const devices = new Map<number, { h: Deno.PointerObject; ev: Deno.PointerObject; path: string }>();
let nextDevice = 0;

/**
 * One overlapped read or write that gives up after `ms`: the I/O is cancelled (a printer out of
 * paper can hold a write for ever) and the bytes moved so far are returned.
 */
function overlapped(
  d: { h: Deno.PointerObject; ev: Deno.PointerObject; path: string },
  op: "ReadFile" | "WriteFile",
  buf: Uint8Array,
  ms: number,
): number {
  const ov = new Uint8Array(OVERLAPPED.size);
  new BigUint64Array(ov.buffer)[OVERLAPPED.hEvent / 8] = BigInt(
    Deno.UnsafePointer.value(d.ev),
  );
  k32.ResetEvent(d.ev);
  const moved = new Uint8Array(4);
  if (!k32[op](d.h, buf, buf.length, null, ov)) {
    const err = k32.GetLastError();
    if (err !== ERROR_IO_PENDING) throw new Win32Error(err, `${op}(${d.path})`);
    if (k32.WaitForSingleObject(d.ev, ms) === WAIT_TIMEOUT) {
      k32.CancelIoEx(d.h, ov);
      k32.GetOverlappedResult(d.h, ov, moved, 1); // waits for the cancel: ov stays ours till then
      return u32At(moved, 0);
    }
  }
  if (!k32.GetOverlappedResult(d.h, ov, moved, 1)) {
    const err = k32.GetLastError();
    if (err === 995) return u32At(moved, 0); // ERROR_OPERATION_ABORTED: cancelled, bytes so far
    throw new Win32Error(err, `${op}(${d.path})`);
  }
  return u32At(moved, 0);
}

/** The USB printer libraries, opened on first use (a terminal without USB printers never does). */
let usbLibs: {
  sa: ReturnType<typeof openSetupapi>["symbols"];
  reg: ReturnType<typeof openRegistry>["symbols"];
  io: ReturnType<typeof openIoctl>["symbols"];
} | null = null;

/** A value of a registry key: a string, a number, or null where it is not there. */
function regValue(key: Deno.PointerObject, name: string): string | number | null {
  const { reg } = usbLibs!;
  const type = new Uint32Array(1);
  const data = new Uint8Array(512);
  const size = new Uint32Array([data.length]);
  const r = reg.RegQueryValueExW(
    key,
    utf16z(name),
    null,
    new Uint8Array(type.buffer),
    data,
    new Uint8Array(size.buffer),
  );
  if (r !== 0) return null;
  if (type[0] === REG_DWORD) return u32At(data, 0);
  if (type[0] === REG_SZ) return decodeUtf16z(data.subarray(0, size[0]));
  return null;
}

/** The printer's 1284 ID through IOCTL_USBPRINT_GET_1284_ID, or null (in use, no answer). */
function read1284(path: string): string | null {
  const h = k32.CreateFileW(
    utf16z(path),
    GENERIC_READ_WRITE,
    0,
    null,
    OPEN_EXISTING,
    FILE_FLAG_OVERLAPPED,
    null,
  );
  if (!h || BigInt(Deno.UnsafePointer.value(h)) === INVALID_HANDLE_VALUE) return null;
  const ev = k32.CreateEventW(null, 1, 0, null);
  try {
    if (!ev) return null;
    const out = new Uint8Array(1024); // usbprint: large buffers fail on some printers (error 23)
    const got = new Uint8Array(4);
    const ov = new Uint8Array(OVERLAPPED.size);
    new BigUint64Array(ov.buffer)[OVERLAPPED.hEvent / 8] = BigInt(Deno.UnsafePointer.value(ev));
    if (
      !usbLibs!.io.DeviceIoControl(h, IOCTL_USBPRINT_GET_1284_ID, null, 0, out, out.length, got, ov)
    ) {
      if (k32.GetLastError() !== ERROR_IO_PENDING) return null;
      if (k32.WaitForSingleObject(ev, 2000) === WAIT_TIMEOUT) {
        k32.CancelIoEx(h, ov);
        k32.GetOverlappedResult(h, ov, got, 1);
        return null;
      }
    }
    if (!k32.GetOverlappedResult(h, ov, got, 1)) return null;
    return read1284Buffer(out, u32At(got, 0)) || null;
  } finally {
    if (ev) k32.CloseHandle(ev);
    k32.CloseHandle(h);
  }
}

function device(n: number) {
  const d = devices.get(n);
  if (!d) throw new Win32Error(6, `device ${n} is not open`); // ERROR_INVALID_HANDLE
  return d;
}

class Win32Error extends Error {
  constructor(readonly win32: number, what: string) {
    super(`${what} failed: Windows error ${win32} (${formatMessage(win32)})`);
  }
}

function formatMessage(n: number): string {
  const buf = new Uint8Array(1024);
  const len = k32.FormatMessageW(
    FORMAT_MESSAGE_FROM_SYSTEM | FORMAT_MESSAGE_IGNORE_INSERTS,
    null,
    n,
    0,
    buf,
    512,
    null,
  );
  return len ? decodeUtf16z(buf).trim() : "no description";
}

function fail(what: string): never {
  throw new Win32Error(k32.GetLastError(), what);
}

function open(name: string): Deno.PointerObject {
  const h = new BigUint64Array(1);
  if (!ws.OpenPrinterW(utf16z(name), new Uint8Array(h.buffer), null)) {
    fail(`OpenPrinterW("${name}")`);
  }
  const p = Deno.UnsafePointer.create(h[0]);
  if (!p) throw new Win32Error(6, `OpenPrinterW("${name}") returned no handle`);
  return p;
}

/** Calls a Get* function twice: once for the size, once for the data. */
function sized(
  what: string,
  call: (buf: Uint8Array | null, size: number, needed: Uint8Array) => number,
) {
  const needed = new Uint8Array(4);
  call(null, 0, needed);
  const n = u32At(needed, 0);
  if (n === 0) fail(what);
  const buf = new Uint8Array(n);
  if (!call(buf, n, needed)) fail(what);
  return buf;
}

function printerInfo(h: Deno.PointerObject) {
  const b = sized(
    "GetPrinterW(level 2)",
    (buf, size, needed) => ws.GetPrinterW(h, 2, buf, size, needed),
  );
  return {
    name: readUtf16z(ptrAt(b, PRINTER_INFO_2.pPrinterName)),
    port: readUtf16z(ptrAt(b, PRINTER_INFO_2.pPortName)),
    driver: readUtf16z(ptrAt(b, PRINTER_INFO_2.pDriverName)),
    datatype: readUtf16z(ptrAt(b, PRINTER_INFO_2.pDatatype)),
    attributes: u32At(b, PRINTER_INFO_2.Attributes),
    status: u32At(b, PRINTER_INFO_2.Status),
    jobs: u32At(b, PRINTER_INFO_2.cJobs),
  };
}

function driverInfo(h: Deno.PointerObject): { version: number; xps: boolean } {
  const needed = new Uint8Array(4);
  for (const level of [8, 2]) {
    ws.GetPrinterDriverW(h, null, level, null, 0, needed);
    const n = u32At(needed, 0);
    if (!n) continue;
    const buf = new Uint8Array(n);
    if (!ws.GetPrinterDriverW(h, null, level, buf, n, needed)) continue;
    const version = u32At(buf, level === 8 ? DRIVER_INFO_8.cVersion : DRIVER_INFO_2.cVersion);
    const xps = level === 8
      ? (u32At(buf, DRIVER_INFO_8.dwPrinterDriverAttributes) & PRINTER_DRIVER_XPS) !== 0
      : false;
    return { version, xps: xps || version >= 4 };
  }
  return { version: 0, xps: false };
}

/** Tells the main thread how far a call got, so a hang can be placed (open vs. spooling). */
let progress: (step: string, detail?: unknown) => void = () => {};

const ops = {
  print(a: { name: string; title: string; data: Uint8Array }) {
    const h = open(a.name);
    progress("opened");
    try {
      const drv = driverInfo(h);
      const datatype = drv.xps ? "XPS_PASS" : "RAW";
      const di = docInfo1(a.title, datatype);
      const jobId = ws.StartDocPrinterW(h, 1, di.struct);
      if (!jobId) fail(`StartDocPrinterW(datatype ${datatype})`);
      progress("started", jobId);
      try {
        if (!ws.StartPagePrinter(h)) fail("StartPagePrinter");
        const written = new Uint32Array(1);
        let off = 0;
        while (off < a.data.length) {
          const chunk = a.data.subarray(off);
          if (!ws.WritePrinter(h, chunk, chunk.length, new Uint8Array(written.buffer))) {
            fail("WritePrinter");
          }
          if (written[0] === 0) {
            throw new Win32Error(31, `WritePrinter wrote 0 of ${chunk.length} bytes`);
          }
          off += written[0];
        }
        if (!ws.EndPagePrinter(h)) fail("EndPagePrinter");
        progress("written", a.data.length);
      } finally {
        if (!ws.EndDocPrinter(h)) fail("EndDocPrinter");
      }
      progress("ended");
      return { jobId, datatype, bytes: a.data.length };
    } finally {
      ws.ClosePrinter(h); // always: closing flushes the job to the spooler
    }
  },
  info(a: { name: string }) {
    const h = open(a.name);
    try {
      return { ...printerInfo(h), driverVersion: driverInfo(h) };
    } finally {
      ws.ClosePrinter(h);
    }
  },
  job(a: { name: string; jobId: number }) {
    const h = open(a.name);
    try {
      const needed = new Uint8Array(4);
      ws.GetJobW(h, a.jobId, 1, null, 0, needed);
      const n = u32At(needed, 0);
      if (!n) return { found: false };
      const b = new Uint8Array(n);
      if (!ws.GetJobW(h, a.jobId, 1, b, n, needed)) return { found: false };
      return {
        found: true,
        status: u32At(b, JOB_INFO_1.Status),
        statusText: readUtf16z(ptrAt(b, JOB_INFO_1.pStatus)),
        position: u32At(b, JOB_INFO_1.Position),
        pagesPrinted: u32At(b, JOB_INFO_1.PagesPrinted),
      };
    } finally {
      ws.ClosePrinter(h);
    }
  },
  cancel(a: { name: string; jobId: number }) {
    const h = open(a.name);
    try {
      return { cancelled: !!ws.SetJobW(h, a.jobId, 0, null, JOB_CONTROL_DELETE) };
    } finally {
      ws.ClosePrinter(h);
    }
  },
  /** Opens a device for reading and writing; a serial port answers reads within `readMs`. */
  devOpen(a: { path: string; readMs: number; writeMs: number }) {
    const h = k32.CreateFileW(
      utf16z(a.path),
      GENERIC_READ_WRITE,
      0,
      null,
      OPEN_EXISTING,
      FILE_FLAG_OVERLAPPED,
      null,
    );
    if (!h || BigInt(Deno.UnsafePointer.value(h)) === INVALID_HANDLE_VALUE) {
      fail(`CreateFileW("${a.path}")`);
    }
    const ev = k32.CreateEventW(null, 1, 0, null);
    if (!ev) {
      k32.CloseHandle(h);
      fail("CreateEventW");
    }
    // a serial port: reads return as soon as a byte is there; a USB device is not one (ignored)
    const serial = !!k32.SetCommTimeouts(h, commTimeouts(a.readMs, a.writeMs));
    if (serial) k32.PurgeComm(h, PURGE_RXCLEAR_TXCLEAR);
    const id = ++nextDevice;
    devices.set(id, { h, ev, path: a.path });
    return { id, serial };
  },
  devWrite(a: { id: number; data: Uint8Array; timeoutMs: number }) {
    const d = device(a.id);
    const t0 = Date.now();
    let off = 0;
    while (off < a.data.length) {
      const left = a.timeoutMs - (Date.now() - t0);
      const n = left > 0 ? overlapped(d, "WriteFile", a.data.subarray(off), left) : 0;
      if (n === 0) return { written: off }; // the time ran out: the caller says what it means
      off += n;
    }
    return { written: off };
  },
  devRead(a: { id: number; max: number; timeoutMs: number }) {
    const buf = new Uint8Array(a.max);
    const n = overlapped(device(a.id), "ReadFile", buf, a.timeoutMs);
    return { bytes: [...buf.subarray(0, n)] };
  },
  devClose(a: { id: number }) {
    const d = devices.get(a.id);
    if (!d) return { closed: false };
    devices.delete(a.id);
    k32.CloseHandle(d.h);
    k32.CloseHandle(d.ev);
    return { closed: true };
  },
  /**
   * The USB printers Windows' USB printer driver presents (GUID_DEVINTERFACE_USBPRINT): each
   * one's device path, the spooler port its registry key names, and its 1284 ID (null while the
   * spooler holds it). None (not an error) where there are none, as under Wine.
   */
  usbPrinters(): { printers: UsbPrinter[] } {
    usbLibs ??= {
      sa: openSetupapi().symbols,
      reg: openRegistry().symbols,
      io: openIoctl().symbols,
    };
    const { sa, reg } = usbLibs;
    const set = sa.SetupDiGetClassDevsW(
      GUID_DEVINTERFACE_USBPRINT,
      null,
      null,
      DIGCF_PRESENT_INTERFACES,
    );
    if (!set || BigInt(Deno.UnsafePointer.value(set)) === INVALID_HANDLE_VALUE) {
      fail("SetupDiGetClassDevsW(GUID_DEVINTERFACE_USBPRINT)");
    }
    const printers: UsbPrinter[] = [];
    try {
      for (let i = 0; i < 64; i++) {
        const iface = new Uint8Array(SP_DEVICE_INTERFACE_DATA.size);
        new DataView(iface.buffer).setUint32(0, SP_DEVICE_INTERFACE_DATA.size, true);
        if (!sa.SetupDiEnumDeviceInterfaces(set, null, GUID_DEVINTERFACE_USBPRINT, i, iface)) break;
        const need = new Uint32Array(1);
        sa.SetupDiGetDeviceInterfaceDetailW(set, iface, null, 0, new Uint8Array(need.buffer), null);
        if (!need[0]) continue;
        const detail = new Uint8Array(need[0] + 8);
        new DataView(detail.buffer).setUint32(0, SP_DEVICE_INTERFACE_DETAIL_DATA_W.cbSize, true);
        if (
          !sa.SetupDiGetDeviceInterfaceDetailW(
            set,
            iface,
            detail,
            detail.length,
            new Uint8Array(need.buffer),
            null,
          )
        ) continue;
        const path = decodeUtf16z(detail.subarray(SP_DEVICE_INTERFACE_DETAIL_DATA_W.DevicePath));
        let port: string | null = null;
        const key = sa.SetupDiOpenDeviceInterfaceRegKey(set, iface, 0, KEY_READ);
        if (key && BigInt(Deno.UnsafePointer.value(key)) !== INVALID_HANDLE_VALUE) {
          const base = regValue(key, "Base Name");
          const n = regValue(key, "Port Number");
          port = usbPortName(
            typeof base === "string" ? base : null,
            typeof n === "number" ? n : null,
          );
          reg.RegCloseKey(key);
        }
        printers.push({ path, port, id1284: read1284(path) });
      }
    } finally {
      sa.SetupDiDestroyDeviceInfoList(set);
    }
    return { printers };
  },
  list() {
    const flags = PRINTER_ENUM_LOCAL | PRINTER_ENUM_CONNECTIONS;
    const needed = new Uint8Array(4);
    const count = new Uint8Array(4);
    ws.EnumPrintersW(flags, null, 2, null, 0, needed, count);
    const n = u32At(needed, 0);
    const printers = [];
    if (n) {
      const b = new Uint8Array(n);
      if (!ws.EnumPrintersW(flags, null, 2, b, n, needed, count)) fail("EnumPrintersW");
      for (let i = 0; i < u32At(count, 0); i++) {
        const o = i * PRINTER_INFO_2.size;
        printers.push({
          name: readUtf16z(ptrAt(b, o + PRINTER_INFO_2.pPrinterName)),
          port: readUtf16z(ptrAt(b, o + PRINTER_INFO_2.pPortName)),
          driver: readUtf16z(ptrAt(b, o + PRINTER_INFO_2.pDriverName)),
          datatype: readUtf16z(ptrAt(b, o + PRINTER_INFO_2.pDatatype)),
          attributes: u32At(b, o + PRINTER_INFO_2.Attributes),
          status: u32At(b, o + PRINTER_INFO_2.Status),
          jobs: u32At(b, o + PRINTER_INFO_2.cJobs),
        });
      }
    }
    const size = new Uint32Array([512]);
    const nameBuf = new Uint8Array(1024);
    const def = ws.GetDefaultPrinterW(nameBuf, new Uint8Array(size.buffer))
      ? decodeUtf16z(nameBuf)
      : null;
    return { printers, default: def };
  },
};

self.onmessage = (ev: MessageEvent<{ id: number; op: keyof typeof ops; args: never }>) => {
  const { id, op, args } = ev.data;
  progress = (step, detail) => self.postMessage({ id, progress: step, detail });
  try {
    const result = ops[op](args);
    self.postMessage({ id, ok: true, result });
  } catch (e) {
    const win32 = e instanceof Win32Error ? e.win32 : 0;
    const error: WorkerError = {
      code: win32 ? win32ToCode(win32) : "PRINTER_ERROR",
      win32,
      message: (e as Error).message,
    };
    self.postMessage({ id, ok: false, error });
  }
};
