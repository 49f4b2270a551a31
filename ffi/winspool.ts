/**
 * Deno FFI bindings for `winspool.drv` and `kernel32.dll`, and the struct layouts they use
 * (x64). Bindings only: no policy here. Every function is synchronous; call them from a Worker
 * so `GetLastError` is read on the thread that made the call.
 * @module
 */

/** winspool.drv symbols used by the agent. */
export const WINSPOOL_SYMBOLS = {
  OpenPrinterW: { parameters: ["buffer", "buffer", "pointer"], result: "i32" },
  ClosePrinter: { parameters: ["pointer"], result: "i32" },
  StartDocPrinterW: { parameters: ["pointer", "u32", "buffer"], result: "u32" },
  EndDocPrinter: { parameters: ["pointer"], result: "i32" },
  StartPagePrinter: { parameters: ["pointer"], result: "i32" },
  EndPagePrinter: { parameters: ["pointer"], result: "i32" },
  WritePrinter: { parameters: ["pointer", "buffer", "u32", "buffer"], result: "i32" },
  GetPrinterW: { parameters: ["pointer", "u32", "buffer", "u32", "buffer"], result: "i32" },
  EnumPrintersW: {
    parameters: ["u32", "buffer", "u32", "buffer", "u32", "buffer", "buffer"],
    result: "i32",
  },
  GetDefaultPrinterW: { parameters: ["buffer", "buffer"], result: "i32" },
  GetJobW: { parameters: ["pointer", "u32", "u32", "buffer", "u32", "buffer"], result: "i32" },
  SetJobW: { parameters: ["pointer", "u32", "u32", "buffer", "u32"], result: "i32" },
  GetPrinterDriverW: {
    parameters: ["pointer", "buffer", "u32", "buffer", "u32", "buffer"],
    result: "i32",
  },
} as const satisfies Deno.ForeignLibraryInterface;

/** kernel32.dll symbols used by the agent. */
export const KERNEL32_SYMBOLS = {
  GetLastError: { parameters: [], result: "u32" },
  // devices (a serial port, a USB printer's device path): overlapped I/O with timeouts
  CreateFileW: {
    parameters: ["buffer", "u32", "u32", "pointer", "u32", "u32", "pointer"],
    result: "pointer",
  },
  CloseHandle: { parameters: ["pointer"], result: "i32" },
  CreateEventW: { parameters: ["pointer", "i32", "i32", "pointer"], result: "pointer" },
  ResetEvent: { parameters: ["pointer"], result: "i32" },
  ReadFile: { parameters: ["pointer", "buffer", "u32", "pointer", "buffer"], result: "i32" },
  WriteFile: { parameters: ["pointer", "buffer", "u32", "pointer", "buffer"], result: "i32" },
  WaitForSingleObject: { parameters: ["pointer", "u32"], result: "u32" },
  GetOverlappedResult: { parameters: ["pointer", "buffer", "buffer", "i32"], result: "i32" },
  CancelIoEx: { parameters: ["pointer", "buffer"], result: "i32" },
  SetCommTimeouts: { parameters: ["pointer", "buffer"], result: "i32" },
  PurgeComm: { parameters: ["pointer", "u32"], result: "i32" },
  FormatMessageW: {
    parameters: ["u32", "pointer", "u32", "u32", "buffer", "u32", "pointer"],
    result: "u32",
  },
} as const satisfies Deno.ForeignLibraryInterface;

/** Opens winspool.drv. */
export function openWinspool(): Deno.DynamicLibrary<typeof WINSPOOL_SYMBOLS> {
  return Deno.dlopen("winspool.drv", WINSPOOL_SYMBOLS);
}

/** Opens kernel32.dll. */
export function openKernel32(): Deno.DynamicLibrary<typeof KERNEL32_SYMBOLS> {
  return Deno.dlopen("kernel32.dll", KERNEL32_SYMBOLS);
}

// ---- constants ----------------------------------------------------------------------------

