/**
 * Windows service: the Service Control Manager protocol (run with `--service`), and
 * `agent service install|uninstall|start|stop|status`, which drive `sc.exe` and print the same
 * commands for technicians who prefer to type them.
 * @module
 */
import {
  ERROR_CALL_NOT_IMPLEMENTED,
  HANDLER_EX,
  NO_ERROR,
  openAdvapi32,
  SERVICE_ACCEPT_SHUTDOWN,
  SERVICE_ACCEPT_STOP,
  SERVICE_CONTROL,
  SERVICE_MAIN,
  SERVICE_STATE,
  SERVICE_WIN32_OWN_PROCESS,
  serviceStatus,
  serviceTable,
} from "../../ffi/advapi32.ts";
import { utf16z } from "../../ffi/winspool.ts";
import { fileURLToPath } from "node:url";
import { resolve } from "node:path";
import { RESTART_EXIT_CODE } from "./updater.ts";
import { V8_FLAGS } from "../version.ts";

/** The default service name. */
export const SERVICE_NAME = "PrintAgent";
const DISPLAY_NAME = "Print Agent";
const DESCRIPTION =
  "Prints POS receipts on this terminal's ESC/POS printer and reports to the POS server.";
const SC = "C:\\Windows\\System32\\sc.exe";

/** What the agent does while the service runs; `ready()` reports RUNNING. */
export type ServiceBody = (stop: AbortSignal, ready: () => void) => Promise<number>;

/**
 * Runs `body` as the Windows service `name`: hands the process to the SCM dispatcher, reports
 * START_PENDING → RUNNING, and on STOP or SHUTDOWN reports STOP_PENDING (with checkpoints while
 * the job in hand finishes), then STOPPED with the exit code. Resolves with the exit code.
 */
export async function runAsService(name: string, body: ServiceBody): Promise<number> {
  const lib = openAdvapi32();
  const nameBuf = utf16z(name);
  let handle: Deno.PointerValue = null;
  let state: number = SERVICE_STATE.START_PENDING;
  let checkPoint = 0;
  let mainCalled = false;
  let result: Promise<number> | null = null;
  const stop = new AbortController();
  let pinger: ReturnType<typeof setInterval> | undefined;

  const report = (next: number, waitHint = 0, exitCode = 0) => {
    state = next;
    const pending = next === SERVICE_STATE.START_PENDING || next === SERVICE_STATE.STOP_PENDING;
    lib.symbols.SetServiceStatus(
      handle,
      serviceStatus({
        serviceType: SERVICE_WIN32_OWN_PROCESS,
        currentState: next,
        controlsAccepted: next === SERVICE_STATE.RUNNING
          ? SERVICE_ACCEPT_STOP | SERVICE_ACCEPT_SHUTDOWN
          : 0,
        win32ExitCode: exitCode === 0 ? NO_ERROR : 1066,
        serviceSpecificExitCode: exitCode,
        checkPoint: pending ? ++checkPoint : 0,
        waitHint,
      }),
    );
  };

  const handler = Deno.UnsafeCallback.threadSafe(HANDLER_EX, (control: number) => {
    switch (control) {
      case SERVICE_CONTROL.STOP:
      case SERVICE_CONTROL.SHUTDOWN:
        if (state === SERVICE_STATE.RUNNING || state === SERVICE_STATE.START_PENDING) {
          report(SERVICE_STATE.STOP_PENDING, 15_000);
          // keep telling the SCM we are making progress while the job in hand finishes
          pinger = setInterval(() => report(SERVICE_STATE.STOP_PENDING, 15_000), 2_000);
          stop.abort();
        }
        return NO_ERROR;
      case SERVICE_CONTROL.INTERROGATE:
        report(state);
        return NO_ERROR;
      default:
        return ERROR_CALL_NOT_IMPLEMENTED;
    }
  });

  const serviceMain = Deno.UnsafeCallback.threadSafe(SERVICE_MAIN, () => {
    mainCalled = true;
    handle = lib.symbols.RegisterServiceCtrlHandlerExW(nameBuf, handler.pointer, null);
    report(SERVICE_STATE.START_PENDING, 30_000);
    result = body(stop.signal, () => report(SERVICE_STATE.RUNNING)).catch((e) => {
      console.error(`service: ${e?.stack ?? e}`);
      return 1;
    }).then((code) => {
      clearInterval(pinger);
      if (code === RESTART_EXIT_CODE) {
        // an update swapped in, or rolled back (drained already): the process ends without
        // reporting STOPPED, so the SCM runs its recovery action (restart) whether or not the
        // failure-actions flag could be set (Wine's sc.exe has no `failureflag`)
        Deno.exit(code);
      }
      report(SERVICE_STATE.STOPPED, 0, code);
      return code;
    });
  });

  // An uncaught error ends the process at once (logged first): the SCM then runs its recovery
  // action. Left to the runtime, the exit would wait for the dispatcher's thread and the service
  // would hang RUNNING, never restarted.
  const crash = (what: unknown) => {
    const e = what as Error;
    console.error(`service: uncaught ${e?.stack ?? e}`);
    setTimeout(() => Deno.exit(1), 2000);
    import("../log.ts").then(async ({ log, closeLogging }) => {
      log.error(
        `[CRASH] ${e?.name ?? "Error"}: ${e?.message ?? e}; exiting for the SCM to restart`,
        {
          code: "INTERNAL_ERROR",
        },
      );
      await closeLogging();
    }).finally(() => Deno.exit(1));
  };
  globalThis.addEventListener("error", (ev) => {
    ev.preventDefault();
    crash(ev.error);
  });
  globalThis.addEventListener("unhandledrejection", (ev) => {
    ev.preventDefault();
    crash(ev.reason);
  });
  const table = serviceTable(nameBuf, serviceMain.pointer);
  // Returns when the service has reported STOPPED (or at once when not started by the SCM).
  const ok = await lib.symbols.StartServiceCtrlDispatcherW(table);
  const code = result ? await result : 1;
  handler.close();
  serviceMain.close();
  lib.close();
  if (!ok && !mainCalled) {
    console.error(
      "agent: --service is for the Service Control Manager (error 1063 when started from a console); " +
        "run without --service to use the console",
    );
    return 2;
  }
  return code;
}

