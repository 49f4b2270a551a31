/**
 * The Wine chroot for the Windows test bed, from tests/windows/provision.sh.
 *
 * The contract: the script's stdout holds exactly one line, the chroot's absolute path; its
 * progress goes to stderr, which is passed through so a first run (~3 minutes) shows what it does.
 * A result that is anything else is refused here with the whole stdout, never used as a path.
 */
import { fileURLToPath } from "node:url";

export const PROVISION_SCRIPT = fileURLToPath(new URL("./provision.sh", import.meta.url));

/** Why the provision script's result cannot be used. */
export class ProvisionError extends Error {
  override name = "ProvisionError";
}

/** The chroot path from the script's stdout, checked: one absolute path, nothing else. */
export function parseProvisionResult(stdout: string): string {
  const lines = stdout.split("\n").filter((l) => l.trim() !== "");
  if (lines.length !== 1 || !lines[0].startsWith("/") || /\s/.test(lines[0].trim())) {
    throw new ProvisionError(
      `provision.sh must print only the chroot path on stdout; it printed ${
        JSON.stringify(stdout.slice(0, 500))
      }`,
    );
  }
  return lines[0].trim();
}

/** Options for {@linkcode provisionBed}. */
export interface ProvisionOptions {
  /** The script to run (tests point this at a copy). */
  script?: string;
  /** Extra environment (tests put stand-ins for debootstrap, mount and chroot on PATH). */
  env?: Record<string, string>;
  /**
   * Where the script's progress (debootstrap, apt: about 1,400 lines) goes: "log" (default: a file
   * in the cache, its path said once, its tail printed if it fails), "inherit" or "piped" (kept
   * for the error).
   */
  stderr?: "log" | "inherit" | "piped";
}

/** Runs the provision script for `cacheRoot` and returns the ready chroot's path. */
export async function provisionBed(
  cacheRoot: string,
  opts: ProvisionOptions = {},
): Promise<string> {
  const mode = opts.stderr ?? "log";
  const logPath = `${cacheRoot}/provision.log`;
  const child = new Deno.Command(opts.script ?? PROVISION_SCRIPT, {
    args: [cacheRoot],
    env: opts.env,
    stdout: "piped",
    stderr: mode === "inherit" ? "inherit" : "piped",
  }).spawn();
  let kept: Promise<string> = Promise.resolve("(shown above)");
  if (mode === "log") {
    await Deno.mkdir(cacheRoot, { recursive: true });
    console.error(`[windows] provisioning progress goes to ${logPath}`);
    const file = await Deno.open(logPath, { write: true, create: true, truncate: true });
    kept = child.stderr.pipeTo(file.writable).then(async () => {
      const lines = (await Deno.readTextFile(logPath)).trimEnd().split("\n");
      return `the last lines of ${logPath}:\n${lines.slice(-40).join("\n")}`;
    });
  } else if (mode === "piped") {
    kept = new Response(child.stderr).text();
  }
  const [r, stdout, err] = await Promise.all([
    child.status,
    new Response(child.stdout).text(),
    kept,
  ]);
  const out = stdout;
  if (!r.success) {
    throw new ProvisionError(`provision.sh failed with exit ${r.code}: ${err}`);
  }
  const root = parseProvisionResult(out);
  try {
    await Deno.stat(`${root}/.ready`);
  } catch (e) {
    throw new ProvisionError(`provision.sh named ${root}, which is not a ready chroot`, {
      cause: e,
    });
  }
  return root;
}
