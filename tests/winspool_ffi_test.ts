/**
 * The winspool bindings' struct layouts and UTF-16 strings, byte by byte (on Linux; the calls
 * themselves are proven under Wine by tests/windows/).
 */
import { assert, assertEquals } from "./helpers/assert.ts";
import {
  decodeUtf16z,
  docInfo1,
  JOB_INFO_1,
  JOB_STATUS,
  PRINTER_ATTRIBUTE_WORK_OFFLINE,
  PRINTER_INFO_2,
  PRINTER_STATUS,
  ptrAt,
  readUtf16z,
  u32At,
  utf16z,
  WINSPOOL_SYMBOLS,
} from "../ffi/winspool.ts";
import { jobVerdict, spoolerStatus } from "../src/printers/winspool.ts";
import { win32ToCode } from "../src/printers/win32_errors.ts";

Deno.test("utf16z encodes little-endian UTF-16 with a NUL terminator", () => {
  assertEquals([...utf16z("TP808")], [0x54, 0, 0x50, 0, 0x38, 0, 0x30, 0, 0x38, 0, 0, 0]);
  assertEquals([...utf16z("✓")], [0x13, 0x27, 0, 0]);
  assertEquals([...utf16z("🖨")], [0x3d, 0xd8, 0xa8, 0xdd, 0, 0], "a surrogate pair");
  assertEquals([...utf16z("")], [0, 0]);
});

Deno.test("UTF-16 strings round-trip through buffers and raw pointers", () => {
  for (const s of ["TP808", "Kasir Printer ✓", "打印机", "🖨 POS-001", "\\\\server\\EPSON TM-T82"]) {
    const b = utf16z(s);
    assertEquals(decodeUtf16z(b), s);
    assertEquals(readUtf16z(Deno.UnsafePointer.of(b)), s);
  }
  assertEquals(readUtf16z(null), "");
});

Deno.test("DOC_INFO_1W: three pointers — document name, NULL output file, datatype", () => {
  const { struct, keep } = docInfo1("POS-001 job 39", "RAW");
  assertEquals(struct.length, 24);
  assertEquals(readUtf16z(ptrAt(struct, 0)), "POS-001 job 39");
  assertEquals(ptrAt(struct, 8), null);
  assertEquals(readUtf16z(ptrAt(struct, 16)), "RAW");
  assertEquals(keep.length, 2, "the strings stay referenced while the struct is in use");
});

Deno.test("PRINTER_INFO_2W x64 layout: 13 pointers, then 8 DWORDs, 136 bytes", () => {
  const ptrs = [
    "pServerName",
    "pPrinterName",
    "pShareName",
    "pPortName",
    "pDriverName",
    "pComment",
    "pLocation",
    "pDevMode",
    "pSepFile",
    "pPrintProcessor",
    "pDatatype",
    "pParameters",
    "pSecurityDescriptor",
  ] as const;
  ptrs.forEach((f, i) => assertEquals(PRINTER_INFO_2[f], i * 8, f));
  const dwords = [
    "Attributes",
    "Priority",
    "DefaultPriority",
    "StartTime",
    "UntilTime",
    "Status",
    "cJobs",
    "AveragePPM",
  ] as const;
  dwords.forEach((f, i) => assertEquals(PRINTER_INFO_2[f], 104 + i * 4, f));
  assertEquals(PRINTER_INFO_2.size, 136);
});

Deno.test("JOB_INFO_1W x64 layout: JobId, padding, 6 pointers, 6 DWORDs, SYSTEMTIME, padded to 96", () => {
  assertEquals(JOB_INFO_1.JobId, 0);
  assertEquals(JOB_INFO_1.pPrinterName, 8);
  assertEquals(JOB_INFO_1.pStatus, 48);
  assertEquals(JOB_INFO_1.Status, 56);
  assertEquals(JOB_INFO_1.PagesPrinted, 72);
  assertEquals(JOB_INFO_1.Submitted, 76);
  assertEquals(JOB_INFO_1.size, 96);
  // a struct built by hand reads back through the offsets
  const b = new Uint8Array(JOB_INFO_1.size);
  const v = new DataView(b.buffer);
  v.setUint32(JOB_INFO_1.Status, JOB_STATUS.PAUSED | JOB_STATUS.ERROR, true);
  assertEquals(u32At(b, JOB_INFO_1.Status), 3);
});

Deno.test("the FFI signatures use 64-bit handles and u32 DWORDs", () => {
  assertEquals(WINSPOOL_SYMBOLS.OpenPrinterW.parameters, ["buffer", "buffer", "pointer"]);
  assertEquals(WINSPOOL_SYMBOLS.WritePrinter.parameters, ["pointer", "buffer", "u32", "buffer"]);
  assertEquals(WINSPOOL_SYMBOLS.StartDocPrinterW.result, "u32");
});

Deno.test("spooler status maps to the agent's statuses; 'ready' alone is not OK", () => {
  assertEquals(spoolerStatus(0, 0, false).status, "UNKNOWN");
  assertEquals(spoolerStatus(0, 0, true).status, "OK");
  assertEquals(spoolerStatus(PRINTER_STATUS.OFFLINE, 0, true).status, "OFFLINE");
  assertEquals(spoolerStatus(0, PRINTER_ATTRIBUTE_WORK_OFFLINE, true).status, "OFFLINE");
  assertEquals(spoolerStatus(PRINTER_STATUS.PAPER_OUT, 0, true).status, "PAPER_OUT");
  assertEquals(spoolerStatus(PRINTER_STATUS.DOOR_OPEN, 0, true).status, "COVER_OPEN");
  assertEquals(spoolerStatus(PRINTER_STATUS.PAUSED, 0, true).status, "ERROR");
  assertEquals(spoolerStatus(PRINTER_STATUS.PAPER_JAM, 0, true).status, "ERROR");
});

Deno.test("a job in the queue is done, moving or stuck", () => {
  assertEquals(jobVerdict(false, 0).state, "done");
  assertEquals(jobVerdict(true, JOB_STATUS.PRINTED).state, "done");
  assertEquals(jobVerdict(true, JOB_STATUS.SPOOLING).state, "moving");
  const s = jobVerdict(true, JOB_STATUS.PAUSED | JOB_STATUS.OFFLINE);
  assertEquals(s.state, "stuck");
  assert(s.why?.includes("paused") && s.why.includes("offline"));
});

Deno.test("Windows errors map to stable codes", () => {
  assertEquals(win32ToCode(1801), "PRINTER_NOT_FOUND");
  assertEquals(win32ToCode(5), "PRINTER_ACCESS_DENIED");
  assertEquals(win32ToCode(1722), "SPOOLER_UNAVAILABLE");
  assertEquals(win32ToCode(99999), "PRINTER_ERROR");
  // devices (a serial port, a USB printer): unplugged, not there, held by another program
  assertEquals(win32ToCode(1167), "PRINTER_OFFLINE"); // ERROR_DEVICE_NOT_CONNECTED
  assertEquals(win32ToCode(2), "PRINTER_NOT_FOUND"); // ERROR_FILE_NOT_FOUND
  assertEquals(win32ToCode(32), "PRINTER_OFFLINE"); // ERROR_SHARING_VIOLATION
  assertEquals(win32ToCode(31), "PRINTER_ERROR"); // ERROR_GEN_FAILURE
});