/**
 * The command line the service runs (binPath): this executable, or deno + the script this process
 * runs (`src/main.ts` with the project's deno.json for its npm imports, or the shipped bundle
 * `dist/agent.js`, which needs none).
 */
export function serviceCommandLine(
  configPath: string,
  exe = Deno.execPath(),
  compiled = isCompiled(exe),
): string {
  const q = (s: string) => `"${s}"`;
  const config = resolve(configPath);
  if (compiled) return `${q(exe)} run --service --config ${q(config)}`;
  const main = fileURLToPath(Deno.mainModule);
  const denoJson = main.endsWith(".ts")
    ? ` --config ${q(fileURLToPath(new URL("../../deno.json", import.meta.url)))}`
    : "";
  return `${q(exe)} run -A --v8-flags=${V8_FLAGS}${denoJson} ${q(main)} run --service --config ${
    q(config)
  }`;
}

function isCompiled(exe: string): boolean {
  const base = exe.replace(/\\/g, "/").split("/").pop()!.toLowerCase();
  return base !== "deno" && base !== "deno.exe";
}

/** The `sc.exe` commands for an action (each an argument list). */
export function scCommands(action: string, name: string, configPath: string): string[][] {
  switch (action) {
    case "install":
      return [
        [
          "create",
          name,
          "binPath=",
          serviceCommandLine(configPath),
          "start=",
          "delayed-auto",
          "DisplayName=",
          DISPLAY_NAME,
        ],
        ["description", name, DESCRIPTION],
        [
          "failure",
          name,
          "reset=",
          "3600",
          "actions=",
          // back printing 1 s after a crash or an update; a loop settles at one start each 10 s;
          // an hour without a failure starts the count again
          "restart/1000/restart/5000/restart/10000",
        ],
        // the recovery actions also when the agent stops itself with an exit code (a
        // self-update or rollback exits 3 for the SCM to start the program now in place)
        ["failureflag", name, "1"],
      ];
    case "uninstall":
      return [["stop", name], ["delete", name]];
    case "start":
      return [["start", name]];
    case "stop":
      return [["stop", name]];
    case "status":
      return [["query", name], ["qc", name]];
    default:
      return [];
  }
}

/** Shows a command as a technician would type it. */
export function showCommand(args: string[]): string {
  return "sc.exe " +
    args.map((a) => /[\s"]/.test(a) ? `"${a.replaceAll('"', '\\"')}"` : a).join(" ");
}

/** `agent service <action>`; returns the exit code. */
export async function serviceCommand(
  action: string | undefined,
  configPath: string,
  name = SERVICE_NAME,
): Promise<number> {
  const cmds = scCommands(action ?? "", name, configPath);
  if (cmds.length === 0) {
    console.error("agent service: use install, uninstall, start, stop or status");
    return 2;
  }
  console.log("Equivalent sc.exe commands (run as Administrator):");
  for (const c of cmds) console.log(`  ${showCommand(c)}`);
  if (Deno.build.os !== "windows") {
    console.error("agent service: Windows services exist only on Windows; nothing was changed");
    return 2;
  }
  let code = 0;
  for (const [i, c] of cmds.entries()) {
    const r = await new Deno.Command(SC, { args: c, stdout: "piped", stderr: "piped" }).output();
    const out = (new TextDecoder().decode(r.stdout) + new TextDecoder().decode(r.stderr)).trim();
    if (out) console.log(out);
    // `uninstall` stops first: a service that is not running is fine
    if (!r.success && c[0] === "failureflag") {
      // older sc.exe (and Wine's) lack it: restarts after an update do not need it (the agent
      // ends without reporting STOPPED), but a clean stop with an error code is not restarted
      console.error(
        `agent service ${action}: sc.exe failureflag failed (exit ${r.code}); the service is ` +
          "installed and restarts after a crash or an update",
      );
      continue;
    }
    if (!r.success && !(action === "uninstall" && i === 0)) {
      console.error(`agent service ${action}: sc.exe ${c[0]} failed (exit ${r.code})`);
      code = 1;
      if (action === "install" && i === 0) break;
    }
  }
  if (action === "install" && code === 0) {
    console.log(`Service ${name} installed (automatic, delayed start; restarts after a failure).`);
    console.log(
      "It runs as LocalSystem: it sees printers installed for all users, not per-user ones.",
    );
  }
  return code;
}
