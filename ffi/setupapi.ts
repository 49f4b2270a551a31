/**
 * Deno FFI bindings for finding USB printers the way Windows' own USB port monitor does:
 * `setupapi.dll` enumerates the device interfaces of `GUID_DEVINTERFACE_USBPRINT`, each
 * interface's registry key (`advapi32.dll`) names its spooler port (`Base Name` + `Port Number`
 * → `USB001`), and `IOCTL_USBPRINT_GET_1284_ID` (usbprint.h) reads the printer's IEEE 1284 ID.
 * Bindings and layouts only (x64); the policy is in src/printers/usbprint.ts.
 * @module
 */

/** setupapi.dll symbols. */
export const SETUPAPI_SYMBOLS = {
  SetupDiGetClassDevsW: {
    parameters: ["buffer", "pointer", "pointer", "u32"],
    result: "pointer",
  },
  SetupDiEnumDeviceInterfaces: {
    parameters: ["pointer", "pointer", "buffer", "u32", "buffer"],
    result: "i32",
  },
  SetupDiGetDeviceInterfaceDetailW: {
    parameters: ["pointer", "buffer", "buffer", "u32", "buffer", "pointer"],
    result: "i32",
  },
  SetupDiOpenDeviceInterfaceRegKey: {
    parameters: ["pointer", "buffer", "u32", "u32"],
    result: "pointer",
  },
  SetupDiDestroyDeviceInfoList: { parameters: ["pointer"], result: "i32" },
} as const satisfies Deno.ForeignLibraryInterface;

/** advapi32.dll registry symbols (the interface key's values). */
export const REGISTRY_SYMBOLS = {
  RegQueryValueExW: {
    parameters: ["pointer", "buffer", "pointer", "buffer", "buffer", "buffer"],
    result: "i32",
  },
  RegCloseKey: { parameters: ["pointer"], result: "i32" },
} as const satisfies Deno.ForeignLibraryInterface;

/** kernel32.dll: the IOCTL call. */
export const IOCTL_SYMBOLS = {
  DeviceIoControl: {
    parameters: ["pointer", "u32", "pointer", "u32", "buffer", "u32", "buffer", "buffer"],
    result: "i32",
  },
} as const satisfies Deno.ForeignLibraryInterface;

/** Opens setupapi.dll. */
export function openSetupapi(): Deno.DynamicLibrary<typeof SETUPAPI_SYMBOLS> {
  return Deno.dlopen("setupapi.dll", SETUPAPI_SYMBOLS);
}

/** Opens advapi32.dll for the registry calls. */
export function openRegistry(): Deno.DynamicLibrary<typeof REGISTRY_SYMBOLS> {
  return Deno.dlopen("advapi32.dll", REGISTRY_SYMBOLS);
}

/** Opens kernel32.dll for DeviceIoControl. */
export function openIoctl(): Deno.DynamicLibrary<typeof IOCTL_SYMBOLS> {
  return Deno.dlopen("kernel32.dll", IOCTL_SYMBOLS);
}

/** GUID_DEVINTERFACE_USBPRINT {28d78fad-5a12-11d1-ae5b-0000f803a8c2}, as the 16 bytes of a GUID. */
export const GUID_DEVINTERFACE_USBPRINT: Uint8Array = guidBytes(
  "28d78fad-5a12-11d1-ae5b-0000f803a8c2",
);

/** A GUID's 16 bytes in memory order (Data1-3 little-endian, Data4 as written). */
export function guidBytes(s: string): Uint8Array {
  const h = s.replace(/-/g, "");
  if (!/^[0-9a-f]{32}$/i.test(h)) throw new Error(`not a GUID: ${s}`);
  const b = new Uint8Array(16);
  const v = new DataView(b.buffer);
  v.setUint32(0, parseInt(h.slice(0, 8), 16), true);
  v.setUint16(4, parseInt(h.slice(8, 12), 16), true);
  v.setUint16(6, parseInt(h.slice(12, 16), 16), true);
  for (let i = 0; i < 8; i++) b[8 + i] = parseInt(h.slice(16 + i * 2, 18 + i * 2), 16);
  return b;
}

/** SetupDiGetClassDevsW flags: present devices, by interface class. */
export const DIGCF_PRESENT_INTERFACES = 0x2 | 0x10;
/** SP_DEVICE_INTERFACE_DATA (x64): cbSize, InterfaceClassGuid, Flags, Reserved. */
export const SP_DEVICE_INTERFACE_DATA = { size: 32 } as const;
/** SP_DEVICE_INTERFACE_DETAIL_DATA_W (x64): cbSize is 8; DevicePath starts at 4. */
export const SP_DEVICE_INTERFACE_DETAIL_DATA_W = { cbSize: 8, DevicePath: 4 } as const;
/** Registry access for reading. */
export const KEY_READ = 0x20019;
/** Registry value types. */
export const REG_SZ = 1;
/** A 32-bit number. */
export const REG_DWORD = 4;

/** `CTL_CODE(device, function, method, access)` from winioctl.h. */
export function ctlCode(device: number, fn: number, method: number, access: number): number {
  return ((device << 16) | (access << 14) | (fn << 2) | method) >>> 0;
}
/** FILE_DEVICE_UNKNOWN, METHOD_BUFFERED, FILE_ANY_ACCESS, and usbprint.h's USBPRINT_IOCTL_INDEX. */
const FILE_DEVICE_UNKNOWN = 0x22, METHOD_BUFFERED = 0, FILE_ANY_ACCESS = 0, USBPRINT_INDEX = 0;
/** usbprint.h: the printer's status byte, as a parallel port would give it (a weak fallback). */
export const IOCTL_USBPRINT_GET_LPT_STATUS: number = ctlCode(
  FILE_DEVICE_UNKNOWN,
  USBPRINT_INDEX + 12,
  METHOD_BUFFERED,
  FILE_ANY_ACCESS,
);
/** usbprint.h: the printer's IEEE 1284 device ID (2-byte big-endian length, then the text). */
export const IOCTL_USBPRINT_GET_1284_ID: number = ctlCode(
  FILE_DEVICE_UNKNOWN,
  USBPRINT_INDEX + 13,
  METHOD_BUFFERED,
  FILE_ANY_ACCESS,
);
