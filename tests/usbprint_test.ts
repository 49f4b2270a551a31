/**
 * USB printers behind the spooler (`usbprint`): the IOCTL codes from usbprint.h, the 1284 ID
 * buffer and its fields, the port a device interface names, the one printer a queue's port
 * means (never a guess), and how the spooler's view and the printer's answer combine. The
 * SetupAPI enumeration itself runs under Wine (tests/windows/guest/winspool.guest.ts).
 */
import { assertEquals, assertMatch } from "./helpers/assert.ts";
import {
  combineStatus,
  findForPort,
  isUsbPort,
  parse1284,
  read1284Buffer,
  usbPortName,
  type UsbPrinter,
} from "../src/printers/usbprint.ts";
import {
  ctlCode,
  GUID_DEVINTERFACE_USBPRINT,
  guidBytes,
  IOCTL_USBPRINT_GET_1284_ID,
  IOCTL_USBPRINT_GET_LPT_STATUS,
} from "../ffi/setupapi.ts";
import { PRINTER_STATUSES } from "../src/printers/printer.ts";

Deno.test("the IOCTL codes are usbprint.h's: CTL_CODE(FILE_DEVICE_UNKNOWN, 12/13, METHOD_BUFFERED, FILE_ANY_ACCESS)", () => {
  assertEquals(IOCTL_USBPRINT_GET_LPT_STATUS, 0x220030);
  assertEquals(IOCTL_USBPRINT_GET_1284_ID, 0x220034);
  assertEquals(ctlCode(0x22, 0, 0, 0), 0x220000);
  assertEquals(ctlCode(0x9, 0x1, 0x3, 0x2), 0x98007); // (9 << 16) | (2 << 14) | (1 << 2) | 3
});

Deno.test("GUID_DEVINTERFACE_USBPRINT in memory order", () => {
  assertEquals(
    [...GUID_DEVINTERFACE_USBPRINT].map((b) => b.toString(16).padStart(2, "0")).join(""),
    "ad8fd728125ad111ae5b0000f803a8c2",
  );
  for (const bad of ["", "28d78fad", "zzd78fad-5a12-11d1-ae5b-0000f803a8c2"]) {
    let threw = false;
    try {
      guidBytes(bad);
    } catch {
      threw = true;
    }
    assertEquals(threw, true, bad);
  }
});

const enc = (s: string) => new TextEncoder().encode(s);
function buffer(id: string, lenOverride?: number, tail = [0]): Uint8Array {
  const body = enc(id);
  const len = lenOverride ?? body.length + 2;
  return new Uint8Array([len >> 8, len & 0xff, ...body, ...tail]);
}

Deno.test("the 1284 ID buffer: length prefix honoured, and distrusted when it lies", () => {
  const id = "MFG:EPSON;CMD:ESC/POS;MDL:TM-T20II;CLS:PRINTER;DES:EPSON TM-T20II;";
  assertEquals(read1284Buffer(buffer(id)), id);
  // a length counting more than was returned, or less than 2: read to the NUL
  assertEquals(read1284Buffer(buffer(id, 4000)), id);
  assertEquals(read1284Buffer(buffer(id, 1)), id);
  // the bytes returned (DeviceIoControl's count) bound it, whatever the buffer holds after
  const b = buffer(id);
  assertEquals(read1284Buffer(b, 2 + 9), "MFG:EPSON");
  assertEquals(read1284Buffer(new Uint8Array(0)), "");
  assertEquals(read1284Buffer(new Uint8Array([0])), "");
  // every length from 0 to past the end: never throws, never reads beyond the count
  for (let n = 0; n <= b.length + 3; n++) {
    const s = read1284Buffer(b, n);
    assertEquals(id.startsWith(s), true, `n=${n}: ${s}`);
  }
  // a byte beyond ASCII is read, not dropped
  assertEquals(read1284Buffer(new Uint8Array([0, 7, 0x4d, 0x44, 0x4c, 0x3a, 0xe9])), "MDL:é");
});

