/**
 * `agent.exe` — the entry point.
 *
 * ```
 * agent [run]                 run the agent (default)
 * agent config                validate the configuration and print it (secrets masked)
 * agent printers              list the printers this account can see (Windows)
 * agent selftest | --selftest on-site checks: PASS / WARN / FAIL, non-zero exit on FAIL
 * agent service <install|uninstall|start|stop|status>
 * flags: --config PATH  --json  --print  --version  --help
 * ```
 * @module
 */
import { parseArgs } from "node:util";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { type Config, ConfigError, loadConfig, maskedConfig, parseConfigText } from "./config.ts";
import { StartupError } from "./run.ts";
import { supervise } from "./site/supervisor.ts";
import { VERSION } from "./version.ts";
import { closeLogging, log } from "./log.ts";

const HELP = `Print Agent ${VERSION} — takes print jobs from the POS server and prints them.

Usage: agent [command] [--config PATH] [--json]

Commands:
  run                 run the agent (default); Ctrl+C stops it cleanly
  config              validate the configuration and print it with secrets masked
  init                write a starter config beside agent.exe from what this PC can tell
                      (Windows default printer, its driver, the computer name), then selftest;
                      --terminal-id --server URL --token --printer NAME --brand --paper 58|80
                      --transport winspool|tcp|virtual --host --port; --force to replace a file;
                      the token goes to PRINT_AGENT_TOKEN unless --token-in-file
  printers            list the printers this Windows account can see; --status: ask each
                      configured printer now, saying which status channel it has
  selftest            check config, state folder, server, printer, logs (also --selftest)
  service <action>    install | uninstall | start | stop | status (Windows service)

Options:
  --config PATH       configuration file (default: print_agent_config.json beside agent.exe)
  --json              machine-readable output (config, printers, selftest)
  --print             with selftest: also print a test page
  --service           (in the service's command line) talk to the Windows Service Control Manager
  --name NAME         service name for "service" and --service (default PrintAgent)
  --version           print the version and exit
  --help              this help
`;

/** Whether this process is a `deno compile`d binary rather than `deno run`. */
export function isCompiled(): boolean {
  const exe = Deno.execPath().replace(/\\/g, "/").split("/").pop()!.toLowerCase();
  return exe !== "deno" && exe !== "deno.exe";
}

/**
 * The config file used when `--config` is not given: `PRINT_AGENT_CONFIG`, else beside the
 * executable (or `%ProgramData%\PrintAgent` when nothing is there), else — under `deno run` —
 * the project folder. Never the working directory: a service starts in System32.
 */
export async function defaultConfigPath(): Promise<string> {
  const env = Deno.env.get("PRINT_AGENT_CONFIG");
  if (env) return env;
  const name = "print_agent_config.json";
  if (!isCompiled()) return join(dirname(dirname(fileURLToPath(import.meta.url))), name);
  const besideExe = join(dirname(Deno.execPath()), name);
  const programData = Deno.env.get("ProgramData");
  if (programData) {
    const alt = join(programData, "PrintAgent", name);
    const exists = async (p: string) => await Deno.stat(p).then(() => true, () => false);
    if (!(await exists(besideExe)) && await exists(alt)) return alt;
  }
  return besideExe;
}

/** A command-line error in plain words, with balanced quotes (node's own message has not). */
function argsError(e: unknown): string {
  const err = e as Error & { code?: string };
  const option = err.message.match(/'(-[^']+)'/)?.[1];
  if (err.code === "ERR_PARSE_ARGS_UNKNOWN_OPTION" && option) return `unknown option "${option}"`;
  if (err.code === "ERR_PARSE_ARGS_INVALID_OPTION_VALUE" && option) {
    return `option "${option}" needs a value`;
  }
  return err.message;
}

/**
 * The configuration as a file that loads back (`config --json > print_agent_config.json`):
 * secrets masked, no derived keys, `printers` or `printer` as the original had.
 */
export function loadableConfig(c: Config): Record<string, unknown> {
  const { source: _s, base_dir: _b, stations: _st, ...file } = maskedConfig(c) as
    & Record<string, unknown>
    & Pick<Config, "source" | "base_dir" | "stations">;
  if (file.printers) delete file.printer;
  else delete file.printers;
  return file;
}

