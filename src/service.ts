/**
 * `agent service ...`: Windows service management.
 * @module
 */

/** Runs a service action; returns the exit code. */
export function serviceCommand(action: string | undefined, _configPath: string): Promise<number> {
  if (Deno.build.os !== "windows") {
    console.error(`agent service ${action ?? ""}: Windows services exist only on Windows`);
    return Promise.resolve(2);
  }
  console.error("agent service: not built yet");
  return Promise.resolve(2);
}
