/**
 * `agent.exe` — the entry point.
 *
 * ```
 * agent [run]                 run the agent (default)
 * agent config                validate the configuration and print it (secrets masked)
 * agent printers              list the printers this account can see (Windows)
 * agent selftest | --selftest on-site checks: PASS / WARN / FAIL, non-zero exit on FAIL
 * agent service <install|uninstall|start|stop|status>
 * agent update <status|rollback>
 * flags: --config PATH  --json  --print  --version  --help
 * ```
 * @module
 */
import { parseArgs } from "node:util";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import {
  type Config,
  ConfigError,
  loadConfig,
  maskedConfig,
  parseConfigText,
  serverToken,
} from "./config.ts";
import { StartupError } from "./run.ts";
import type { Job } from "./core/job.ts";
import { supervise } from "./site/supervisor.ts";
import { VERSION } from "./version.ts";
import { closeLogging, log, setupLogging } from "./log.ts";

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
  update <action>     status: the last self-update and what is kept;
                      rollback: put the previous version back (then restart the service)

Options:
  --config PATH       configuration file (default: print_agent_config.json beside agent.exe)
  --json              machine-readable output (config, printers, selftest)
  --print             with selftest: also print a test page
  --service           (in the service's command line) talk to the Windows Service Control Manager
  --supervised        a service manager (systemd, NSSM) restarts this process when it exits
                      with code 3: self-update may swap the program and exit for it
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
        supervised: { type: "boolean", default: false },
        "update-check": { type: "boolean", default: false },
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
  if (f["update-check"]) return await updateCheck(configPath);

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
  if (command === "update") return await updateCommand(positionals[1], config, f.json);
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
      (stop, ready) => runUntilStopped(config, stop, ready, { supervised: true, configPath }),
    );
  }
  return await runUntilStopped(config, undefined, undefined, {
    supervised: f.supervised,
    configPath,
  });
}

/**
 * The program file self-update swaps: agent.exe, or the bundle `deno run` runs (dist/agent.js);
 * null from source (a developer's checkout is not updated).
 */
export function programPath(): string | null {
  if (isCompiled()) return Deno.execPath();
  const m = Deno.mainModule;
  return m.startsWith("file:") && m.endsWith(".js") ? fileURLToPath(m) : null;
}

/** The platform a release must name to run here: Deno's target, or `bundle` for agent.js. */
export function programPlatform(): string {
  return isCompiled() ? Deno.build.target : "bundle";
}

/**
 * `--update-check`: what the staged program of an update runs before it is swapped in (under
 * 10 s): it starts, reads the configuration the running agent reads, builds every station's
 * renderer and prints the receipt test page to bytes; prints its version as JSON.
 */
async function updateCheck(configPath: string): Promise<number> {
  try {
    const config = await loadConfig(configPath);
    const { rendererFor } = await import("./run.ts");
    let bytes = 0;
    for (const st of config.stations) {
      const r = await rendererFor(config, st);
      const test = { id: "update-check", uuid: "update-check", job_type: "test", priority: 0 };
      bytes += (await r.render(test as Job)).bytes.length;
      const sample = {
        id: "update-check",
        uuid: "update-check",
        job_type: "receipt",
        priority: 0,
        receipt_data: {
          store_name: "Update check",
          bill_number: "CHECK-1",
          items: [{ name: "Kopi susu", qty: 2, price: 22000 }],
          subtotal: 44000,
          total: 44000,
          payments: [{ method: "Tunai", amount: 50000 }],
          change: 6000,
        },
      };
      bytes += (await r.render(sample as Job)).bytes.length;
    }
    console.log(
      JSON.stringify({ version: VERSION, ok: true, stations: config.stations.length, bytes }),
    );
    return 0;
  } catch (e) {
    console.log(JSON.stringify({ version: VERSION, ok: false, error: (e as Error).message }));
    return 1;
  }
}

/** Runs a staged program's `--update-check` (10 s at most); why it failed, or null. */
export async function runQuickCheck(
  staged: string,
  configPath: string,
  version: string,
  timeoutMs = 10_000,
): Promise<string | null> {
  const { V8_FLAGS } = await import("./version.ts");
  const args = [staged, "--update-check", "--config", configPath];
  const cmd = staged.endsWith(".js")
    ? new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", `--v8-flags=${V8_FLAGS}`, ...args],
      stdout: "piped",
      stderr: "piped",
    })
    : new Deno.Command(staged, { args: args.slice(1), stdout: "piped", stderr: "piped" });
  const child = cmd.spawn();
  const timer = setTimeout(() => {
    try {
      child.kill("SIGKILL");
    } catch { /* ended meanwhile */ }
  }, timeoutMs);
  const out = await child.output().finally(() => clearTimeout(timer));
  const text = new TextDecoder().decode(out.stdout).trim().split("\n").at(-1) ?? "";
  let said: { version?: string; ok?: boolean; error?: string } = {};
  try {
    said = JSON.parse(text);
  } catch { /* not JSON: said below */ }
  if (!out.success) {
    const err = said.error ?? new TextDecoder().decode(out.stderr).trim().split("\n").at(-1);
    return out.signal
      ? `it did not finish within ${timeoutMs / 1000} s`
      : `exit ${out.code}: ${err}`;
  }
  if (said.version !== version) {
    return `it says it is ${said.version ?? `"${text.slice(0, 80)}"`}, not ${version}`;
  }
  return null;
}

