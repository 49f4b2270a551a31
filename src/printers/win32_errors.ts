/**
 * Windows error numbers → the agent's stable error codes.
 * @module
 */
import type { ErrorCode } from "../errors.ts";

const MAP: Record<number, ErrorCode> = {
  2: "PRINTER_NOT_FOUND", // ERROR_FILE_NOT_FOUND (port gone)
  5: "PRINTER_ACCESS_DENIED", // ERROR_ACCESS_DENIED
  21: "PRINTER_OFFLINE", // ERROR_NOT_READY
  31: "PRINTER_ERROR", // ERROR_GEN_FAILURE
  32: "PRINTER_OFFLINE", // ERROR_SHARING_VIOLATION (a device another program holds)
  1167: "PRINTER_OFFLINE", // ERROR_DEVICE_NOT_CONNECTED (unplugged)
  1460: "PRINTER_TIMEOUT", // ERROR_TIMEOUT
  1722: "SPOOLER_UNAVAILABLE", // RPC_S_SERVER_UNAVAILABLE
  1726: "SPOOLER_UNAVAILABLE", // RPC_S_CALL_FAILED
  1801: "PRINTER_NOT_FOUND", // ERROR_INVALID_PRINTER_NAME
  1804: "PRINTER_ERROR", // ERROR_INVALID_DATATYPE
  1906: "PRINTER_NOT_FOUND", // ERROR_PRINTER_DELETED
  2150: "PRINTER_NOT_FOUND", // ERROR_INVALID_PRINTER_NAME (net)
  3012: "PRINTER_NOT_FOUND", // ERROR_PRINTER_NOT_FOUND
};

/** The agent code for a Windows error number. */
export function win32ToCode(n: number): ErrorCode {
  return MAP[n] ?? "PRINTER_ERROR";
}