Deno.test("1284 ID fields: short and long keys, any order, spaces, command sets", () => {
  const cases: [string, string | null, string | null, string[]][] = [
    ["MFG:EPSON;CMD:ESC/POS;MDL:TM-T20II;", "EPSON", "TM-T20II", ["ESC/POS"]],
    [
      "MANUFACTURER:XPrinter;MODEL:XP-58IIH;COMMAND SET:ESC/POS,PCL;",
      "XPrinter",
      "XP-58IIH",
      ["ESC/POS", "PCL"],
    ],
    [" mdl : TP808 ; mfg : HRPT ", "HRPT", "TP808", []],
    ["garbage without fields", null, null, []],
    ["", null, null, []],
    ["MFG:;MDL:X;", null, "X", []],
  ];
  for (const [raw, mfg, mdl, cmd] of cases) {
    const p = parse1284(raw);
    assertEquals([p.mfg, p.mdl, p.cmd], [mfg, mdl, cmd], raw);
  }
});

Deno.test("the spooler port a device interface names; which ports are USB printer ports", () => {
  assertEquals(usbPortName("USB", 1), "USB001");
  assertEquals(usbPortName(null, 12), "USB012");
  assertEquals(usbPortName("USB", 1234), "USB1234");
  assertEquals(usbPortName("USB", null), null);
  assertEquals(usbPortName("USB", -1), null);
  for (const p of ["USB001", "usb002", "USB1234"]) assertEquals(isUsbPort(p), true, p);
  for (const p of ["USB", "USB1", "LPT1:", "COM3:", "IP_192.168.1.50", "CUPS:TP808", ""]) {
    assertEquals(isUsbPort(p), false, p);
  }
});

Deno.test("a queue's port means one printer, never a guess", () => {
  const d = (port: string | null, n: number): UsbPrinter => ({
    path: `\\\\?\\usb#vid_04b8&pid_0e15#${n}`,
    port,
    id1284: null,
  });
  assertEquals(findForPort("USB002", [d("USB001", 1), d("USB002", 2)])?.path, d("USB002", 2).path);
  assertEquals(findForPort("usb002", [d("USB002", 2)])?.path, d("USB002", 2).path);
  // the only USB printer, but its key names no port (or another): not taken for this queue
  assertEquals(findForPort("USB001", [d(null, 1)]), null);
  assertEquals(findForPort("USB001", [d("USB003", 3)]), null);
  assertEquals(findForPort("USB001", []), null);
  // two interfaces claiming one port: ambiguous, none
  assertEquals(findForPort("USB001", [d("USB001", 1), d("USB001", 2)]), null);
});

Deno.test("the spooler's view and the printer's answer: the printer wins, a queue-level fault stays", () => {
  const spoolerOk = {
    status: "UNKNOWN" as const,
    detail: "spooler ready, but no job has confirmed",
  };
  for (const s of PRINTER_STATUSES) {
    const device = { status: s, detail: `device ${s}` };
    const r = combineStatus(spoolerOk, device, "usbprint USB001");
    if (s === "UNKNOWN") {
      assertEquals(r.status, "UNKNOWN");
      assertMatch(r.detail, /usbprint USB001: device UNKNOWN/);
    } else {
      assertEquals(r.status, s);
      assertMatch(r.detail, new RegExp(`usbprint USB001: device ${s}`));
    }
  }
  const paused = { status: "ERROR" as const, detail: "the print queue is paused" };
  assertEquals(combineStatus(paused, { status: "OK", detail: "ready" }, "u").status, "ERROR");
  const offline = { status: "OFFLINE" as const, detail: "set to 'Use printer offline'" };
  assertEquals(combineStatus(offline, { status: "OK", detail: "ready" }, "u").status, "OFFLINE");
  assertEquals(combineStatus(spoolerOk, null, "u"), spoolerOk);
});