/** GETs a release file: the token goes with it only to the POS server's own origin. */
async function getRelease(config: Config, url: string, offset: number): Promise<Response> {
  const base = new URL(config.server.base_url);
  const at = new URL(url, base);
  const headers: Record<string, string> = {};
  if (offset > 0) headers.range = `bytes=${offset}-`;
  if (at.origin === base.origin) {
    const token = serverToken(config);
    if (token) headers.authorization = `${config.server.auth_scheme} ${token}`;
  }
  const client = config.server.ca_file
    ? Deno.createHttpClient({ caCerts: [await Deno.readTextFile(config.server.ca_file)] })
    : undefined;
  return await fetch(at, { headers, client, signal: AbortSignal.timeout(10 * 60_000) });
}

/** `agent update status|rollback`. */
async function updateCommand(
  action: string | undefined,
  config: Config,
  json: boolean,
): Promise<number> {
  const { readUpdateFile, rollbackByHand, updatePaths } = await import("./site/updater.ts");
  const program = programPath();
  const stateDir = config.state.path;
  if (action === "status") {
    const f = await readUpdateFile(join(stateDir, "update.json"));
    const kept = program
      ? await Deno.stat(updatePaths(program, stateDir).previous).then(() => true, () => false)
      : false;
    if (json) {
      console.log(
        JSON.stringify({ version: VERSION, program, previous_kept: kept, ...f }, null, 2),
      );
      return 0;
    }
    console.log(`Running version: ${VERSION}${program ? ` (${program})` : " (from source)"}`);
    console.log(
      `Last update: ${f.state}${f.target ? ` to ${f.target}` : ""}${
        f.from ? ` from ${f.from}` : ""
      }`,
    );
    if (f.error) console.log(`  why: ${f.error}`);
    if (f.state === "watching") {
      console.log(`  watched: ${f.jobs} jobs printed, ${f.starts.length} start(s) since the swap`);
    }
    console.log(
      `Previous version kept: ${kept ? "yes (agent update rollback puts it back)" : "no"}`,
    );
    const refused = Object.entries(f.refused);
    if (refused.length) {
      console.log("Never tried again:");
      for (const [v, why] of refused) console.log(`  ${v}: ${why}`);
    }
    return 0;
  }
  if (action === "rollback") {
    if (!program) {
      console.error("agent update rollback: this agent runs from source; nothing to roll back");
      return 2;
    }
    try {
      console.log(await rollbackByHand(program, stateDir));
      console.log(
        "Restart the agent to run it (the service: sc.exe stop PrintAgent, then sc.exe start PrintAgent).",
      );
      return 0;
    } catch (e) {
      console.error(`agent update rollback: ${(e as Error).message}`);
      return 1;
    }
  }
  console.error("agent update: use status or rollback");
  return 2;
}

/** Runs the agent until Ctrl+C / SIGTERM (or the Windows service is stopped). */
export async function runUntilStopped(
  config: Config,
  stopSignal?: AbortSignal,
  onStarted?: () => void,
  o: { demo?: boolean; supervised?: boolean; configPath?: string } = {},
): Promise<number> {
  // self-update: a watched new version counts its starts before anything else loads, and one
  // in a crash loop puts the previous program back and exits for the service manager
  const program = programPath();
  let updater: import("./site/updater.ts").Updater | undefined;
  if (!o.demo) {
    const { earlyStart, Updater } = await import("./site/updater.ts");
    if (program) {
      try {
        const early = await earlyStart(program, config.state.path, VERSION);
        if (early.message) {
          // said in the log before anything else starts (the agent sets its logging up again)
          await setupLogging({
            level: config.logging.level,
            file: config.logging.log_file,
            maxBytes: config.logging.max_bytes,
            backups: config.logging.backup_count,
          }).catch(() => {});
          log.warn(`[UPDATE] ${early.message}`, { code: "UPDATE_ROLLBACK" });
          await closeLogging();
        }
        if (early.exit !== null) {
          // as after a swap: the service says it started, then ends with the code, and the
          // service manager starts the program now in place
          onStarted?.();
          return early.exit;
        }
      } catch { /* no state folder yet: nothing was updated */ }
    }
    updater = new Updater({
      program: program ?? "",
      stateDir: config.state.path,
      running: { version: VERSION, platform: programPlatform(), channel: config.update.channel },
      disabled: !program
        ? "this agent runs from source: it does not update itself"
        : !o.supervised
        ? "no service manager restarts this agent (run it as the service, or with --supervised)"
        : null,
      watchMs: config.update.watch_minutes * 60_000,
      watchJobs: config.update.watch_jobs,
      jitterMs: Math.min(30_000, config.server.heartbeat_interval * 1000),
      get: (url, offset) => getRelease(config, url, offset),
      quickCheck: (staged, version) =>
        runQuickCheck(staged, o.configPath ?? config.source, version),
      log: (level, message, code) => log[level](message, { code }),
    });
    await updater.load().catch(() => {});
  }
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
    const restart = await supervise(config, {
      signal: stop.signal,
      demo: o.demo,
      stopped: promise,
      onStarted,
      updater,
    });
    if (restart !== null) {
      for (const s of signals) Deno.removeSignalListener(s, onSignal);
      await closeLogging();
      return restart;
    }
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