/** Runs the CLI; returns the exit code. */
export async function main(args: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      allowPositionals: true,
      options: {
        config: { type: "string" },
        json: { type: "boolean", default: false },
        status: { type: "boolean", default: false },
        print: { type: "boolean", default: false },
        selftest: { type: "boolean", default: false },
        service: { type: "boolean", default: false },
        name: { type: "string" },
        force: { type: "boolean", default: false },
        "terminal-id": { type: "string" },
        server: { type: "string" },
        token: { type: "string" },
        "token-in-file": { type: "boolean", default: false },
        printer: { type: "string" },
        brand: { type: "string" },
        paper: { type: "string" },
        transport: { type: "string" },
        host: { type: "string" },
        port: { type: "string" },
        version: { type: "boolean", short: "v", default: false },
        help: { type: "boolean", short: "h", default: false },
      },
    });
  } catch (e) {
    console.error(`agent: ${argsError(e)} (see --help)`);
    return 2;
  }
  const { values: f, positionals } = parsed;
  if (f.help) {
    console.log(HELP);
    return 0;
  }
  if (f.version) {
    console.log(`print-agent ${VERSION} (deno ${Deno.version.deno}, ${Deno.build.target})`);
    return 0;
  }
  const command = f.selftest ? "selftest" : positionals[0] ?? "run";
  if (command === "help") {
    console.log(HELP);
    return 0;
  }
  const configPath = f.config ?? await defaultConfigPath();

  if (command === "init") {
    const { initConfig } = await import("./site/init.ts");
    const r = await initConfig(configPath, {
      terminalId: f["terminal-id"],
      server: f.server,
      token: f.token,
      printer: f.printer,
      brand: f.brand,
      paper: f.paper,
      transport: f.transport,
      host: f.host,
      port: f.port,
      force: f.force,
      tokenInFile: f["token-in-file"],
    }).catch((e) => ({
      code: 2,
      lines: [
        e instanceof ConfigError
          ? `agent init: nothing was written; the flags give an invalid configuration:\n${
            e.problems.map((p) => `  - ${p}`).join("\n")
          }`
          : `agent init: ${(e as Error).message}`,
      ],
    }));
    (r.code ? console.error : console.log)(r.lines.join("\n"));
    if (r.code) return r.code;
    console.log("\nNow the selftest (fix what it names, then run it again):\n");
    const { selftest } = await import("./site/selftest.ts");
    const config = await loadConfig(configPath);
    return await selftest({ config, configError: null, configPath, json: false, print: false });
  }
  if (command === "printers") {
    const { printersCommand, printersStatusCommand } = await import("./site/printers_cli.ts");
    if (f.status) return await printersStatusCommand(f.json, configPath);
    return await printersCommand(f.json, configPath);
  }
  if (command === "service") {
    const { serviceCommand } = await import("./site/service.ts");
    return await serviceCommand(positionals[1], configPath, f.name);
  }

  let config: Config | null = null;
  let configError: ConfigError | null = null;
  try {
    config = await loadConfig(configPath);
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    configError = e;
  }

  if (command === "selftest") {
    const { selftest } = await import("./site/selftest.ts");
    return await selftest({ config, configError, configPath, json: f.json, print: f.print });
  }
  if (configError || !config) {
    console.error(configError!.message);
    return 2;
  }
  if (command === "config") {
    // everything the run refuses, refused here: the printers' brands and the store's templates
    const { rendererFor } = await import("./run.ts");
    const problems: string[] = [];
    for (const [i, st] of config.stations.entries()) {
      try {
        await rendererFor(config, st);
      } catch (e) {
        const key = config.printers ? `printers[${i}] ("${st.id}")` : "printer";
        const msg = (e as Error).message;
        problems.push(`  - ${/^Unknown printer brand/.test(msg) ? `${key}.brand` : key}: ${msg}`);
      }
    }
    if (problems.length) {
      console.error(`Invalid configuration in ${config.source}:\n${problems.join("\n")}`);
      return 2;
    }
    // the file as the agent reads it (defaults filled in, secrets masked): it loads back as it is;
    // with the POS server's configuration over it where one runs (docs/updates.md)
    const { RemoteConfig } = await import("./site/remote_config.ts");
    const remote = new RemoteConfig(config.state.path);
    await remote.load();
    let shown = config;
    if (remote.running) {
      try {
        const raw = parseConfigText(await Deno.readTextFile(config.source), config.source);
        shown = remote.effective(raw as Record<string, unknown>, config.base_dir, config.source);
      } catch (e) {
        console.error(`the server's revision ${remote.running.revision} does not fit: ${e}`);
      }
    }
    if (!f.json) {
      const over = remote.running
        ? ` with the POS server's revision ${remote.running.revision} over it (${
          JSON.stringify(remote.running.body)
        })`
        : "";
      console.error(
        `Configuration OK (${config.source}${over}); below, as the agent reads it, with the ` +
          `defaults filled in and secrets masked:`,
      );
    }
    console.log(JSON.stringify(loadableConfig(shown), null, 2));
    return 0;
  }
  if (command !== "run") {
    console.error(`agent: unknown command "${command}" (see --help)`);
    return 2;
  }
  if (f.service) {
    if (Deno.build.os !== "windows") {
      console.error("agent: --service is for the Windows Service Control Manager");
      return 2;
    }
    const { runAsService, SERVICE_NAME } = await import("./site/service.ts");
    return await runAsService(
      f.name ?? SERVICE_NAME,
      (stop, ready) => runUntilStopped(config, stop, ready),
    );
  }
  return await runUntilStopped(config);
}

/** Runs the agent until Ctrl+C / SIGTERM (or the Windows service is stopped). */
export async function runUntilStopped(
  config: Config,
  stopSignal?: AbortSignal,
  onStarted?: () => void,
  o: { demo?: boolean } = {},
): Promise<number> {
  const stop = new AbortController();
  const { promise, resolve } = Promise.withResolvers<void>();
  const onSignal = () => {
    stop.abort();
    resolve();
  };
  const signals: Deno.Signal[] = Deno.build.os === "windows"
    ? ["SIGINT", "SIGBREAK"]
    : ["SIGINT", "SIGTERM"];
  for (const s of signals) Deno.addSignalListener(s, onSignal);
  stopSignal?.addEventListener("abort", onSignal);
  try {
    // the agent, and the configurations the POS server offers (site/supervisor.ts); the
    // signal listeners stay until the stop is done: a second signal (Ctrl+C pressed twice, or
    // the SIGTERM that npx/npm sends its child after the terminal's SIGINT) must not cut the
    // clean stop short; the stop itself is bounded (the job in hand, a few seconds of reports)
    await supervise(config, {
      signal: stop.signal,
      demo: o.demo,
      stopped: promise,
      onStarted,
    });
  } catch (e) {
    for (const s of signals) Deno.removeSignalListener(s, onSignal);
    if (stop.signal.aborted) {
      await closeLogging();
      return 0;
    }
    if (e instanceof StartupError) {
      log.error(`[START] ${e.message}`);
      await closeLogging();
      console.error(`agent: ${e.message}`);
      return 1;
    }
    throw e;
  }
  for (const s of signals) Deno.removeSignalListener(s, onSignal);
  await closeLogging();
  return 0;
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
