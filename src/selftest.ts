/**
 * `agent --selftest`: on-site checks.
 * @module
 */
import type { Config, ConfigError } from "./config.ts";

/** Runs the checks; returns the exit code. */
export function selftest(o: {
  config: Config | null;
  configError: ConfigError | null;
  configPath: string;
  json: boolean;
  print: boolean;
}): Promise<number> {
  if (o.configError) {
    console.log(`FAIL  config  ${o.configError.message}`);
    return Promise.resolve(1);
  }
  console.log(`PASS  config  ${o.configPath}`);
  return Promise.resolve(0);
}
