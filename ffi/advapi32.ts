/**
 * Deno FFI bindings for the Service Control Manager protocol in `advapi32.dll`, and the struct
 * layouts they use (x64). Bindings only: the service's behaviour lives in `src/site/service.ts`.
 * @module
 */

/** advapi32.dll symbols for running as a service. */
export const ADVAPI32_SYMBOLS = {
  // Blocks until every service of the process has stopped: called nonblocking (on another
  // thread) so the event loop keeps running the agent.
  StartServiceCtrlDispatcherW: { parameters: ["buffer"], result: "i32", nonblocking: true },
  RegisterServiceCtrlHandlerExW: {
    parameters: ["buffer", "function", "pointer"],
    result: "pointer",
  },
  SetServiceStatus: { parameters: ["pointer", "buffer"], result: "i32" },
} as const satisfies Deno.ForeignLibraryInterface;

/** Opens advapi32.dll. */
export function openAdvapi32(): Deno.DynamicLibrary<typeof ADVAPI32_SYMBOLS> {
  return Deno.dlopen("advapi32.dll", ADVAPI32_SYMBOLS);
}

/** `LPSERVICE_MAIN_FUNCTIONW`: `void ServiceMain(DWORD argc, LPWSTR *argv)`. */
export const SERVICE_MAIN = { parameters: ["u32", "pointer"], result: "void" } as const;
/** `LPHANDLER_FUNCTION_EX`: `DWORD HandlerEx(DWORD control, DWORD type, LPVOID data, LPVOID ctx)`. */
export const HANDLER_EX = {
  parameters: ["u32", "u32", "pointer", "pointer"],
  result: "u32",
} as const;

/** SERVICE_STATUS.dwServiceType for a service alone in its process. */
export const SERVICE_WIN32_OWN_PROCESS = 0x10;

/** SERVICE_STATUS.dwCurrentState values. */
export const SERVICE_STATE = {
  STOPPED: 1,
  START_PENDING: 2,
  STOP_PENDING: 3,
  RUNNING: 4,
} as const;

/** Controls sent to HandlerEx. */
export const SERVICE_CONTROL = { STOP: 1, INTERROGATE: 4, SHUTDOWN: 5 } as const;

/** SERVICE_STATUS.dwControlsAccepted bits. */
export const SERVICE_ACCEPT_STOP = 0x1;
/** The service accepts the shutdown control. */
export const SERVICE_ACCEPT_SHUTDOWN = 0x4;

/** HandlerEx results. */
export const NO_ERROR = 0;
/** Win32: the call is not implemented (not running as a service). */
export const ERROR_CALL_NOT_IMPLEMENTED = 120;
/** StartServiceCtrlDispatcherW's error when the process was not started by the SCM. */
export const ERROR_FAILED_SERVICE_CONTROLLER_CONNECT = 1063;
/** SERVICE_STATUS.dwWin32ExitCode meaning "see dwServiceSpecificExitCode". */
export const ERROR_SERVICE_SPECIFIC_ERROR = 1066;

/** The fields of SERVICE_STATUS (seven DWORDs, 28 bytes). */
export interface ServiceStatus {
  /** dwServiceType. */
  serviceType: number;
  /** dwCurrentState. */
  currentState: number;
  /** dwControlsAccepted. */
  controlsAccepted: number;
  /** dwWin32ExitCode. */
  win32ExitCode: number;
  /** dwServiceSpecificExitCode. */
  serviceSpecificExitCode: number;
  /** dwCheckPoint. */
  checkPoint: number;
  /** dwWaitHint. */
  waitHint: number;
}

/** Encodes SERVICE_STATUS. */
export function serviceStatus(s: ServiceStatus): Uint8Array<ArrayBuffer> {
  const b = new Uint8Array(28);
  const v = new DataView(b.buffer);
  [
    s.serviceType,
    s.currentState,
    s.controlsAccepted,
    s.win32ExitCode,
    s.serviceSpecificExitCode,
    s.checkPoint,
    s.waitHint,
  ].forEach((x, i) => v.setUint32(i * 4, x >>> 0, true));
  return b;
}

/**
 * Builds the two-entry SERVICE_TABLE_ENTRYW array (name, ServiceMain; then NULL, NULL).
 * `name` must stay alive while the dispatcher runs.
 */
export function serviceTable(
  name: Uint8Array<ArrayBuffer>,
  serviceMain: Deno.PointerValue,
): Uint8Array<ArrayBuffer> {
  const b = new Uint8Array(32);
  const v = new DataView(b.buffer);
  v.setBigUint64(0, BigInt(Deno.UnsafePointer.value(Deno.UnsafePointer.of(name))), true);
  v.setBigUint64(8, BigInt(Deno.UnsafePointer.value(serviceMain)), true);
  return b;
}