/** EnumPrinters flags. */
export const PRINTER_ENUM_LOCAL = 0x2;
/** EnumPrinters: the user's connections to network printers. */
export const PRINTER_ENUM_CONNECTIONS = 0x4;
/** SetJob command. */
export const JOB_CONTROL_DELETE = 5;
/** FormatMessage flags. */
export const FORMAT_MESSAGE_FROM_SYSTEM = 0x1000;
/** FormatMessage: leave %1-style inserts alone. */
export const FORMAT_MESSAGE_IGNORE_INSERTS = 0x200;
/** DRIVER_INFO_8 attribute: an XPS (v4) driver. */
export const PRINTER_DRIVER_XPS = 0x2;

/** CreateFileW access: GENERIC_READ | GENERIC_WRITE. */
export const GENERIC_READ_WRITE = 0xc0000000;
/** CreateFileW disposition: the device must exist. */
export const OPEN_EXISTING = 3;
/** CreateFileW flag: overlapped I/O, so a read or write can time out and be cancelled. */
export const FILE_FLAG_OVERLAPPED = 0x40000000;
/** The handle CreateFileW returns on failure. */
export const INVALID_HANDLE_VALUE = 0xffffffffffffffffn;
/** ReadFile/WriteFile on an overlapped handle: started, not finished. */
export const ERROR_IO_PENDING = 997;
/** WaitForSingleObject: the time ran out. */
export const WAIT_TIMEOUT = 258;
/** PurgeComm: drop what waits to be read and written. */
export const PURGE_RXCLEAR_TXCLEAR = 0x0008 | 0x0004;
/** OVERLAPPED (x64): Internal, InternalHigh, Offset, OffsetHigh, hEvent. */
export const OVERLAPPED = { size: 32, hEvent: 24 } as const;
/**
 * COMMTIMEOUTS (5 × DWORD) for "return at once when a byte is there, else after `ms`":
 * ReadIntervalTimeout and ReadTotalTimeoutMultiplier MAXDWORD, ReadTotalTimeoutConstant `ms`.
 */
export function commTimeouts(readMs: number, writeMs: number): Uint8Array {
  return new Uint8Array(new Uint32Array([0xffffffff, 0xffffffff, readMs, 0, writeMs]).buffer);
}

/** PRINTER_INFO_2.Status bits. */
export const PRINTER_STATUS = {
  PAUSED: 0x1,
  ERROR: 0x2,
  PENDING_DELETION: 0x4,
  PAPER_JAM: 0x8,
  PAPER_OUT: 0x10,
  MANUAL_FEED: 0x20,
  PAPER_PROBLEM: 0x40,
  OFFLINE: 0x80,
  IO_ACTIVE: 0x100,
  BUSY: 0x200,
  PRINTING: 0x400,
  OUTPUT_BIN_FULL: 0x800,
  NOT_AVAILABLE: 0x1000,
  WAITING: 0x2000,
  PROCESSING: 0x4000,
  INITIALIZING: 0x8000,
  WARMING_UP: 0x10000,
  TONER_LOW: 0x20000,
  NO_TONER: 0x40000,
  PAGE_PUNT: 0x80000,
  USER_INTERVENTION: 0x100000,
  OUT_OF_MEMORY: 0x200000,
  DOOR_OPEN: 0x400000,
  SERVER_UNKNOWN: 0x800000,
  POWER_SAVE: 0x1000000,
} as const;

/** PRINTER_INFO_2.Attributes bits used. */
export const PRINTER_ATTRIBUTE_WORK_OFFLINE = 0x400;
/** PRINTER_INFO_2 attribute: a network printer. */
export const PRINTER_ATTRIBUTE_NETWORK = 0x10;
/** PRINTER_INFO_2 attribute: a local printer. */
export const PRINTER_ATTRIBUTE_LOCAL = 0x40;

/** JOB_INFO_1.Status bits. */
export const JOB_STATUS = {
  PAUSED: 0x1,
  ERROR: 0x2,
  DELETING: 0x4,
  SPOOLING: 0x8,
  PRINTING: 0x10,
  OFFLINE: 0x20,
  PAPEROUT: 0x40,
  PRINTED: 0x80,
  DELETED: 0x100,
  BLOCKED_DEVQ: 0x200,
  USER_INTERVENTION: 0x400,
  RESTART: 0x800,
  COMPLETE: 0x1000,
} as const;

// ---- struct layouts (x64) -----------------------------------------------------------------

/** Byte offsets of PRINTER_INFO_2W on x64 (136 bytes). */
export const PRINTER_INFO_2 = {
  size: 136,
  pServerName: 0,
  pPrinterName: 8,
  pShareName: 16,
  pPortName: 24,
  pDriverName: 32,
  pComment: 40,
  pLocation: 48,
  pDevMode: 56,
  pSepFile: 64,
  pPrintProcessor: 72,
  pDatatype: 80,
  pParameters: 88,
  pSecurityDescriptor: 96,
  Attributes: 104,
  Priority: 108,
  DefaultPriority: 112,
  StartTime: 116,
  UntilTime: 120,
  Status: 124,
  cJobs: 128,
  AveragePPM: 132,
} as const;

/** Byte offsets of JOB_INFO_1W on x64 (96 bytes: SYSTEMTIME at 76, padded to 8). */
export const JOB_INFO_1 = {
  size: 96,
  JobId: 0,
  pPrinterName: 8,
  pMachineName: 16,
  pUserName: 24,
  pDocument: 32,
  pDatatype: 40,
  pStatus: 48,
  Status: 56,
  Priority: 60,
  Position: 64,
  TotalPages: 68,
  PagesPrinted: 72,
  Submitted: 76,
} as const;

/** Byte offsets of DRIVER_INFO_2W on x64. */
export const DRIVER_INFO_2 = {
  size: 48,
  cVersion: 0,
  pName: 8,
  pEnvironment: 16,
  pDriverPath: 24,
  pDataFile: 32,
  pConfigFile: 40,
} as const;

/** Byte offset of dwPrinterDriverAttributes in DRIVER_INFO_8W on x64. */
export const DRIVER_INFO_8 = {
  size: 200,
  cVersion: 0,
  pName: 8,
  dwPrinterDriverAttributes: 168,
} as const;

/** Encodes a string as NUL-terminated UTF-16LE (any Unicode, surrogate pairs included). */
export function utf16z(s: string): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array((s.length + 1) * 2);
  const view = new DataView(out.buffer);
  for (let i = 0; i < s.length; i++) view.setUint16(i * 2, s.charCodeAt(i), true);
  return out;
}

/** Reads a NUL-terminated UTF-16LE string at a pointer (null pointer → ""). */
export function readUtf16z(ptr: Deno.PointerValue, maxChars = 32_768): string {
  if (ptr === null) return "";
  const view = new Deno.UnsafePointerView(ptr);
  const units: number[] = [];
  for (let i = 0; i < maxChars; i++) {
    const u = view.getUint16(i * 2);
    if (u === 0) break;
    units.push(u);
  }
  return String.fromCharCode(...units);
}

/** Decodes a UTF-16LE buffer up to its first NUL. */
export function decodeUtf16z(buf: Uint8Array): string {
  const u16 = new Uint16Array(buf.buffer, buf.byteOffset, buf.byteLength >> 1);
  const end = u16.indexOf(0);
  return String.fromCharCode(...u16.subarray(0, end < 0 ? u16.length : end));
}

/**
 * Builds a DOC_INFO_1W (three LPWSTR: document name, output file (NULL), datatype). The string
 * buffers are returned too: they must stay alive until StartDocPrinterW returns.
 */
export function docInfo1(docName: string, datatype: string): {
  struct: Uint8Array<ArrayBuffer>;
  keep: Uint8Array[];
} {
  const name = utf16z(docName);
  const type = utf16z(datatype);
  const struct = new Uint8Array(24);
  const v = new DataView(struct.buffer);
  v.setBigUint64(0, BigInt(Deno.UnsafePointer.value(Deno.UnsafePointer.of(name))), true);
  v.setBigUint64(8, 0n, true);
  v.setBigUint64(16, BigInt(Deno.UnsafePointer.value(Deno.UnsafePointer.of(type))), true);
  return { struct, keep: [name, type] };
}

/** Reads a pointer-sized field of a struct held in a buffer. */
export function ptrAt(buf: Uint8Array, offset: number): Deno.PointerValue {
  const v = new DataView(buf.buffer, buf.byteOffset, buf.byteLength).getBigUint64(offset, true);
  return Deno.UnsafePointer.create(v);
}

/** Reads a u32 field of a struct held in a buffer. */
export function u32At(buf: Uint8Array, offset: number): number {
  return new DataView(buf.buffer, buf.byteOffset, buf.byteLength).getUint32(offset, true);
}
